"""Topical domains: k-means recovers planted topics, articles come from the real files, domains split training and
evaluation data as documented."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hybridlib.analysis import domains
from hybridlib.data import lareqa as data

from .conftest import toy_dataset
from .test_train import synthetic_pairs


def planted(sizes=(30, 20, 10), dim=16, noise=0.05, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.linalg.qr(rng.standard_normal((dim, len(sizes))))[0].T  # orthonormal topics
    truth = np.repeat(np.arange(len(sizes)), sizes)
    vectors = centres[truth] + noise * rng.standard_normal((len(truth), dim))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32), truth


def test_kmeans_recovers_planted_topics_numbered_by_size():
    from sklearn.metrics import adjusted_rand_score

    vectors, truth = planted()
    labels, centres = domains.cluster(vectors[::-1].copy(), 3, seed=1)
    labels = labels[::-1]
    assert adjusted_rand_score(truth, labels) == 1.0
    assert list(np.bincount(labels)) == [30, 20, 10], "domain 0 is the largest"
    assert centres.shape == (3, 16)
    with pytest.raises(ValueError, match="k must be"):
        domains.cluster(vectors, 0)


def test_articles_come_from_the_english_files_with_every_group(real_data_dir):
    table = domains.articles(["xquad-r", "mlqa-r"], real_data_dir)
    per_set = table.groupby("dataset").size()
    assert per_set["xquad-r"] == 48 and per_set["mlqa-r"] == 520
    xq = data.load_lareqa("xquad-r", ["en"], real_data_dir)
    groups = [g for gs in table.loc[table.dataset == "xquad-r", "groups"] for g in gs]
    assert sorted(groups) == sorted(xq.groups.astype(str)), "every XQuAD-R group in exactly one article"
    assert table.loc[0, "title"] == "Super Bowl 50" and table.loc[0, "paragraphs"][0].startswith("Super Bowl 50: ")
    some = set(groups[:7])
    kept = domains.articles(["xquad-r"], real_data_dir, groups=some)
    assert len(kept) == 1 and some <= set(kept.loc[0, "groups"])


def toy_articles():
    """Six toy articles, three per set, in two domains."""
    rows = []
    for name, prefix in (("train", "g"), ("eval", "e")):
        for a in range(3):
            rows.append({"dataset": name, "article": a, "title": f"{name} {a}", "paragraphs": ("p",),
                         "groups": tuple(f"{prefix}{4 * a + i}" for i in range(4)), "domain": int(a == 2)})
    return pd.DataFrame(rows)


def test_the_target_domain_fills_both_evaluation_subsets():
    table = toy_articles()  # domain 0: 8 train and 8 eval groups; domain 1: 4 and 4
    assert domains.target_domain(table, "train", "eval", 4) == 0
    with pytest.raises(ValueError, match="no domain holds"):
        domains.target_domain(table, "train", "eval", 5)


def test_evaluation_subsets_are_whole_paragraphs_in_and_out_of_the_domain():
    layout = {lang: [f"e{i}" for i in range(12)] for lang in ("de", "en")}
    ds = toy_dataset(layout)  # one paragraph per group
    of = domains.group_domains(toy_articles())
    sets = domains.domain_evaluation_sets(ds, of, 0, 3, seed=2)
    inside, outside = (set(sets[k].groups) for k in ("in-domain", "out-of-domain"))
    assert len(inside) == 3 and len(outside) == 3 and not inside & outside
    assert set(of[list(inside)]) == {0} and set(of[list(outside)]) == {1}
    assert sets["in-domain"].languages == ["de", "en"] and len(sets["in-domain"].questions) == 6
    assert domains.domain_evaluation_sets(ds, of, 0, 3, seed=2)["in-domain"].groups.equals(sets["in-domain"].groups)


def test_sampling_by_paragraph_takes_every_group_of_a_chosen_paragraph():
    qs = pd.DataFrame({"group": [f"g{i}" for i in range(9)], "lang": "en", "text": "q",
                       "paragraph": [f"en:0:{i // 3}" for i in range(9)], "qid": range(9), "answer": "a"})
    ds = data.LareqaDataset("toy", ["en"], qs, pd.DataFrame(columns=["cid", "lang", "sentence", "context",
                                                                       "paragraph", "groups"]))
    chosen = domains.sample_by_paragraph(ds, list(qs.group), 4, seed=0)
    assert len(chosen) == 6, "two whole paragraphs of three groups for four asked"
    paragraphs = {int(g[1:]) // 3 for g in chosen}
    assert set(chosen) == {f"g{i}" for i in range(9) if i // 3 in paragraphs}


def test_domain_and_general_training_sets_have_the_same_number_of_groups():
    pairs = synthetic_pairs(n_groups=24)
    of = pd.Series({f"g{i}": int(i % 3 == 0) for i in range(24)})  # 16 groups in domain 0
    sets = domains.domain_training_sets(pairs, of, 0, [0.5, 1.0], seed=3)
    assert list(sets) == ["domain 50%", "domain 100%", "general 100%"]
    groups = {k: set(v["group_id"]) for k, v in sets.items()}
    assert len(groups["domain 100%"]) == len(groups["general 100%"]) == 16 and len(groups["domain 50%"]) == 8
    assert set(of[list(groups["domain 100%"])]) == {0} and groups["domain 50%"] <= groups["domain 100%"]
    assert set(of[list(groups["general 100%"])]) == {0, 1}, "the general sample draws from every domain"
    assert sets["general 100%"].info.description == pairs.info.description, "the sources travel with the data"
    with pytest.raises(ValueError, match="no domain"):
        domains.domain_training_sets(pairs, of.iloc[:5], 0, [1.0])
