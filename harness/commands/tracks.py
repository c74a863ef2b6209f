"""`harness tracks`: list the tracks (tracks/*.yaml), one line each: id, hardware, tasks, cutoffs, ranking."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tracks", help="list the benchmark tracks, one line each")
    p.add_argument("--tracks", help="tracks folder (default: tracks/ beside the package, or $HARNESS_TRACKS_DIR)")
    p.set_defaults(func=run)


def describe(track) -> str:
    """One line: id, hardware, task count, cutoffs and what the track ranks by."""
    c = track.cutoffs
    cut = [
        f"<= {c.max_params:,} params" if c.max_params else "",
        f"<= {c.max_bytes:,} bytes" if c.max_bytes else "",
        f"score >= {c.min_score:g}" if c.min_score is not None else "",
    ]
    cutoffs = "; ".join(x for x in cut if x) or "no size cutoff"
    order = f" {track.ranking.order}" if track.ranking.order else ""
    return (
        f"{track.id:20} {track.hardware:4} {len(track.tasks):2} task(s)  {cutoffs:38} rank by "
        f"{track.ranking.by}{order}  {track.name}"
    )


def run(args: argparse.Namespace) -> int:
    """Load every track file (a malformed one stops with its message) and print one line per track."""
    from harness.tracks.definitions import load_track, track_files

    for path in track_files(args.tracks).values():
        print(describe(load_track(path)))
    return 0
