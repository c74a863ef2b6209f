"""A track's jobs through worker processes (harness.evaluation.pool): what each job's worker is given, and the
failed record of a worker that ended without one.

Per model, one "measure" job loads it and takes the per-model measurements (params, size, latency, memory) once;
each of its task jobs waits for it and merges them into its record. A model whose measuring worker crashed, hung
or raised is not tried again for its tasks: each gets a failed record naming that cause. Jobs that time latency or
track energy are exclusive (harness.evaluation.pool), and so is every job on a GPU (the one device it runs on): the
others run `--jobs` at a time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from harness.errors import UserError
from harness.evaluation.jobs import TaskJob, job_settings, scoped, summary_line, wanted_measurements
from harness.evaluation.limits import Limits
from harness.evaluation.pool import PoolJob, keep_logs, run_jobs
from harness.records import Record
from harness.tracks.definitions import Track

# Measurements that must have the machine to themselves: a latency or an energy figure taken while another job
# runs is a figure of both jobs.
EXCLUSIVE = ("latency", "energy")


@dataclass(frozen=True)
class Planned:
    """A measured submission's jobs left to run, and what its jobs share: the per-submission measurements."""

    submission: Any
    folder: Path
    jobs: list[TaskJob]
    shared: dict[str, Any]


@dataclass(frozen=True)
class RunSettings:
    """What every job of one track run shares."""

    track: Track
    results: Path
    data_dir: Path | None
    limit: int | None
    allow_pickle: bool
    skip: tuple[str, ...]
    force: bool
    limits: Limits
    device: str = "cpu"  # where every job's model runs (--device)
    dtype: str = "auto"  # the precision it runs in (--dtype, or the track's; auto: as saved)


def spec_base(run: RunSettings) -> dict[str, Any]:
    """What every worker spec of the run holds, device and dtype included (harness.evaluation.worker reads them)."""
    track = run.track
    return {
        "track": str(Path(track.path).resolve()),
        "results": str(run.results.resolve()),
        "data_dir": str(run.data_dir.resolve()) if run.data_dir is not None else None,
        "limit": run.limit,
        "allow_pickle": run.allow_pickle,
        "skip": list(run.skip),
        "device": run.device,
        "dtype": run.dtype,
    }


def exclusive_job(names: list[str], device: str) -> bool:
    """Whether a job taking the measurements `names` on `device` must have the machine to itself: it times latency
    or tracks energy, or it runs on a GPU (two jobs on one GPU share its memory and its clock)."""
    from harness.backends.devices import is_cuda

    return is_cuda(device) or any(n in EXCLUSIVE for n in names)


def run_in_workers(
    plans: list[Planned],
    run: RunSettings,
    *,
    report: Callable[[str], None] = print,
    executor: str = "local",
    address: str | None = None,
) -> tuple[list[Record], list[str]]:
    """Run the planned jobs in workers; the records, in job order, and the submissions some of whose records could
    not be written. `executor`: "local" (this machine) or "ray" (the cluster at `address`, or a local Ray instance
    when None: harness.evaluation.ray_cluster)."""
    from harness.evaluation.adopt import Refused, adopt_record
    from harness.records import record_path

    track, results = run.track, run.results
    per_model = scoped(wanted_measurements(track, run.skip), "model")
    base = spec_base(run)
    jobs: list[PoolJob] = []
    tasks: dict[int, tuple[Any, TaskJob, dict[str, Any]]] = {}
    serves: dict[int, list[int]] = {}  # a measuring job -> the task jobs that wait for it
    record_at: dict[int, Path] = {}  # a task job -> where its record goes (its key planned once, here)
    key_of: dict[int, dict[str, Any]] = {}  # a task job -> its planned key
    for plan in plans:
        measuring: dict[Any, int] = {}
        for job in plan.jobs:
            where = dict(base, submission=str(plan.folder.resolve()), task=job.task, model_of=job.model_of)
            after = None
            if per_model and job.model_key is not None:
                if job.model_key not in measuring:
                    measuring[job.model_key] = len(jobs)
                    label = f"{plan.submission.id}: its model's measurements ({', '.join(per_model)})"
                    exclusive = exclusive_job(per_model, run.device)
                    jobs.append(
                        PoolJob(len(jobs), label, dict(where, kind="measure"), exclusive=exclusive, counted=False)
                    )
                after = measuring[job.model_key]
                serves.setdefault(after, []).append(len(jobs))
            planned = _planned(run, job)
            record_at[len(jobs)] = record_path(results, planned)
            key_of[len(jobs)] = planned["key"]
            tasks[len(jobs)] = (plan.submission, job, plan.shared)
            jobs.append(
                PoolJob(
                    len(jobs),
                    f"{plan.submission.id} / {job.task}",
                    dict(where, kind="task"),
                    exclusive=exclusive_job(
                        [n for n in wanted_measurements(track, run.skip) if n == "energy"], run.device
                    ),
                    after=after,
                    lock=planned["lock"],
                )
            )
    found: dict[int, Record] = {}
    skipped: list[str] = []
    started_ns = time.time_ns()

    def prepare(job: PoolJob, outcomes: dict[int, Any]) -> dict[str, Any] | str | None:
        if job.id not in tasks:  # a measuring job: not needed when another run has finished all its tasks
            left = [
                t for t in serves.get(job.id, []) if run.force or _done_by_another(record_at[t], started_ns) is None
            ]
            return {} if left else None
        sub, task_job, shared = tasks[job.id]
        done = _done_by_another(record_at[job.id], started_ns) if not run.force else None
        if done is not None:
            report(f"{sub.id} / {task_job.task}: {'finished' if done.ok else 'failed'} in another run ({done.path})")
            found[job.id] = done
            return None
        measured: dict[str, Any] = {}
        if job.after is not None:
            outcome = outcomes[job.after]
            result = outcome.result or {}
            if outcome.cause is not None or "measured" not in result:  # its model crashed, hung or raised there
                return f"not run: the worker loading its model to measure it ended: {_cause(outcome)}"
            measured = result["measured"]
        return {"measured": measured | shared}

    def finish(job: PoolJob, outcome: Any) -> tuple[str, bool]:
        if job.id not in tasks:
            if outcome.result is not None and "measured" in outcome.result:
                return f"{job.label}: taken", True
            if outcome.result is None and outcome.cause is None:
                return f"{job.label}: not needed (its tasks are done)", True
            return f"{job.label}: not taken: {_cause(outcome)}", False
        sub, task_job, _ = tasks[job.id]
        if job.id in found:  # finished by another run meanwhile
            return summary_line(found[job.id]), found[job.id].ok
        result = outcome.result or {}
        try:
            record = None
            if result.get("record"):
                staged, ray = outcome.staged, executor == "ray"
                try:
                    record = adopt_record(
                        result["record"], staged, results, lambda r, p: _its_own(r, p, key_of[job.id], staged, ray)
                    )
                except Refused as e:
                    record = _failed(run, task_job, e.message)
            if record is None:
                record = _failed(run, task_job, _cause(outcome))
            if not record.ok:  # an earlier failure's logs went to history with it (harness.records.store)
                keep_logs(outcome, Path(str(record.path)))
        except (UserError, OSError) as e:  # its record cannot be written or read back: the run goes on
            if sub.id not in skipped:
                skipped.append(sub.id)
            return f"SKIPPED {sub.id}: {e}", False
        found[job.id] = record
        return summary_line(record), record.ok

    launcher = None
    if executor == "ray":
        from harness.evaluation.ray_cluster import RayLauncher, connect

        launcher = RayLauncher(connect(address), run.limits, results, track.measurement.threads)
    elif run.data_dir is None:  # the jobs have no network: their data is fetched into the hub's cache first
        from harness.tasks.data import fetch_from_hub

        for name, why in fetch_from_hub([job.task for plan in plans for job in plan.jobs]).items():
            report(f"task {name}: its data could not be fetched from the hub ({why}); its jobs fail offline")
    run_jobs(
        jobs,
        run.limits,
        results,
        prepare=prepare,
        finish=finish,
        report=report,
        launcher=launcher,
    )
    return [found[i] for i in sorted(found)], skipped


def _its_own(record: Record, handed: Path, planned: dict[str, Any], results: Path, any_processor: bool) -> bool:
    """Whether the record a worker handed back is its job's: the job's planned key, filed at its own path (or the
    failed run's place beside a good record); a worker runs a stranger's code, which may name another job's record.
    `any_processor`: the key's processor may differ (on a Ray cluster it is the node's, not the organizer's)."""
    from harness.records import record_path
    from harness.records.store import but_for, failed_path, key_digest

    where = record_path(results, record).resolve()
    theirs = record.key or {}
    if any_processor:
        mine = key_digest(but_for(theirs, "processor")) == key_digest(but_for(planned, "processor"))
    else:
        mine = key_digest(theirs) == key_digest(planned)
    return mine and handed.resolve() in (where, failed_path(where))


def _cause(outcome: Any) -> str:
    """Why a worker gave no result: the pool's cause, or the error the worker wrote."""
    return str(outcome.cause or (outcome.result or {}).get("error") or "the worker wrote no result")


def _planned(run: RunSettings, job: TaskJob) -> dict[str, Any]:
    """The job's record as planned before it runs, with the name of its lock (from the record's key)."""
    from harness.backends.torch_run import fixed_threads
    from harness.evaluation.evaluate import _hardware, planned_record
    from harness.records.store import key_digest

    settings, track_run = job_settings(run.track, run.skip, device=run.device, dtype=run.dtype, job=job)
    with fixed_threads(run.track.measurement.threads):
        planned = planned_record(
            job.ref,
            job.task,
            settings,
            run.limit,
            track_run,
            _hardware(job.ref.backend, run.device),
            {"limits": run.limits.plain()},
        )
    return planned | {"lock": f"{key_digest(planned['key'])}.lock"}


def _done_by_another(path: Path, since_ns: int) -> Record | None:
    """The ok record at a job's record `path`, or a failed one written since this run started (by a run beside
    it): either way the job is not run again here."""
    from harness.records import read_record
    from harness.records.store import failed_path

    for candidate in (path, failed_path(path)):
        try:
            if not candidate.is_file():
                continue
            record = read_record(candidate)
        except (UserError, OSError):
            continue
        if record.ok or candidate.stat().st_mtime_ns >= since_ns:
            return record.with_(path=str(candidate))
    return None


def _failed(run: RunSettings, job: TaskJob, cause: str) -> Record:
    """Write the failed record of a job whose worker ended without writing one."""
    from harness.evaluation.jobs import store_failed

    record = _planned(run, job)
    del record["lock"]
    return store_failed(record, job, cause, run.results)
