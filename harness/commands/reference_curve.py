"""`harness reference-curve TRACK --submission ID ...`: a reference curve (FLOPs, perf) per task from records.

ELUE's curve is ElasticBERT-base exits 1..12; any reference model works: evaluate it (one submission
per operating point, or one prediction-only submission listing its points), then paste the printed
block into the track's curve file (or write it there with --out).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Sequence


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reference-curve", help="compute an ELUE reference curve from a reference submission's records")
    p.add_argument("track", help="track id or file; its tasks are the curve's tasks")
    p.add_argument(
        "--submission",
        action="append",
        dest="submissions",
        required=True,
        metavar="ID",
        help="reference submission id (repeatable: one per operating point)",
    )
    p.add_argument("--results", type=Path, default=Path("results"), help="results folder (default: results)")
    p.add_argument("--tracks", help="tracks folder (default: tracks/ beside the package)")
    p.add_argument("--model", help="name of the reference model (default: the submission ids)")
    from harness.tracks.reference import OUTSIDE

    p.add_argument(
        "--outside",
        default=OUTSIDE[0],
        choices=OUTSIDE,
        help="how FLOPs outside the curve's range are treated (default: clamp)",
    )
    p.add_argument("--out", type=Path, help="write the curve file here instead of printing it")
    p.set_defaults(func=run)


def curve_points(records: Sequence[Any], track: Any, submissions: Sequence[str]) -> dict[str, list[list[float]]]:
    """{task: [[flops, perf 0-100], ...]} sorted by FLOPs, from the submissions' ok records of the track's tasks."""
    from harness.errors import UserError
    from harness.records.record import as_record
    from harness.scoring.values import elue_points, group_records

    entries = group_records([r for r in map(as_record, records) if r.submission.id in submissions], track)
    absent = [s for s in submissions if s not in entries]
    if absent:
        raise UserError(
            f"no records of {', '.join(absent)} for track {track.id}", fix=f"run `harness run {track.id}` first"
        )
    points: dict[str, dict[float, float]] = {t: {} for t in track.task_names()}
    for entry in entries.values():
        found, _, lacking = elue_points(entry)
        if lacking:
            raise UserError(
                f"{entry.id}: no FLOPs measured for {', '.join(lacking)}", fix="the track must measure flops"
            )
        for task, pts in found.items():
            for _, flops, perf in pts:
                if flops in points[task]:
                    raise UserError(
                        f"{task}: two reference points with {flops:g} FLOPs", fix="keep one submission per point"
                    )
                points[task][flops] = perf
    return {t: [[f, round(p, 4)] for f, p in sorted(pts.items())] for t, pts in points.items() if pts}


def run(args: argparse.Namespace) -> int:
    """Print (or write) the curve as YAML for the track's `elue.reference_curve`."""
    import yaml

    from harness.records import read_results
    from harness.tracks.definitions import get_track

    track = get_track(args.track, args.tracks)
    points = curve_points(read_results(args.results, track.id), track, args.submissions)
    doc = {
        "model": args.model or ", ".join(args.submissions),
        "outside": args.outside,
        "points": points,
        "source": f"computed by `harness reference-curve` from the records of {', '.join(args.submissions)} "
        f"under {args.results}",
    }
    text = "# (FLOPs per example, perf 0-100) per task\n" + yaml.safe_dump(doc, sort_keys=False, width=120)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        print(text, end="")
    return 0
