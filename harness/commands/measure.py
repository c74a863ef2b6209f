"""`harness measure PATH`: parameters, size, FLOPs and latency of a model folder or submission, as a table or JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from harness.commands import positive_int
from harness.errors import UserError


def add_parser(subparsers: Any) -> None:
    """Add the `measure` subcommand to the CLI's subparsers."""
    p = subparsers.add_parser("measure", help="measure parameters, size, FLOPs and latency of a model")
    p.add_argument("path", type=Path, help="model folder (config.json + model.safetensors) or submission folder")
    p.add_argument("--task", help="take token lengths from this task's evaluation data (FLOPs averaged over them)")
    p.add_argument("--data-dir", help="local data mirror for --task (default: $HARNESS_DATA_DIR, else the hub)")
    p.add_argument("--limit", type=positive_int, help="with --task: use only the first N rows")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--threads", type=positive_int, default=1, help="torch intra-op threads while timing (default 1)")
    p.add_argument("--reference-length", type=positive_int, default=128, help="sequence length of the reference FLOPs "
                   "and of the synthetic latency inputs (default 128)")
    p.add_argument("--time-budget", type=float, default=30.0, help="seconds each latency phase may take to "
                   "reach a stable median (default 30)")
    p.add_argument("--reference", type=Path, help="also measure the speed-up over this model (a model or "
                   "submission folder): both timed in interleaved rounds, same inputs length and threads")
    p.set_defaults(func=run)


def model_folder(path: Path, task: str | None = None) -> Path:
    """The model folder in PATH: PATH itself, the submission's model (for `task`), else the first subfolder with one."""
    if not path.is_dir():
        raise UserError(f"{path}: no such folder; pass a model folder (config.json + model.safetensors) "
                        "or a submission folder")
    if (path / "config.json").is_file():
        return path
    from harness.submission import SUBMISSION_FILE, load_submission

    if (path / SUBMISSION_FILE).is_file():
        sub = load_submission(path)
        entry = sub.tasks.get(task) if task else next(iter(sub.tasks.values()), None)
        if entry is not None:
            return Path(entry.model)
    for sub_dir in sorted(p for p in path.iterdir() if p.is_dir()):
        if (sub_dir / "config.json").is_file():
            return sub_dir
    raise UserError(f"{path}: no config.json here nor in any subfolder; a model folder needs config.json and "
                    "model.safetensors (write it with save_pretrained)")


def load_model(folder: Path) -> Any:
    """The bare model of a Hugging Face folder, from safetensors only and without remote code."""
    import transformers

    transformers.logging.set_verbosity_error()  # a task head's weights left out of the bare model are expected
    transformers.logging.disable_progress_bar()
    try:
        return transformers.AutoModel.from_pretrained(str(folder), use_safetensors=True).eval()
    except (OSError, ValueError) as exc:
        raise UserError(f"{folder}: cannot load the model ({str(exc).splitlines()[0]}); the folder needs config.json "
                        "and model.safetensors as written by save_pretrained") from exc


def task_token_lengths(task_name: str, folder: Path, data_dir: str | None, limit: int | None) -> list[int]:
    """Token lengths of a task's evaluation inputs under the model's tokenizer, truncated at the task's max length."""
    import transformers

    from harness.data import load_rows
    from harness.tasks import get_task

    task = get_task(task_name, "--task")
    rows = load_rows(task, data_dir, limit=limit)
    try:
        tok = transformers.AutoTokenizer.from_pretrained(str(folder))
    except (OSError, ValueError) as exc:
        raise UserError(f"{folder}: no tokenizer files (--task needs them to count token lengths); save the "
                        "tokenizer with save_pretrained into the model folder") from exc
    texts = []
    for row in rows:
        texts += [tuple(t) for t, _ in task.choices(row)] if task.choices else [task.texts(row)]
    return [len(tok(*t[:2], truncation=True, max_length=task.max_length)["input_ids"]) for t in texts]


def _si(n: float | None, unit: str = "") -> str:
    if n is None:
        return "-"
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= factor:
            return f"{n / factor:.3g} {prefix}{unit}"
    return f"{n:.3g} {unit}".strip()


def table(result: dict[str, Any]) -> str:
    """A short human-readable summary of a measurement dict."""
    lines = [f"model        {result['model_folder']}"]
    if p := result.get("params"):
        lines.append(f"parameters   {_si(p['total_params'])} (embedding {_si(p['embedding_params'])}, other "
                     f"{_si(p['non_embedding_params'])}) {p['params_by_dtype']}")
    if s := result.get("size"):
        lines.append(f"size         {_si(s['total_bytes'], 'B')} files; weights {_si(s['weights_bytes'], 'B')}, "
                     f"gzip {_si(s['weights_gzip_bytes'], 'B')}, zstd {_si(s['weights_zstd_bytes'], 'B')}")
    if f := result.get("flops"):
        if f["counted"]:
            mean = f", mean over task lengths {_si(f['mean_flops'])}" if f["mean_flops"] is not None else ""
            cross = f"; fvcore x2 {_si(f['fvcore'].get('flops'))}" if f["fvcore"].get("available") else ""
            lines.append(f"FLOPs        {_si(f['flops'])} per example at {f['reference_length']} tokens{mean}{cross}")
        else:
            lines.append(f"FLOPs        not counted: {f['reason']}")
    if lat := result.get("latency"):
        noisy = (f" NOISY (other load {lat['other_load_cores']:.2f} cores, hypervisor steal "
                 f"{lat.get('steal_cores') or 0:.2f} cores)" if lat["noisy"] else "")
        lines.append(f"latency      p50 {lat['p50_ms']:.2f} ms, p90 {lat['p90_ms']:.2f}, p99 {lat['p99_ms']:.2f} "
                     f"(batch 1, {lat['threads']} thread(s), stable={lat['stable']}){noisy}")
        if speed := lat.get("machine_speed"):
            drift = "not measured (under 3 rounds)" if speed["drift"] is None else f"{speed['drift'] * 100:.1f}%"
            lines.append(f"machine      speed probe {speed['median_ms']:.2f} ms, drift {drift}"
                         f"{' DRIFTED' if speed['drifted'] else ''}; p50 = {lat['p50_probe_units']:.2f} probe units")
        if lat["throughput_examples_per_s"]:
            lines.append(f"throughput   {lat['throughput_examples_per_s']:.1f} examples/s at batch "
                         f"{lat['throughput_batch_size']}")
    if up := result.get("speedup"):
        ref, cand = up["reference"], up["candidate"]
        lines.append(f"speed-up     {up['speedup']:.2f}x over {up['reference_folder']} (p50 {ref['p50_ms']:.2f} ms "
                     f"against {cand['p50_ms']:.2f} ms, interleaved rounds, stable={ref['stable'] and cand['stable']})")
    return "\n".join(lines)


def speedup_over(reference: Path, model: Any, length: int, threads: int, budget_s: float) -> dict[str, Any]:
    """The speed-up of `model` over the reference model folder (or submission), batch 1, synthetic inputs."""
    from harness.measure import synthetic_inputs
    from harness.measure.latency import measure_speedup

    folder = model_folder(reference)
    ref = load_model(folder)
    result = measure_speedup(ref, model, synthetic_inputs(ref, 1, length), threads=threads, budget_s=budget_s,
                             candidate_inputs=synthetic_inputs(model, 1, length)).to_dict()
    return {"reference_folder": str(folder), "reference_length": length, **result}


def run(args: argparse.Namespace) -> int:
    """Load the model, measure it, print a table (or JSON with --json)."""
    from harness.measure import measure_model

    if args.threads < 1 or args.reference_length < 1 or args.time_budget <= 0:
        raise UserError("--threads, --reference-length and --time-budget must be positive")
    folder = model_folder(args.path, args.task)
    lengths = task_token_lengths(args.task, folder, args.data_dir, args.limit) if args.task else None
    model = load_model(folder)
    result: dict[str, Any] = {"model_folder": str(folder), "task": args.task,
                              "inputs": "task token lengths" if lengths else
                              f"synthetic token ids, length {args.reference_length}"}
    result.update(measure_model(model, folder=str(folder), reference_length=args.reference_length,
                                token_lengths=lengths, threads=args.threads,
                                which=["params", "size", "flops", "latency", "environment"],
                                options={"latency": {"budget_s": args.time_budget}}))
    if args.reference is not None:
        result["speedup"] = speedup_over(args.reference, model, args.reference_length, args.threads, args.time_budget)
    print(json.dumps(result, indent=2, sort_keys=True) if args.json else table(result))
    return 0
