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

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

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
) -> tuple[list[Record], list[str]]:
    """Evaluate every submission (or those in `only`) on the track; returns the records written or found and the
    submissions skipped because their folder is invalid (each reported with the reason).

    `skip` names measurements left out for a quick check; the records say so and their columns read "not measured".
    A job whose ok record exists under its key (same submission files, task, split, limit, settings, hardware) is
    not run again unless `force`: a run started again finishes only what is left.
    """
    if track.hardware != "cpu":
        raise UserError(
            f"track {track.id} runs on {track.hardware}; this harness's torch backend runs on CPU "
            "only, so a GPU track cannot be run here yet (its records can still be ranked)"
        )
    check_data_found(track, data_dir)
    from harness.records.store import remove_partials

    for tmp in remove_partials(results_dir):
        report(f"removed {tmp}: a partial file of a run that ended while writing it")
    records, skipped = [], []
    for kind, folder in submission_folders(submissions):
        if only and folder.name not in only:
            continue
        try:
            if kind.startswith("refused"):
                raise UserError(kind)
            if kind == "self-reported":
                got = _run_self_reported(track, folder, data_dir, results_dir, limit)
            else:
                got = _run_measured(
                    track, folder, data_dir, results_dir, limit, allow_pickle, progress, skip, force, report
                )
        except UserError as e:  # one broken submission must not stop an organizer's run
            report(f"SKIPPED {folder.name}: {e}")
            skipped.append(folder.name)
            continue
        if not got:
            report(f"skipped {folder.name}: it declares none of the track's tasks")
        for r in got:
            report(_summary(r))
        records += got
    return records, skipped


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


def _summary(record: Record) -> str:
    task, sub = record.task.name, record.submission.id
    if not record.ok:
        return f"FAILED {sub} / {task}: {record.error}"
    return f"{sub} / {task}: score {100 * (record.score or 0.0):.2f} on {record.num_examples} examples -> {record.path}"


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
) -> list[Record]:
    from harness.backends.torch_run import fixed_threads
    from harness.evaluation.evaluate import evaluate, finished_record
    from harness.evaluation.refs import model_refs
    from harness.measure import Inputs, take
    from harness.submissions import load_submission

    sub = load_submission(folder)
    tasks = [t for t in track.task_names() if t in sub.tasks]
    if not tasks:
        return []
    m = track.measurement
    wanted = [n for n in m.measure if n not in skip]
    settings, track_run = job_settings(track, skip, progress)
    energy = {"pue": m.pue} if "energy" in wanted else {"off": True}
    per_submission = {n: take(n, Inputs(submission=folder)) for n in scoped(wanted, "submission")}
    models: dict[tuple[Path, str], tuple[Any, dict[str, Any]]] = {}
    out = []
    for task, ref in model_refs(folder, tasks, None, allow_pickle, submission=sub):
        with fixed_threads(m.threads):
            done = None if force else finished_record(ref, task, settings, results, limit=limit, track_run=track_run)
            if done is not None:
                report(f"{sub.id} / {task}: done already ({done.path}); --force runs it again")
                out.append(done)
                continue
            model, per_model = _model(models, ref, task, track, wanted)
            record = evaluate(
                ref,
                task,
                settings,
                data_dir=data_dir,
                results_dir=results,
                limit=limit,
                model=model,
                measure=tuple(scoped(wanted, "task")),
                energy=energy,
                track_run=track_run,
                measured=per_model | per_submission,
                declared={k: v for k, v in asdict(sub.tasks[task].declared).items() if v is not None},
            )
        out.append(record)
    return out


def _model(cache: dict, ref: Any, task: str, track: Track, wanted: list[str]) -> tuple[Any, dict[str, Any]]:
    """The loaded model for a ModelRef with the head the task runs (once per folder and head) and its per-model
    measurements."""
    from harness.backends import load_model
    from harness.inference.formulations import task_head
    from harness.measure import measure_loaded

    try:
        head = task_head(task, ref.head)
    except UserError:
        return None, {}  # evaluate refuses the head and writes a failed record naming the cause
    key = (ref.folder, head, ref.outputs)
    if key not in cache:
        try:
            model = load_model(ref.folder, head, ref.load_options(), ref.backend)
        except UserError:
            cache[key] = (None, {})  # evaluate loads again and writes a failed record naming the cause
            return cache[key]
        m = track.measurement
        cache[key] = (
            model,
            measure_loaded(
                model,
                scoped(wanted, "model"),
                folder=ref.folder,
                reference_length=m.reference_length,
                threads=m.threads,
                options={"latency": {"budget_s": m.latency_budget_s}, "flops": {"cross_check": False}},
            ),
        )
    return cache[key]


def job_settings(track: Track, skip: tuple[str, ...] = (), progress: bool = False) -> tuple[Any, dict[str, Any]]:
    """The evaluation settings and the track_run block of the track's jobs: with the submission and task, what a
    job's record key is made of."""
    from harness.inference.formulations import EvalSettings

    m = track.measurement
    settings = EvalSettings(max_length=m.max_length, batch_size=m.batch_size, progress=progress)
    return settings, {"track": track.id, "measurement": m.plain(), "skipped": list(skip)}


@dataclass(frozen=True)
class JobState:
    """Where one (submission, task) job of a track stands: done, failed (with the cause), pending, or stale (it has
    a record, but not for the submission's files as they are now)."""

    submission: str
    task: str
    state: str
    detail: str = ""


def track_status(
    track: Track, submissions: Path, results_dir: Path, *, limit: int | None = None, allow_pickle: bool = False
) -> list[JobState]:
    """Each measured submission's jobs on the track, from the records alone (nothing runs)."""
    from harness.backends.torch_run import fixed_threads
    from harness.evaluation.evaluate import _hardware, planned_record
    from harness.evaluation.refs import model_refs
    from harness.records import read_record, record_path
    from harness.records.store import failed_path
    from harness.submissions import load_submission

    settings, track_run = job_settings(track)
    out = []
    for kind, folder in submission_folders(submissions):
        if kind != "measured":
            continue
        sub = load_submission(folder)
        tasks = [t for t in track.task_names() if t in sub.tasks]
        for task, ref in model_refs(folder, tasks, None, allow_pickle, submission=sub) if tasks else []:
            with fixed_threads(track.measurement.threads):  # the threads a run records are part of its key
                planned = planned_record(ref, task, settings, limit, track_run, _hardware(ref.backend))
            path = record_path(results_dir, planned)
            failed = failed_path(path)
            if path.is_file() and read_record(path).ok:
                out.append(JobState(sub.id, task, "done", str(path)))
            elif failed.is_file() or path.is_file():
                out.append(
                    JobState(sub.id, task, "failed", str(read_record(failed if failed.is_file() else path).error))
                )
            elif _older(path, planned["key"]):
                out.append(JobState(sub.id, task, "stale", "the submission's files changed since its last record"))
            else:
                out.append(JobState(sub.id, task, "pending"))
    return out


def _older(path: Path, key: dict[str, Any]) -> bool:
    """Whether a record beside `path` has the same key but for the submission's content: made before its files
    changed."""
    from harness.records import read_record
    from harness.records.store import RECORD_SUFFIX

    same = {k: v for k, v in key.items() if k != "content"}
    for other in path.parent.glob(f"*{RECORD_SUFFIX}"):
        try:
            found = read_record(other).key or {}
        except UserError:
            continue
        if {k: v for k, v in found.items() if k != "content"} == same:
            return True
    return False
