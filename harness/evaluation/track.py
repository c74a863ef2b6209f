"""Run a track: evaluate every submission on the track's tasks with the track's measurement settings.

Each (submission, task) goes through `harness.evaluation.evaluate.evaluate`, which tracks the energy of the
inference over the evaluation data and takes the task-scoped measurements (FLOPs at the sequence lengths it ran);
the track's other measurements are added to the record, by their scope in the measurement table
(harness.measure.spec): per model once (params, size, latency, memory) and per submission (system size).
A measurement evaluate already recorded is kept. Prediction-only folders
(predictions.yaml) are scored from their files. Eligibility is judged later by `rank`, from the
records, so nothing is dropped here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from harness.errors import UserError
from harness.evaluation.jobs import (
    job_settings,
    load_and_measure,
    per_submission,
    plan_submission,
    run_dtype,
    run_task_job,
    summary_line,
)
from harness.evaluation.pool import EXECUTORS
from harness.evaluation.workers import Planned, RunSettings, run_in_workers
from harness.records import Record
from harness.tracks.definitions import Track


def submission_folders(root: Path) -> Iterator[tuple[str, Path]]:
    """("measured" | "self-reported" | "refused: why", folder) for each submission folder directly under `root`.

    A submission's id is its real folder's name, so an entry that is a link is refused (it would take the place
    of the folder it points to, or write under its id); real folders in one folder have distinct names.
    """
    from harness.evaluation.selfreported import PREDICTIONS_FILE
    from harness.submissions import SUBMISSION_FILE

    if not root.is_dir():
        raise UserError(f"{root}: no submissions folder; pass --submissions DIR")
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if folder.is_symlink():
            yield (
                (
                    f"refused: {folder.name} is a link (to {folder.resolve().name}); a submission is a real folder of "
                    "its own: copy it in instead"
                ),
                folder,
            )
        elif (folder / SUBMISSION_FILE).is_file():
            yield "measured", folder
        elif (folder / PREDICTIONS_FILE).is_file():
            yield "self-reported", folder


def run_track(
    track: Track,
    submissions: Path,
    *,
    data_dir: Any = None,
    results_dir: Path = Path("results"),
    limit: int | None = None,
    allow_pickle: bool = False,
    only: list[str] | None = None,
    progress: bool = False,
    skip: tuple[str, ...] = (),
    report: Callable[[str], None] = print,
    force: bool = False,
    executor: str = "inline",
    limits: Any = None,
    address: str | None = None,
    device: str = "cpu",
    dtype: str | None = None,
) -> tuple[list[Record], list[str]]:
    """Evaluate every submission (or those in `only`) on the track; returns the records written or found and the
    submissions skipped because their folder is invalid (each reported with the reason).

    `skip` names measurements left out for a quick check; the records say so and their columns read "not measured".
    A job whose ok record exists under its key (same submission files, task, split, limit, settings, hardware) is
    not run again unless `force`: a run started again finishes only what is left.
    `executor`: "inline" runs every job in this process; "local" runs each in a worker process of its own under
    `limits` (harness.evaluation.limits.Limits), see harness.evaluation.pool; "ray" sends the same workers to the
    Ray cluster at `address` (a local instance when None), see harness.evaluation.ray_cluster.
    `device` (cpu, cuda, cuda:N) is where every model runs: a gpu track needs cuda and a GPU, a cpu track the CPU;
    `dtype`: the precision (None: the track's measurement.dtype, else as saved; another than the track's is refused).
    """
    if executor not in EXECUTORS:
        raise UserError(f"executor {executor!r} is not one of {', '.join(EXECUTORS)}")
    check_placement(track, device)
    dtype = run_dtype(track, dtype)
    check_data_found(track, data_dir)
    from harness.records.store import remove_partials

    for tmp in remove_partials(results_dir):
        report(f"removed {tmp}: a partial file of a run that ended while writing it")
    records, skipped = [], []
    plans: list[Planned] = []  # for the worker executors
    for kind, folder in submission_folders(submissions):
        if only and folder.name not in only:
            continue
        try:
            if kind.startswith("refused"):
                raise UserError(kind)
            refused = 0  # jobs refused (each reported): the submission counts as skipped, its other jobs run
            if kind == "self-reported":
                got = _run_self_reported(track, folder, data_dir, results_dir, limit)
            elif executor == "inline":
                measured_run = (data_dir, results_dir, limit, allow_pickle, progress, skip, force, report)
                got, refused = _run_measured(track, folder, *measured_run, device=device, dtype=dtype)
            else:
                sub, jobs, got, refused = plan_submission(
                    track,
                    folder,
                    results_dir,
                    limit,
                    allow_pickle,
                    skip,
                    force,
                    report,
                    device,
                    dtype,
                    any_processor=executor == "ray",  # its jobs run on whichever node Ray picks
                )
                if jobs:
                    plans.append(Planned(sub, folder, jobs, per_submission(track, folder, skip)))
        except UserError as e:  # one broken submission must not stop an organizer's run
            report(f"SKIPPED {folder.name}: {e}")
            skipped.append(folder.name)
            continue
        if refused:
            skipped.append(folder.name)
        elif not got and not (plans and plans[-1].folder == folder):
            report(f"skipped {folder.name}: it declares none of the track's tasks")
        for r in got:
            report(summary_line(r))
        records += got
    if plans:
        from harness.evaluation.limits import Limits, default_memory
        from harness.tasks.data import resolve_data_dir

        settings = RunSettings(
            track,
            results_dir,
            resolve_data_dir(data_dir),
            limit,
            allow_pickle,
            skip,
            force,
            limits or Limits(memory_bytes=default_memory(1)),
            device,
            dtype,
        )
        got, failed_to_write = run_in_workers(plans, settings, report=report, executor=executor, address=address)
        records += got
        skipped += [s for s in failed_to_write if s not in skipped]
    return records, skipped


def check_placement(track: Track, device: str) -> None:
    """Refuse a run whose device gives records of another hardware class than the track ranks (a gpu track on the
    CPU, a cpu track on CUDA), naming the track, its hardware and the fix; then a cuda device torch cannot use."""
    from harness.backends.devices import device_hardware, require_device

    hardware = device_hardware(device)
    if track.hardware != hardware:
        fix = (
            "pass --device cuda on a machine with a GPU"
            if track.hardware == "gpu"
            else "pass --device cpu (the default) for a cpu track"
        )
        raise UserError(
            f"track {track.id} runs on {track.hardware} hardware; --device {device} gives {hardware} records, which "
            "it does not rank",
            fix=fix,
        )
    require_device(device)


def check_data_found(track: Track, data_dir: Any) -> None:
    """Refuse a run, before anything runs, whose data dir holds none of the track's tasks: a wrong or empty
    --data-dir would otherwise turn every good record into a failed one."""
    from harness.tasks import get_task
    from harness.tasks.data import resolve_data_dir

    root = resolve_data_dir(data_dir)
    if root is None:
        return
    files = [get_task(t).source.mirror_file for t in track.task_names()]
    if not any((root / f).is_file() for f in files):
        raise UserError(
            f"data dir {root} holds none of track {track.id}'s files (looked for {', '.join(files[:4])}"
            f"{', ...' if len(files) > 4 else ''}); pass the mirror folder as --data-dir"
        )


def _run_self_reported(track: Track, folder: Path, data_dir: Any, results: Path, limit: int | None) -> list[Record]:
    from harness.evaluation.selfreported import load_self_report, write_self_reported
    from harness.submissions import sha256_files

    report = load_self_report(folder)
    tasks = [t for t in track.task_names() if t in report.tasks]
    files = sha256_files(folder) if tasks else {}
    return [
        write_self_reported(report, t, track.id, data_dir=data_dir, results_dir=results, limit=limit, files=files)
        for t in tasks
    ]


def _run_measured(
    track: Track,
    folder: Path,
    data_dir: Any,
    results: Path,
    limit: int | None,
    allow_pickle: bool,
    progress: bool,
    skip: tuple[str, ...],
    force: bool = False,
    report: Callable[[str], None] = print,
    device: str = "cpu",
    dtype: str = "auto",
) -> tuple[list[Record], int]:
    """The inline executor: every job of the submission in this process, each model loaded and measured once; its
    records, and how many of its jobs were refused (harness.evaluation.jobs.plan_submission)."""
    sub, jobs, out, refused = plan_submission(
        track, folder, results, limit, allow_pickle, skip, force, report, device, dtype
    )
    shared = per_submission(track, folder, skip) if jobs else {}
    models: dict[Any, tuple[Any, dict[str, Any]]] = {}
    for job in jobs:
        if job.model_key not in models:
            models[job.model_key] = load_and_measure(track, job, skip, device, dtype)
        model, per_model = models[job.model_key]
        task_run = (data_dir, results, limit, skip, progress, per_model | shared, model)
        out.append(run_task_job(track, sub, job, *task_run, device=device, dtype=dtype))
    return out, refused


@dataclass(frozen=True)
class JobState:
    """Where one (submission, task) job of a track stands: done, failed (with the cause), pending, or stale (it has
    a record, but not for the submission's files as they are now)."""

    submission: str
    task: str
    state: str
    detail: str = ""


def track_status(
    track: Track,
    submissions: Path,
    results_dir: Path,
    *,
    limit: int | None = None,
    allow_pickle: bool = False,
    device: str | None = None,
    dtype: str | None = None,
    skip: tuple[str, ...] = (),
) -> list[JobState]:
    """Each measured submission's jobs on the track, from the records alone (nothing runs), under the keys a run with
    these settings writes: on `device` (default: the one its hardware class runs on, cuda:0 for a gpu track), in
    `dtype` (default: the track's, else as saved), without the `skip`ped measurements."""
    from harness.backends.devices import CPU, CUDA, parse_device
    from harness.backends.torch_run import fixed_threads
    from harness.evaluation.evaluate import _hardware, planned_record
    from harness.evaluation.jobs import track_jobs
    from harness.records import read_record, record_path
    from harness.records.store import HISTORY_DIR, beside, failed_path, kept_attempts, other_processors
    from harness.submissions import load_submission

    # the device a `harness run --device cuda` records (parse_device: cuda:0), so that its keys are found
    if device is None:
        device = parse_device(CUDA) if track.hardware == "gpu" else CPU
    dtype = run_dtype(track, dtype)
    out = []
    for kind, folder in submission_folders(submissions):
        if kind != "measured":
            continue
        sub = load_submission(folder)
        tasks = [t for t in track.task_names() if t in sub.tasks]
        for job in track_jobs(track, folder, tasks, allow_pickle, sub) if tasks else []:
            ref, task = job.ref, job.task if job.model_of is None else f"{job.task} (its {job.model_of} model)"
            settings, track_run = job_settings(track, skip, device=device, dtype=dtype, job=job)
            with fixed_threads(track.measurement.threads):  # the threads a run records are part of its key
                planned = planned_record(ref, job.task, settings, limit, track_run, _hardware(ref.backend, device))
            path = record_path(results_dir, planned)
            failed = failed_path(path)
            attempts = len(kept_attempts(results_dir, path))
            history = f" ({attempts} failed attempt{'s' * (attempts != 1)} kept in {HISTORY_DIR}/)" if attempts else ""
            if path.is_file() and read_record(path).ok:
                out.append(JobState(sub.id, task, "done", str(path) + history))
                continue
            elsewhere = other_processors(path, planned["key"])
            there = (
                f"done on {(elsewhere[0].key or {}).get('processor')} ({elsewhere[0].path}); a run here measures it "
                f"on {planned['key'].get('processor')}"
                if elsewhere
                else ""
            )
            if failed.is_file() or path.is_file():
                error = read_record(failed if failed.is_file() else path).error
                out.append(JobState(sub.id, task, "failed", f"{error}{'; ' + there if there else ''}{history}"))
            elif beside(path, planned["key"], "content"):
                out.append(JobState(sub.id, task, "stale", "the submission's files changed since its last record"))
            elif there:
                out.append(JobState(sub.id, task, "pending", there + history))
            else:
                out.append(JobState(sub.id, task, "pending", history.strip()))
    return out
