"""`harness evaluate PATH --task T [--task ...]`: official split -> predictions file + result record per task.

PATH is a submission folder (submission.yaml names a model folder and head per task) or a bare
model folder (then `--head` may choose the head).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness.commands import positive_int
from harness.measure import DEFAULT_MEASUREMENTS


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="evaluate a submission (or model folder) on tasks, writing records")
    p.add_argument("path", type=Path, help="submission folder (with submission.yaml) or a model folder")
    p.add_argument("--task", action="append", dest="tasks", metavar="TASK",
                   help="task id (repeatable); default: every task the submission declares")
    p.add_argument("--data-dir", help="local mirror of the data (default: $HARNESS_DATA_DIR, else the hub)")
    p.add_argument("--results", type=Path, default=Path("results"), help="results folder (default: results)")
    p.add_argument("--head", help="model head for a bare model folder (e.g. cosine)")
    p.add_argument("--max-length", type=positive_int, help="truncation length (default: 128; SQuAD 384)")
    p.add_argument("--batch-size", type=positive_int, default=32)
    p.add_argument("--doc-stride", type=positive_int, default=128, help="SQuAD window overlap")
    p.add_argument("--limit", type=positive_int, help="evaluate only the first N examples (quick checks; marked in the record)")
    p.add_argument("--threads", type=positive_int, help="torch intra-op threads")
    p.add_argument("--allow-pickle", action="store_true",
                   help="organizer's opt-in to pickle weights (the submission must opt in too)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--measure", default=",".join(DEFAULT_MEASUREMENTS),
                   help="measurements taken after inference, comma-separated (default: %(default)s; "
                        "also latency, memory)")
    p.add_argument("--no-measure", action="store_true", help="no measurements and no energy tracking")
    p.add_argument("--skip-measure", default="", metavar="NAMES",
                   help="leave these measurements out, comma-separated (e.g. flops; energy: no energy tracking)")
    p.set_defaults(func=run)


def model_refs(path: Path, tasks: list[str] | None, head: str | None, allow_pickle: bool,
               submission: Any = None) -> list[tuple[str, Any]]:
    """(task, ModelRef) pairs for a submission folder or a bare model folder.

    `submission`: the folder's Submission when the caller already loaded it (else it is read here).
    """
    from harness.errors import UserError
    from harness.runner import ModelRef
    from harness.submission import SUBMISSION_FILE, combined_sha256, load_submission, sha256_files, submission_meta

    if not path.is_dir():
        raise UserError(f"{path}: no such folder; pass a submission folder or a model folder")
    if (path / SUBMISSION_FILE).is_file():
        if path.is_symlink():
            raise UserError(f"{path} is a link (to {path.resolve()}); a submission is a real folder of its own, whose "
                            "name is its id: evaluate the folder itself, or copy it in")
        sub = submission if submission is not None else load_submission(path)
        names = tasks or list(sub.tasks)
        undeclared = [t for t in names if t not in sub.tasks]
        if undeclared:
            raise UserError(f"{path / SUBMISSION_FILE}: tasks {', '.join(undeclared)} are not declared under 'tasks'; "
                            f"declared: {', '.join(sub.tasks)}")
        files = sha256_files(path)
        digest = combined_sha256(files)
        meta = tuple(submission_meta(sub).items())
        return [(t, ModelRef(sub.id, sub.tasks[t].model, head or sub.tasks[t].head, sub.backend,
                             sub.allow_pickle and allow_pickle, digest, _within(sub.tasks[t].model, path),
                             tuple(sorted(files.items())), meta))
                for t in names]
    if not (path / "config.json").is_file():
        raise UserError(f"{path}: neither {SUBMISSION_FILE} nor config.json; see submissions/README.md")
    if not tasks:
        raise UserError(f"{path}: a bare model folder needs --task")
    files = sha256_files(path)
    digest = combined_sha256(files)
    ref = ModelRef(bare_model_id(path, digest), path, head, "torch", allow_pickle, digest, ".",
                   tuple(sorted(files.items())))
    return [(t, ref) for t in tasks]


def _within(model: Path, submission: Path) -> str:
    """The model folder's path inside the submission folder, as posix text (its resolved path if outside)."""
    try:
        return model.resolve().relative_to(submission.resolve()).as_posix()
    except ValueError:
        return model.resolve().as_posix()


BARE_ID_DIGEST_CHARS = 8  # hex characters of the model files' sha256 in a bare folder's id


def bare_model_id(path: Path, digest: str) -> str:
    """A bare model folder's id: its name and its files' digest, so `a/model` and `b/model` (or a submission
    called `model`) never share records."""
    return f"{path.resolve().name}-{digest[:BARE_ID_DIGEST_CHARS]}"


def run(args: argparse.Namespace) -> int:
    """Evaluate each task, print its key figures; exit 1 if any task failed."""
    from harness.formulations import EvalSettings
    from harness.measure import parse_skip
    from harness.runner import evaluate

    skip = parse_skip(args.skip_measure)
    measure = () if args.no_measure else tuple(n for n in parse_measurements(args.measure) if n not in skip)
    energy = {"off": True} if args.no_measure or "energy" in skip else None
    settings = EvalSettings(max_length=args.max_length, batch_size=args.batch_size, doc_stride=args.doc_stride,
                            progress=not args.no_progress)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    failed = 0
    for task, ref in model_refs(args.path, args.tasks, args.head, args.allow_pickle):
        record = evaluate(ref, task, settings, data_dir=args.data_dir, results_dir=args.results, limit=args.limit,
                          measure=measure, energy=energy)
        print(summary(record))
        failed += record["status"] != "ok"
    return 1 if failed else 0


def parse_measurements(text: str) -> tuple[str, ...]:
    """`params,flops` -> ("params", "flops"); an unknown name is refused with the known ones."""
    from harness.errors import UserError
    from harness.measure import MEASUREMENTS

    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in MEASUREMENTS or n in ("energy", "environment")]
    if unknown:
        known = ", ".join(n for n in MEASUREMENTS if n not in ("energy", "environment"))
        raise UserError(f"--measure: unknown measurement {', '.join(unknown)}; known: {known} "
                        "(energy and the environment are always recorded)")
    return names


def summary(record: dict) -> str:
    """One line of a record's key figures, metrics x100 as pages show them."""
    task = record["task"]["name"]
    if record["status"] != "ok":
        return f"FAILED {task}: {record['error']}\n  record: {record['path']}"
    metrics = ", ".join(f"{k} {100 * v:.2f}" for k, v in record["metrics"].items())
    return (f"{record['submission']['id']} / {task}: {metrics} | {record['num_examples']} examples in "
            f"{record['duration_s']:.1f} s ({record['examples_per_s']} ex/s inference)\n  record: {record['path']}")
