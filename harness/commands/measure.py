"""`harness measure PATH`: parameters, size, FLOPs and latency of the model `harness evaluate` runs (same loading
and head), as a table or JSON; progress on stderr."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.commands import add_device_flags, positive_int
from harness.errors import UserError
from harness.measure.result import NOT_COUNTED, NOT_MEASURED, status_of, why_not
from harness.measure.spec import MEASUREMENTS, Names


def measured() -> tuple[str, ...]:
    """What `harness measure` takes unless --skip-measure leaves it out: the table's `command` measurements (memory
    and energy are left to `harness run`'s tracks)."""
    return tuple(Names(lambda m: m.command))


@dataclass(frozen=True)
class Target:
    """The model `harness measure` loads: its folder, the head it runs with and the backend."""

    folder: Path
    head: str
    backend: str = "torch"


def add_parser(subparsers: Any) -> None:
    """Add the `measure` subcommand to the CLI's subparsers."""
    p = subparsers.add_parser("measure", help="measure parameters, size, FLOPs and latency of a model")
    p.add_argument("path", type=Path, help="model folder (config.json + model.safetensors) or submission folder")
    p.add_argument(
        "--task",
        help="measure the model (and head) `harness evaluate` runs for this task, with token "
        "lengths from its evaluation data (FLOPs averaged over them)",
    )
    p.add_argument(
        "--head",
        help="model head (e.g. cosine); default: the submission's for --task, else the task's "
        "default, else the head config.json's `architectures` was saved with",
    )
    p.add_argument("--data-dir", help="local data mirror for --task (default: $HARNESS_DATA_DIR, else the hub)")
    p.add_argument("--limit", type=positive_int, help="with --task: use only the first N rows")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--threads", type=positive_int, default=1, help="torch intra-op threads while timing (default 1)")
    add_device_flags(p)
    p.add_argument(
        "--reference-length",
        type=positive_int,
        default=128,
        help="sequence length of the reference FLOPs and of the synthetic latency inputs (default 128)",
    )
    p.add_argument(
        "--time-budget",
        type=float,
        default=30.0,
        help="seconds each latency phase may take to reach a stable median (default 30)",
    )
    p.add_argument(
        "--reference",
        type=Path,
        help="also measure the speed-up over this model (a model or "
        "submission folder): both timed in interleaved rounds, same inputs length and threads",
    )
    skippable = ", ".join(n for n in measured() if MEASUREMENTS.get(n).scope != "machine")
    p.add_argument(
        "--skip-measure",
        default="",
        metavar="NAMES",
        help=f"leave these measurements out, comma-separated (of {skippable}; e.g. latency, the slowest; "
        "the environment is always recorded)",
    )
    p.set_defaults(func=run)


def measure_target(path: Path, task: str | None, head: str | None) -> Target:
    """The model in PATH as `harness evaluate` runs it for `task`: a submission's model folder and head for the
    task (its first task without one), else PATH (or its first subfolder with a config.json) with `head`, the
    task's default head, or the head its config.json was saved with."""
    from harness.backends.torch_hf import saved_head
    from harness.inference.formulations import task_head
    from harness.submissions import SUBMISSION_FILE, load_submission

    if not path.is_dir():
        raise UserError(
            f"{path}: no such folder; pass a model folder (config.json + model.safetensors) or a submission folder"
        )
    if not (path / "config.json").is_file() and (path / SUBMISSION_FILE).is_file():
        sub = load_submission(path)
        name = task or next(iter(sub.tasks), None)
        if name is None or name not in sub.tasks:
            raise UserError(
                f"{path / SUBMISSION_FILE}: task {name} is not declared under 'tasks'; "
                f"declared: {', '.join(sub.tasks) or 'none'}; pass one of them with --task"
            )
        entry = sub.tasks[name]
        return Target(Path(entry.model), task_head(name, head or entry.head), sub.backend)
    folder = (
        path
        if (path / "config.json").is_file()
        else next((d for d in sorted(p for p in path.iterdir() if p.is_dir()) if (d / "config.json").is_file()), None)
    )
    if folder is None:
        raise UserError(
            f"{path}: no config.json here nor in any subfolder; a model folder needs config.json and "
            "model.safetensors (write it with save_pretrained)"
        )
    if task is not None:
        return Target(folder, task_head(task, head))
    chosen = head or saved_head(folder)
    if chosen is None:
        raise UserError(
            f"{folder / 'config.json'}: `architectures` names no class of a known head; pass --task T "
            "(the head evaluate uses for it) or --head (e.g. sequence_classification)"
        )
    return Target(folder, chosen)


def load_target(target: Target, device: str = "cpu", dtype: str = "auto") -> Any:
    """The target loaded with harness.backends.load_model on `device` in `dtype`, as `harness evaluate` loads it."""
    from harness.backends import LoadOptions, load_model

    return load_model(target.folder, target.head, LoadOptions(device=device, dtype=dtype), backend=target.backend)


def task_token_lengths(task_name: str, model: Any, data_dir: str | None, limit: int | None) -> tuple[list[int], int]:
    """The real token lengths of every sequence the model runs on the task's evaluation data, and the number of
    examples: the task's own formulation runs the rows, as `harness evaluate` does (pairs under a cosine head,
    one sequence per option, SQuAD windows), so FLOPs per example here are a record's."""
    from harness.inference.formulations import EvalSettings, formulation
    from harness.tasks import get_task
    from harness.tasks.data import load_rows

    task = get_task(task_name, "--task")
    rows = load_rows(task, data_dir, limit=limit)
    model.sequence_lengths = []
    formulation(task).predict(task, model, rows, EvalSettings())
    return list(model.sequence_lengths), len(rows)


def _si(n: float | None, unit: str = "") -> str:
    if n is None:
        return "-"
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= factor:
            return f"{n / factor:.3g} {prefix}{unit}"
    return f"{n:.3g} {unit}".strip()


def table(result: dict[str, Any]) -> str:
    """A short human-readable summary of a measurement dict."""
    lines = [f"model        {result['model_folder']} ({result['head']} head)"]
    ok = {k: v for k, v in result.items() if isinstance(v, dict) and status_of(v) is None}
    if p := ok.get("params"):
        lines.append(
            f"parameters   {_si(p['total_params'])} (embedding {_si(p['embedding_params'])}, other "
            f"{_si(p['non_embedding_params'])}) {p['params_by_dtype']}"
        )
    if s := ok.get("size"):
        lines.append(
            f"size         {_si(s['total_bytes'], 'B')} files; weights {_si(s['weights_bytes'], 'B')}, "
            f"gzip {_si(s['weights_gzip_bytes'], 'B')}, zstd {_si(s['weights_zstd_bytes'], 'B')}"
        )
    if f := ok.get("flops"):
        mean = f", mean over task lengths {_si(f['mean_flops'])}" if f.get("mean_flops") is not None else ""
        per = f", {_si(f['flops_per_example'])} per example" if f.get("flops_per_example") is not None else ""
        cross = f"; fvcore x2 {_si(f['fvcore'].get('flops'))}" if f["fvcore"].get("available") else ""
        lines.append(f"FLOPs        {_si(f['flops'])} per sequence at {f['reference_length']} tokens{mean}{per}{cross}")
    if lat := ok.get("latency"):
        noisy = (
            f" NOISY (other load {lat['other_load_cores']:.2f} cores, hypervisor steal "
            f"{lat.get('steal_cores') or 0:.2f} cores)"
            if lat["noisy"]
            else ""
        )
        lines.append(
            f"latency      p50 {lat['p50_ms']:.2f} ms, p90 {lat['p90_ms']:.2f}, p99 {lat['p99_ms']:.2f} "
            f"(batch 1, {lat['threads']} thread(s), stable={lat['stable']}){noisy}"
        )
        if speed := lat.get("machine_speed"):
            drift = "not measured (under 3 rounds)" if speed["drift"] is None else f"{speed['drift'] * 100:.1f}%"
            lines.append(
                f"machine      speed probe {speed['median_ms']:.2f} ms, drift {drift}"
                f"{' DRIFTED' if speed['drifted'] else ''}; p50 = {lat['p50_probe_units']:.2f} probe units"
            )
        if lat["throughput_examples_per_s"]:
            lines.append(
                f"throughput   {lat['throughput_examples_per_s']:.1f} examples/s at batch "
                f"{lat['throughput_batch_size']}"
            )
    if up := result.get("speedup"):
        ref, cand = up["reference"], up["candidate"]
        lines.append(
            f"speed-up     {up['speedup']:.2f}x over {up['reference_folder']} (p50 {ref['p50_ms']:.2f} ms "
            f"against {cand['p50_ms']:.2f} ms, interleaved rounds, stable={ref['stable'] and cand['stable']})"
        )
    lines += [f"{name:<12} skipped (--skip-measure)" for name in result.get("skipped", [])]
    lines += [
        f"{name:<12} {why_not(entry)}"
        for name, entry in result.items()
        if name in MEASUREMENTS and status_of(entry) in (NOT_COUNTED, NOT_MEASURED)
    ]
    return "\n".join(lines)


def speedup_over(
    reference: Path,
    model: Any,
    task: str | None,
    length: int,
    threads: int,
    budget_s: float,
    device: str = "cpu",
    dtype: str = "auto",
) -> dict[str, Any]:
    """The speed-up of the loaded `model` over the reference model folder (or submission), loaded as for `task`;
    batch 1, synthetic inputs."""
    from harness.measure.latency import measure_speedup

    target = measure_target(reference, task, None)
    ref = load_target(target, device, dtype)
    result = measure_speedup(
        ref,
        model,
        ref.synthetic_batch(1, length),
        threads=threads,
        budget_s=budget_s,
        candidate_inputs=model.synthetic_batch(1, length),
    ).to_dict()
    return {"reference_folder": str(target.folder), "reference_head": target.head, "reference_length": length, **result}


def progress(line: str) -> None:
    """A progress line on stderr, so that --json output on stdout stays clean."""
    print(f"harness measure: {line}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    """Load the model as `harness evaluate` does, measure it, print a table (or JSON with --json); exit 1 when a
    measurement could not be taken."""
    from harness.measure import measure_loaded, parse_skip

    if args.threads < 1 or args.reference_length < 1 or args.time_budget <= 0:
        raise UserError("--threads, --reference-length and --time-budget must be positive")
    from harness.backends.devices import require_device

    require_device(args.device)
    skip = parse_skip(args.skip_measure)
    target = measure_target(args.path, args.task, args.head)
    progress(f"loading {target.folder} with a {target.head} head on {args.device} in {args.dtype}")
    model = load_target(target, args.device, args.dtype)
    lengths, examples = None, None
    if args.task:
        progress(f"running {args.task}'s evaluation data for its real token lengths")
        lengths, examples = task_token_lengths(args.task, model, args.data_dir, args.limit)
    result: dict[str, Any] = {
        "model_folder": str(target.folder),
        "head": target.head,
        "task": args.task,
        "device": args.device,
        "dtype": args.dtype,
        "inputs": "task token lengths" if lengths else f"synthetic token ids, length {args.reference_length}",
        "skipped": [n for n in measured() if n in skip],
    }
    result.update(
        measure_loaded(
            model,
            [n for n in measured() if n not in skip],
            folder=target.folder,
            token_lengths=lengths,
            examples=examples,
            reference_length=args.reference_length,
            threads=args.threads,
            options={"latency": {"budget_s": args.time_budget}},
            report=progress,
        )
    )
    if args.reference is not None:
        progress(f"measuring the speed-up over {args.reference}")
        result["speedup"] = speedup_over(
            args.reference,
            model,
            args.task,
            args.reference_length,
            args.threads,
            args.time_budget,
            args.device,
            args.dtype,
        )
    print(json.dumps(result, indent=2, sort_keys=True) if args.json else table(result))
    return 1 if any(status_of(v) == NOT_MEASURED for v in result.values()) else 0
