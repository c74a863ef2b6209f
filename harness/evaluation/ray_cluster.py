"""The Ray executor: the same jobs, workers and limits as the local one, on the nodes of a Ray cluster.

Each job is a Ray task that starts the job's worker process on its node (harness.evaluation.pool.WorkerProcess:
its own session, memory limit, time limit, no network) with a results folder of the node's own, and returns what
the worker wrote: its result, its record and predictions files, its stdout and stderr. The organizer's process
stores them in its results folder through the one record store, so a failed re-run still lands beside a good
record and the locks, keys and resume work as with the local executor. Ray's CPU resources keep measurements
apart: a job reserves the track's threads, and a job that times latency or tracks energy reserves as many CPUs as
the smallest node that can run it has (a whole node of that size: on a cluster of mixed nodes, give measuring
runs a cluster of equal nodes).

How folders reach the nodes: by path. The submissions, the data mirror and the track file must be at the same
path on every node (a shared filesystem, or a copy made before the run); a node that lacks them writes failed
records that say which path is missing. A local instance (no --address) shares this machine's files.
Ray is an optional extra: pip install '.[ray]'.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from harness.backends.devices import CPU, is_cuda
from harness.errors import UserError
from harness.evaluation.adopt import MAX_HANDED_BYTES, Refused, read_plain, staged_results
from harness.evaluation.limits import Limits
from harness.evaluation.pool import KILL_GRACE_S, POLL_S, Outcome, PoolJob, WorkerProcess, tail_bytes

RECORDS_DIR = "records"  # under a results folder (harness.records.store.record_path)


def connect(address: str | None, num_cpus: int | None = None) -> Any:
    """Connect to the cluster at `address`, or start a local instance (with `num_cpus` CPUs) when None."""
    try:
        import ray
    except ImportError as e:
        raise UserError(
            "--executor ray needs Ray, which is not installed", fix="pip install '.[ray]' (or pip install ray)"
        ) from e
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if address is None:
            kwargs["num_cpus"] = num_cpus
        else:
            probe(address)
        try:
            ray.init(address=address, **kwargs)
        except ConnectionError as e:
            raise UserError(
                f"--address {address}: no Ray cluster answered ({e})",
                fix="start one with `ray start --head`, or leave --address out to start a local instance",
            ) from e
        except ValueError as e:  # Ray's client (ray://) lives in an extra of its own
            raise UserError(
                f"--address {address}: {e}", fix="pip install '.[ray]' (or pip install 'ray[client]')"
            ) from e
    return ray


# Ray itself retries an unreachable head for minutes; a TCP connect that takes longer than this is no cluster.
PROBE_TIMEOUT_S = 10


def probe(address: str) -> None:
    """Refuse at once an --address (ray://HOST:PORT or HOST:PORT) whose port nobody listens on; `auto` is Ray's."""
    import socket

    where = address.removeprefix("ray://")
    host, _, port = where.rpartition(":")
    if address == "auto" or not host:
        return
    if not port.isdigit():
        raise UserError(f"--address {address}: {port!r} is not a port", fix="write it as ray://HOST:10001 or HOST:6379")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_TIMEOUT_S).close()
    except OSError as e:
        raise UserError(
            f"--address {address}: nothing answers at {host}:{port} ({e.strerror or e})",
            fix="check the head's address and port (`ray start --head` prints them), or leave --address out",
        ) from e


def run_on_node(spec: dict[str, Any], limits_plain: dict[str, Any]) -> dict[str, Any]:
    """A Ray task's body: run one job's worker on this node, with a results folder of its own, and return its result,
    files and logs. Without a data mirror, the node fetches the task's data into its hub cache first (the worker
    has no network)."""
    limits = Limits(timeout_s=limits_plain["timeout_s"], memory_bytes=limits_plain["memory_bytes"])
    if spec.get("data_dir") is None and spec.get("kind") == "task":
        from harness.tasks.data import fetch_from_hub

        fetch_from_hub([spec["task"]])  # a task it cannot fetch fails in the worker, offline, saying why
    with tempfile.TemporaryDirectory(prefix="harness-job-") as tmp:
        worker = WorkerProcess(dict(spec), Path(tmp) / "job", limits)
        results = staged_results(worker.folder)  # where the worker writes its record (WorkerProcess.start)
        worker.start()
        try:
            while not worker.poll():
                time.sleep(POLL_S)
        finally:  # a cancelled task (the run was stopped) ends its worker's process group too, and is reaped
            worker.stop()
            worker.finish_stop(time.monotonic() + KILL_GRACE_S)
        outcome = worker.outcome()
        files = {}
        real = Path(os.path.realpath(results))
        for path in sorted((results / RECORDS_DIR).rglob("*")) if (results / RECORDS_DIR).is_dir() else []:
            if not path.is_symlink() and path.is_file() and not path.name.startswith("."):
                with contextlib.suppress(Refused):  # a link, a FIFO, past the size limit: not sent
                    rel = path.relative_to(results)
                    files[rel.as_posix()] = read_plain(path, real / rel, MAX_HANDED_BYTES)
        result = dict(outcome.result) if outcome.result is not None else None
        if result is not None and result.get("record"):
            handed = result["record"]
            inside = isinstance(handed, str) and "\0" not in handed and Path(handed).is_relative_to(results)
            result["record"] = Path(handed).relative_to(results).as_posix() if inside else None
            if not inside:
                result["error"] = f"its worker handed back no record of its results folder ({str(handed)[:80]!r})"
        return {
            "result": result,
            "cause": outcome.cause,
            "files": files,
            "stdout": tail_bytes(outcome.stdout),
            "stderr": tail_bytes(outcome.stderr),
            "node": os.uname().nodename,
        }


GPUS_PER_CUDA_JOB = 1  # a --device cuda job reserves one whole GPU through Ray's resources (Ray sets its visible one)


class RayLauncher:
    """Starts each job as a Ray task (harness.evaluation.pool.run_jobs's launcher for --executor ray)."""

    local = False  # Ray's resources keep jobs apart on the nodes; the local exclusive rule does not apply

    def __init__(self, ray: Any, limits: Limits, results: Path, threads: int) -> None:
        self.ray, self.limits, self.results = ray, limits, results
        self.threads = max(1, threads)
        nodes = [n for n in ray.nodes() if n.get("Alive")]
        cpus = [int(n.get("Resources", {}).get("CPU", 0)) for n in nodes]
        if not cpus or max(cpus) < self.threads:
            raise UserError(
                f"the Ray cluster has no node with {self.threads} CPU(s) for one job (nodes: {cpus or 'none'})",
                fix="add nodes, or run a track with fewer threads",
            )
        self.node_cpus = min(c for c in cpus if c >= self.threads)  # an exclusive job reserves a whole node
        self.slots = max(1, sum(cpus) // self.threads)
        self.task = ray.remote(run_on_node)

    def launch(self, job: PoolJob, spec: dict[str, Any], slot: int | None, folder: Path) -> RayJob:
        """Submit the job as a Ray task reserving its CPUs (a whole node when it measures latency or energy)."""
        cpus = self.node_cpus if job.exclusive else self.threads
        spec = {k: v for k, v in spec.items() if k != "cpus"}  # the node's own CPU ids are not known here
        # no retry: a task whose Ray worker died may have left a job half done; the next run retries it
        gpus = GPUS_PER_CUDA_JOB if is_cuda(str(spec.get("device") or CPU)) else 0  # one GPU per job
        ref = self.task.options(num_cpus=cpus, num_gpus=gpus, max_retries=0).remote(spec, self.limits.plain())
        return RayJob(self, ref, folder)


class RayJob:
    """One job's Ray task, polled like a local worker; its files are stored in the organizer's results folder."""

    def __init__(self, launcher: RayLauncher, ref: Any, folder: Path) -> None:
        self.launcher, self.ref, self.folder = launcher, ref, folder
        self.value: dict[str, Any] | None = None
        self.error: str | None = None

    def poll(self) -> bool:
        """Whether the task has ended (its value fetched)."""
        if self.value is not None or self.error is not None:
            return True
        ray = self.launcher.ray
        ready, _ = ray.wait([self.ref], timeout=0)
        if not ready:
            return False
        try:
            self.value = ray.get(self.ref)
        except Exception as e:  # noqa: BLE001 - a lost node or a dead Ray worker: the job fails with the cause
            self.error = f"the Ray task failed: {type(e).__name__}: {str(e)[:500]}"
        return True

    def stop(self) -> None:
        """Cancel the task: it is interrupted on its node and ends its worker's process group."""
        self.launcher.ray.cancel(self.ref, force=False)

    def finish_stop(self, deadline: float) -> None:
        """Nothing to wait for here: the cancelled task ends its worker on its node."""

    def outcome(self) -> Outcome:
        """The job's outcome, its record and the files the record names staged in the job's folder, as a local
        worker leaves them (the organizer takes them from there: harness.evaluation.adopt)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        out, err = self.folder / "stdout.txt", self.folder / "stderr.txt"
        value = self.value or {}
        out.write_bytes(value.get("stdout", b""))
        err.write_bytes(value.get("stderr", b""))
        if self.error is not None:
            return Outcome(None, self.error, out, err)
        result = value.get("result")
        staged = staged_results(self.folder)
        if result is not None and result.get("record"):
            for rel, data in (value.get("files") or {}).items():
                parts = Path(rel).parts
                if Path(rel).is_absolute() or ".." in parts or parts[:1] != (RECORDS_DIR,):
                    continue  # a name that would leave the job's folder: never written (the record names its files)
                target = staged / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            result = dict(result, record=str(staged / result["record"]))  # the organizer takes it from there
        return Outcome(result, value.get("cause"), out, err, staged)
