"""The one shape of a measurement that was not taken: {"status": "not_measured" | "not_counted", "reason": why},
plus the fields that still apply (a FLOPs count's reference length, convention and unit).

A taken measurement has no `status` field. not_measured: it failed or could not run (the reason names the error);
not_counted: it ran, but the quantity cannot be counted for this model (FLOPs of generation, operators no counter
sees, a backend that counts nothing). Every measurement writes this shape, every reader asks `status_of` or
`why_not`, and records written before issue 12 in older shapes ({"measured": false, "reason": ...}; a FLOPs result
with "counted": false) are rewritten in it by `normalized` when read (harness.records).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

NOT_MEASURED = "not_measured"
NOT_COUNTED = "not_counted"
STATUSES = (NOT_MEASURED, NOT_COUNTED)
# fields of an old FLOPs result that was not counted which held no count: dropped, not carried as None or 0
_UNCOUNTED_FLOPS = ("flops", "int8_macs", "by_module", "by_op", "mean_flops", "token_length_counts", "flops_by_length")


@dataclass(frozen=True)
class NotTaken:
    """A measurement that was not taken: its status, why, and the fields that still say something."""

    status: str
    reason: str
    fields: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The one shape: status, reason and the remaining fields, flat."""
        return {"status": self.status, "reason": self.reason, **self.fields}


def not_measured(reason: str, **fields: Any) -> NotTaken:
    """A measurement that failed or could not run, and why."""
    return NotTaken(NOT_MEASURED, reason, fields)


def not_counted(reason: str, **fields: Any) -> NotTaken:
    """A count that cannot be made for this model, and why."""
    return NotTaken(NOT_COUNTED, reason, fields)


def normalized(entry: Any) -> Any:
    """A recorded measurement in the one shape: an older shape rewritten, anything else returned as it is."""
    if type(entry) is not dict or "status" in entry:
        return entry
    if entry.get("measured") is False:
        rest = {k: v for k, v in entry.items() if k not in ("measured", "reason")}
        return {"status": NOT_MEASURED, "reason": str(entry.get("reason") or "not measured"), **rest}
    if entry.get("counted") is False:
        rest = {
            k: v
            for k, v in entry.items()
            if k not in ("counted", "reason", "fvcore") and not (k in _UNCOUNTED_FLOPS and v in (None, 0, {}))
        }
        if entry.get("fvcore"):
            rest["fvcore"] = entry["fvcore"]
        return {"status": NOT_COUNTED, "reason": str(entry.get("reason") or "not counted"), **rest}
    return entry


def status_of(entry: Any) -> str | None:
    """NOT_MEASURED or NOT_COUNTED for a measurement that was not taken (in any shape records have had), else None."""
    entry = normalized(entry)
    return entry.get("status") if type(entry) is dict else None


def why_not(entry: Any) -> str | None:
    """`not counted: <reason>` or `not measured: <reason>` for a measurement that was not taken, else None."""
    entry = normalized(entry)
    status = entry.get("status") if type(entry) is dict else None
    return None if status is None else f"{str(status).replace('_', ' ')}: {entry.get('reason')}"
