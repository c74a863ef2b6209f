"""Each job of `harness run` in a worker process of its own (issue 14): a worker that crashes, hangs past its time
limit or runs out of its memory limit ends as a failed record with the cause, its stdout and stderr kept beside it,
while the other jobs finish; two runs on one results folder give one record per job; SIGTERM ends the workers."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import hostile_backend  # noqa: F401 - registers the hostile backends in this process too (the schema knows them)
import pytest
from board_records import HEAD, write_track
from conftest import process_alive, processes_holding, write_hostile_submission

from harness.cli import main
from harness.errors import UserError
from harness.evaluation.limits import Limits, exit_cause, format_bytes, memory_cause, parse_memory
from harness.evaluation.pool import cpu_sets
from harness.records import read_records

TRACK = HEAD + (
    "tasks:\n  - {task: sst2, split: validation}\n  - {task: rte, split: validation}\nscore: {rule: mean}\n"
    "ranking: {by: score}\nmeasurement: {measure: [params]}\n"
)
LIMIT = 4


def _args(tmp_path: Path, mirror: Path, *extra: str, measuring: bool = True) -> list[str]:
    """`harness run` over tmp_path's submissions; not `measuring`: the track takes no per-model measurements, so
    each task job loads its model itself (no measuring job comes first)."""
    text = TRACK if measuring else TRACK.replace("measure: [params]", "measure: []")
    track = write_track(tmp_path / "tracks", "workers" if measuring else "plain", text)
    return [
        "run",
        str(track),
        "--submissions",
        str(tmp_path / "subs"),
        "--results",
        str(tmp_path / "results"),
        "--data-dir",
        str(mirror),
        "--limit",
        str(LIMIT),
        "--no-progress",
        *extra,
    ]


def test_a_crash_a_hang_and_a_memory_hog_each_fail_with_the_cause_while_the_good_jobs_finish(
    tmp_path, mirror, plugins, capsys
):
    subs = tmp_path / "subs"
    write_hostile_submission(subs, "good", mirror)
    for name in ("abort", "hang", "hog", "chatty"):
        write_hostile_submission(subs, name, mirror, backend=name)
    t0 = time.monotonic()
    code = main(_args(tmp_path, mirror, "--jobs", "2", "--timeout", "25", "--memory", "2G"))
    took = time.monotonic() - t0
    out = capsys.readouterr().out
    assert code == 1
    records = {(r.submission.id, r.task.name): r for r in read_records(tmp_path / "results" / "records")}
    assert len(records) == 10, out
    assert records[("good", "sst2")].ok and records[("good", "rte")].ok
    causes = {sub: records[(sub, "sst2")].error or "" for sub in ("abort", "hang", "hog", "chatty")}
    assert "crashed: killed by SIGABRT" in causes["abort"], causes
    assert "killed: ran past the time limit of 25 s (--timeout)" in causes["hang"], causes
    assert "out of memory: exceeded the 2 GiB memory limit" in causes["hog"], causes
    assert "killed: wrote more than 64 MiB to its stdout or stderr" in causes["chatty"], causes
    for sub in ("abort", "hang", "hog"):
        assert not records[(sub, "sst2")].ok and not records[(sub, "rte")].ok
    # the crash and the hang happened while loading the model to measure it: its task jobs are not tried again
    assert "not run: the worker loading its model to measure it ended" in (records[("hang", "rte")].error or "")
    assert took < 25 * 2.5, f"the hang was waited out more than once: {took:.0f} s"
    # each failed worker's stdout and stderr sit beside its record
    hog = Path(str(records[("hog", "sst2")].path))
    stem = hog.name[: -len(".record.json")]
    assert (hog.parent / f"{stem}.stderr.txt").is_file() and (hog.parent / f"{stem}.stdout.txt").is_file()
    assert "MemoryError" in (hog.parent / f"{stem}.stderr.txt").read_text() or "MemoryError" in causes["hog"]
    progress = re.findall(r"^\[(\d+) done, (\d+) failed, (\d+) left; about [^\]]+\] ", out, re.MULTILINE)
    assert progress and progress[-1] == ("2", "8", "0"), out  # task jobs only: the measuring jobs serve them
    left = [p for p in (tmp_path / "results").rglob("*") if p.name.endswith((".tmp", ".partial"))]
    assert left == [] and not (tmp_path / "results" / ".jobs").exists()


def test_a_worker_that_hands_back_another_submissions_record_fails_and_leaves_that_record_alone(
    tmp_path, mirror, plugins, capsys
):
    subs = tmp_path / "subs"
    write_hostile_submission(subs, "good", mirror)
    write_hostile_submission(subs, "zforge", mirror, backend="zforge")
    assert main(_args(tmp_path, mirror, "--timeout", "120", measuring=False)) == 1
    out = capsys.readouterr().out
    records = {(r.submission.id, r.task.name): r for r in read_records(tmp_path / "results" / "records")}
    assert sorted(records) == [("good", "rte"), ("good", "sst2"), ("zforge", "rte"), ("zforge", "sst2")], out
    assert records[("good", "rte")].ok and records[("good", "sst2")].ok
    for task in ("rte", "sst2"):
        assert "its worker handed back a record that is not this job's" in str(records[("zforge", task)].error)


def test_a_worker_states_its_limits_and_isolation_in_the_record(tmp_path, mirror, plugins):
    write_hostile_submission(tmp_path / "subs", "good", mirror)
    assert main(_args(tmp_path, mirror, "--memory", "3G", "--timeout", "600")) == 0
    [record, *_] = read_records(tmp_path / "results" / "records")
    worker = dict(record.environment or {})["worker"]
    assert worker["limits"]["memory_bytes"] == 3 << 30 and worker["limits"]["timeout_s"] == 600
    assert worker["memory_limit"] == "3 GiB of address space (RLIMIT_AS)"
    assert worker["network"].startswith(("none", "not isolated"))
    assert worker["processes"].startswith(("contained", "not contained"))
    assert worker["files"].startswith(("read-only", "not read-only"))
    if worker["files"].startswith("read-only"):
        assert "own mount namespace" in worker["files"] and "a temporary folder of its own" in worker["files"]
        assert "a /proc of its own" in worker["files"] and "no capability to undo it" in worker["files"]
        assert "not sealed" not in worker["files"], worker["files"]
        assert "a /dev of its own (full, null, random, urandom, zero) with a /dev/shm of its own" in worker["files"]
    assert worker["syscalls"].startswith(("filtered (seccomp): no io_uring", "not filtered: no seccomp filter"))
    assert set(worker["cpus"]) <= set(os.sched_getaffinity(0))


def test_the_network_is_off_in_a_worker_where_the_kernel_allows(tmp_path):
    code = (
        "from harness.evaluation.limits import network_off\n"
        "how = network_off()\n"
        "import socket\n"
        "if how.startswith('none'):\n"
        "    s = socket.socket(); s.settimeout(2)\n"
        "    try:\n"
        "        s.connect(('1.1.1.1', 53)); print('connected')\n"
        "    except OSError as e:\n"
        "        print('refused', e.errno)\n"
        "else:\n"
        "    print(how)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert out.startswith(("refused", "not isolated")), out
    if out.startswith("not isolated"):
        pytest.skip(f"this kernel allows no unprivileged network namespace: {out.strip()}")


def test_two_concurrent_runs_on_one_folder_give_one_record_per_job(tmp_path, mirror, plugins):
    subs = tmp_path / "subs"
    for name in ("a", "b"):
        write_hostile_submission(subs, name, mirror)
    cli = [sys.executable, "-m", "harness", *_args(tmp_path, mirror, "--jobs", "2")]
    runs = [subprocess.Popen(cli, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=600)[0] for p in runs]
    assert [p.returncode for p in runs] == [0, 0], outs
    files = sorted((tmp_path / "results" / "records").rglob("*.record.json"))
    assert len(files) == 4, files
    assert all(r.ok for r in read_records(tmp_path / "results" / "records"))
    both = "\n".join(outs)
    elsewhere = both.count("in another run (")  # a job one run found finished (or started) by the other
    assert elsewhere == 4, both  # each of the 4 jobs was evaluated by exactly one of the two runs
    for out in outs:
        assert re.findall(r"^\[\d+ done, 0 failed, (\d+) left", out, re.MULTILINE)[-1] == "0", out


def _hanging_run(tmp_path: Path, mirror: Path, output: int) -> tuple[subprocess.Popen, list[int]]:
    """`harness run` on one submission whose model hangs, once its worker has started; the worker's process ids."""
    write_hostile_submission(tmp_path / "subs", "hang", mirror, backend="hang")
    cli = [sys.executable, "-m", "harness", *_args(tmp_path, mirror, "--timeout", "600")]
    run = subprocess.Popen(cli, stdout=output, stderr=subprocess.STDOUT, text=True)
    workers: list[int] = []
    deadline = time.monotonic() + 120
    while not workers and time.monotonic() < deadline:
        time.sleep(0.5)
        workers = _children(run.pid)
    assert workers, "no worker started"
    return run, workers


def test_sigterm_ends_every_worker_and_leaves_the_job_pending(tmp_path, mirror, plugins):
    run, workers = _hanging_run(tmp_path, mirror, subprocess.PIPE)
    run.send_signal(signal.SIGTERM)
    out = run.communicate(timeout=60)[0]
    assert run.returncode == 128 + signal.SIGTERM, out
    assert "run the same command again" in out
    time.sleep(0.5)
    assert all(not process_alive(pid) for pid in workers)
    assert not (tmp_path / "results" / "records").exists() or not list((tmp_path / "results").rglob("*.record.json"))


def _children(pid: int) -> list[int]:
    """Worker processes (python -m harness.evaluation.worker) whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmd = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat[1]) == pid and b"harness.evaluation.worker" in cmd:
            found.append(int(entry.name))
    return found


def test_limits_parse_and_state_themselves():
    assert (
        parse_memory("4G") == 4 << 30
        and parse_memory("1536M") == 1536 << 20
        and parse_memory("2.5GiB") == int(2.5 * (1 << 30))
    )
    for bad in ("lots", "-1G", "4X"):
        with pytest.raises(UserError, match="not a size"):
            parse_memory(bad)
    with pytest.raises(UserError, match="below 1 GiB"):
        parse_memory("100M")
    with pytest.raises(UserError, match="past the largest limit the kernel takes"):
        parse_memory("99999999T")  # setrlimit would overflow in every worker
    assert format_bytes(3 << 30) == "3 GiB" and format_bytes(1536 << 20) == "1.5 GiB"
    assert Limits(memory_bytes=2 << 30).plain()["memory"] == "2 GiB"


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--timeout", "3e9"], "--timeout 3e+09 is past the longest limit a worker sets"),
        (["--memory", "99999999T"], "--memory 99999999T is past the largest limit the kernel takes"),
        (
            ["--address", "ray://head:10001"],
            "--address ray://head:10001 names a Ray cluster, but the executor is local",
        ),
    ],
)
def test_run_refuses_limits_no_worker_can_set_and_an_address_without_ray(tmp_path, extra, expected, capsys):
    track = write_track(tmp_path / "tracks", "workers", TRACK)
    (tmp_path / "subs").mkdir()
    code = main(["run", str(track), "--submissions", str(tmp_path / "subs"), "--results", str(tmp_path / "r"), *extra])
    assert code == 2 and expected in capsys.readouterr().err
    assert not (tmp_path / "r").exists(), "refused before anything ran"


def test_the_default_memory_is_shared_by_the_jobs_that_can_run_at_once(tmp_path, monkeypatch):
    from harness.evaluation import limits

    seen = []
    monkeypatch.setattr(limits, "default_memory", lambda jobs: seen.append(jobs) or 4 << 30)
    monkeypatch.setattr("harness.evaluation.track.run_track", lambda *a, **k: ([], []))
    track = write_track(tmp_path / "tracks", "workers", TRACK)
    main(["run", str(track), "--submissions", str(tmp_path), "--results", str(tmp_path / "r"), "--jobs", "1000"])
    assert seen == [len(cpu_sets(1000))] and seen[0] <= len(os.sched_getaffinity(0))


def test_exit_causes_name_the_signal_or_the_status():
    aborted = 6  # a wait status: killed by SIGABRT
    assert exit_cause(aborted).startswith("crashed: killed by SIGABRT (6)")
    assert "exited with status 3 without writing a result" in exit_cause(3 << 8)
    assert exit_cause(signal.SIGSYS) == "crashed: killed by SIGSYS (31): a call the seccomp filter ends (i386's ABI)"
    assert "SIGKILL" in exit_cause(9, peak_rss_bytes=3 << 30) and "3 GiB" in exit_cause(9, peak_rss_bytes=3 << 30)


def test_a_memory_error_is_named_as_the_limit_only_under_a_limit():
    code = (
        "import resource\n"
        "from harness.evaluation.limits import memory_cause\n"
        "print(memory_cause(MemoryError()))\n"
        "resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))\n"
        "print(memory_cause(MemoryError()))\n"
        "print(memory_cause(RuntimeError('DefaultCPUAllocator: can\\'t allocate memory: you tried to allocate 9 GB')))\n"
        "print(memory_cause(ValueError('bad shape')))\n"
        "print(memory_cause(ImportError('_isfinite.so: failed to map segment from shared object')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout.splitlines()
    assert out[0] == "None" and out[3] == "None"
    assert (
        out[1] == out[2] == out[4] == "out of memory: exceeded the 3 GiB memory limit (--memory; address-space rlimit)"
    )
    assert memory_cause(ValueError("x")) is None


def test_cpu_sets_are_disjoint_and_cover_the_cpus():
    cpus = sorted(os.sched_getaffinity(0))
    for jobs in (1, 2, 3, 64):
        sets = cpu_sets(jobs)
        flat = [c for s in sets for c in s]
        assert sorted(flat) == cpus and len(flat) == len(set(flat)) and len(sets) == min(jobs, len(cpus))


def test_the_ray_executor_on_a_local_instance_gives_the_records_of_the_local_executor(tmp_path, mirror, plugins):
    ray = pytest.importorskip("ray", reason="Ray is the optional extra .[ray] (the test extra installs it)")
    for name in ("a", "b"):
        write_hostile_submission(tmp_path / "subs", name, mirror)
    write_hostile_submission(tmp_path / "subs", "abort", mirror, backend="abort")
    local = _args(tmp_path, mirror, "--timeout", "120")
    assert main(local) == 1  # the abort submission's jobs fail, the others finish
    on_ray = [*local, "--executor", "ray"]
    on_ray[on_ray.index("--results") + 1] = str(tmp_path / "ray-results")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        assert main(on_ray) == 1
    finally:
        ray.shutdown()

    def comparable(folder: Path) -> dict:
        out = {}
        for r in read_records(folder / "records"):
            rel = Path(str(r.path)).relative_to(folder).as_posix()
            preds = (Path(str(r.path)).parent / r.predictions_file).read_bytes() if r.predictions_file else b""
            out[rel] = (r.status, dict(r.key), dict(r.metrics), r.score, r.num_examples, preds, (r.error or "")[:60])
        return out

    a, b = comparable(tmp_path / "results"), comparable(tmp_path / "ray-results")
    assert a == b and len(a) == 6
    assert sum(status == "ok" for status, *_ in a.values()) == 4


def test_a_worker_dies_with_an_organizer_killed_without_cleanup(tmp_path, mirror, plugins):
    run, workers = _hanging_run(tmp_path, mirror, subprocess.DEVNULL)
    run.kill()  # SIGKILL: the organizer cannot end its workers itself
    run.wait(timeout=30)
    deadline = time.monotonic() + 10
    while any(process_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(process_alive(pid) for pid in workers)


class _FakeWorker:
    def __init__(self, log: list, job_id: int) -> None:
        self.log, self.job_id, self.polls = log, job_id, 0

    def poll(self) -> bool:
        self.polls += 1
        if self.polls < 3:
            return False
        self.log.append(("end", self.job_id))
        return True

    def outcome(self):
        from harness.evaluation.pool import Outcome

        return Outcome({"ok": True}, None)

    def stop(self) -> None:
        pass

    def finish_stop(self, deadline: float) -> None:
        pass


class _FakeLauncher:
    local = True
    slots = 2

    def __init__(self) -> None:
        self.log: list = []

    def launch(self, job, spec, slot, folder):
        self.log.append(("start", job.id))
        return _FakeWorker(self.log, job.id)


def test_an_exclusive_job_runs_alone_and_waits_for_the_job_it_needs(tmp_path):
    from harness.evaluation.pool import PoolJob, run_jobs

    jobs = [
        PoolJob(0, "a", {}),
        PoolJob(1, "b", {}),
        PoolJob(2, "latency", {}, exclusive=True),
        PoolJob(3, "c", {}, after=2),
        PoolJob(4, "d", {}),
    ]
    launcher = _FakeLauncher()
    lines: list[str] = []
    outcomes = run_jobs(
        jobs,
        Limits(memory_bytes=1 << 30, jobs=2),
        tmp_path,
        prepare=lambda job, done: {},
        finish=lambda job, outcome: (job.label, True),
        report=lines.append,
        launcher=launcher,
    )
    assert sorted(outcomes) == [0, 1, 2, 3, 4]
    log = launcher.log
    start = {j: log.index(("start", j)) for j in range(5)}
    end = {j: log.index(("end", j)) for j in range(5)}
    # the exclusive job starts once a and b ended, and nothing starts until it ends
    assert start[2] > end[0] and start[2] > end[1]
    assert all(not (start[2] < start[j] < end[2]) for j in (3, 4))
    assert start[3] > end[2]  # c needs the exclusive job's result
    assert lines[-1].startswith("[5 done, 0 failed, 0 left")


@pytest.mark.parametrize("address", ["ray://127.0.0.1:1", "127.0.0.1:1", "ray://head:port"])
def test_a_ray_address_nobody_answers_at_is_refused_at_once(address):
    """Ray itself retries an unreachable head for minutes (ray.init on HOST:PORT), or needs an extra (ray://)."""
    pytest.importorskip("ray")
    from harness.evaluation.ray_cluster import connect

    t0 = time.monotonic()
    with pytest.raises(UserError, match=re.escape(f"--address {address}:")):
        connect(address)
    assert time.monotonic() - t0 < 15


def _gone(folder: Path, seconds: float = 10) -> list[int]:
    """The processes still holding a file under `folder` after `seconds` (killed then, so none outlives the test).
    A daemon keeps its file open: its id inside its namespace, all it can know, means nothing here."""
    deadline = time.monotonic() + seconds
    while processes_holding(folder) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = processes_holding(folder)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return left


@pytest.fixture
def daemons(tmp_path):
    """The job folders, where the `escape` backend's daemons keep a file open; any still alive at the end is
    killed."""
    folder = tmp_path / "results" / ".jobs"
    yield folder
    _gone(folder, 0)


def test_a_process_a_job_leaves_behind_in_a_session_of_its_own_ends_with_the_job(tmp_path, mirror, plugins, daemons):
    write_hostile_submission(tmp_path / "subs", "escape", mirror, backend="escape")
    assert main(_args(tmp_path, mirror, "--timeout", "120", measuring=False)) == 1
    records = read_records(tmp_path / "results" / "records")
    assert len(records) == 2 and all("left a daemon behind" in str(r.error) for r in records)  # each started one
    assert _gone(daemons) == [], "the jobs' daemons outlived their workers"
    assert all(dict(r.environment or {})["worker"]["processes"].startswith("contained") for r in records)


def test_a_process_a_hung_job_leaves_behind_ends_when_the_organizer_is_killed(tmp_path, mirror, plugins, daemons):
    write_hostile_submission(tmp_path / "subs", "escape-hang", mirror, backend="escape")
    cli = [sys.executable, "-m", "harness", *_args(tmp_path, mirror, "--timeout", "600")]
    run = subprocess.Popen(cli, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while not list(daemons.glob("*/*/daemons/*")) and time.monotonic() < deadline and run.poll() is None:
            time.sleep(0.2)
        assert list(daemons.glob("*/*/daemons/*")), "the job started no daemon"
        run.kill()  # SIGKILL: the organizer cannot end its workers itself
        run.wait(timeout=30)
        assert _gone(daemons) == [], "the job's daemon outlived the organizer"
    finally:
        run.kill()


def test_a_worker_that_prints_without_end_is_stopped_at_its_output_cap_not_past_it(
    tmp_path, mirror, plugins, monkeypatch
):
    import harness.evaluation.pool as pool

    cap = 256 << 10  # under the tail a failed record keeps (LOG_TAIL_BYTES): the kept log is all that was written
    monkeypatch.setattr(pool, "MAX_LOG_BYTES", cap)
    write_hostile_submission(tmp_path / "subs", "chatty", mirror, backend="chatty")
    assert main(_args(tmp_path, mirror, "--timeout", "120", measuring=False)) == 1
    records = read_records(tmp_path / "results" / "records")
    assert len(records) == 2 and all("wrote more than 256 KiB to its stdout" in str(r.error) for r in records)
    for record in records:
        path = Path(str(record.path))
        kept = path.with_name(path.name.removesuffix(".record.json") + ".stdout.txt")
        assert cap // 2 < kept.stat().st_size <= cap, kept.stat().st_size


def test_a_worker_killed_while_writing_leaves_no_partial_file_and_names_its_own_process(tmp_path, mirror, plugins):
    write_hostile_submission(tmp_path / "subs", "partial", mirror, backend="partial")
    assert main(_args(tmp_path, mirror, "--timeout", "120", measuring=False)) == 1
    # it wrote in its job folder, which the run removed: nothing is left in the results folder
    assert [p for p in (tmp_path / "results").rglob("*") if p.name.endswith((".tmp", ".partial"))] == []
    logs = sorted((tmp_path / "results" / "records" / "partial").glob("*.stdout.txt"))
    names = [line.split()[1] for log in logs for line in log.read_text().splitlines() if line.startswith("PARTIAL ")]
    assert len(names) == 2, names
    for name in names:  # the writer's id as the machine sees it, not its id inside its namespace (2)
        pid = int(name.split(".")[-3])
        assert pid != 2 and not process_alive(pid), name


def test_a_contained_job_measures_its_own_memory_and_cpu_time_not_another_process(tmp_path):
    """Inside the PID namespace os.getpid() is 2, which /proc (the machine's) gives to another process."""
    code = (
        "import os, psutil\n"
        "from harness.evaluation.limits import contain_processes\n"
        "how = contain_processes()\n"
        "from harness.measure.memory import rss_bytes\n"
        "from harness.measure.latency import process_cpu_seconds\n"
        "sum(i * i for i in range(2_000_000))\n"
        "real = psutil.Process(int(os.readlink('/proc/self')))\n"
        "print(how, os.getpid(), rss_bytes(), real.memory_info().rss, process_cpu_seconds(), sum(real.cpu_times()[:2]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    how, *numbers = out.stdout.rsplit(maxsplit=5)
    if not how.startswith("contained"):
        pytest.skip(f"no PID namespace here: {how}")
    pid, rss, real_rss, cpu, real_cpu = int(numbers[0]), int(numbers[1]), int(numbers[2]), *map(float, numbers[3:])
    assert pid == 2  # the namespace's init is 1
    assert rss > 1 << 20 and abs(rss - real_rss) < 8 << 20, (rss, real_rss)
    assert cpu > 0.05 and abs(cpu - real_cpu) < 0.1, (cpu, real_cpu)
