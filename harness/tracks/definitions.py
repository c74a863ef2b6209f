"""Tracks: one hand-written YAML file per benchmark track under `tracks/`, validated into frozen dataclasses.

A track states its tasks and splits, how the score aggregates, eligibility cutoffs, hardware class,
measurement settings, columns, ranking rule, Pareto pairs and reference rows (tracks/README.md
documents every key). `load_track` rejects unknown keys and names the file, key path and expectation.
Referenced data files (reference curve, reference rows) are read here, so ranking stays pure.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import UserError, did_you_mean
from harness.measure import DEFAULT_MEASUREMENTS
from harness.measure.energy import DEFAULT_PUE
from harness.tracks.schema import check_track
from harness.yamlcheck import Checker, read_yaml

TRACKS_ENV = "HARNESS_TRACKS_DIR"


@dataclass(frozen=True)
class TaskSpec:
    """A task of the track and the split it evaluates (must be the split the task registry evaluates)."""

    task: str
    split: str


@dataclass(frozen=True)
class ScoreRule:
    """How task results aggregate into the track's score (0-100): official GLUE/SuperGLUE, mean, or one metric."""

    rule: str
    task: str | None = None  # rule `metric`: the task ...
    metric: str | None = None  # ... and the metric whose value is the score
    label: str = ""


@dataclass(frozen=True)
class Cutoffs:
    """Eligibility rules: integer limits compare exactly; `min_score` is on the 0-100 score scale."""

    max_params: int | None = None
    max_bytes: int | None = None  # system size: every file of the submission folder
    min_score: float | None = None
    require_all_tasks: bool = True


@dataclass(frozen=True)
class Measurement:
    """What `harness run` measures and with which settings."""

    measure: tuple[str, ...] = DEFAULT_MEASUREMENTS
    threads: int = 1
    batch_size: int = 32
    reference_length: int = 128
    max_length: int | None = None  # None: each task's own truncation length
    latency_budget_s: float = 30.0
    pue: float = DEFAULT_PUE
    note: str = ""  # how these settings depart from the usual ones (the demo's cut latency budget), shown on pages
    dtype: str | None = None  # the precision every run evaluates in (float32, float16, bfloat16); None: --dtype's

    def plain(self) -> dict[str, Any]:
        """The settings as JSON stores them (tuples as lists): what a record's track_run.measurement holds. An empty
        note and an unset dtype are left out, so records written before they existed match their track's
        settings."""
        out = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}
        if not self.note:
            del out["note"]
        if self.dtype is None:
            del out["dtype"]
        return out


@dataclass(frozen=True)
class Ranking:
    """Rank eligible rows by `by` (then `then`), in `order` (default: the column's better direction)."""

    by: str
    order: str | None = None  # descending | ascending
    then: tuple[str, ...] = ()
    rule: str = ""  # the organizer's wording, shown on pages


@dataclass(frozen=True)
class ReferenceCurve:
    """A reference model's (FLOPs, perf 0-100) points per task, for the ELUE score; empty until filled."""

    model: str
    source: str
    outside: str  # clamp | linear | exclude: how FLOPs outside the curve's range are treated
    points: dict[str, tuple[tuple[float, float], ...]] = field(default_factory=dict)
    file: str | None = None


@dataclass(frozen=True)
class ReferenceRow:
    """A published result (not measured here): parameters and dev scores as printed, with the source."""

    id: str
    model: str
    params: int | None
    split: str
    scores: dict[str, float]
    avg_reported: float | None
    avg_rule: str
    source: str


@dataclass(frozen=True)
class Robustness:
    """The perturbation suite a track runs on its classification tasks (harness.inference.robustness)."""

    kinds: tuple[str, ...]
    rate: float
    seed: int


@dataclass(frozen=True)
class OodPair:
    """The submission's model for track task `task` also scored on task `on`'s data, its labels mapped by `labels`
    (a label of `task` -> one of `on`), in a record of its own for `on`."""

    task: str
    on: str
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Track:
    """A validated track file."""

    id: str
    name: str
    description: str
    source: str
    hardware: str
    tasks: tuple[TaskSpec, ...]
    score: ScoreRule
    cutoffs: Cutoffs
    measurement: Measurement
    ranking: Ranking
    columns: tuple[str, ...] = ()
    pareto: tuple[tuple[str, str], ...] = ()
    dynascore: dict[str, float] = field(default_factory=dict)
    reference_curve: ReferenceCurve | None = None
    reference_rows: tuple[ReferenceRow, ...] = ()
    robustness: Robustness | None = None
    ood: tuple[OodPair, ...] = ()
    path: str = ""

    def task_names(self) -> list[str]:
        """The track's task ids in file order."""
        return [t.task for t in self.tasks]


def load_track(path: str | Path) -> Track:
    """Read and validate one track file; every problem raises one ConfigError naming file, key path and fix."""
    path = Path(path)
    data = read_yaml(path)
    checker = Checker(str(path))
    values = check_track(checker, data, path)
    checker.raise_if_any(str(path))
    return _build(values, path)


def _build(v: dict[str, Any], path: Path) -> Track:
    curve = v.get("reference_curve")
    return Track(
        id=path.stem,
        name=v["name"],
        description=v["description"],
        source=v["source"],
        hardware=v["hardware"],
        tasks=tuple(TaskSpec(**t) for t in v["tasks"]),
        score=ScoreRule(**v["score"]),
        cutoffs=Cutoffs(**v.get("cutoffs", {})),
        measurement=Measurement(**v.get("measurement", {})),
        ranking=Ranking(**v["ranking"]),
        columns=tuple(v.get("columns", ())),
        pareto=tuple(tuple(p) for p in v.get("pareto", ())),
        dynascore=dict(v.get("dynascore", {})),
        reference_curve=ReferenceCurve(**curve) if curve else None,
        reference_rows=tuple(ReferenceRow(**r) for r in v.get("reference_rows", ())),
        robustness=Robustness(**v["robustness"]) if v.get("robustness") else None,
        ood=tuple(OodPair(**o) for o in v.get("ood", ())),
        path=str(path),
    )


def tracks_dir(override: str | Path | None = None) -> Path:
    """The tracks folder: `override`, else $HARNESS_TRACKS_DIR, else `tracks/` beside the package."""
    import os

    value = override or os.environ.get(TRACKS_ENV)
    folder = Path(value) if value else Path(__file__).resolve().parents[2] / "tracks"
    if not folder.is_dir():
        raise UserError(f"tracks folder {folder} does not exist", fix=f"pass --tracks DIR or set {TRACKS_ENV}")
    return folder


def track_files(folder: str | Path | None = None) -> dict[str, Path]:
    """Track id -> file, for every `*.yaml` directly in the tracks folder (data files live in `data/`)."""
    root = tracks_dir(folder)
    return {p.stem: p for p in sorted(root.glob("*.yaml"))}


def get_track(name: str, folder: str | Path | None = None) -> Track:
    """The track called `name` (a file stem) or at the path `name`; a miss names close matches."""
    if name.endswith((".yaml", ".yml")) and Path(name).is_file():
        return load_track(name)
    files = track_files(folder)
    if name not in files:
        hint = did_you_mean(name, files)
        raise UserError(
            f"unknown track {name!r}",
            fix=f"{hint + ' ' if hint else ''}known: {', '.join(files)} (`harness tracks` lists them)",
        )
    return load_track(files[name])
