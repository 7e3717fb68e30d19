"""The languages of the LAReQA sets (and Romanian, the README's user-built language): names and the size of each in
CC-100, XLM-R's pretraining corpus, from which multilingual-e5-small starts (notebook 07's low-resource question);
and the codes of AfriQA and NTREX-128 (:mod:`hybridlib.data.corpora`) mapped once to the project's.

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
