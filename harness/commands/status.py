"""`harness status TRACK`: where each submission's jobs on a track stand (done, failed, pending, stale), read from
the records alone, so an organizer sees what a run started again would do."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from harness.commands import add_device_flags, add_skip_measure_flag, positive_int, track_skip

STATES = ("done", "failed", "pending", "stale")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("status", help="show each submission's jobs on a track: done, failed, pending or stale")
    p.add_argument("track", help="track id (`harness tracks`) or a track file")
    p.add_argument("--submissions", type=Path, default=Path("submissions"), help="submissions folder")
    p.add_argument("--results", type=Path, default=Path("results"), help="results folder (default: results)")
    p.add_argument("--tracks", help="tracks folder (default: tracks/ beside the package)")
    p.add_argument("--limit", type=positive_int, help="the --limit of the run to look at")
    # the run's own flags that are part of its records' keys: give those the run was given
    add_device_flags(p, dtype_default=None, device_default=None)
    add_skip_measure_flag(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print one line per job and the counts; exit 0 (a status is no failure)."""
    from harness.evaluation.track import track_status
    from harness.tracks.definitions import get_track

    track = get_track(args.track, args.tracks)
    jobs = track_status(
        track,
        args.submissions,
        args.results,
        limit=args.limit,
        device=args.device,
        dtype=args.dtype,
        skip=track_skip(track, args.skip_measure),
    )
    width = max((len(j.submission) for j in jobs), default=10)
    for j in jobs:
        print(f"{j.submission:<{width}} {j.task:<16} {j.state:<8} {j.detail}")
    counts = Counter(j.state for j in jobs)
    print(", ".join(f"{counts[s]} {s}" for s in STATES) + f" ({len(jobs)} jobs on track {track.id})")
    return 0
