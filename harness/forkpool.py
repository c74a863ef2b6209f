"""Pure functions over one shared input, run by the caller and forked workers that inherit the input.

The leaderboard's ranking and rendering are pure Python over tens of thousands of records: on a 2-core
machine, a second process nearly halves the wall time. Workers are forked (Linux), so the shared records
and boards cost nothing to hand over; only each job's result crosses a pipe. The caller and the workers
take the next job from one shared counter, so nobody idles while jobs remain. With one process, or where
fork is unavailable, the caller runs every job; the results are the same either way.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import queue
import traceback
from typing import Any, Callable, Sequence, TypeVar

S = TypeVar("S")
A = TypeVar("A")
R = TypeVar("R")


def shared_map(
    fn: Callable[[S, A], R],
    shared: S,
    args: Sequence[A],
    processes: int = 1,
    meanwhile: Callable[[], Any] | None = None,
) -> list[R]:
    """[fn(shared, arg) for arg in args], computed by the caller and `processes` - 1 forked workers.

    `meanwhile`: work for the caller alone (imports that processes forked later should inherit), done
    while the workers start on the jobs. Results must pickle. An exception in a worker is raised here.
    """
    # Jobs build, and results unpickle into, hundreds of thousands of objects with no cycles worth collecting;
    # with the collector on, its full passes over them took half the time of unpickling a site's boards.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _map(fn, shared, args, processes, meanwhile)
    finally:
        if collecting:
            gc.enable()


def _map(
    fn: Callable[[S, A], R], shared: S, args: Sequence[A], processes: int, meanwhile: Callable[[], Any] | None
) -> list[R]:
    if processes <= 1 or len(args) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        if meanwhile is not None:
            meanwhile()
        return [fn(shared, arg) for arg in args]
    ctx = multiprocessing.get_context("fork")
    counter = ctx.Value("i", 0)
    results = ctx.Queue()  # a feeder thread sends each result, so a worker never waits for the caller to read
    # Frozen, the shared heap is skipped by any collection a job asks for (in a worker, walking it would copy it
    # page by page), and is left in the oldest generation afterwards.
    gc.freeze()
    workers = [
        ctx.Process(target=_work, args=(fn, shared, args, counter, results), daemon=True)
        for _ in range(min(processes, len(args)) - 1)
    ]
    try:
        for w in workers:
            w.start()
        if meanwhile is not None:
            meanwhile()
        out: dict[int, Any] = {}
        for i in _claim(counter, len(args)):
            out[i] = fn(shared, args[i])
        pending = len(args) - len(out)
        while pending:
            try:
                i, ok, value = results.get(timeout=1.0)
            except queue.Empty:
                if not any(w.is_alive() for w in workers):
                    raise RuntimeError(
                        "a worker process died without a result (out of memory?); re-run, or run with one process"
                    ) from None
                continue
            if not ok:
                raise value
            out[i] = value
            pending -= 1
        return [out[i] for i in range(len(args))]
    finally:
        for w in workers:
            if w.is_alive():
                w.terminate()
            w.join()
        gc.unfreeze()


def _claim(counter: Any, n: int) -> Any:
    """Indices of the jobs this process takes, one at a time from the shared counter."""
    while True:
        with counter.get_lock():
            i = counter.value
            counter.value = i + 1
        if i >= n:
            return
        yield i


def _work(fn: Callable[[Any, Any], Any], shared: Any, args: Sequence[Any], counter: Any, results: Any) -> None:
    for i in _claim(counter, len(args)):
        try:
            results.put((i, True, fn(shared, args[i])))
        except Exception as e:  # noqa: BLE001 - any job failure goes back to the parent, which re-raises it
            if hasattr(e, "add_note"):  # Python 3.11+
                e.add_note(f"in a worker process, job {args[i]!r}:\n{traceback.format_exc()}")
            try:
                pickle.dumps(e)
            except Exception:  # noqa: BLE001 - an exception that cannot be pickled is sent as text
                e = RuntimeError(f"job {args[i]!r} failed in a worker process:\n{traceback.format_exc()}")
            results.put((i, False, e))
            break
    results.close()
    results.join_thread()
    os._exit(0)  # skip tearing down the inherited heap object by object
