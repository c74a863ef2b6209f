"""One job of a track run in a process of its own: `python -m harness.evaluation.worker SPEC.json`.

The organizer's process (harness.evaluation.pool) writes the job's spec, starts this worker in a new session (so
the whole process group can be killed), and reads the result file it writes last. The worker puts itself under
its limits (harness.evaluation.limits) before it reads any submission file. Two kinds of job: "measure" loads a
model and takes its per-model measurements (once per model, not per task); "task" evaluates one (submission,
task) and writes its record under the results folder its spec names, in its own job folder, for the organizer to
check and take (harness.evaluation.adopt). A worker that dies writes no result; its organizer writes the failed
record.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

WATCHDOG_SLACK_S = 60  # past the organizer's time limit, by which it has killed the worker unless it is gone
JOB_TMP = "tmp"  # the job folder's folder that is the job's $TMPDIR (harness.evaluation.limits.files_read_only)
# The caches a job writes, each a folder of its $TMPDIR (the machine's defaults, under ~ or /tmp, are read-only to
# it), by the variable that places it: transformers' copy of a model's own code (trust_remote_code), Triton's and
# TorchInductor's compiled kernels, CUDA's JIT-compiled kernels, torch's C++ extensions and CUDA kernel cache.
HUB_TOKEN_FILES = ("token", "stored_tokens")  # under HF_HOME (huggingface_hub's constants)
JOB_CACHES = {
    "HF_MODULES_CACHE": "hf_modules",
    "TRITON_CACHE_DIR": "triton",
    "TORCHINDUCTOR_CACHE_DIR": "torchinductor",
    "CUDA_CACHE_PATH": "cuda",
    "TORCH_EXTENSIONS_DIR": "torch_extensions",
    "PYTORCH_KERNEL_CACHE_PATH": "torch_kernels",
}


def run_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the job a spec describes (after entering its limits); returns the result the organizer reads."""
    from harness.backends.devices import is_cuda
    from harness.evaluation.limits import enter_limits
    from harness.registry import import_plugins

    writable, scratch, overlaid = own_folders(spec)
    blanked = hub_secrets()
    reads = [str(spec[k]) for k in ("track", "submission", "data_dir") if spec.get(k)] + plugin_places()
    gpu = is_cuda(str(spec.get("device") or "cpu"))
    applied = enter_limits(
        spec.get("memory_bytes"), spec.get("cpus"), spec.get("parent"), writable, scratch, reads, gpu, overlaid, blanked
    )
    temporary = os.environ.get("TMPDIR") if applied.get("files", "").startswith("read-only") else None
    for name, folder in JOB_CACHES.items():
        os.environ[name] = os.path.join(temporary or scratch, folder)
    import_plugins()
    if spec.get("timeout_s"):  # a watchdog of its own, should the organizer's be gone: SIGALRM ends the process
        signal.alarm(int(spec["timeout_s"] + WATCHDOG_SLACK_S))
    import torch  # noqa: F401 - imported here, so that the start-up time below includes it
    import transformers  # noqa: F401

    from harness.evaluation.jobs import load_and_measure, run_task_job
    from harness.tracks.definitions import load_track

    startup_s = round(time.time() - spec["spawned_at"], 3) if spec.get("spawned_at") else None
    track = load_track(spec["track"])
    skip = tuple(spec.get("skip") or ())
    sub, job = job_of(track, spec)
    device, dtype = spec.get("device") or "cpu", spec.get("dtype") or "auto"
    if spec["kind"] == "measure":
        _, measured = load_and_measure(track, job, skip, device, dtype)
        return {"measured": measured}
    worker = {"limits": spec.get("limits") or {}, **applied, "startup_s": startup_s}
    record = run_task_job(
        track,
        sub,
        job,
        spec.get("data_dir"),
        Path(spec["results"]),
        spec.get("limit"),
        skip,
        False,
        spec.get("measured") or {},
        worker=worker,
        device=device,
        dtype=dtype,
    )
    return {"record": record.path, "ok": record.ok, "error": record.error}


def own_folders(spec: dict[str, Any]) -> tuple[dict[str, Path], Path, dict[str, Path]]:
    """The folders a job may write, by name: its job folder (which holds the results folder its record is written
    in, harness.evaluation.adopt); the folder that is its $TMPDIR; and, without a data mirror, the hub's caches that
    exist, which it reads (the organizer fetched the task's data into them) through a copy of its own."""
    job = Path(spec["result"]).parent
    caches = hub_caches() if spec.get("data_dir") is None else {}
    real = {name: os.path.realpath(path) for name, path in caches.items() if os.path.isdir(path)}
    outer = {
        path for path in real.values() if not any(o != path and path.startswith(o + os.sep) for o in real.values())
    }
    first = {path: name for name, path in reversed(real.items()) if path in outer}  # one overlay per folder
    overlaid = {f"the hub's cache ({name})": Path(path) for path, name in first.items()}
    return {"its job folder": job}, job / JOB_TMP, overlaid


def hub_caches() -> dict[str, str]:
    """The Hugging Face caches a download writes and a load reads, by the variable that places them (HF_HOME's default: under
    $XDG_CACHE_HOME, else ~/.cache)."""
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "huggingface"
    )
    caches = {"HF_HOME": home}
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_DATASETS_CACHE"):
        if os.environ.get(name):
            caches[name] = os.environ[name]
    return caches


def plugin_places() -> list[str]:
    """Where the modules $HARNESS_PLUGINS names are (found, not imported: the limits come first, while the worker
    has one thread), so that the job, whose home folders are hidden, still imports them."""
    import importlib.util

    from harness.registry import plugin_names

    places = []
    for name in plugin_names():
        with contextlib.suppress(ImportError, ValueError):
            if (found := importlib.util.find_spec(name.split(".")[0])) is not None:
                places += [*(found.submodule_search_locations or []), *([found.origin] if found.origin else [])]
    return places


def hub_secrets() -> list[str]:
    """The files where the hub's client keeps the organizer's tokens (its default and the one HF_TOKEN_PATH names):
    a job reads them empty."""
    home = hub_caches()["HF_HOME"]
    files = [os.path.join(home, name) for name in HUB_TOKEN_FILES]
    return files + ([os.environ["HF_TOKEN_PATH"]] if os.environ.get("HF_TOKEN_PATH") else [])


def job_of(track: Any, spec: dict[str, Any]) -> tuple[Any, Any]:
    """The submission and the TaskJob a spec names (its model reference derived again from the folder's files)."""
    from harness.evaluation.jobs import task_job
    from harness.evaluation.refs import model_refs
    from harness.submissions import load_submission

    folder = Path(spec["submission"])
    sub = load_submission(folder)
    model_of = spec.get("model_of")  # an OOD job: the task whose model it runs on spec["task"]
    [(_, ref)] = model_refs(folder, [model_of or spec["task"]], None, bool(spec.get("allow_pickle")), submission=sub)
    return sub, task_job(ref, spec["task"], model_of)


def main(argv: list[str] | None = None) -> int:
    """Read the spec, run it, write the result file atomically; a job's own failure is in its record, so any error
    escaping here (a bad spec, an unreadable submission) is written as the result's error."""
    args = sys.argv[1:] if argv is None else argv
    spec_path = Path(args[0])
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    try:
        result = run_spec(spec)
    except BaseException as e:  # noqa: BLE001 - also SystemExit from a model's code: the organizer records it
        import traceback

        from harness.evaluation.limits import memory_cause

        with contextlib.suppress(Exception):  # a model's code may have closed stderr: the result still says why
            traceback.print_exc()
        detail = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
        cause = memory_cause(e)
        result = {"error": f"{cause} ({detail})" if cause else detail}
    out = Path(spec["result"])
    tmp = out.with_name(out.name + ".partial")
    tmp.write_text(json.dumps(result, default=str), encoding="utf-8")
    os.replace(tmp, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
