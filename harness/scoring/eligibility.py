"""Eligibility: which cutoffs of a track a submission breaks, each with the value it was judged on.

Integer limits (parameters, bytes) compare as exact integers: a 40,000,000-parameter model passes a
`max_params: 40000000` track and 40,000,001 fails. Scores compare on the 0-100 scale within
SCORE_TOLERANCE, so a metric of exactly 0.25 passes `min_score: 25` despite x100 rounding.
A value that was not measured breaks the rule it is needed for: nothing passes unseen. A --limit run (a part of
a split) breaks rule `limit`, and a record scored under an older version of its task's rules breaks rule `stale`:
neither is ever ranked, whatever the track's cutoffs.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from harness.scoring.board import BrokenRule
from harness.scoring.values import partial_text
from harness.tracks.columns import Value
from harness.tracks.definitions import Track

SCORE_TOLERANCE = 1e-9  # absolute, in score points: only float rounding of fraction x 100, never a real gap
CUTOFF_COLUMNS = {"max_params": ("params", "parameters"), "max_bytes": ("system_bytes", "bytes")}


def _exact(value: float | int) -> int | float:
    """An integral float (from JSON or a mean of equal integers) as int, so comparisons are exact."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def broken_rules(
    track: Track,
    values: Mapping[str, Value],
    missing: Sequence[str],
    failed: Mapping[str, str],
    hardware: Sequence[str],
    partial: Mapping[str, tuple[int | None, int | None]] | None = None,
    stale: Sequence[str] = (),
) -> tuple[BrokenRule, ...]:
    """The track's rules broken by one submission; `hardware` lists the hardware classes of its records, `failed`
    a one-line cause per failed task, `partial` the (rows, split rows) of each task a --limit run evaluated,
    `stale` the tasks whose record was scored under an older version of the task's rules."""
    out = []
    c = track.cutoffs
    n = len(track.tasks)
    if c.require_all_tasks and (missing or failed):
        why = [f"not submitted: {', '.join(missing)}"] * bool(missing) + [
            "; ".join(f"{t} failed: {e}" for t, e in failed.items())
        ] * bool(failed)
        done = n - len(missing) - len(failed)
        out.append(
            BrokenRule(
                "require_all_tasks",
                f"all {n} tasks",
                f"{done} of {n}",
                "measured",
                f"{done} of {n} tasks evaluated ({'; '.join(why)}) (cutoffs.require_all_tasks)",
            )
        )
    wrong = sorted(set(hardware) - {track.hardware})
    if wrong:
        out.append(
            BrokenRule(
                "hardware",
                track.hardware,
                ", ".join(wrong),
                "measured",
                f"records from {', '.join(wrong)} hardware; this track runs on {track.hardware} (hardware)",
            )
        )
    for rule, (column, unit) in CUTOFF_COLUMNS.items():
        limit = getattr(c, rule)
        if limit is None:
            continue
        v = values.get(column) or Value(None, "not measured")
        if v.value is None:
            out.append(
                BrokenRule(
                    rule,
                    limit,
                    None,
                    v.provenance,
                    f"{column} not measured ({v.detail}); needed for {unit} <= {limit:,} (cutoffs.{rule})",
                )
            )
        elif _exact(v.value) > limit:
            out.append(
                BrokenRule(
                    rule,
                    limit,
                    _exact(v.value),
                    v.provenance,
                    f"{unit} {_exact(v.value):,} > {limit:,} (cutoffs.{rule}; {v.provenance})",
                )
            )
    if c.min_score is not None:
        v = values.get("score") or Value(None, "not measured")
        if v.value is None:
            out.append(
                BrokenRule(
                    "min_score",
                    c.min_score,
                    None,
                    v.provenance,
                    f"no score ({v.detail}); needed for score >= {c.min_score:g} (cutoffs.min_score)",
                )
            )
        elif v.value < c.min_score - SCORE_TOLERANCE:
            out.append(
                BrokenRule(
                    "min_score",
                    c.min_score,
                    v.value,
                    v.provenance,
                    f"score {v.value:.2f} < {c.min_score:g} (cutoffs.min_score)",
                )
            )
    if stale:
        out.append(
            BrokenRule(
                "stale",
                "current task versions",
                ", ".join(stale),
                "measured",
                f"{', '.join(stale)} scored under an older version of the task's rules: not ranked "
                "until re-scored (`harness rescore`) (stale)",
            )
        )
    if partial:
        text = partial_text(partial, n)
        out.append(
            BrokenRule(
                "limit",
                "the whole split",
                text.removeprefix("partial: "),
                "measured",
                f"{text}: a --limit run is never ranked (limit)",
            )
        )
    return tuple(out)
