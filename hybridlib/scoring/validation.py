"""Validation on held-out pairs: the LAReQA protocol applied to a pair table (stages 02-03 and the trainer).

A validation pair table (the groups :func:`hybridlib.data.pairs.split_by_group` held out) becomes a small LAReQA set:
each group's question in each language is a query, each group's passage in each language a candidate, and the
relevant candidates of a query are its own group's passages (:func:`validation_pool`). An encoder is then ranked
exactly as the evaluation ranks it (:func:`hybridlib.scoring.evaluate.rank_lareqa`). The trainer selects checkpoints with
:func:`validation_map`; notebooks score trained runs with :func:`hybridlib.analysis.comparison.validation_runs` and
:func:`hybridlib.analysis.comparison.validation_table`, which use :func:`validation_evaluation`.

Example::

    scores = validation.validation_map(encoder, splits["validation"].to_pandas(),
                                       query_prefix="query: ", passage_prefix="passage: ")
    scores["multi_map"]
"""

from __future__ import annotations

import pandas as pd

from hybridlib.batching.samplers import AnyGroupFree, PairMeta, ParallelBatchSampler
from hybridlib.data.pairs import groups_from_pairs
from hybridlib.models.encoder import embed_texts
from hybridlib.scoring.evaluate import LareqaEvaluation, rank_lareqa

VALIDATION_SEED = 12345  # the validation batches' own seed: the same batches whatever the run's seed


def validation_pool(pairs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """LAReQA-style questions and candidates from the monolingual rows of a pair table: each group's question
    in each language, and its passage in each language as the relevant candidates."""
    groups = groups_from_pairs(pairs).sort_values("lang", kind="stable")
    questions = pd.DataFrame({"qid": groups.lang + ":" + groups.group_id, "lang": groups.lang,
                              "text": groups.question, "group": groups.group_id}).reset_index(drop=True)
    candidates = pd.DataFrame({"lang": groups.lang, "sentence": groups.passage,
                               "groups": [(g,) for g in groups.group_id]}).reset_index(drop=True)
    return questions, candidates


def validation_evaluation(encoder, pairs: pd.DataFrame, *, query_prefix: str = "", passage_prefix: str = "",
                          batch_size: int = 64) -> LareqaEvaluation:
    """The LAReQA evaluation of ``encoder`` on a validation pair table: each group's question in each language
    against every group's passages (:func:`validation_pool`)."""
    questions, candidates = validation_pool(pairs)
    languages = sorted(set(questions.lang))
    emb = embed_texts(encoder, [query_prefix + t for t in questions.text] +
                      [passage_prefix + s for s in candidates.sentence], batch_size=batch_size, progress=False)
    per_query = rank_lareqa(questions, candidates, emb[: len(questions)], emb[len(questions):], languages)
    return LareqaEvaluation("validation", "model", languages, per_query,
                            meta={"n_questions": len(questions), "n_candidates": len(candidates)})


def validation_metrics(evaluation: LareqaEvaluation) -> dict[str, float]:
    """mono / cross / multi mAP and mean rank distance of an evaluation."""
    return {"mono_map": evaluation.summary["mono"]["map"], "cross_map": evaluation.summary["cross"]["map"],
            "multi_map": evaluation.summary["multi"]["map"],
            "rank_distance": float(evaluation.rank_distance["mean"])}


def validation_map(encoder, pairs: pd.DataFrame, *, query_prefix: str = "", passage_prefix: str = "",
                   batch_size: int = 64) -> dict[str, float]:
    """mono / cross / multi mAP and rank distance of ``encoder`` on a validation pair table."""
    return validation_metrics(validation_evaluation(encoder, pairs, query_prefix=query_prefix,
                                                    passage_prefix=passage_prefix, batch_size=batch_size))


def validation_sampler(pairs, batch_size: int, *, meta: PairMeta | None = None, drop_last: bool = False,
                       valid_label_columns=None, generator=None) -> ParallelBatchSampler:
    """The sampler of the validation batches every training sampler is judged on: all pairs mixed ("any"), no group
    repeated within a batch, :data:`VALIDATION_SEED` whatever the run's seed (``meta``: the pairs' metadata, when
    already read; the other arguments as the trainer gives them)."""
    return ParallelBatchSampler(pairs, batch_size, drop_last, valid_label_columns, generator, VALIDATION_SEED,
                                meta=meta if meta is not None else PairMeta.from_dataset(pairs), kind=AnyGroupFree.name)


def validation_batches(pairs, batch_size: int, max_batches: int | None = None) -> list[list[int]]:
    """The row indices of the validation batches (:func:`validation_sampler`); the first ``max_batches`` of them
    (None: one epoch)."""
    batches = [list(b) for b in validation_sampler(pairs, batch_size)]
    return batches[:max_batches] if max_batches is not None else batches


def validation_loss(encoder, pairs, *, batch_size: int, scale: float, query_prefix: str = "",
                    passage_prefix: str = "", max_batches: int | None = None) -> float:
    """Mean in-batch InfoNCE loss of ``encoder`` on held-out pairs (a pair dataset of
    :func:`hybridlib.data.pairs.build_training_pairs`): sentence-transformers' ``MultipleNegativesRankingLoss`` (cosine
    times ``scale``, each query against its batch's passages) over :func:`validation_batches`, without gradients.
    The model's train / eval mode is left as it was."""
    import numpy as np
    import torch

    batches = validation_batches(pairs, batch_size, max_batches)
    rows = sorted({i for b in batches for i in b})
    where = {row: k for k, row in enumerate(rows)}
    picked = pairs.select(rows)
    training = encoder.training
    try:
        q = embed_texts(encoder, [query_prefix + t for t in picked["query"]], batch_size=batch_size, progress=False)
        p = embed_texts(encoder, [passage_prefix + t for t in picked["passage"]], batch_size=batch_size,
                        progress=False)
    finally:
        encoder.train(training)
    q = torch.nn.functional.normalize(torch.as_tensor(np.asarray(q, dtype=np.float32)), dim=-1)
    p = torch.nn.functional.normalize(torch.as_tensor(np.asarray(p, dtype=np.float32)), dim=-1)
    losses = []
    for batch in batches:
        idx = torch.as_tensor([where[i] for i in batch])
        logits = scale * q[idx] @ p[idx].T
        losses.append(torch.nn.functional.cross_entropy(logits, torch.arange(len(batch))).item())
    return float(np.mean(losses))
