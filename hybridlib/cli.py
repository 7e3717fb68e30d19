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

from hybridlib.models.registry import DEFAULT_MAX_SEQ_LENGTH, DEFAULT_PRECISION, PRECISIONS

BAD_INPUT = 3


def _summary_rows(ev) -> list[dict[str, object]]:
    return [{"setting": s, **{k: round(float(v), 4) for k, v in ev.summary[s].items()}} for s in ev.summary]


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1 (argparse names the flag in its message)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


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
    from hybridlib.models import registry as encoders, encoder as models
    from hybridlib.scoring.results import score_lareqa

    if args.languages is not None and len(set(args.languages)) != len(args.languages):
        raise ValueError(f"--languages lists a language twice: {args.languages}")
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
    ev.add_argument("--max-groups", type=positive_int, help="the first N parallel question groups (default: all)")
    ev.add_argument("--extends", help="with a folder: add its languages to this built-in set (e.g. xquad-r)")
    ev.add_argument("--max-seq-length", type=positive_int, default=None,
                    help=f"tokens per text (default: the length a model hybridlib trained was trained at, else "
                         f"{DEFAULT_MAX_SEQ_LENGTH}, as at every scale of the notebooks)")
    ev.add_argument("--batch-size", type=positive_int, default=32)
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
            from hybridlib.training.train import main as train_main

            return train_main(argv[1:], prog="hybridlib train")
        from hybridlib.runner import main as runner_main

        return runner_main(argv[1:], prog="hybridlib reproduce")
    args = parser().parse_args(argv)
    from hybridlib.data.lareqa import DataError
    from hybridlib.models.leakage import LeakageError
    from hybridlib.models.encoder import ModelLoadError

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
