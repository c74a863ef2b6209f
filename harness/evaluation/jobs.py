"""A track's jobs, one per (submission, task): how they are planned (those left to run, those done already), what
one runs with, and how its model is loaded and measured once. The inline executor (harness.evaluation.track) and
the worker processes (harness.evaluation.worker) run them by these same functions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

from harness.errors import UserError
from harness.records import Record
from harness.tracks.definitions import Track


def scoped(names: list[str], scope: str) -> list[str]:
    """The measurements of `names` with the table's `scope`; a task's are those evaluate takes after inference
    (the energy of the inference is tracked while it runs)."""
    from harness.measure.spec import measurement

    return [
        n
        for n in names
        if measurement(n).scope == scope and (scope != "task" or measurement(n).evaluate in ("default", "optional"))
    ]


def summary_line(record: Record) -> str:
    task, sub = record.task.name, record.submission.id
    if not record.ok:
        return f"FAILED {sub} / {task}: {record.error}"
    return f"{sub} / {task}: score {100 * (record.score or 0.0):.2f} on {record.num_examples} examples -> {record.path}"


def run_dtype(track: Track, dtype: str | None) -> str:
    """The dtype a run of `track` evaluates in: the one the track fixes (measurement.dtype), else `dtype` (--dtype),
    else "auto" (as saved); a --dtype other than the track's is refused."""
    from harness.backends.devices import DEFAULT_DTYPE

    fixed = track.measurement.dtype
    if fixed is not None and dtype is not None and dtype != fixed:
        raise UserError(
            f"track {track.id} fixes measurement.dtype {fixed}; --dtype {dtype} would give records it does not rank",
            fix=f"pass --dtype {fixed}, or leave --dtype out",
        )
    return fixed or dtype or DEFAULT_DTYPE


def job_settings(
    track: Track, skip: tuple[str, ...] = (), progress: bool = False, device: str = "cpu", dtype: str = "auto"
) -> tuple[Any, dict[str, Any]]:
    """The evaluation settings and the track_run block of the track's jobs on `device` in `dtype`: with the
    submission and task, what a job's record key is made of."""
    from harness.inference.formulations import EvalSettings

    m = track.measurement
    settings = EvalSettings(
        max_length=m.max_length, batch_size=m.batch_size, progress=progress, device=device, dtype=dtype
    )
    return settings, {"track": track.id, "measurement": m.plain(), "skipped": list(skip)}


@dataclass(frozen=True)
class TaskJob:
    """One (submission, task) job of a track: the model it runs, and the key of the model it loads (folder, head,
    outputs) under which the per-model measurements are taken once; None when the task's head is refused (the
    job's record says why)."""

    ref: Any
    task: str
    model_key: tuple[Any, ...] | None


def plan_submission(
    track: Track,
    folder: Path,
    results: Path,
    limit: int | None,
    allow_pickle: bool,
    skip: tuple[str, ...],
    force: bool = False,
    report: Callable[[str], None] = print,
    device: str = "cpu",
    dtype: str = "auto",
) -> tuple[Any, list[TaskJob], list[Record]]:
    """A measured submission, its jobs on the track (on `device`, in `dtype`) that are left to run, and the ok
    records of those already done (found under their key; with `force`, none is)."""
    from harness.backends.torch_run import fixed_threads
    from harness.evaluation.evaluate import finished_record
    from harness.evaluation.refs import model_refs
    from harness.submissions import load_submission

    sub = load_submission(folder)
    tasks = [t for t in track.task_names() if t in sub.tasks]
    if not tasks:
        return sub, [], []
    settings, track_run = job_settings(track, skip, device=device, dtype=dtype)
    jobs, done = [], []
    for task, ref in model_refs(folder, tasks, None, allow_pickle, submission=sub):
        with fixed_threads(track.measurement.threads):  # the threads a run records are part of its key
            found = None if force else finished_record(ref, task, settings, results, limit=limit, track_run=track_run)
        if found is not None:
            report(f"{sub.id} / {task}: done already ({found.path}); --force runs it again")
            done.append(found)
            continue
        jobs.append(task_job(ref, task))
    return sub, jobs, done


def task_job(ref: Any, task: str) -> TaskJob:
    """The job that evaluates `ref` on `task`, with the key of the model it loads."""
    from harness.inference.formulations import task_head

    try:
        return TaskJob(ref, task, (ref.folder, task_head(task, ref.head), ref.outputs))
    except UserError:
        return TaskJob(ref, task, None)


def wanted_measurements(track: Track, skip: tuple[str, ...]) -> list[str]:
    """The track's measurements less those skipped for a quick check."""
    return [n for n in track.measurement.measure if n not in skip]


def per_submission(track: Track, folder: Path, skip: tuple[str, ...]) -> dict[str, Any]:
    """The measurements taken once per submission folder (system size: files only, nothing loaded)."""
    from harness.measure import Inputs, take

    return {n: take(n, Inputs(submission=folder)) for n in scoped(wanted_measurements(track, skip), "submission")}


def run_task_job(
    track: Track,
    sub: Any,
    job: TaskJob,
    data_dir: Any,
    results: Path,
    limit: int | None,
    skip: tuple[str, ...],
    progress: bool,
    measured: dict[str, Any],
    model: Any = None,
    worker: dict[str, Any] | None = None,
    device: str = "cpu",
    dtype: str = "auto",
) -> Record:
    """Evaluate one job with the track's settings on `device` in `dtype` and write its record, with the
    measurements already taken for its model and submission (`measured`); `model`: the model loaded already, else
    it loads here."""
    from harness.backends.torch_run import fixed_threads
    from harness.evaluation.evaluate import evaluate

    m = track.measurement
    wanted = wanted_measurements(track, skip)
    settings, track_run = job_settings(track, skip, progress, device, dtype)
    with fixed_threads(m.threads):
        return evaluate(
            job.ref,
            job.task,
            settings,
            data_dir=data_dir,
            results_dir=results,
            limit=limit,
            model=model,
            measure=tuple(scoped(wanted, "task")),
            energy={"pue": m.pue} if "energy" in wanted else {"off": True},
            track_run=track_run,
            measured=measured,
            declared={k: v for k, v in asdict(sub.tasks[job.task].declared).items() if v is not None},
            worker=worker,
        )


def load_and_measure(
    track: Track, job: TaskJob, skip: tuple[str, ...], device: str = "cpu", dtype: str = "auto"
) -> tuple[Any, dict[str, Any]]:
    """The job's model, loaded for its head on `device` in `dtype`, and its per-model measurements; (None, {}) when
    it cannot load (the task's evaluation loads again and writes a failed record naming the cause)."""
    from harness.backends import load_model
    from harness.backends.torch_run import fixed_threads
    from harness.measure import measure_loaded

    if job.model_key is None:
        return None, {}
    ref, head = job.ref, job.model_key[1]
    try:
        model = load_model(ref.folder, head, ref.load_options(device, dtype), ref.backend)
    except UserError:
        return None, {}
    m = track.measurement
    with fixed_threads(m.threads):
        return model, measure_loaded(
            model,
            scoped(wanted_measurements(track, skip), "model"),
            folder=ref.folder,
            reference_length=m.reference_length,
            threads=m.threads,
            options={"latency": {"budget_s": m.latency_budget_s}, "flops": {"cross_check": False}},
        )
