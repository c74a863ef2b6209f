"""Evaluate one model on one task: (model, task, settings) -> predictions file + result record.

A pure function of its inputs with no global state, so an organizer's runner can move it into a worker
process. Any failure becomes a `failed` record naming the submission, the task and the cause.
"""

from __future__ import annotations

import contextlib
import os
import time
import traceback
from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from harness import __version__
from harness.errors import UserError
from harness.evaluation.refs import ModelRef
from harness.inference.formulations import EvalSettings
from harness.measure import DEFAULT_MEASUREMENTS
from harness.records import Record
from harness.records.store import TIMED_MEASUREMENTS


def evaluate(
    ref: ModelRef,
    task_name: str,
    settings: EvalSettings = EvalSettings(),
    *,
    data_dir: str | Path | None = None,
    results_dir: str | Path = "results",
    limit: int | None = None,
    model: Any = None,
    measure: tuple[str, ...] = DEFAULT_MEASUREMENTS,
    energy: dict[str, Any] | None = None,
    track_run: dict[str, Any] | None = None,
    measured: Mapping[str, Any] | None = None,
    declared: Mapping[str, Any] | None = None,
    worker: Mapping[str, Any] | None = None,
) -> Record:
    """Run the task's split through the model, write predictions and a record; return the record.

    The inference runs under an EnergyTracker (settings in `energy`; {"off": True} disables it); `measure` names
    the static measurements (harness.measure.MEASUREMENTS) taken afterwards, at the task's real token lengths.
    `track_run`: the track and measurement settings of an organizer's run, part of the record's key. The key is
    fixed before anything runs, so a failure lands beside a good record of the same key, never over it.
    `measured`: measurements a track run took once per model or submission, merged into a good record (each
    unless it was not taken and this run's was); `declared`: the submission's declared numbers for the task. The
    record is written once, with all of them. `worker`: the limits and isolation of the worker process it runs in
    (harness.evaluation.limits), stated in the record's environment.
    """
    from harness.records import kept_measurements, new_record, record_path, store_record

    hardware = model.hardware if model is not None else _hardware(ref.backend, settings.device)
    t0 = time.perf_counter()
    timed = None if track_run is not None else any(n in TIMED_MEASUREMENTS for n in measure)
    record = planned_record(ref, task_name, settings, limit, track_run, hardware, worker, timed)
    path = record_path(Path(results_dir), record)
    try:
        record.update(_run(ref, task_name, settings, data_dir, limit, model, path, measure, energy))
        record["status"] = "ok"
    except UserError as e:
        record["error"] = f"submission {ref.submission_id}, task {task_name}: {_cause(e, str(e))}"
    except Exception as e:  # noqa: BLE001 - a crash inside a model or library still ends as a record that says why
        record["error"] = f"submission {ref.submission_id}, task {task_name}: {_cause(e, f'{type(e).__name__}: {e}')}"
        record["traceback"] = traceback.format_exc(limit=8)
    if measured is not None:
        taken = dict(record.get("measurements") or {})
        record["measurements"] = kept_measurements(taken, measured) if record["status"] == "ok" else taken
    if declared is not None:
        record["declared"] = dict(declared)
    record["duration_s"] = round(time.perf_counter() - t0, 3)
    return store_record(new_record(**record), Path(results_dir))


def _cause(error: BaseException, detail: str) -> str:
    """A failure's cause as its record states it: an allocation refused under the worker's memory limit says so."""
    from harness.evaluation.limits import memory_cause

    limit = memory_cause(error)
    return f"{limit} ({detail})" if limit else detail


def _run(
    ref: ModelRef,
    task_name: str,
    settings: EvalSettings,
    data_dir: Any,
    limit: int | None,
    model: Any,
    path: Path,
    measure: tuple[str, ...],
    energy: dict[str, Any] | None,
) -> dict[str, Any]:
    import inspect

    from harness.backends import load_model
    from harness.formats import predictions_path, write_predictions
    from harness.formats.outputs import outputs_path, write_outputs
    from harness.inference.formulations import formulation, task_head
    from harness.records.store import partial_path, record_stem
    from harness.tasks import get_task
    from harness.tasks.confidence import score_confidence
    from harness.tasks.data import first, load_rows, resolve_data_dir, task_block

    task = get_task(task_name)
    form = formulation(task)
    head = task_head(task, ref.head)
    root = resolve_data_dir(data_dir)
    split = load_rows(task, root)
    rows = first(task, split, limit)
    if model is None:
        model = load_model(ref.folder, head, ref.load_options(settings.device, settings.dtype), ref.backend)
    from harness.measure.energy import EnergyTracker

    model.sequence_lengths = []
    energy_settings = dict(energy or {})
    tracking = not energy_settings.pop("off", False)
    tracker = EnergyTracker(**energy_settings) if tracking else contextlib.nullcontext()
    t_infer = time.perf_counter()
    captured: dict[str, Any] = {}  # per-example outputs, from the formulations that give them (agreement)
    capture = {"outputs": captured} if "outputs" in inspect.signature(form.predict).parameters else {}
    with tracker:
        predictions = form.predict(task, model, rows, settings, **capture)
    inference_s = time.perf_counter() - t_infer
    measurements = {"energy": tracker.result(len(rows)).to_dict()} if tracking else {}
    measurements.update(_measure(model, ref.folder, measure, len(rows)))
    stem = record_stem(path)
    pred_path = predictions_path(task, stem)
    out_path = outputs_path(stem) if captured else None
    # written beside under temporary names and renamed once scored: a run that fails on the way (disk full, a
    # metric refused) leaves the predictions and outputs files of a good record of the same key whole
    temporary = {final: partial_path(final) for final in (pred_path, out_path) if final}
    try:
        write_predictions(task, predictions, temporary[pred_path])
        if out_path is not None:
            write_outputs(temporary[out_path], captured["ids"], captured["values"], captured["kind"])
        metrics = task.compute_metrics(rows, predictions, predictions_file=pred_path)
        confidence = score_confidence(task, rows, predictions)
        # before the files are renamed: a suite that cannot run leaves this run's clean result, and says why
        robustness = _robustness(task, form, model, rows, settings, task.score(metrics)) if settings.perturb else None
        for final, tmp in temporary.items():
            os.replace(tmp, final)
    finally:
        for tmp in temporary.values():
            with contextlib.suppress(OSError):
                tmp.unlink()
    return {
        "task": task_block(task, root) | {"split_examples": len(split)},
        "model": {
            "folder": str(ref.folder),
            "head": head,
            "declared_head": ref.head,
            "backend": ref.backend,
            "within": ref.within,
        },
        "num_examples": len(rows),
        "metrics": metrics,
        "score": task.score(metrics),
        "predictions_file": pred_path.name,
        "outputs_file": out_path.name if out_path else None,
        "confidence": confidence,
        "robustness": robustness,
        "inference_s": round(inference_s, 3),
        "measurements": measurements,
        "examples_per_s": round(len(rows) / inference_s, 2) if inference_s > 0 else None,
    }


def _robustness(task: Any, form: Any, model: Any, rows: Any, settings: EvalSettings, clean: float) -> dict[str, Any]:
    """The perturbation suite's block (harness.inference.robustness), run after the clean metrics; a suite refused on
    the way (a metric undefined on the perturbed predictions, an allocation refused) is `{"not_measured": why}`, so
    the clean result it would have cost is kept."""
    from harness.inference.robustness import robustness

    try:
        return robustness(task, form, model, rows, settings, clean)
    except (UserError, ValueError, MemoryError) as e:
        return {"not_measured": f"the perturbation suite did not run to the end: {_cause(e, str(e))}"}


def _measure(model: Any, folder: Path, names: tuple[str, ...], examples: int) -> dict[str, Any]:
    """Static measurements of the evaluated model at the task's real token lengths, by the one path that
    `harness measure` takes too; one that fails says why instead of failing the task."""
    from harness.measure import measure_loaded

    return measure_loaded(
        model, names, folder=folder, token_lengths=list(model.sequence_lengths) or None, examples=examples
    )


def _hardware(backend: str, device: str = "cpu") -> str:
    """The hardware class of the backend's records on `device`, before any model loads (the record's key holds it):
    gpu on cuda; an unknown backend fails to load later and writes a failed record, so its key takes the default
    class."""
    from harness.backends import backend_hardware
    from harness.backends.devices import device_hardware, is_cuda
    from harness.records import DEFAULT_HARDWARE

    if is_cuda(device):
        return device_hardware(device)
    try:
        return backend_hardware(backend)
    except UserError:
        return DEFAULT_HARDWARE


def _environment(device: str = "cpu") -> dict[str, Any]:
    """Hardware and library versions, and the processor that runs on `device`, so two records can be compared
    honestly."""
    import torch

    from harness.measure.environment import fingerprint

    return fingerprint(threads=torch.get_num_threads(), device=device).to_dict()


def planned_record(
    ref: ModelRef,
    task_name: str,
    settings: EvalSettings,
    limit: int | None,
    track_run: dict[str, Any] | None,
    hardware: str,
    worker: Mapping[str, Any] | None = None,
    timed: bool | None = None,
) -> dict[str, Any]:
    """The record of a job before it runs, key included: a failed record until the run fills it in. `worker`: the
    limits and isolation of the worker process that runs it, kept in the environment (not part of the key);
    `timed`: it takes latency or energy, so its key holds the processor (None: when its track run does)."""
    from harness.records import SCHEMA_VERSION, record_key
    from harness.tasks.data import task_header

    record: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "harness_version": __version__,
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "submission": {"id": ref.submission_id, "sha256": ref.sha256, "files": dict(ref.files), "meta": dict(ref.meta)},
        "task": task_header(task_name),
        "hardware": hardware,
        "model": {
            "folder": str(ref.folder),
            "head": ref.head,
            "declared_head": ref.head,
            "backend": ref.backend,
            "within": ref.within,
        },
        "settings": asdict(settings) | {"limit": limit},
        "metrics": {},
        "status": "failed",
        "environment": _environment(settings.device),
    }
    if track_run is not None:
        record["track_run"] = track_run
    if worker is not None:
        record["environment"]["worker"] = dict(worker)
    record["key"] = record_key(record, timed)
    return record


def finished_record(
    ref: ModelRef,
    task_name: str,
    settings: EvalSettings,
    results_dir: Path,
    *,
    limit: int | None = None,
    track_run: dict[str, Any] | None = None,
    any_processor: bool = False,
) -> Record | None:
    """The ok record a job with these inputs already has under its key, else None: a resumed run skips that job
    (a failed record is no result, so its job runs again). A file there that is no readable record is refused
    (UserError): a run must not write over what status and rank refuse to read. `any_processor`: one made on
    another processor counts too (a Ray cluster's nodes: the job may run on any of them)."""
    from harness.records import read_record, record_path
    from harness.records.store import other_processors

    planned = planned_record(ref, task_name, settings, limit, track_run, _hardware(ref.backend, settings.device))
    path = record_path(Path(results_dir), planned)
    elsewhere = other_processors(path, planned["key"]) if any_processor else []
    if not path.is_file():
        return elsewhere[0] if elsewhere else None
    try:
        found = read_record(path)
    except UserError as e:
        raise UserError(
            f"{path}: the job's record cannot be read, so the job is not run (nothing is written over the file): "
            f"{e.message.removeprefix(f'{path}: ').removeprefix(f'{path} ')}",
            fix="move the file away, then run again (a record a newer harness wrote: use that harness for it)",
        ) from e
    if found.ok:
        return found.with_(path=str(path))
    return elsewhere[0] if elsewhere else None  # a failure the organizer wrote, then a node's ok record
