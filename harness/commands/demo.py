"""`harness demo`: the main job end to end on real compressed models, offline with the data mirror.

Writes submissions of three packaged real models (all-MiniLM-L6-v2 fp32, the same model as int8 ONNX,
paraphrase-MiniLM-L3-v2 as fp32 ONNX) and of the compression recipes applied to the L6 model, checks them,
runs the demo track (STS-B dev, cosine head: score, parameters, size, FLOPs, latency), measures each model's
batch-1 speed-up over L6 fp32 in rounds interleaved with it, builds the leaderboard site and prints the ranking.
`--classifiers` (longer: about an hour here) fine-tunes L6 on MRPC and RTE, distills a 3-layer student from it,
and ranks both on the demo's GLUE-subset track instead.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from harness.commands import positive_int

TRACK = "demo-stsb"
TASKS = {"stsb": "cosine"}  # task -> head of every demo submission
REFERENCE = "minilm-l6"  # the speed-ups are over this submission (all-MiniLM-L6-v2, fp32, PyTorch)
PACKAGED = ("minilm-l6", "minilm-l6-int8-onnx", "minilm-l3-onnx")  # ids of harness.recipes.packaged.PACKAGES
# Submissions the recipes make of the L6 model: id -> the chain of (recipe, parameters) harness compress runs
RECIPES: dict[str, tuple[tuple[str, dict[str, Any]], ...]] = {
    "minilm-l6-dynint8": (("quantize-dynamic-int8", {}),),
    "minilm-l6-pruned50": (("prune-magnitude", {"sparsity": 0.5}),),
    "minilm-l6-3layers": (("drop-layers", {"keep_first": 3}),),
    "minilm-l6-svd": (("low-rank", {"energy": 0.9}),),
    "minilm-l6-shared": (("share-layers", {"groups": 3}),),
}
DEMO_SUBMISSIONS = Path("submissions/demo")  # the demo's own folder (not committed): it rebuilds it every run
SUMMARY_FILE = "demo-summary.json"  # written in the results folder: the figures the table prints
# --classifiers: L6 fine-tuned per task, and the layer-dropped copy distilled from it, on the GLUE-subset track
CLASSIFIER_TRACK = "demo-glue"
CLASSIFIER_TASKS = ("mrpc", "rte")
FINETUNED = "minilm-l6-finetuned"
STUDENT = "minilm-l6-3layers-kd"
STUDENT_BASE = "minilm-l6-3layers"  # a stock BERT folder (drop-layers saves with save_pretrained): it trains
# 3 epochs at batch 32 and length 128: what the issue measured here (MRPC 77.5% accuracy, RTE 55.6% for L6)
CLASSIFIER_EPOCHS = 3
CLASSIFIER_BATCH = 32
CLASSIFIER_LENGTH = 128
DEMO_TEAM = "harness demo"
DEMO_CONTACT = "demo@example.org"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="build real compressed MiniLM submissions, run the demo track on STS-B, build the site, print the ranking",
    )
    p.add_argument(
        "--submissions",
        type=Path,
        default=DEMO_SUBMISSIONS,
        help=f"where the demo writes its submissions (default: {DEMO_SUBMISSIONS}; rebuilt on every run)",
    )
    p.add_argument("--results", type=Path, default=Path("results"), help="results folder (default: results)")
    p.add_argument("--site", type=Path, help="site folder (default: RESULTS/site)")
    p.add_argument("--data-dir", help="local mirror of the data (default: $HARNESS_DATA_DIR, else the hub)")
    p.add_argument("--limit", type=positive_int, help="only the first N STS-B pairs (a quick run; never ranked)")
    p.add_argument(
        "--only", action="append", metavar="ID", help=f"only these demo submissions (repeatable; {REFERENCE} always)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument(
        "--classifiers",
        action="store_true",
        help=f"instead: fine-tune L6 on {' and '.join(CLASSIFIER_TASKS)} ({CLASSIFIER_EPOCHS} epochs each), distill "
        f"a 3-layer student from it, and rank both on track {CLASSIFIER_TRACK} (about an hour on 2 cores)",
    )
    p.add_argument("--train-steps", type=positive_int, help="with --classifiers: a step budget per training run")
    p.add_argument("--train-limit", type=positive_int, help="with --classifiers: train on the first N rows only")
    p.add_argument("--threads", type=positive_int, help="with --classifiers: torch threads while training")
    p.set_defaults(func=run)


def demo_ids(only: list[str] | None) -> list[str]:
    """The demo's submission ids in build order, the reference first; `only` narrows them (unknown ids refused)."""
    from harness.errors import UserError, did_you_mean

    every = [*PACKAGED, *RECIPES]
    for name in only or []:
        if name not in every:
            raise UserError(f"--only {name}: not a demo submission", fix=did_you_mean(name, every, "demo submissions"))
    return [i for i in every if i == REFERENCE or not only or i in only]


def build(ids: list[str], root: Path, say: Any) -> list[Path]:
    """Write each demo submission under `root` (the packaged models copied, the recipes run on the L6 copy);
    the demo owns these folders and rebuilds them every run."""
    import shutil

    from harness.recipes.packaged import PACKAGES, write_packaged
    from harness.recipes.pipeline import Meta, compress
    from harness.submissions.compression import make_step

    folders = []
    for name in ids:
        folder = root / name
        if folder.exists():
            shutil.rmtree(folder)
        t0 = time.perf_counter()
        if name in PACKAGES:
            write_packaged(PACKAGES[name], root, TASKS)
            how = f"from the {PACKAGES[name].pip} package"
        else:
            steps = [make_step(recipe, params) for recipe, params in RECIPES[name]]
            chain = " then ".join(step.text() for step in steps)
            meta = Meta(name=f"all-MiniLM-L6-v2, {chain}", team="harness demo (recipes)", contact="demo@example.org")
            compress(root / REFERENCE, folder, steps, meta=meta)
            how = "by " + " then ".join(_step(r, p) for r, p in RECIPES[name])
        say(f"   {name}: written {how} ({time.perf_counter() - t0:.1f} s)")
        folders.append(folder)
    return folders


def _step(recipe: str, params: dict[str, Any]) -> str:
    return " ".join([recipe, *(f"--{k.replace('_', '-')} {v}" for k, v in params.items())])


def train_classifiers(root: Path, args: argparse.Namespace, say: Any) -> list[Path]:
    """Fine-tune L6 on each classifier task and distill the 3-layer copy from that classifier; write the two
    submissions, each with one model folder per task; returns their folders."""
    import shutil

    import yaml

    from harness.recipes.packaged import MINILM_L6
    from harness.submissions import SUBMISSION_FILE
    from harness.training.distill import KDSettings, distill
    from harness.training.finetune import finetune
    from harness.training.loop import TrainSettings

    settings = TrainSettings(
        epochs=CLASSIFIER_EPOCHS,
        max_steps=args.train_steps,
        batch_size=CLASSIFIER_BATCH,
        max_length=CLASSIFIER_LENGTH,
        threads=args.threads,
        limit=args.train_limit,
        progress=not args.no_progress,
    )
    work = root / ".demo-training"
    who = {"team": DEMO_TEAM, "contact": DEMO_CONTACT, "force": True, "data_dir": args.data_dir}
    trained: dict[str, dict[str, Any]] = {FINETUNED: {}, STUDENT: {}}
    for task in CLASSIFIER_TASKS:
        ft = finetune(root / REFERENCE / "model", task, work / f"ft-{task}", settings, **who)
        say(
            f"   {task}: fine-tuned L6, {ft.steps} steps, final train loss {ft.final_loss:.4f} ({ft.run.seconds:.0f} s)"
        )
        small = root / STUDENT_BASE / "model"
        kd = distill(ft.output, small, task, work / f"kd-{task}", settings, KDSettings(), teacher_name=FINETUNED, **who)
        say(
            f"   {task}: distilled the 3-layer student, {kd.steps} steps, final loss {kd.final_loss:.4f} ({kd.run.seconds:.0f} s)"
        )
        trained[FINETUNED][task], trained[STUDENT][task] = ft, kd
    folders = []
    for name, runs in trained.items():
        folder = root / name
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        lines = []
        for task, run in runs.items():
            shutil.move(str(run.output / "model"), str(folder / f"{task}-model"))
            shutil.move(str(run.output / "training_log.jsonl"), str(folder / f"training_log.{task}.jsonl"))
            described = yaml.safe_load((run.output / SUBMISSION_FILE).read_text(encoding="utf-8"))["description"]
            lines.append(f"{task}: {described.strip()}")
        student = name == STUDENT
        meta = {
            "name": "all-MiniLM-L6-v2, 3 layers, distilled per task"
            if student
            else "all-MiniLM-L6-v2, fine-tuned per task",
            "team": DEMO_TEAM,
            "contact": DEMO_CONTACT,
            "methods": ["distillation", "pruning"] if student else ["distillation"],
            "base_model": "sentence-transformers/all-MiniLM-L6-v2",
            **({"teacher_model": FINETUNED, "teacher": FINETUNED} if student else {}),
            "license": "Apache-2.0 (fine-tuned from sentence-transformers/all-MiniLM-L6-v2)",
            "description": "\n".join(lines),
            "tasks": {task: {"model": f"{task}-model"} for task in runs},
        }
        (folder / SUBMISSION_FILE).write_text(
            f"# Written by harness demo --classifiers from the {MINILM_L6.pip} package.\n"
            + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True),
            encoding="utf-8",
        )
        folders.append(folder)
    shutil.rmtree(work)
    return folders


def speedups(root: Path, ids: list[str], length: int, budget_s: float, say: Any) -> dict[str, dict[str, Any]]:
    """Each submission's batch-1 speed-up over the reference at `length` tokens: both timed in interleaved rounds,
    one thread, each on its own synthetic ids (the same values where the vocabularies match)."""
    from harness.evaluation.refs import model_refs
    from harness.measure.latency import measure_speedup

    def loaded(name: str) -> Any:
        from harness.backends import LoadOptions, load_model

        ((_, ref),) = model_refs(root / name, list(TASKS), None, False)
        return load_model(ref.folder, TASKS["stsb"], LoadOptions(), ref.backend)

    reference = loaded(REFERENCE)
    out = {}
    for name in ids:
        if name == REFERENCE:
            continue
        model = loaded(name)
        result = measure_speedup(
            reference,
            model,
            reference.synthetic_batch(1, length),
            threads=1,
            budget_s=budget_s,
            candidate_inputs=model.synthetic_batch(1, length),
        ).to_dict()
        out[name] = result
        say(f"   {name}: {result['speedup']:.2f}x")
        del model
    return out


def table(rows: list[dict[str, Any]]) -> str:
    """The ranking as fixed-width text: one line per submission."""
    head = (
        f"{'rank':>4}  {'submission':<20} {'score':>6} {'95% interval':<13} {'detail':<22} {'params':>7} {'size':>7} "
        f"{'zstd':>7} {'GFLOPs':>7} {'p50 ms':>7} {'speed-up':>8}  methods"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        rank = f"{r['rank']}{'=' if r.get('tied') else ''}" if r["rank"] else "-"
        ci = r.get("score_interval")
        lines.append(
            f"{rank:>4}  {r['submission']:<20} {_num(r['score'], 1, '.1f'):>6} "
            f"{f'[{ci[0]:.1f}, {ci[1]:.1f}]' if ci else 'n/m':<13} {r['detail']:<22} "
            f"{_num(r['params'], 1e-6, '.1f', 'M'):>7} "
            f"{_num(r['size_bytes'], 2**-20, '.1f', 'M'):>7} {_num(r['zstd_bytes'], 2**-20, '.1f', 'M'):>7} "
            f"{_num(r['flops_128'], 1e-9, '.2f'):>7} {_num(r['p50_ms'], 1, '.2f'):>7} "
            f"{_num(r['speedup'], 1, '.2f', 'x'):>8}  {', '.join(r['methods'])}"
        )
    return "\n".join(lines)


def _num(value: Any, scale: float, spec: str, suffix: str = "") -> str:
    return "n/m" if value is None else f"{value * scale:{spec}}{suffix}"


def _detail(records: list[Any]) -> str:
    """STS-B's Spearman, else each task's score: what the score column averages."""
    if len(records) == 1 and records[0].task.name == "stsb" and records[0].ok:
        return f"Spearman {100 * records[0].metrics['spearmanr']:.1f}"
    return " / ".join(f"{r.task.name} {100 * r.score:.1f}" if r.ok else f"{r.task.name} failed" for r in records)


def _largest(records: list[Any], measurement: str, key: str) -> Any:
    """The largest value of a measurement's field over a submission's records (its models), None if none has it."""
    values = [((r.measurements or {}).get(measurement) or {}).get(key) for r in records]
    known = [v for v in values if isinstance(v, (int, float))]
    return max(known) if known else None


def summary_rows(board: Any, records: list[Any], up: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per submission in the board's order, each figure read from its records (None: not measured); a
    submission with one model per task shows its largest model's figures."""
    by_sub: dict[str, list[Any]] = {}
    for r in sorted(records, key=lambda r: r.task.name):
        by_sub.setdefault(r.submission.id, []).append(r)
    rows = []
    for row in board.rows:
        recs = by_sub.get(row.submission, [])
        score = row.values.get("score")
        speed = up.get(row.submission, {})
        rows.append(
            {
                "submission": row.submission,
                "rank": row.rank,
                "tied": row.tied,
                "methods": list(row.methods),
                "score": score.value if score is not None else None,
                "score_interval": list(score.interval) if score is not None and score.interval else None,
                "detail": _detail(recs),
                "metrics": {r.task.name: r.metrics for r in recs if r.ok},
                "params": _largest(recs, "params", "total_params"),
                "size_bytes": _largest(recs, "size", "total_bytes"),
                "zstd_bytes": _largest(recs, "size", "weights_zstd_bytes"),
                "flops_128": _largest(recs, "flops", "flops"),
                "p50_ms": (speed.get("candidate") or {}).get("p50_ms") or _largest(recs, "latency", "p50_ms"),
                "speedup": speed.get("speedup", 1.0 if row.submission == REFERENCE and up else None),
                "pareto": {k: v for k, v in row.pareto.items() if v},
            }
        )
    return rows


def run(args: argparse.Namespace) -> int:
    """Build, check, run the track, time the speed-ups, build the site, print the ranking; exit 1 on a failure."""
    from harness import __version__
    from harness.evaluation.track import run_track
    from harness.publish.boards import build_boards, build_time
    from harness.publish.site.build import build_site, write_site
    from harness.records import read_results
    from harness.scoring.rank import rank
    from harness.submissions import check_submission
    from harness.tracks.definitions import get_track

    started = time.perf_counter()

    def say(line: str) -> None:
        print(line, flush=True)

    ids = [REFERENCE, STUDENT_BASE] if args.classifiers else demo_ids(args.only)
    track = get_track(CLASSIFIER_TRACK if args.classifiers else TRACK)
    say(f"1. building {len(ids)} submissions under {args.submissions}")
    folders = build(ids, args.submissions, say)
    if args.classifiers:
        say(f"   training on {', '.join(CLASSIFIER_TASKS)} ({CLASSIFIER_EPOCHS} epochs unless --train-steps)")
        folders = train_classifiers(args.submissions, args, say)
        ids = [f.name for f in folders]
    problems = [p for folder in folders for p in check_submission(folder)]
    if problems:
        for p in problems:
            say(f"   {p}")
        say(f"2. check: {len(problems)} problem(s); stopping")
        return 1
    say(f"2. check: all {len(folders)} valid")
    say(f"3. running track {track.id} ({track.measurement.note})")
    records, skipped = run_track(
        track,
        args.submissions,
        data_dir=args.data_dir,
        results_dir=args.results,
        limit=args.limit,
        only=ids,
        progress=not args.no_progress,
    )
    up: dict[str, dict[str, Any]] = {}
    if not args.classifiers:
        length, budget = track.measurement.reference_length, track.measurement.latency_budget_s
        say(f"4. speed-ups over {REFERENCE}, batch 1, {length} tokens, interleaved rounds")
        up = speedups(args.submissions, ids, length, budget, say)
    board = rank(read_results(args.results), track)
    rows = summary_rows(board, records, up)
    site = args.site or args.results / "site"
    boards, all_records = build_boards(args.results, None)
    write_site(build_site(boards, all_records, {"generated_at": build_time(), "harness_version": __version__}), site)
    wall = time.perf_counter() - started
    (args.results / SUMMARY_FILE).write_text(
        json.dumps({"track": track.id, "limit": args.limit, "wall_s": round(wall, 1), "rows": rows}, indent=2) + "\n",
        encoding="utf-8",
    )
    say(f"5. ranking on {track.name}" + (f" (--limit {args.limit}: not ranked)" if args.limit else ""))
    say(table(rows))
    say(
        f"score = {track.score.label}, 0-100 (STS-B: mean of Pearson and Spearman x100); size = all model files, zstd = the "
        f"weights after zstd; GFLOPs at {track.measurement.reference_length} tokens; p50 = batch-1 latency, 1 thread"
        + (", from the interleaved rounds" if up else "")
        + f" (latency budget cut for the demo: {track.measurement.latency_budget_s:g} s); 95% interval: bootstrap over "
        "the 1,500 STS-B pairs; = after a rank: not significantly different from the row above (paired bootstrap)"
    )
    say(f"site: {site / 'index.html'} (serve it: harness leaderboard --results {args.results} --serve)")
    say(f"demo wall time {wall:.0f} s; figures in {args.results / SUMMARY_FILE}")
    failed = [r for r in records if not r.ok]
    for r in failed:
        say(f"FAILED {r.submission.id} / {r.task.name}: {r.error}")
    return 1 if failed or skipped else 0
