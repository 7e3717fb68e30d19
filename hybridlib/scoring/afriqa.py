"""AfriQA scored the MKQA way: a native question retrieves from a pool of English (and French) passages.

The corpus that can be built offline is every distinct gold passage of every language of a split, pooled (the
upstream corpus, all of Wikipedia, is not staged); ``distractors`` add passages of one's choice. Each question is
scored on the full ranking of that pool:

* **Recall@k by answer containment** (k = 20, 100), as FlagEmbedding scores MKQA: 1 when one of the question's top
  ``k`` passages contains one of its answers (in the passage's language, ``answers_translated``) as a run of tokens
  (:func:`has_answer`: Unicode-normalised, lower-cased, punctuation split off), else 0;
* **nDCG@10 and MRR@10 by the gold passage** (trec_eval's definitions through ``pytrec_eval``, as for MIRACL:
  :func:`hybridlib.scoring.miracl.score_run`); every copy of the gold passage's text is relevant.

``query="question_translated"`` scores the human translation of each question instead (the translate-test
reference): the gap between the two is what asking in the native language costs.

Example::

    from hybridlib.data import corpora
    from hybridlib.scoring import afriqa
    from hybridlib.models.encoder import load_encoder
    ev = afriqa.evaluate_afriqa(load_encoder("default", max_seq_length=256, precision="bf16"),
                                corpora.load_afriqa("test"))
    ev.by_language        # recall@20, recall@100, ndcg@10, mrr@10 per language and their macro mean
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from hybridlib.models.encoder import Encoder, embed_texts, encoding_id
from hybridlib.scoring.miracl import score_run

METRICS = ("recall@20", "recall@100", "ndcg@10", "mrr@10")
QUERY_COLUMNS = ("question", "question_translated")
_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)
_UNIFY = str.maketrans({"‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "−": "-", "’": "'", "‘": "'",
                        "“": '"', "”": '"', "„": '"', "\u00ad": None})


def tokens(text: str) -> list[str]:
    """The tokens answer containment compares: NFD-normalised, dashes and quotes unified, lower-cased, words and
    single punctuation marks."""
    return _TOKEN.findall(unicodedata.normalize("NFD", str(text)).translate(_UNIFY).lower())


def has_answer(passage: str | Sequence[str], answers: Sequence[str]) -> bool:
    """Whether one of ``answers`` occurs in ``passage`` (its text, or its :func:`tokens` already) as a contiguous
    run of :func:`tokens` (DPR's ``has_answer``, which FlagEmbedding's MKQA evaluation uses)."""
    words = tokens(passage) if isinstance(passage, str) else passage
    for answer in answers:
        target = tokens(answer)
        n = len(target)
        if n and any(words[i:i + n] == target for i in range(len(words) - n + 1)):
            return True
    return False


def afriqa_corpus(table: pd.DataFrame, distractors: Sequence[str] = ()) -> pd.DataFrame:
    """The pool: every distinct gold passage of ``table`` (rows of :func:`hybridlib.data.corpora.load_afriqa`), then
    ``distractors``, once each: ``docid`` (``p<n>``), ``passage``, ``lang`` (``en``/``fr``; ``""`` for a
    distractor not among the gold passages)."""
    gold = table.drop_duplicates("passage")[["passage", "passage_lang"]].rename(columns={"passage_lang": "lang"})
    extra = pd.DataFrame({"passage": [p for p in dict.fromkeys(distractors) if p not in set(gold["passage"])],
                          "lang": ""})
    pool = pd.concat([gold, extra], ignore_index=True)
    return pool.assign(docid=[f"p{i}" for i in range(len(pool))])[["docid", "passage", "lang"]]


@dataclass
class AfriqaEvaluation:
    """Per question (``id``, ``lang`` and :data:`METRICS`) and how it was made (``meta``)."""

    model: str
    per_query: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def by_language(self) -> pd.DataFrame:
        """Mean of each metric per language and their macro mean (``mean``)."""
        table = self.per_query.groupby("lang", sort=False)[list(METRICS)].mean()
        table.loc["mean"] = table.mean()
        return table


def evaluate_afriqa(encoder: Encoder, table: pd.DataFrame, *, query: str = "question",
                    distractors: Sequence[str] = (), query_prefix: str = "query: ", passage_prefix: str = "passage: ",
                    batch_size: int = 32, cache_dir: str | None = None, cache_key: str | None = None,
                    progress: bool = True) -> AfriqaEvaluation:
    """``encoder`` on AfriQA (rows of :func:`hybridlib.data.corpora.load_afriqa`): each question (``query``: the native
    ``question`` or its ``question_translated``) ranks the whole pool of :func:`afriqa_corpus` by cosine; Recall@20
    and @100 by answer containment, nDCG@10 and MRR@10 by the gold passage. ``cache_key``: the embedding cache's
    key for this model (default its record's ``encoding_id``)."""
    if query not in QUERY_COLUMNS:
        raise ValueError(f"query must be one of {QUERY_COLUMNS}, got {query!r}")
    if table.empty:
        raise ValueError("no AfriQA questions to score")
    pool = afriqa_corpus(table, distractors)
    docid = dict(zip(pool["passage"], pool["docid"]))
    q_texts = [query_prefix + t for t in table[query]]
    p_texts = [passage_prefix + t for t in pool["passage"]]
    emb = embed_texts(encoder, q_texts + p_texts, batch_size=batch_size, cache_dir=cache_dir,
                      cache_key=cache_key or encoding_id(encoder), progress=progress, desc="encoding AfriQA")
    q_emb, p_emb = emb[: len(q_texts)], emb[len(q_texts):]
    qrels, run, recall = {}, {}, {20: [], 100: []}
    docids, passages = pool["docid"].to_numpy(), pool["passage"].to_numpy()
    words: dict[int, list[str]] = {}  # each pool passage tokenized once, when first retrieved
    ids, golds, answers = table["id"].astype(str).to_numpy(), table["passage"].to_numpy(), table["answers_translated"].to_numpy()
    for lo in range(0, len(q_emb), 256):
        scores = q_emb[lo:lo + 256] @ p_emb.T
        order = np.argsort(-scores, axis=1, kind="stable")[:, :100]
        for j, row in enumerate(order):
            qid = ids[lo + j]
            qrels[qid] = {docid[golds[lo + j]]: 1}
            run[qid] = {docids[i]: float(scores[j, i]) for i in row}
            found = [has_answer(words[i] if i in words else words.setdefault(i, tokens(passages[i])), answers[lo + j])
                     for i in row]
            for k in recall:
                recall[k].append(float(any(found[:k])))
    trec = score_run(qrels, run).set_index("qid")
    per_query = pd.DataFrame({"id": table["id"].astype(str).to_numpy(), "lang": table["lang"].to_numpy(),
                              "recall@20": recall[20], "recall@100": recall[100]})
    per_query["ndcg@10"] = trec["ndcg@10"].reindex(per_query["id"]).to_numpy()
    per_query["mrr@10"] = trec["mrr@10"].reindex(per_query["id"]).to_numpy()
    meta = {"query": query, "passages": len(pool), "gold_passages": int((pool["lang"] != "").sum()),
            "distractors": int((pool["lang"] == "").sum()), "questions": len(table)}
    return AfriqaEvaluation(type(encoder).__name__, per_query, meta)
