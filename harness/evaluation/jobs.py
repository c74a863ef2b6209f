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
    model_of = (record.settings or {}).get("model_of")
    task += f" (its {model_of} model, out of distribution)" if model_of else ""
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
    track: Track,
    skip: tuple[str, ...] = (),
    progress: bool = False,
    device: str = "cpu",
    dtype: str = "auto",
    job: TaskJob | None = None,
) -> tuple[Any, dict[str, Any]]:
    """The evaluation settings and the track_run block of the track's jobs on `device` in `dtype`: with the
    submission and task, what a job's record key is made of. For a `job`, its own: an OOD job names the task whose
    model it runs (`model_of`); a job of a classification task runs the track's perturbation suite."""
    from dataclasses import replace

    from harness.inference.formulations import EvalSettings
    from harness.inference.robustness import offered
    from harness.tasks import get_task

    m = track.measurement
    settings = EvalSettings(
        max_length=m.max_length, batch_size=m.batch_size, progress=progress, device=device, dtype=dtype
    )
    suite = track.robustness
    if job is not None and job.model_of is not None:
        settings = replace(settings, model_of=job.model_of)
    elif job is not None and suite is not None and offered(get_task(job.task)):
        settings = replace(settings, perturb=suite.kinds, perturb_rate=suite.rate, perturb_seed=suite.seed)
    return settings, {"track": track.id, "measurement": m.plain(), "skipped": list(skip)}


@dataclass(frozen=True)
class TaskJob:
    """One (submission, task) job of a track: the model it runs, and the key of the model it loads (folder, head,
    outputs) under which the per-model measurements are taken once; None when the task's head is refused (the
    job's record says why)."""

    ref: Any
    task: str
    model_key: tuple[Any, ...] | None
    model_of: str | None = None  # an OOD job (a track's `ood`): the task whose model `ref` is, scored on `task`


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
    any_processor: bool = False,
) -> tuple[Any, list[TaskJob], list[Record], int]:
    """A measured submission, its jobs on the track (on `device`, in `dtype`) that are left to run, the ok
    records of those already done (found under their key, or with `any_processor` one made on another processor;
    with `force`, none is), and how many jobs were refused (each reported): the file at their record's place cannot
    be read, or their backend cannot run their model on `device` in `dtype`."""
    from harness.backends import check_placement
    from harness.backends.torch_run import fixed_threads
    from harness.evaluation.evaluate import finished_record
    from harness.submissions import load_submission

    sub = load_submission(folder)
    tasks = [t for t in track.task_names() if t in sub.tasks]
    if not tasks:
        return sub, [], [], 0
    jobs, done, refused = [], [], 0
    for job in track_jobs(track, folder, tasks, allow_pickle, sub):
        settings, track_run = job_settings(track, skip, device=device, dtype=dtype, job=job)
        try:
            check_placement(job.ref.backend, job.ref.folder, device, dtype)  # refused before any worker starts
            with fixed_threads(track.measurement.threads):  # the threads a run records are part of its key
                found = finished_record(
                    job.ref, job.task, settings, results, limit=limit, track_run=track_run, any_processor=any_processor
                )
        except UserError as e:
            report(f"SKIPPED {sub.id} / {job.task}: {e}")
            refused += 1
            continue
        if found is not None and not force:
            report(f"{sub.id} / {job.task}: done already ({found.path}); --force runs it again")
            done.append(found)
            continue
        jobs.append(job)
    return sub, jobs, done, refused


def track_jobs(track: Track, folder: Path, tasks: list[str], allow_pickle: bool, sub: Any) -> list[TaskJob]:
    """A submission's jobs on the track: one per track task it declares (`tasks`), then one per OOD pair whose
    task it declares (that task's model, on the pair's other task)."""
    from harness.evaluation.refs import model_refs

    refs = dict(model_refs(folder, tasks, None, allow_pickle, submission=sub))
    jobs = [task_job(ref, task) for task, ref in refs.items()]
    return jobs + [task_job(refs[pair.task], pair.on, pair.task) for pair in track.ood if pair.task in refs]


def task_job(ref: Any, task: str, model_of: str | None = None) -> TaskJob:
    """The job that evaluates `ref` on `task` (`ref` being the model of task `model_of`, for an OOD job), with the
    key of the model it loads."""
    from harness.inference.formulations import task_head

    try:
        return TaskJob(ref, task, (ref.folder, task_head(task, ref.head), ref.outputs), model_of)
    except UserError:
        return TaskJob(ref, task, None, model_of)


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
    settings, track_run = job_settings(track, skip, progress, device, dtype, job)
    with fixed_threads(m.threads):  # the threads a run records are part of its key
        if job.model_of is not None:
            try:
                model = ood_model(track, job, model, device, dtype)
            except UserError as e:  # its labels do not map: the job's record says so
                return failed_job(job, settings, results, limit, track_run, device, str(e), worker)
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
            declared={k: v for k, v in asdict(sub.tasks[job.model_of or job.task].declared).items() if v is not None},
            worker=worker,
        )


def ood_model(track: Track, job: TaskJob, model: Any, device: str, dtype: str) -> Any:
    """The OOD job's model (`model`, else loaded here) with its outputs named by the scored task's labels through
    the track's label map; None when it cannot load (the evaluation loads again and its record names the cause)."""
    from harness.backends import load_model
    from harness.inference.robustness import relabelled
    from harness.tasks import get_task

    if model is None and job.model_key is not None:
        try:
            model = load_model(job.ref.folder, job.model_key[1], job.ref.load_options(device, dtype), job.ref.backend)
        except UserError:
            return None
    if model is None:
        return None
    pair = next(p for p in track.ood if p.task == job.model_of and p.on == job.task)
    return relabelled(model, get_task(pair.task), get_task(pair.on), pair.labels)


def failed_job(
    job: TaskJob,
    settings: Any,
    results: Path,
    limit: int | None,
    track_run: dict[str, Any],
    device: str,
    cause: str,
    worker: dict[str, Any] | None = None,
) -> Record:
    """Write the failed record of a job that cannot run, under its own key, naming the cause."""
    from harness.evaluation.evaluate import _hardware, planned_record

    planned = planned_record(job.ref, job.task, settings, limit, track_run, _hardware(job.ref.backend, device), worker)
    return store_failed(planned, job, cause, results)


def store_failed(planned: dict[str, Any], job: TaskJob, cause: str, results: Path) -> Record:
    """Store a job's planned record as failed, its error naming the submission, the task and the `cause`."""
    from harness.records import new_record, store_record

    planned["error"] = f"submission {job.ref.submission_id}, task {job.task}: {cause}"
    return store_record(new_record(**planned), results)


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
