"""Scoring a trained model with the ``mteb`` package (its retrieval tasks need the hub; see the README).

* :func:`mteb_encoder` wraps one of our models for mteb with the prefixes it was trained with
  (:func:`hybridlib.models.encoder.prompts_for`), as mteb's query / document prompts.
* :func:`lareqa_task` builds an mteb retrieval task from local LAReQA data (questions in one language against the
  candidate sentences in another), so the adapter can be checked offline against our own evaluation.
* :func:`run_mteb` evaluates on mteb tasks by name (``XQuADRetrieval``, ``MIRACLRetrieval``, ...) or task objects,
  and returns one row per task, subset and split.

    python -m hybridlib.scoring.mteb_adapter --model build/models/<run>/final --task MIRACLRetrieval --task XQuADRetrieval
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any

import pandas as pd

from hybridlib.models.encoder import load_encoder, prompts_for
from hybridlib.models.registry import PAPER_PROMPTS

# ISO 639-1 (LAReQA's codes) -> mteb's ISO 639-3 with script
MTEB_LANGUAGES = {"ar": "ara-Arab", "de": "deu-Latn", "el": "ell-Grek", "en": "eng-Latn", "es": "spa-Latn",
                  "hi": "hin-Deva", "ru": "rus-Cyrl", "th": "tha-Thai", "tr": "tur-Latn", "vi": "vie-Latn",
                  "zh": "zho-Hans"}


def mteb_encoder(model: Any, *, query_prefix: str | None = None, passage_prefix: str | None = None):
    """An mteb encoder for ``model`` (a name, folder, hub id or loaded SentenceTransformer) with its prefixes as
    its query and document prompts (None: :func:`hybridlib.models.encoder.prompts_for` of a name or folder, the paper's
    for a loaded model; empty prefixes: no prompt)."""
    from mteb.models.sentence_transformer_wrapper import SentenceTransformerEncoderWrapper

    own = prompts_for(model) if isinstance(model, (str, os.PathLike)) else PAPER_PROMPTS
    query_prefix = own[0] if query_prefix is None else query_prefix
    passage_prefix = own[1] if passage_prefix is None else passage_prefix
    encoder = load_encoder(model) if isinstance(model, (str, os.PathLike)) else model
    prompts = {k: v for k, v in (("query", query_prefix), ("document", passage_prefix)) if v}
    with warnings.catch_warnings():  # mteb 2.26 calls a method sentence-transformers 6 renamed, and says it sets prompts
        warnings.filterwarnings("ignore", message=".*get_sentence_embedding_dimension.*", category=FutureWarning)
        warnings.filterwarnings("ignore", message="Model prompts specified", category=UserWarning)
        warnings.filterwarnings("ignore", message="The fill_missing parameter is deprecated", category=DeprecationWarning)
        return SentenceTransformerEncoderWrapper(encoder, model_prompts=prompts or None)


def lareqa_task(dataset: str = "xquad-r", query_lang: str = "en", cand_lang: str = "de", *,
                max_groups: int | None = None, data_dir: str | os.PathLike[str] | None = None):
    """An mteb retrieval task from local LAReQA data: the questions in ``query_lang`` ranked against the candidate
    sentences in ``cand_lang`` (relevant: the sentences answering the question's parallel group)."""
    from datasets import Dataset
    from mteb.abstasks.retrieval import AbsTaskRetrieval
    from mteb.abstasks.retrieval_dataset_loaders import RetrievalSplitData
    from mteb.abstasks.task_metadata import TaskMetadata

    from hybridlib.data.lareqa import load_lareqa

    langs = sorted({query_lang, cand_lang})
    unknown = [lang for lang in langs if lang not in MTEB_LANGUAGES]
    if unknown:
        raise ValueError(f"no mteb language code for {unknown}; known: {sorted(MTEB_LANGUAGES)}")
    data = load_lareqa(dataset, langs, data_dir).subset(langs, max_groups)
    questions = data.questions[data.questions["lang"] == query_lang]
    cands = data.candidates[data.candidates["lang"] == cand_lang].reset_index(drop=True)
    doc_ids = [f"{cand_lang}-{i}" for i in range(len(cands))]
    by_group: dict[str, dict[str, int]] = {}
    for doc_id, groups in zip(doc_ids, cands["groups"]):
        for g in groups:
            by_group.setdefault(g, {})[doc_id] = 1
    questions = questions[questions["group"].isin(by_group)]
    split = RetrievalSplitData(
        queries=Dataset.from_dict({"id": list(questions["qid"]), "text": list(questions["text"])}),
        corpus=Dataset.from_dict({"id": doc_ids, "text": list(cands["sentence"])}),
        relevant_docs={q: by_group[g] for q, g in zip(questions["qid"], questions["group"])},
        top_ranked=None,
    )
    name = f"LAReQA-{dataset}-{query_lang}-{cand_lang}"
    metadata = TaskMetadata(
        name=name, type="Retrieval", main_score="ndcg_at_10", category="t2t", modalities=["text"],
        description=f"{dataset} questions in {query_lang} against its answer sentences in {cand_lang} (local data).",
        reference="https://github.com/google-research-datasets/lareqa",
        dataset={"path": f"local/{dataset}", "revision": "local"}, eval_splits=["test"],
        eval_langs=sorted({MTEB_LANGUAGES[query_lang], MTEB_LANGUAGES[cand_lang]}), date=("2020-01-01", "2020-05-19"),
        dialect=[], domains=["Encyclopaedic", "Written"], task_subtypes=["Question answering"],
        license="cc-by-sa-4.0", annotations_creators="human-annotated", sample_creation="found", bibtex_citation="",
    )

    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        self.dataset = {"default": {"test": split}}
        self.data_loaded = True

    task_class = type(name.replace("-", "_"), (AbsTaskRetrieval,), {"metadata": metadata, "load_data": load_data})
    return task_class()


def run_mteb(model: Any, tasks: Sequence[Any], *, query_prefix: str | None = None, passage_prefix: str | None = None,
             output_folder: str | os.PathLike[str] | None = None, progress: bool = True) -> pd.DataFrame:
    """Evaluate ``model`` on mteb ``tasks`` (names, which need the hub, or task objects); one row per task, subset
    and split with its main score and nDCG@10, Recall@100 and MRR@10. ``output_folder`` keeps mteb's result
    files (none by default)."""
    import mteb
    from mteb.cache import ResultCache

    names = [t for t in tasks if isinstance(t, str)]
    objects = [t for t in tasks if not isinstance(t, str)] + (list(mteb.get_tasks(tasks=names)) if names else [])
    if not objects:
        raise ValueError("no tasks to run")
    encoder = mteb_encoder(model, query_prefix=query_prefix, passage_prefix=passage_prefix)
    cache = ResultCache(output_folder) if output_folder is not None else None
    result = mteb.evaluate(encoder, objects, cache=cache, show_progress_bar=progress)
    rows = []
    for task_result in result.task_results:
        for split, subsets in task_result.scores.items():
            for scores in subsets:
                rows.append({"task": task_result.task_name, "split": split, "subset": scores.get("hf_subset"),
                             "main_score": scores.get("main_score"), "ndcg@10": scores.get("ndcg_at_10"),
                             "recall@100": scores.get("recall_at_100"), "mrr@10": scores.get("mrr_at_10")})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hybridlib.scoring.mteb_adapter", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a model folder written by fine-tuning, or a hub id")
    parser.add_argument("--task", action="append", required=True, help="an mteb task name; repeatable")
    parser.add_argument("--query-prefix", default=None, help="default: the model's own (hybridlib.models.registry)")
    parser.add_argument("--passage-prefix", default=None)
    parser.add_argument("--output", default="build/mteb", help="where mteb writes its result files")
    args = parser.parse_args(argv)
    table = run_mteb(args.model, args.task, query_prefix=args.query_prefix, passage_prefix=args.passage_prefix,
                     output_folder=args.output)
    print(table.to_markdown(index=False, floatfmt=".4f"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
