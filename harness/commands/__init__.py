"""The `harness` subcommands, one module each; `harness.cli` registers them."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from harness.backends.devices import DEFAULT_DEVICE


def positive_int(text: str) -> int:
    """argparse type for counts and lengths: a whole number > 0 (argparse names the flag in its error)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number > 0, got {text!r}")
    return value


def summary(record: Any) -> str:
    """One line of a record's key figures (a harness.records.Record), metrics x100 as pages show them."""
    task = record.task.name
    if not record.ok:
        return f"FAILED {task}: {record.error}\n  record: {record.path}"
    metrics = ", ".join(f"{k} {100 * v:.2f}" for k, v in record.metrics.items())
    return (
        f"{record.submission.id} / {task}: {metrics} | {record.num_examples} examples in "
        f"{record.duration_s:.1f} s ({record.examples_per_s} ex/s inference)\n  record: {record.path}"
    )


def non_negative_int(text: str) -> int:
    """argparse type for a seed: a whole number >= 0 (numpy's generator takes no negative seed)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return value


def seed(text: str) -> int:
    """argparse type for a training seed: a whole number from 0 to 2**32 - 1 (numpy's seeds)."""
    from harness.training.loop import SEED_LIMIT

    value = non_negative_int(text)
    if value >= SEED_LIMIT:
        raise argparse.ArgumentTypeError(f"expected a seed from 0 to {SEED_LIMIT - 1} (numpy's range), got {text!r}")
    return value


def positive_float(text: str) -> float:
    """argparse type for rates and temperatures: a finite number > 0."""
    import math

    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def fraction(low_open: bool = False, high_open: bool = False) -> Callable[[str], float]:
    """argparse type for a fraction in [0, 1], each end excluded when asked (warmup: [0, 1))."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = -1.0
        if not (0 < value if low_open else 0 <= value) or not (value < 1 if high_open else value <= 1):
            span = f"{'(' if low_open else '['}0, 1{')' if high_open else ']'}"
            raise argparse.ArgumentTypeError(f"expected a number in {span}, got {text!r}")
        return value

    return parse


def add_training_arguments(p: argparse.ArgumentParser) -> None:
    """The flags `harness finetune` and `harness distill` share: task, output, length, optimizer, data, submitter."""
    from pathlib import Path

    from harness.training import loop

    p.add_argument("--task", required=True, help="task id with a train file in the mirror (cola, sst2, mrpc, ...)")
    p.add_argument(
        "-o", "--output", type=Path, required=True, metavar="FOLDER", help="new submission folder (submissions/NAME)"
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="replace the output folder if it is a submission already (never an input folder)",
    )
    length = p.add_mutually_exclusive_group()
    length.add_argument(
        "--epochs", type=positive_int, help=f"passes over the train rows (default: {loop.DEFAULT_EPOCHS})"
    )
    length.add_argument("--max-steps", type=positive_int, help="a step budget instead of epochs")
    p.add_argument("--batch-size", type=positive_int, default=loop.DEFAULT_BATCH_SIZE)
    p.add_argument(
        "--lr", type=positive_float, default=loop.DEFAULT_LR, help="peak learning rate (default: %(default)g)"
    )
    p.add_argument(
        "--warmup",
        type=fraction(high_open=True),
        help="fraction of the steps the rate warms up over linearly before its linear decay to 0, in [0, 1) "
        f"(default: {loop.DEFAULT_WARMUP:g}, BERT's warmup_proportion, none on a run too short for one step; "
        "0 for none)",
    )
    p.add_argument(
        "--seed", type=seed, default=0, help="seed of torch, numpy, python and the data order, 0 .. 2**32 - 1"
    )
    p.add_argument("--max-length", type=positive_int, help="truncation length (default: the task's, as at evaluation)")
    p.add_argument("--clip", type=positive_float, default=loop.DEFAULT_CLIP, help="max gradient norm")
    p.add_argument("--threads", type=positive_int, help="torch intra-op threads")
    p.add_argument("--limit", type=positive_int, help="train on the first N train rows only (quick runs)")
    p.add_argument("--data-dir", help="the data mirror holding the train files (default: $HARNESS_DATA_DIR)")
    p.add_argument("--name", help="submission.yaml name (default: says what was trained)")
    p.add_argument("--team", help="submission.yaml team (default: 'unnamed team'; set it before submitting)")
    p.add_argument("--contact", help="submission.yaml contact email (default: a placeholder; set it before submitting)")
    p.add_argument("--no-progress", action="store_true", help="no progress line (none is shown off a terminal anyway)")


def training_settings(args: argparse.Namespace) -> Any:
    """The harness.training.loop.TrainSettings the shared training flags ask for."""
    from harness.training.loop import DEFAULT_EPOCHS, TrainSettings

    return TrainSettings(
        epochs=args.epochs or DEFAULT_EPOCHS,
        max_steps=args.max_steps,
        batch_size=args.batch_size,
        lr=args.lr,
        warmup=args.warmup,
        seed=args.seed,
        max_length=args.max_length,
        clip=args.clip,
        threads=args.threads,
        limit=args.limit,
        progress=not args.no_progress,
    )


def run_training(train: Callable[..., Any], args: argparse.Namespace, *inputs: Any, **options: Any) -> int:
    """Run `train` (finetune or distill) on `inputs` with the shared flags' settings and submitter, print one line
    on the written submission; `options` are the command's own keywords."""
    trained = train(
        *inputs,
        args.task,
        args.output,
        training_settings(args),
        **options,
        data_dir=args.data_dir,
        force=args.force,
        name=args.name,
        team=args.team,
        contact=args.contact,
    )
    print(training_summary(trained))
    return 0


def training_summary(trained: Any) -> str:
    """One line on a written training submission (harness.training.output.Trained), then its check."""
    run = trained.run
    return (
        f"wrote {trained.output}: {run.steps} steps ({run.epochs:.2f} epochs) in {run.seconds:.1f} s "
        f"({run.seconds / run.steps:.3f} s/step), final train loss {run.final_loss:.4f}; check: valid "
        f"(training log: {trained.output}/training_log.jsonl)"
    )


def add_device_flags(
    p: argparse.ArgumentParser, dtype_default: str | None = "auto", device_default: str | None = DEFAULT_DEVICE
) -> None:
    """--device and --dtype (issue 14): where the model runs and in which precision; both are in the record's
    settings and key. `dtype_default` "auto": the types the model was saved in; None: the track's
    measurement.dtype, else those. `device_default` None: the track's hardware class (cuda:0 on a gpu track)."""
    from harness.backends.devices import DEVICE_FORMS, DTYPES

    where = "%(default)s" if device_default is not None else "cuda:0 on a gpu track, else cpu"
    p.add_argument(
        "--device",
        type=_flag_type("parse_device"),
        default=device_default,
        help=f"where the model runs: {DEVICE_FORMS} (default: {where}); cuda gives gpu-class records",
    )
    saved = "the types the model was saved in"
    default = f"the track's measurement.dtype, else {saved}" if dtype_default is None else saved
    p.add_argument(
        "--dtype",
        type=_flag_type("parse_dtype"),
        default=dtype_default,
        help=f"cast the torch backend's floating parameters to {', '.join(DTYPES)} (default: {default}); ONNX "
        "graphs keep their own types, compressed models take float32 only",
    )


def add_skip_measure_flag(p: argparse.ArgumentParser) -> None:
    """--skip-measure for a track run, and for the status that finds its records (the skipped names are in the key)."""
    p.add_argument(
        "--skip-measure",
        default="",
        metavar="NAMES",
        help="leave these of the track's measurements out, comma-separated (quick checks, e.g. latency); "
        "the records say so and the board shows them as not measured",
    )


def track_skip(track: Any, names: str) -> tuple[str, ...]:
    """The measurements of `track` that --skip-measure `names` leaves out (a name the track does not take is moot)."""
    from harness.measure import parse_skip

    return tuple(n for n in parse_skip(names) if n in track.measurement.measure)


def _flag_type(name: str) -> Callable[[str], str]:
    """An argparse type from a harness.backends.devices parser: its refusal becomes argparse's error for the flag."""

    def parse(text: str) -> str:
        from harness.backends import devices
        from harness.errors import UserError

        try:
            return str(getattr(devices, name)(text))
        except UserError as e:
            raise argparse.ArgumentTypeError(str(e)) from e

    parse.__name__ = name.removeprefix("parse_")
    return parse
