"""The ``hybridlib`` command: score a model on LAReQA data, train one sampler run, or reproduce the notebooks.

Exit codes: 0 done; 2 a usage error (argparse's); 3 a bad input found before any work (unknown model, dataset or
language, missing or corrupt data, a model that trained on the evaluation set); 1 anything else.

    hybridlib evaluate default xquad-r --max-groups 40 --out build/eval/e5-xquad
    hybridlib evaluate build/models/<run>/final my-data/ --extends xquad-r --out build/eval/ro
    hybridlib train --training-set build/data/training/mlqa-r --sampler hybrid --output build/models/h0
    hybridlib reproduce --scale smoke
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from hybridlib.models.registry import DEFAULT_MAX_SEQ_LENGTH, DEFAULT_PRECISION, PRECISIONS
from hybridlib.params import check_each

BAD_INPUT = 3


def _summary_rows(ev) -> list[dict[str, object]]:
    return [{"setting": s, **{k: round(float(v), 4) for k, v in ev.summary[s].items()}} for s in ev.summary]


def check_output_dir(out: Path, flag: str = "--out") -> None:
    """Refuse, before any work, an output folder that cannot be written (:func:`hybridlib.core._io.check_writable`) or an
    existing folder holding other things than a previous result (the result replaces the folder whole)."""
    from hybridlib.core import _io

    _io.check_writable(out, flag)
    if out.is_dir() and any(out.iterdir()) and not (out / "summary.json").is_file():
        raise ValueError(f"{flag} {out} is a folder that holds other files; the result replaces the folder "
                         "whole, so give a new or empty folder (or one holding an earlier result)")
    if out.is_dir():
        _io.check_writable(out.parent, flag)


def evaluate_command(args: argparse.Namespace) -> int:
    """Score MODEL on DATASET zero-shot; print the summary and write the tables and a JSON with provenance."""
    from hybridlib import runner
    from hybridlib.core import _io
    from hybridlib.data import lareqa as data
    from hybridlib.models import encoder as models
    from hybridlib.models import registry as encoders
    from hybridlib.scoring.results import score_lareqa

    flags = {"languages": args.languages, "max_groups": args.max_groups, "max_seq_length": args.max_seq_length,
             "batch_size": args.batch_size}
    check_each({k: v for k, v in flags.items() if v is not None}, as_flags=True)  # before any data or model loads
    out = Path(args.out).expanduser() if args.out else None
    if out is not None:
        check_output_dir(out)
    is_folder = Path(args.dataset).expanduser().is_dir()
    if is_folder:
        dataset = data.load_lareqa_files(args.dataset, extends=args.extends, data_dir=args.data_dir)
    elif args.dataset in data.dataset_names():
        if args.extends:
            raise ValueError("--extends goes with a folder of your own files")
        dataset = data.load_lareqa(args.dataset, args.languages, data_dir=args.data_dir)  # only these files
    else:
        raise ValueError(f"dataset {args.dataset!r} is neither a known set ({', '.join(data.dataset_names())}) nor a "
                         "folder of <lang>.json[.gz] LAReQA files")
    if args.languages is not None:
        dataset = dataset.subset(args.languages)
    record = models.model_record(args.model)
    query, passage = record.prompts
    query = query if args.query_prefix is None else args.query_prefix
    passage = passage if args.passage_prefix is None else args.passage_prefix
    length, why = ((args.max_seq_length, "--max-seq-length") if args.max_seq_length is not None
                   else models.default_max_seq_length(args.model))
    ev = score_lareqa(args.model, dataset, max_groups=args.max_groups, max_seq_length=length, query_prefix=query,
                      passage_prefix=passage, batch_size=args.batch_size, precision=args.precision,
                      data_dir=args.data_dir,
                      cache_dir=args.cache_dir, store_dir=args.store_dir, allow_trained_on=args.allow_trained_on,
                      allow_hint="--allow-trained-on", progress=not args.quiet)  # guarded before anything loads
    import pandas as pd

    print(f"{encoders.label(args.model)} on {dataset.name} ({ev.meta['n_questions']} questions, "
          f"{ev.meta['n_candidates']} candidates, {len(ev.languages)} languages; prefixes {query!r} / {passage!r}; "
          f"{length} tokens a text: {why}; {ev.meta['precision']})")
    print(pd.DataFrame(_summary_rows(ev)).to_markdown(index=False))
    print(f"rank distance (multi, mean over query languages): {float(ev.rank_distance['mean']):.1f}")
    if out is not None:
        provenance = {
            "model": args.model, "model_record": record.to_json(), "precision": ev.meta["precision"],
            "max_seq_length": length, "prefixes": [query, passage], "dataset": dataset.name,
            "languages": list(ev.languages), "max_groups": args.max_groups, "data_files": dataset.files,
            "data_sha256": dataset.checksums, "leakage_check": ev.meta["leakage_check"],
            "result_record": ev.meta["record"], "environment": runner.environment(),
        }
        summary = {"summary": ev.summary, "rank_distance": ev.rank_distance.to_dict(), "provenance": provenance}
        with _io.atomic_dir(out) as tmp:  # all three files or none
            (tmp / "map_matrix.csv").write_text(ev.map_matrix.to_csv(float_format="%.6g"), encoding="utf-8")
            (tmp / "per_question.csv").write_text(ev.per_query.to_csv(index=False, float_format="%.6g"),
                                                  encoding="utf-8")
            (tmp / "summary.json").write_text(_io.json_text(summary), encoding="utf-8")
        print(f"wrote {out / 'summary.json'}, {out / 'map_matrix.csv'}, {out / 'per_question.csv'}")
    return 0


def train_main(argv: list[str] | None = None, prog: str = "hybridlib train") -> int:
    """Command line for one run, also under ``torchrun`` / ``accelerate launch``:

        hybridlib train --training-set build/data/training/mlqa-r --sampler hybrid --alpha 0.5 \\
            --config default --seed 0 --output build/models/hybrid-seed0
        torchrun --nproc-per-node 2 -m hybridlib.cli train ...   (one run on two GPUs)

    Notebook 01 writes the training sets: ``build/data/training/<source>`` at the default scale
    (``hybridlib reproduce --only 01``), ``build/data/training-smoke/<source>`` at the smoke scale (``make test``).
    Exit codes: 0 done, 2 a usage error, 3 a bad input found before training starts, 1 anything else.
    """
    import contextlib

    from hybridlib.batching.samplers import KINDS, PROPOSED
    from hybridlib.core import _io
    from hybridlib.core.paths import project_path
    from hybridlib.training.train import fine_tune

    ap = argparse.ArgumentParser(prog=prog, description=train_main.__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--training-set", required=True, help="a folder written by notebook 01 / save_training_set")
    ap.add_argument("--sampler", default=PROPOSED, choices=list(KINDS))
    ap.add_argument("--alpha", type=float, default=0.5, help="hybrid's share of X-X-mono batches, in [0, 1]")
    ap.add_argument("--config", default="default", help="configs/<name>.yaml or a YAML path")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config value")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--output", required=True, help="the run's folder (resumable; one run at a time)")
    ap.add_argument("--no-validation", action="store_true", help="train without the validation split")
    ap.add_argument("--record-batches", action="store_true")
    args = ap.parse_args(argv)
    try:
        config, splits = _checked_train_command(args)
        alone = int(os.environ.get("WORLD_SIZE", "1")) == 1  # under torchrun the processes share one output
        lock = (_io.exclusive_lock(project_path(args.output) / "train.lock", f"another run is training into {args.output}")
                if alone else contextlib.nullcontext())
        with lock:
            path = fine_tune(config.model, splits["train"], sampler=args.sampler, alpha=args.alpha, config=config,
                             seed=args.seed, eval_set=None if args.no_validation else splits["validation"],
                             output_dir=args.output, record_batches=args.record_batches)
    except (ValueError, TypeError, FileNotFoundError, _io.Busy) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return BAD_INPUT
    print(path)
    return 0


def _checked_train_command(args: argparse.Namespace) -> tuple[Any, Any]:
    """The command line's config and training set, every value checked (named as typed) before a model loads."""
    import yaml

    from hybridlib.core.paths import project_path
    from hybridlib.data.pairs import load_training_set
    from hybridlib.models.runs import TrainConfig

    check_each({"alpha": args.alpha}, as_flags=True)
    overrides = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set {item!r}: expected KEY=VALUE")
        overrides[key] = yaml.safe_load(value)
    try:
        config = TrainConfig.load(args.config, **overrides)
    except (ValueError, TypeError) as exc:
        where = f"--set {', '.join(args.set)} / " if args.set else ""
        raise ValueError(f"{where}--config {args.config}: {exc}") from None
    target = project_path(args.training_set)
    if not (target / "dataset_dict.json").is_file():
        made = sorted(str(p.parent.relative_to(project_path("."))) for p in
                      project_path("build/data").glob("*/*/dataset_dict.json")) if project_path("build/data").is_dir() else []
        raise FileNotFoundError(
            f"--training-set {args.training_set}: no training set there. Notebook 01 writes them: "
            "build/data/training/<source> at the default scale (hybridlib reproduce --only 01), "
            "build/data/training-smoke/<source> at the smoke scale (make test)"
            + (f"; found: {', '.join(made)}" if made else ""))
    splits = load_training_set(target)
    if not args.no_validation and "validation" not in splits:
        raise ValueError(f"--training-set {args.training_set} has no validation split: pass --no-validation")
    batches = len(splits["train"]) // config.batch_size
    if batches < 1:
        raise ValueError(f"batch_size {config.batch_size} is larger than the {len(splits['train'])} training pairs "
                         f"of --training-set {args.training_set}")
    return config, splits


def parser() -> argparse.ArgumentParser:
    """The ``hybridlib`` argument parser with its three subcommands."""
    top = argparse.ArgumentParser(prog="hybridlib", description=__doc__,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = top.add_subparsers(dest="command", required=True)
    ev = sub.add_parser("evaluate", help="score a model on XQuAD-R, MLQA-R or your own LAReQA files",
                        formatter_class=argparse.RawDescriptionHelpFormatter, description="""\
Score MODEL zero-shot on DATASET by mAP (mono / cross / multi), R@1, R@10 and rank distance.

example:
  hybridlib evaluate default xquad-r --languages en de zh --max-groups 40 --out build/eval/e5
  hybridlib evaluate build/models/<run>/final my-lareqa/ --extends xquad-r --out build/eval/ro""")
    ev.add_argument("model", help="a known encoder (default, multilingual-e5-small, all-MiniLM-L6-v2), a model "
                                  "folder or a hub id")
    ev.add_argument("dataset", help="xquad-r, mlqa-r, or a folder of <lang>.json[.gz] LAReQA files")
    ev.add_argument("--languages", nargs="+", help="keep these languages (default: all)")
    ev.add_argument("--max-groups", type=int, help="the first N parallel question groups (default: all)")
    ev.add_argument("--extends", help="with a folder: add its languages to this built-in set (e.g. xquad-r)")
    ev.add_argument("--max-seq-length", type=int, default=None,
                    help=f"tokens per text (default: the length a model hybridlib trained was trained at, else "
                         f"{DEFAULT_MAX_SEQ_LENGTH}, as at every scale of the notebooks)")
    ev.add_argument("--batch-size", type=int, default=32)
    ev.add_argument("--precision", choices=PRECISIONS, default=DEFAULT_PRECISION,
                    help=f"compute in float32 or bfloat16 weights (default: {DEFAULT_PRECISION}, fp32 where the machine "
                         "has no native bfloat16; benchmarks/RESULTS.md)")
    ev.add_argument("--query-prefix", default=None, help="default: the model's own (hybridlib.models.registry)")
    ev.add_argument("--passage-prefix", default=None)
    ev.add_argument("--data-dir", default=None, help="the built-in sets' folder (default: $HYBRIDLIB_DATA, data/)")
    ev.add_argument("--cache-dir", default="build/cache/embeddings", help="embedding cache (resumable)")
    ev.add_argument("--store-dir", default="build/results",
                    help="results store: an evaluation made before with the same model, data and settings is "
                         "read from here instead of computed again")
    ev.add_argument("--out", help="write summary.json, map_matrix.csv and per_question.csv to this folder (new, "
                                  "empty or an earlier result's; written whole or not at all)")
    ev.add_argument("--allow-trained-on", action="store_true", help="score even a model trained on this data")
    ev.add_argument("--quiet", action="store_true", help="no progress bars")
    ev.set_defaults(run=evaluate_command)
    tr = sub.add_parser("train", add_help=False, help="one fine-tuning run from a config (resumable); "
                        "see hybridlib train --help")
    tr.set_defaults(run=None, delegate="train")
    rp = sub.add_parser("reproduce", add_help=False, help="run the notebooks under papermill (cached, resumable); "
                        "see hybridlib reproduce --help")
    rp.set_defaults(run=None, delegate="reproduce")
    return top


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if argv and argv[0] in ("train", "reproduce"):  # their own parsers, examples and exit codes
        if argv[0] == "train":
            return train_main(argv[1:], prog="hybridlib train")
        from hybridlib.runner import main as runner_main

        return runner_main(argv[1:], prog="hybridlib reproduce")
    args = parser().parse_args(argv)
    from hybridlib.data.lareqa import DataError
    from hybridlib.models.encoder import ModelLoadError
    from hybridlib.models.leakage import LeakageError

    if args.quiet:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    try:
        return args.run(args)
    except (DataError, ModelLoadError, LeakageError, ValueError, TypeError) as exc:
        print(f"hybridlib: error: {exc}", file=sys.stderr)
        return BAD_INPUT
    except OSError as exc:  # a full disk or a folder that vanished while writing: said plainly, nothing half-written
        print(f"hybridlib: error: could not write the result: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
