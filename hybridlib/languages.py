"""The languages of the LAReQA sets (and Romanian, the README's user-built language): names and the size of each in
CC-100, XLM-R's pretraining corpus, from which multilingual-e5-small starts (notebook 07's low-resource question);
and the codes of AfriQA and NTREX-128 (:mod:`hybridlib.corpora`) mapped once to the project's.

``resources/languages.csv`` copies Table 6 (Appendix A) of Conneau et al. 2020, "Unsupervised Cross-lingual
Representation Learning at Scale" (ACL): tokens (millions) and size (GiB) per language. Sizes are the measure used
here: the token counts of Thai and Chinese are known to be distorted by word segmentation. A language's *share* is
its size over the sum of the table's 100 rows (:data:`CC100_TOTAL_GIB`). multilingual-e5-small's own contrastive
pre-training data (Wang et al. 2024) has another mix, which no table gives per language; CC-100 is the proxy.
The low-resource rows (notebook 08) are copied from the same table; Table 6 lists Burmese twice (two encodings: 15 M
tokens / 0.4 GiB and 56 M / 1.6 GiB; the first is kept here). The languages of AfriQA and NTREX-128 that are not
among CC-100's 100 (:data:`NOT_IN_CC100`) have no size: :func:`resource_levels` says so.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd

CC100_TOTAL_GIB = 2467.2  # sum of the "Size (GiB)" column of Table 6, all 100 rows
CC100_SOURCE = "CC-100 size: Conneau et al. 2020 (XLM-R), Table 6"

# The codes of the corpora beyond LAReQA (NTREX-128's ISO 639-3 with subtags, AfriQA's), mapped once to the project's
# codes: ISO 639-1 where the language has one, else its ISO 639-3 code
CORPUS_CODES = {
    "eng-US": "en", "eng": "en", "arb": "ar", "deu": "de", "ell": "el", "spa": "es", "hin": "hi", "rus": "ru",
    "tha": "th", "tur": "tr", "vie": "vi", "zho-CN": "zh", "ron": "ro", "amh": "am", "hau": "ha", "ibo": "ig",
    "yor": "yo", "wol": "wo", "som": "so", "kin": "rw", "swa": "sw", "zul": "zu", "xho": "xh", "mlg": "mg",
    "nep": "ne", "sin": "si", "khm": "km", "lao": "lo", "mya": "my", "tir": "ti", "bem": "bem", "fon": "fon",
    "twi": "tw", "en": "en", "fr": "fr",
}
# Languages of the corpora above that are not among CC-100's 100 languages (Table 6 of Conneau et al. 2020)
NOT_IN_CC100 = ("ig", "yo", "wo", "rw", "zu", "ti", "bem", "fon", "tw")
# English names of the languages above that resources/languages.csv does not hold
NAMES = {
    "am": "Amharic", "ha": "Hausa", "ig": "Igbo", "yo": "Yoruba", "wo": "Wolof", "so": "Somali", "rw": "Kinyarwanda",
    "sw": "Swahili", "zu": "Zulu", "xh": "Xhosa", "mg": "Malagasy", "ne": "Nepali", "si": "Sinhala", "km": "Khmer",
    "lo": "Lao", "my": "Burmese", "ti": "Tigrinya", "bem": "Bemba", "fon": "Fon", "tw": "Twi", "fr": "French",
}


def language_table() -> pd.DataFrame:
    """One row per language code: ``name``, ``cc100_tokens_m``, ``cc100_gib`` and ``cc100_share``."""
    with resources.files("hybridlib").joinpath("resources/languages.csv").open(encoding="utf-8") as fh:
        table = pd.read_csv(fh, index_col="code")
    return table.assign(cc100_share=table["cc100_gib"] / CC100_TOTAL_GIB)


def language_name(code: str) -> str:
    """The English name of a language code (the code itself when it is not known)."""
    table = language_table()
    return str(table.at[code, "name"]) if code in table.index else NAMES.get(code, code)


def pretraining_share(codes: list[str]) -> pd.Series:
    """Each language's share of CC-100 (by size); raises naming the codes the table lacks."""
    table = language_table()
    unknown = sorted(set(codes) - set(table.index))
    if unknown:
        raise ValueError(f"no CC-100 size for {unknown}: add them to hybridlib/resources/languages.csv")
    return table.loc[codes, "cc100_share"]


def resource_levels(codes: list[str]) -> pd.DataFrame:
    """Per language code: ``name``, ``cc100_gib`` and ``cc100_share`` (0 for a language CC-100 does not hold) and
    ``resource`` (its size as text, or ``"not in CC-100"``); raises naming a code that is in neither list."""
    table = language_table()
    unknown = sorted(set(codes) - set(table.index) - set(NOT_IN_CC100))
    if unknown:
        raise ValueError(f"no CC-100 size for {unknown} and not listed in NOT_IN_CC100: add them to "
                         "hybridlib/resources/languages.csv or to NOT_IN_CC100")
    rows = []
    for code in codes:
        if code in table.index:
            gib = float(table.at[code, "cc100_gib"])
            rows.append({"language": code, "name": language_name(code), "cc100_gib": gib,
                         "cc100_share": gib / CC100_TOTAL_GIB, "resource": f"{gib:g} GiB"})
        else:
            rows.append({"language": code, "name": language_name(code), "cc100_gib": 0.0, "cc100_share": 0.0,
                         "resource": "not in CC-100"})
    return pd.DataFrame(rows).set_index("language")


def gains_over_zero_shot(compared: dict[str, "RunEvaluations"], metric: str = "map") -> pd.DataFrame:
    """Per evaluation set, sampler, query language and setting: the sampler's mean ``metric`` over seeds, the
    zero-shot model's, the gain, and the language's CC-100 share (``compared``: ``{dataset: RunEvaluations}``
    with the zero-shot reference)."""
    from .comparison import REFERENCE, label

    frames = []
    for dataset, runs in compared.items():
        long = runs.by_query_language()
        long = long[(long["metric"] == metric) & (long["query_lang"] != "mean")]
        wide = long.pivot_table(index=["query_lang", "setting"], columns="sampler", values="mean", sort=False)
        zero = wide.pop(label(REFERENCE))
        gains = wide.stack().rename("value").reset_index().rename(columns={"query_lang": "language"})
        gains["zero-shot"] = zero.reindex(pd.MultiIndex.from_frame(gains[["language", "setting"]])).to_numpy()
        gains["gain"] = gains["value"] - gains["zero-shot"]
        frames.append(gains.assign(dataset=dataset))
    table = pd.concat(frames, ignore_index=True)
    table["cc100_share"] = pretraining_share(sorted(table["language"].unique())).reindex(table["language"]).to_numpy()
    return table[["dataset", "sampler", "language", "setting", "value", "zero-shot", "gain", "cc100_share"]]


def gain_size_correlation(gains: pd.DataFrame) -> pd.DataFrame:
    """Per sampler and setting, Spearman's rho between a language's gain and its CC-100 share over every (set,
    language) row of :func:`gains_over_zero_shot`, with its two-sided p-value: a negative rho means larger gains
    where pretraining data was scarcer."""
    from scipy.stats import spearmanr

    rows = []
    for (sampler, setting), g in gains.groupby(["sampler", "setting"], sort=False):
        rho, p = spearmanr(g["cc100_share"], g["gain"]) if len(g) > 2 else (np.nan, np.nan)
        rows.append({"sampler": sampler, "setting": setting, "languages": len(g), "spearman rho": float(rho),
                     "p_value": float(p)})
    return pd.DataFrame(rows)


def lead_over_baselines(gains: pd.DataFrame, sampler: str | None = None) -> pd.DataFrame:
    """``sampler``'s gain minus each other sampler's, per set, language and setting, in the layout of
    :func:`gains_over_zero_shot` (sampler ``"hybrid - X-Y"``, ``gain`` the difference), so that
    :func:`gain_size_correlation` asks whether hybrid leads most where pretraining data was scarcest (``sampler``:
    by default the paper's proposal, :data:`hybridlib.samplers.PROPOSED`)."""
    from .samplers import PROPOSED

    sampler = sampler or PROPOSED
    keys = ["dataset", "language", "setting"]
    wide = gains.pivot_table(index=keys, columns="sampler", values="gain", sort=False)
    if sampler not in wide.columns:
        raise ValueError(f"no {sampler!r} rows in the gains; have {list(wide.columns)}")
    share = gains.drop_duplicates(keys).set_index(keys)["cc100_share"]
    frames = [pd.DataFrame({"sampler": f"{sampler} - {other}", "gain": wide[sampler] - wide[other],
                            "cc100_share": share.reindex(wide.index)}).reset_index()
              for other in wide.columns if other != sampler]
    return pd.concat(frames, ignore_index=True)


def per_language_tests(compared: dict[str, "RunEvaluations"], sampler: str | None = None, *,
                       n_resamples: int = 10_000) -> pd.DataFrame:
    """``sampler`` against every other run of each set (the zero-shot model included), on the questions of each
    query language separately, in every setting: margin and paired randomization p-value (``sampler``: by default
    :data:`hybridlib.samplers.PROPOSED`)."""
    from .comparison import label
    from .evaluate import SETTINGS
    from .samplers import PROPOSED

    sampler = sampler or PROPOSED
    rows = []
    for dataset, runs in compared.items():
        for lang in runs.languages:
            for base in runs.samplers:
                if base == sampler:
                    continue
                for setting in SETTINGS:
                    res = runs.compare(sampler, base, setting, query_languages=[lang], n_resamples=n_resamples)
                    rows.append({"dataset": dataset, "language": lang, "baseline": label(base), "setting": setting,
                                 "margin": res["margin"], "p_value": res["p_value"]})
    return pd.DataFrame(rows)
