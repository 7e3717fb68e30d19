"""Topical domains of the LAReQA articles (notebook 07): the Wikipedia articles of XQuAD-R and MLQA-R clustered by
what they are about, so that a model can be trained on one set's articles of a domain and scored on the other set's
articles of the same domain (in-domain) or of the others (out-of-domain).

An article is represented by the mean of its English paragraphs' embeddings (title and paragraph, the encoder's
passage prompt) and the articles of both sets are clustered together with spherical k-means (faiss), so a domain
spans both sets. Each domain is named by the titles of the articles nearest its centre.

Example::

    table = articles(["xquad-r", "mlqa-r"])
    vectors = article_embeddings(load_encoder("default"), table, prefix="passage: ")
    table["domain"], centres = cluster(vectors, k=4)
    print(domain_table(table, vectors, centres))
"""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence

import numpy as np
import pandas as pd

from hybridlib.data.lareqa import LareqaDataset, data_file, read_json
from hybridlib.models.encoder import Encoder, embed_texts, encoding_id

PIVOT = "en"  # the language whose file gives each article's title, paragraphs and question ids


def articles(names: Sequence[str], data_dir: str | os.PathLike[str] | None = None, *,
             groups: Collection[str] | None = None) -> pd.DataFrame:
    """One row per Wikipedia article of each named LAReQA set (from its English file): ``dataset``, ``article``
    (its index in the file), ``title`` (``_`` as spaces), ``paragraphs`` (the title and each paragraph, as texts to
    embed) and ``groups`` (the ids of its parallel question groups); only the articles that hold one of ``groups``
    when given."""
    rows = []
    for name in names:
        for i, article in enumerate(read_json(data_file(name, PIVOT, data_dir))["data"]):
            title = " ".join(str(article["title"]).replace("_", " ").split())
            rows.append({"dataset": name, "article": i, "title": title,
                         "paragraphs": tuple(f"{title}: {p['context']}" for p in article["paragraphs"]),
                         "groups": tuple(str(q["id"]) for p in article["paragraphs"] for q in p["qas"])})
    table = pd.DataFrame(rows, columns=["dataset", "article", "title", "paragraphs", "groups"])
    if groups is not None:
        wanted = set(map(str, groups))
        table = table[[not wanted.isdisjoint(g) for g in table["groups"]]].reset_index(drop=True)
    return table


def article_embeddings(encoder: Encoder, table: pd.DataFrame, *, prefix: str = "", batch_size: int = 64,
                       cache_dir: str | os.PathLike[str] | None = None, progress: bool = True) -> np.ndarray:
    """Unit-norm embedding of each article of :func:`articles` (rows in ``table`` order): the normalised mean of
    its paragraphs' embeddings, each paragraph encoded with ``prefix`` (the encoder's passage prompt)."""
    texts = [prefix + p for paragraphs in table["paragraphs"] for p in paragraphs]
    emb = embed_texts(encoder, texts, batch_size=batch_size, cache_dir=cache_dir,
                      cache_key=encoding_id(encoder), progress=progress,
                      desc="encoding articles")
    bounds = np.cumsum([0, *map(len, table["paragraphs"])])
    means = np.stack([emb[a:b].mean(axis=0) for a, b in zip(bounds[:-1], bounds[1:])])
    return (means / np.linalg.norm(means, axis=1, keepdims=True)).astype(np.float32)


def cluster(vectors: np.ndarray, k: int, *, seed: int = 0, n_iter: int = 50, n_redo: int = 5
            ) -> tuple[np.ndarray, np.ndarray]:
    """Spherical k-means (faiss) of unit-norm ``vectors`` into ``k`` domains: ``(labels, centres)``, domains
    numbered by size (0 the largest), the best of ``n_redo`` starts."""
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if not 1 <= k <= len(vectors):
        raise ValueError(f"k must be between 1 and the number of articles ({len(vectors)}), got {k}")
    km = faiss.Kmeans(vectors.shape[1], int(k), niter=n_iter, nredo=n_redo, seed=int(seed), spherical=True,
                      verbose=False)
    km.train(vectors)
    labels = km.index.search(vectors, 1)[1][:, 0]
    order = np.argsort(-np.bincount(labels, minlength=k), kind="stable")
    rename = np.empty(k, dtype=int)
    rename[order] = np.arange(k)
    return rename[labels], km.centroids[order]


def domain_names(table: pd.DataFrame, vectors: np.ndarray, centres: np.ndarray, n_titles: int = 2) -> list[str]:
    """A name per domain: the titles of its ``n_titles`` articles nearest the centre."""
    names = []
    for d, centre in enumerate(centres):
        rows = np.flatnonzero(table["domain"].to_numpy() == d)
        nearest = rows[np.argsort(-(vectors[rows] @ centre), kind="stable")[:n_titles]]
        names.append(" / ".join(table["title"].iloc[nearest]))
    return names


def domain_table(table: pd.DataFrame, vectors: np.ndarray, centres: np.ndarray, n_titles: int = 2) -> pd.DataFrame:
    """Per domain: its name (:func:`domain_names`), and per dataset its articles and question groups."""
    counts = table.assign(n_groups=table["groups"].map(len)).groupby(["domain", "dataset"]).agg(
        articles=("article", "size"), groups=("n_groups", "sum")).unstack("dataset", fill_value=0)
    counts.columns = [f"{what} {dataset}" for what, dataset in counts.columns]
    counts = counts.reindex(range(len(centres)), fill_value=0)
    counts.insert(0, "name", domain_names(table, vectors, centres, n_titles))
    counts.index.name = "domain"
    return counts


def group_domains(table: pd.DataFrame) -> pd.Series:
    """The domain of every question group (``group_id`` -> domain) of a clustered :func:`articles` table."""
    pairs = [(g, d) for groups, d in zip(table["groups"], table["domain"]) for g in groups]
    return pd.Series(dict(pairs), name="domain", dtype=int)


def domains_of(domains: pd.Series, groups: pd.Index, what: str) -> pd.Series:
    """The domain of each of ``groups`` (from :func:`group_domains`); raises naming ``what`` when one has none."""
    of = domains.reindex(groups)
    if of.isna().any():
        raise ValueError(f"{int(of.isna().sum())} {what} have no domain: cluster their articles too")
    return of


def target_domain(table: pd.DataFrame, train_name: str, eval_name: str, min_eval_groups: int) -> int:
    """The domain with the most ``train_name`` groups among those with at least ``min_eval_groups`` groups of
    ``eval_name`` in it and in the other domains together (so both evaluation subsets can be filled)."""
    n = table.assign(n=table["groups"].map(len)).pivot_table(index="domain", columns="dataset", values="n",
                                                             aggfunc="sum", fill_value=0)
    for name in (train_name, eval_name):
        if name not in n.columns:
            raise ValueError(f"no article of {name} in the table")
    rest = n[eval_name].sum() - n[eval_name]
    ok = n[(n[eval_name] >= min_eval_groups) & (rest >= min_eval_groups)]
    if ok.empty:
        raise ValueError(f"no domain holds {min_eval_groups} groups of {eval_name} with as many outside it: "
                         "lower the number of evaluation groups or the number of domains")
    return int(ok[train_name].idxmax())


def sample_by_paragraph(dataset: LareqaDataset, groups: Sequence[str], n_groups: int, seed: int = 0) -> list[str]:
    """About ``n_groups`` of ``groups`` taken whole paragraph by whole paragraph in a random order (at least
    ``n_groups`` unless fewer exist), so that the candidate pool stays as small as the questions allow."""
    if n_groups < 1:
        raise ValueError(f"n_groups must be positive, got {n_groups}")
    q = dataset.questions.drop_duplicates("group")
    q = q[q["group"].astype(str).isin(set(map(str, groups)))]
    if q.empty:
        raise ValueError(f"none of the {len(groups)} groups is in {dataset!r}")
    paragraph = q["paragraph"].str.split(":", n=1).str[1]  # the paragraph whatever its language
    order = np.random.default_rng(seed).permutation(paragraph.unique())
    taken, chosen = 0, []
    for key in order:
        members = q.loc[paragraph == key, "group"].astype(str).tolist()
        chosen += members
        taken += len(members)
        if taken >= n_groups:
            break
    return chosen


def domain_evaluation_sets(dataset: LareqaDataset, domains: pd.Series, domain: int, n_groups: int,
                           seed: int = 0) -> dict[str, LareqaDataset]:
    """``{"in-domain": ..., "out-of-domain": ...}``: about ``n_groups`` groups of ``dataset`` from ``domain`` and
    as many from the other domains (:func:`sample_by_paragraph`)."""
    of = domains_of(domains, dataset.groups.astype(str), f"groups of {dataset!r}")
    inside = of.index[of == domain].tolist()
    outside = of.index[of != domain].tolist()
    return {"in-domain": dataset.subset(groups=sample_by_paragraph(dataset, inside, n_groups, seed)),
            "out-of-domain": dataset.subset(groups=sample_by_paragraph(dataset, outside, n_groups, seed))}


def domain_training_sets(train_set, domains: pd.Series, domain: int, fractions: Sequence[float], *,
                         general_fractions: Sequence[float] = (1.0,), seed: int = 0) -> dict[str, object]:
    """Training pair sets keyed ``"domain 25%"``, ``"general 100%"``...: a random ``fraction`` of the groups of
    ``train_set`` in ``domain``, and for each of ``general_fractions`` a random sample of all its groups (every
    domain) of the same number of groups as the domain set of that fraction."""
    from hybridlib.analysis.experiments import select_groups, subsample_groups

    if not set(general_fractions) <= set(fractions):
        raise ValueError(f"general_fractions {list(general_fractions)} must be among fractions {list(fractions)}")
    of = domains_of(domains, pd.Index(sorted(set(train_set["group_id"]))), "training groups")
    in_domain = select_groups(train_set, of.index[of == domain].tolist())
    sets: dict[str, object] = {}
    for fraction in fractions:
        part = subsample_groups(in_domain, fraction, seed=seed)
        sets[f"domain {fraction:.0%}"] = part
        if fraction in general_fractions:
            n = len(set(part["group_id"]))
            sets[f"general {fraction:.0%}"] = subsample_groups(train_set, n_groups=n, seed=seed)
    return sets
