"""The Leaderboard: everything a page needs to show one track, as frozen dataclasses with `to_dict()`.

Produced by `harness.scoring.rank.rank` from records only; rendered by the site and the `rank` command.
Shape of `Leaderboard.to_dict()` (JSON; numbers stay numbers, None = not measured, never 0):

    schema: 2   # 2: row groups (a rank counts within its group), Pareto estimated_front
    track:      {id, name, description, source, hardware, path, tasks: [{task, split, benchmark}],
                 score: {rule, task, metric, label}, cutoffs: {...}, measurement: {...}}
    ranking:    {by, order, then, rule, dynascore, groups_by, ties, leader_gap_interval}  # dynascore: True when
                                                        # ranked by Dynascore;
                                                        # groups_by: the labelled column whose estimated rows
                                                        # rank apart (energy_kwh), else None; ties: how
                                                        # ties are marked, or why not
    columns:    [{id, label, unit, higher_is_better, convention, group, ...}]   # display order
    rows:       [Row]   # per group (main, estimated, partial): ranked first (by rank), then eligible unranked,
                        # then ineligible
    reference_rows: [Row]   # kind "reference": published numbers, shown apart, never ranked
    pareto:     [{id: "score~flops", y, x, front: [submission ids on the front], estimated_front: [...]}]
    reference_curve: {model, source, outside, points: {task: [[flops, perf], ...]}, file} | None
    dynascore:  {weights, amrs, note} | None
    last_run, generated_from (records read), notes: [text]

Row: {submission, name, team, methods, kind (measured | self-reported | reference), values: {column id:
{value, provenance, detail}}, eligible (None for reference rows), broken: [BrokenRule], rank (None:
not ranked), pareto: {pair id: on front? (None: not plotted)}, points: ELUE operating points, tasks:
{task: {status, examples, limit, error, record}} (error and record path without absolute paths), notes,
source, last_run, group, tied (not significantly different from the ranked row above: harness.scoring.confidence)}.
A value may carry `interval` [low, high] (95% bootstrap, on its scale) and `paired_on` (the resample seeds). Groups: main; estimated (its ranking column's value is estimated: ranked among
themselves, never against measured values); partial (a --limit run: never ranked, shown apart).
Provenance: measured (run here) | estimated (energy without counters) | predictions (scored here from
submitted predictions) | self-reported | published | computed | partial (an aggregate over missing tasks:
no number; the detail reads `k of n tasks`) | failed (a failed task's column; the detail is its one-line
cause) | not measured.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from harness.tracks.columns import Column, Value

BOARD_SCHEMA = 2
GROUPS = ("main", "estimated", "partial")  # the order a board lists its row groups in


@dataclass(frozen=True)
class BrokenRule:
    """A cutoff a submission breaks, with the measured value it was judged on (None: not measured)."""

    rule: str  # cutoffs key (max_params, max_bytes, min_score, require_all_tasks) or "hardware"
    limit: Any
    value: Any
    provenance: str
    message: str


@dataclass(frozen=True)
class Row:
    """One line of the board: a submission (or a published reference result)."""

    submission: str
    name: str
    kind: str
    values: dict[str, Value]
    team: str = ""
    methods: tuple[str, ...] = ()
    eligible: bool | None = None
    broken: tuple[BrokenRule, ...] = ()
    rank: int | None = None
    pareto: dict[str, bool | None] = field(default_factory=dict)
    points: tuple[dict[str, Any], ...] = ()
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    source: str = ""
    last_run: str | None = None
    group: str = "main"  # one of GROUPS
    tied: bool = False  # ranked, and not significantly different from the ranked row above (paired bootstrap)


def _without_resamples(items: list[tuple[str, Any]]) -> dict[str, Any]:
    """asdict's mapping of one dataclass, a Value's resampled scores (a numpy array) left out."""
    return {k: v for k, v in items if k != "resamples"}


@dataclass(frozen=True)
class ParetoPair:
    """A plotted pair of columns (y against x) and the submissions on its front; on a pair with a labelled column
    (energy), the front of the measured values and, apart, that of the estimated ones."""

    id: str
    y: str
    x: str
    front: tuple[str, ...]
    estimated_front: tuple[str, ...] = ()


@dataclass(frozen=True)
class Leaderboard:
    """A ranked track: metadata, columns, rows, reference rows, Pareto fronts, curve and notes."""

    track: dict[str, Any]
    ranking: dict[str, Any]
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    reference_rows: tuple[Row, ...] = ()
    pareto: tuple[ParetoPair, ...] = ()
    reference_curve: dict[str, Any] | None = None
    dynascore: dict[str, Any] | None = None
    last_run: str | None = None
    generated_from: int = 0
    notes: tuple[str, ...] = ()
    schema: int = BOARD_SCHEMA

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (tuples become lists); a value's resampled scores stay out (its interval is in)."""
        return asdict(self, dict_factory=_without_resamples)

    def column(self, column_id: str) -> Column:
        """The column with this id."""
        return next(c for c in self.columns if c.id == column_id)

    def band(self) -> str:
        """The minimum score in force, said on every track ranked by a cost (energy, size), where a band keeps the
        cheapest useless model out, and on any track that sets one; '' elsewhere."""
        minimum = (self.track.get("cutoffs") or {}).get("min_score")
        label = self.column("score").label
        if minimum is not None:
            return f"{label} at least {minimum:g} (cutoffs.min_score)"
        if self.column(self.ranking["by"]).group == "efficiency":
            return (
                f"none set (cutoffs.min_score is null): every submission with a {label} is inside the band, "
                "until the organizer sets its minimum"
            )
        return ""
