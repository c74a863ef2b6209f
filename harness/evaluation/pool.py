"""The local executor: a track's jobs, each in a worker process of its own, at most `--jobs` at a time.

A job that measures latency or energy is exclusive: it runs alone on the machine's CPUs, so that two measurements
never share cores, cache or memory bandwidth; the others run in parallel, each pinned to its own CPU set. Locks in
the results folder extend both rules to concurrent runs on one folder: a job holds a lock under its record key
while it runs (a second run waits for it, then finds its record), and exclusive jobs take the folder's device lock
whole while the others share it. A worker that crashes, hangs past its time limit or dies of its memory limit ends
with a cause that the caller writes as its failed record, beside the worker's stdout and stderr; the run goes on.
SIGTERM or Ctrl-C ends every worker's process group before the run stops.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from harness.evaluation.adopt import MAX_RESULT_BYTES, Refused, read_plain, staged_results
from harness.evaluation.limits import Limits, exit_cause, format_bytes, timeout_cause

EXECUTORS = ("local", "ray", "inline")  # harness run --executor: this machine's workers, a Ray cluster's, none
POLL_S = 0.05
KILL_GRACE_S = 5.0  # a worker told to stop (SIGTERM) gets this long before SIGKILL
# A worker's stdout and stderr: past this much it is killed (a loop that prints would fill the disk for the whole
# --timeout); a failed job keeps the last LOG_TAIL_BYTES of each beside its record, enough for a traceback. The
# organizer reads both from pipes and writes them to files itself, so neither file ever holds more.
MAX_LOG_BYTES = 64 << 20
LOG_TAIL_BYTES = 1 << 20
READ_BYTES = 1 << 16
MAX_READS = 16  # per pipe and poll: a worker that prints without pause cannot hold the organizer's loop
PIPE_BYTES = 1 << 20  # asked of the kernel for each pipe (its default is 64 KiB; a worker waits while one is full)
LOCKS_DIR = ".locks"
JOBS_DIR = ".jobs"
DEVICE_LOCK = "device.lock"
# The hub's libraries must not try the network from a worker that has none (they would wait on timeouts).
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
# A variable a job never gets: one whose name has one of these words (split at "_"), the organizer's credentials
# (HF_TOKEN, AWS_SECRET_ACCESS_KEY, GITHUB_TOKEN, DB_PASSWORD ...; a job has no network and needs none), unless its
# last word says it names a place (HF_TOKEN_PATH); and the SSH agent's socket.
SECRET_WORDS = {"TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIALS", "CREDENTIAL", "KEY", "APIKEY"}
PLACE_WORDS = {"PATH", "DIR", "FILE", "HOME"}
SECRET_VARIABLES = {"SSH_AUTH_SOCK"}


def job_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment a job's worker starts with: the organizer's, without its secrets, with the hub offline."""

    def secret(name: str) -> bool:
        words = name.upper().split("_")
        return name in SECRET_VARIABLES or (bool(SECRET_WORDS & set(words)) and words[-1] not in PLACE_WORDS)

    return {**{k: v for k, v in environ.items() if not secret(k)}, **OFFLINE_ENV}


@dataclass
class PoolJob:
    """One job for a worker: its spec (harness.evaluation.worker), whether it must run alone, the job whose result
    it needs first, and the name of its lock in the results folder (None: no other run can duplicate it)."""

    id: int
    label: str
    spec: dict[str, Any]
    exclusive: bool = False
    after: int | None = None
    lock: str | None = None
    counted: bool = True  # a job of the progress counts (a model's measuring job is not: it serves the others)


@dataclass
class Outcome:
    """How a job ended: the worker's result, or the cause it ended without one; its stdout and stderr files."""

    result: dict[str, Any] | None
    cause: str | None
    stdout: Path = Path()
    stderr: Path = Path()
    staged: Path = Path()  # the worker's own results folder, where its record is (harness.evaluation.adopt)


@dataclass
class WorkerProcess:
    """One worker: started in a new session (its process group is killed whole), reaped with its resource use."""

    spec: dict[str, Any]
    folder: Path
    limits: Limits
    proc: subprocess.Popen | None = None
    started: float = 0.0
    status: int | None = None
    peak_rss: int | None = None
    killed_for: str | None = None  # why this process killed it: past its time limit, or its output's
    files: list[Any] = field(default_factory=list)
    pipes: list[int | None] = field(default_factory=list)  # the read ends of the worker's stdout and stderr
    written: list[int] = field(default_factory=list)  # bytes written to each file

    def start(self) -> None:
        """Write the spec and start the worker process."""
        self.folder.mkdir(parents=True, exist_ok=True)
        spec = dict(
            self.spec,
            results=str(staged_results(self.folder)),  # the organizer takes the record from there
            result=str(self.folder / "result.json"),
            spawned_at=time.time(),
            parent=os.getpid(),
            timeout_s=self.limits.timeout_s,
        )
        self._beside("spec.json").write_text(json.dumps(spec, default=str), encoding="utf-8")
        env = job_environment(os.environ)
        self.files = [open(self._beside("stdout.txt"), "wb"), open(self._beside("stderr.txt"), "wb")]
        self.written = [0, 0]
        ends = [os.pipe(), os.pipe()]
        self.started = time.monotonic()
        try:
            for read_end, write_end in ends:
                os.set_blocking(read_end, False)
                with contextlib.suppress(OSError, AttributeError):  # F_SETPIPE_SZ: Linux
                    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "harness.evaluation.worker", str(self._beside("spec.json"))],
                stdin=subprocess.DEVNULL,
                stdout=ends[0][1],
                stderr=ends[1][1],
                env=env,
                start_new_session=True,
            )
        except BaseException:
            for fh in self.files:
                fh.close()
            for read_end, _ in ends:
                os.close(read_end)
            raise
        finally:
            for _, write_end in ends:
                os.close(write_end)
        self.pipes = [read_end for read_end, _ in ends]

    def _beside(self, name: str) -> Path:
        """A file of the organizer's beside the job folder (its spec, its stdout and stderr): the job, which may
        write in its folder, cannot touch them."""
        return self.folder.with_name(f"{self.folder.name}.{name}")

    def poll(self) -> bool:
        """Whether the worker has ended (reaped here); one past its wall-time limit or its output limit is killed."""
        if self.status is not None:
            return True
        assert self.proc is not None
        # a worker that exited is seen before its deadline is checked: one that wrote its result in time is not
        # called late; its group is killed before it is reaped, while its id cannot be reused
        self.drain()
        if os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
            self.kill(signal.SIGKILL)
            _, status, usage = os.wait4(self.proc.pid, 0)
            self._reaped(status, usage)
            return True
        if self.killed_for is None and time.monotonic() - self.started > self.limits.timeout_s:
            self.killed_for = timeout_cause(self.limits)
            self.kill(signal.SIGKILL)
        return False

    def drain(self, reads: int = MAX_READS, reaped: bool = False) -> None:
        """Copy what the worker wrote to its stdout and stderr into their files, at most `reads` reads of each; a
        worker that goes past MAX_LOG_BYTES is killed (unless `reaped`: its id may be another's by now), and its
        files end at that size."""
        for i, pipe in enumerate(self.pipes):
            for _ in range(reads):
                if pipe is None:
                    break
                try:
                    chunk = os.read(pipe, READ_BYTES)
                except BlockingIOError:
                    break
                room = MAX_LOG_BYTES - self.written[i]
                self.files[i].write(chunk[:room])
                self.written[i] += min(len(chunk), room)
                if not chunk or len(chunk) > room:  # the end of its output, or past the cap: read no more
                    os.close(pipe)
                    self.pipes[i] = pipe = None
                if len(chunk) > room and self.killed_for is None:
                    self.killed_for = f"killed: wrote more than {format_bytes(MAX_LOG_BYTES)} to its stdout or stderr"
                    if not reaped:
                        self.kill(signal.SIGKILL)

    def _reaped(self, status: int, usage: Any) -> None:
        assert self.proc is not None
        self.status = status
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        self.peak_rss = int(usage.ru_maxrss) * 1024  # kilobytes on Linux
        self.drain(MAX_LOG_BYTES // READ_BYTES + 1, reaped=True)  # what is left in the pipes (its group is gone)
        for pipe in self.pipes:
            if pipe is not None:
                os.close(pipe)
        self.pipes = [None, None]
        for fh in self.files:
            fh.close()

    def kill(self, sig: int) -> None:
        """Send `sig` to the worker's whole process group."""
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)

    def stop(self) -> None:
        """Tell the worker's group to stop (SIGTERM); `finish_stop` kills what is left after the grace period."""
        if self.proc is not None and self.status is None:
            self.kill(signal.SIGTERM)

    def finish_stop(self, deadline: float) -> None:
        """Wait for a stopped worker until `deadline`, then SIGKILL its group; reaped either way."""
        if self.proc is None or self.status is not None:
            return
        while time.monotonic() < deadline:
            if self.poll():
                return
            time.sleep(POLL_S)
        self.kill(signal.SIGKILL)
        _, status, usage = os.wait4(self.proc.pid, 0)
        self._reaped(status, usage)

    def outcome(self) -> Outcome:
        """The ended worker's result, or why it has none."""
        out, err, staged = self._beside("stdout.txt"), self._beside("stderr.txt"), staged_results(self.folder)
        if self.killed_for is not None:
            return Outcome(None, self.killed_for, out, err, staged)
        result_file = self.folder / "result.json"
        try:  # the job may have left anything there, or nothing
            real = Path(os.path.realpath(self.folder)) / result_file.name
            result = json.loads(read_plain(result_file, real, MAX_RESULT_BYTES))
            if isinstance(result, dict):
                return Outcome(result, None, out, err, staged)
        except (ValueError, Refused):
            pass
        assert self.status is not None
        return Outcome(None, exit_cause(self.status, self.peak_rss), out, err, staged)


def cpu_sets(jobs: int) -> list[list[int]]:
    """This process's CPUs split into `jobs` disjoint sets (fewer when there are fewer CPUs than jobs)."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))
    n = max(1, min(jobs, len(cpus)))
    size, extra = divmod(len(cpus), n)
    sets, i = [], 0
    for k in range(n):
        take = size + (k < extra)
        sets.append(cpus[i : i + take])
        i += take
    return sets


class _Locks:
    """The run's locks in the results folder (flock: the kernel releases them if the run dies). A job's lock file is
    removed when its job ends, so a taker checks that the file it locked is still the one at the path."""

    def __init__(self, results: Path) -> None:
        self.folder = results / LOCKS_DIR
        self.held: dict[Any, tuple[int, Path, bool]] = {}
        self.busy: set[int] = set()  # jobs whose lock another run held at the last try

    def take(self, owner: Any, name: str, shared: bool = False, remove: bool = True) -> bool:
        """Lock `name` for `owner` without waiting; False when another holds it (or held it and removed it)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / name
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
            if os.fstat(fd).st_ino != os.stat(path).st_ino:
                raise BlockingIOError  # removed by the holder after we opened it: a later try opens the new one
        except (BlockingIOError, FileNotFoundError):
            os.close(fd)
            return False
        self.held[owner] = (fd, path, remove)
        return True

    def release(self, owner: Any) -> None:
        """Release `owner`'s lock, if it holds one (removing its file first when it is a job's)."""
        held = self.held.pop(owner, None)
        if held is not None:
            fd, path, remove = held
            if remove:
                with contextlib.suppress(OSError):
                    path.unlink()
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def release_all(self) -> None:
        """Release every lock the run holds."""
        for owner in list(self.held):
            self.release(owner)


class LocalLauncher:
    """Starts each job's worker on this machine, pinned to a CPU set of its own (an exclusive job: every CPU)."""

    local = True  # the exclusive rule and the folder's device lock apply: the jobs share this machine

    def __init__(self, limits: Limits) -> None:
        self.sets = cpu_sets(limits.jobs)
        self.slots = len(self.sets)
        self.limits = limits

    def launch(self, job: PoolJob, spec: dict[str, Any], slot: int | None, folder: Path) -> WorkerProcess:
        """Start the job's worker in `folder` on the CPU set of `slot` (None: all of them)."""
        cpus = sorted(c for s in self.sets for c in s) if slot is None else self.sets[slot]
        worker = WorkerProcess(dict(spec, cpus=cpus), folder, self.limits)
        worker.start()
        return worker


def run_jobs(
    jobs: list[PoolJob],
    limits: Limits,
    results: Path,
    *,
    prepare: Callable[[PoolJob, dict[int, Outcome]], dict[str, Any] | str | None],
    finish: Callable[[PoolJob, Outcome], tuple[str, bool]],
    report: Callable[[str], None] = print,
    launcher: Any = None,
) -> dict[int, Outcome]:
    """Run every job in a worker, in order but for dependencies, locks and the exclusive rule; returns each job's
    outcome.

    `prepare(job, outcomes)`: what to add to the job's spec once the job it needs has ended; None when the job need
    not run any more (another run finished it: it ends with an empty outcome); a string when it must not run, the cause of its failure (the job
    it needs died). `finish(job, outcome)`: called while the job's lock is still held (the failed record is written
    there), returns the line to report and whether the job succeeded. `launcher`: where workers start (default:
    this machine, LocalLauncher; a cluster's launcher has `local` False, and its own resources keep measurements
    apart). One job whose outcome cannot be collected or recorded is reported and the run goes on.
    """
    remove_abandoned(results)
    base = results / JOBS_DIR / f"{os.getpid()}-{time.time_ns()}"
    launcher = launcher or LocalLauncher(limits)
    locks = _Locks(results)
    pending = list(jobs)
    running: dict[int, tuple[PoolJob, Any, int | None]] = {}  # job id -> (job, worker, slot)
    outcomes: dict[int, Outcome] = {}
    counts = {"done": 0, "failed": 0, "total": sum(j.counted for j in jobs)}
    waiting: set[int] = set()
    t0 = time.monotonic()
    previous = _on_signals()
    try:
        while pending or running:
            ended = _start_ready(pending, running, outcomes, locks, launcher, limits, base, prepare)
            for job_id, (job, worker, _) in list(running.items()):
                if worker.poll():
                    del running[job_id]
                    try:
                        ended.append((job, worker.outcome()))
                    except Exception as e:  # noqa: BLE001 - one job's lost result must not end the run
                        ended.append(
                            (job, Outcome(None, f"its result could not be collected: {type(e).__name__}: {e}"))
                        )
            for job, outcome in ended:
                outcomes[job.id] = outcome
                try:
                    line, ok = finish(job, outcome)
                except Exception as e:  # noqa: BLE001
                    line, ok = f"{job.label}: could not be recorded: {type(e).__name__}: {e}", False
                locks.release(("job", job.id))
                locks.release(("device", job.id))
                if job.counted:
                    counts["done" if ok else "failed"] += 1
                report(_progress(counts, t0) + " " + line)
            for job in pending:
                if job.id in locks.busy and job.id not in waiting:  # seen once, then waited for in silence
                    waiting.add(job.id)
                    report(f"{job.label}: another run holds it; waiting for that run to finish it")
            if running or pending:
                time.sleep(POLL_S)
    finally:
        _ignore_signals()  # a second Ctrl-C or SIGTERM must not cut the cleanup short
        try:
            for _, worker, _ in running.values():
                worker.stop()
            deadline = time.monotonic() + KILL_GRACE_S
            for _, worker, _ in running.values():
                worker.finish_stop(deadline)
            locks.release_all()
            shutil.rmtree(base, ignore_errors=True)
            with contextlib.suppress(OSError):
                base.parent.rmdir()  # only when no other run's jobs are there
        finally:
            _restore_signals(previous)
    return outcomes


def remove_abandoned(results: Path) -> list[Path]:
    """Remove the job folders of runs that are gone (killed before they could clean up); returns them."""
    from harness.records.store import process_alive

    folder = results / JOBS_DIR
    removed = []
    for entry in sorted(folder.iterdir()) if folder.is_dir() else []:
        pid = entry.name.split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not process_alive(int(pid)):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def _start_ready(
    pending: list[PoolJob],
    running: dict[int, tuple[PoolJob, Any, int | None]],
    outcomes: dict[int, Outcome],
    locks: _Locks,
    launcher: Any,
    limits: Limits,
    base: Path,
    prepare: Callable[[PoolJob, dict[int, Outcome]], dict[str, Any] | str | None],
) -> list[tuple[PoolJob, Outcome]]:
    """Start the pending jobs that may start now, in order: a job waits for the job it needs, a job another run
    holds is passed over, and (on this machine) an exclusive job waits until nothing runs, nothing starting after it
    meanwhile. Returns the jobs that ended without a worker (their lock still held: the caller finishes them)."""
    ended: list[tuple[PoolJob, Outcome]] = []
    alone = launcher.local
    if alone and any(job.exclusive for job, _, _ in running.values()):
        return ended
    for job in list(pending):
        if job.after is not None and job.after not in outcomes:
            continue
        if alone and job.exclusive and running:
            return ended
        used = {s for _, _, s in running.values()}
        free = [i for i in range(launcher.slots) if i not in used]
        if not free and not (alone and job.exclusive):
            return ended
        if job.lock is not None and not locks.take(("job", job.id), job.lock):
            locks.busy.add(job.id)
            continue  # another run is on it: try again later, and find its record then
        locks.busy.discard(job.id)
        if alone and not locks.take(("device", job.id), DEVICE_LOCK, shared=not job.exclusive, remove=False):
            locks.release(("job", job.id))
            if job.exclusive:
                return ended  # another run is measuring, or running jobs that an exclusive one must wait for
            continue
        pending.remove(job)
        try:
            extra = prepare(job, outcomes)
            if isinstance(extra, dict):
                slot = None if alone and job.exclusive else free[0]
                spec = dict(job.spec, **extra, memory_bytes=limits.memory_bytes, limits=limits.plain())
                running[job.id] = (job, launcher.launch(job, spec, slot, base / str(job.id)), slot)
        except Exception as e:  # noqa: BLE001 - a job that cannot start fails alone
            extra = f"its worker could not start: {type(e).__name__}: {e}"
        if extra is None:  # finished elsewhere: the caller's finish says so, and it counts as done
            ended.append((job, Outcome(None, None)))
        elif isinstance(extra, str):  # it fails without running: the logs of the job it needed say why
            needed = outcomes.get(job.after) if job.after is not None else None
            ended.append((job, Outcome(None, extra, *((needed.stdout, needed.stderr) if needed else ()))))
        elif alone and job.exclusive:
            return ended
    return ended


def _progress(counts: dict[str, int], t0: float) -> str:
    """[done / failed / left, time left at the pace so far] of the counted jobs."""
    finished = counts["done"] + counts["failed"]
    left = counts["total"] - finished
    if not finished:
        return f"[0 done, 0 failed, {left} left]"
    eta = (time.monotonic() - t0) / finished * left
    return f"[{counts['done']} done, {counts['failed']} failed, {left} left; about {_duration(eta)} left]"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class Interrupted(KeyboardInterrupt):
    """The run was told to stop (SIGTERM, SIGHUP): its workers are ended and the jobs left stay pending."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.exit_status = 128 + signum


STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def _raise_interrupted(signum: int, frame: Any) -> None:
    raise Interrupted(signum)


def _on_signals() -> dict[int, Any] | None:
    """Turn SIGTERM and SIGHUP into Interrupted in the main thread (so the workers are ended); the old handlers."""
    try:
        return {sig: signal.signal(sig, _raise_interrupted) for sig in STOP_SIGNALS}
    except ValueError:  # not the main thread: the caller's own handling stands
        return None


def _ignore_signals() -> None:
    with contextlib.suppress(ValueError):
        for sig in (*STOP_SIGNALS, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)


def _restore_signals(previous: dict[int, Any] | None) -> None:
    with contextlib.suppress(ValueError):
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for sig, handler in (previous or {}).items():
            signal.signal(sig, handler)


def tail_bytes(path: Path) -> bytes:
    """The last LOG_TAIL_BYTES of a log file (nothing when there is none)."""
    if not path.is_file():
        return b""
    with path.open("rb") as fh:
        fh.seek(max(0, path.stat().st_size - LOG_TAIL_BYTES))
        return fh.read()


def keep_logs(outcome: Outcome, record_path: Path) -> list[Path]:
    """Keep the last LOG_TAIL_BYTES of a failed job's stdout and stderr beside its record; returns their paths."""
    from harness.records.store import log_paths

    kept = []
    for src, dest in zip((outcome.stdout, outcome.stderr), log_paths(record_path)):
        if src.is_file():
            dest.write_bytes(tail_bytes(src))
            kept.append(dest)
    return kept
