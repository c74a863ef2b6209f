"""`harness rank TRACK`: the track's ranking table from result records, without re-running anything."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rank", help="print a track's ranking from result records")
    p.add_argument("track", help="track id (`harness tracks`) or a track file")
    p.add_argument("--results", type=Path, default=Path("results"), help="results folder (default: results)")
    p.add_argument("--tracks", help="tracks folder (default: tracks/ beside the package)")
    p.add_argument("--json", action="store_true", help="print the whole leaderboard as JSON")
    p.add_argument(
        "--dynascore",
        metavar="WEIGHTS",
        help="rank by a Dynascore with these weights, e.g. "
        "score=4,latency_ms=1,memory_bytes=1 (column ids; see the board's columns)",
    )
    p.add_argument(
        "--pareto",
        action="append",
        default=[],
        metavar="Y,X",
        help="also mark the Pareto front of column Y against column X (repeatable), e.g. score,energy_kwh",
    )
    p.set_defaults(func=run)


def parse_pairs(text: str, flag: str) -> list[tuple[str, str]]:
    """`a=1,b=2` -> [("a", "1"), ("b", "2")]; a malformed item names the flag."""
    from harness.errors import UserError

    out = []
    for item in filter(None, (x.strip() for x in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise UserError(f"{flag}: {item!r} is not COLUMN=WEIGHT", fix=f"write e.g. {flag} score=4,latency_ms=1")
        out.append((key.strip(), value.strip()))
    return out


def dynascore_weights(text: str | None) -> dict[str, float]:
    """`--dynascore` text -> {column: weight}; each weight a finite number > 0 and each column once, as in a
    track file's dynascore.weights (a negative weight would reward the opposite of the column's direction)."""
    import math

    from harness.errors import UserError

    if text is None:
        return {}
    weights: dict[str, float] = {}
    for key, value in parse_pairs(text, "--dynascore"):
        try:
            weight = float(value)
        except ValueError:
            weight = math.nan
        if not 0 < weight < math.inf:
            raise UserError(
                f"--dynascore: weight {value!r} of {key} is not a number > 0",
                fix="write e.g. --dynascore score=4,latency_ms=1",
            )
        if key in weights:
            raise UserError(f"--dynascore: {key} is weighted twice", fix="give each column once")
        weights[key] = weight
    if not weights:
        raise UserError(
            f"--dynascore {text!r}: no COLUMN=WEIGHT given", fix="write e.g. --dynascore score=4,latency_ms=1"
        )
    return weights


def run(args: argparse.Namespace) -> int:
    """Read every record (one bad record stops the command), rank, print a table or JSON."""
    from harness.errors import UserError
    from harness.publish.text import render
    from harness.records import read_results
    from harness.scoring.rank import board_columns, rank
    from harness.tracks.definitions import get_track

    track = get_track(args.track, args.tracks)
    weights = dynascore_weights(args.dynascore)
    pairs = []
    for text in args.pareto:
        y, sep, x = text.partition(",")
        if not sep:
            raise UserError(f"--pareto {text!r}: write two column ids, e.g. --pareto score,flops")
        pairs.append((y.strip(), x.strip()))
    known = [c.id for c in board_columns(track, weights or {"score": 1.0})]
    for cid in [*weights, *(c for p in pairs for c in p)]:
        if cid not in known or (cid == "dynascore" and cid in weights):
            raise UserError(f"unknown column {cid!r} for track {track.id}", fix=f"known: {', '.join(known)}")
    records = read_results(args.results, track.id)
    board = rank(records, track, dynascore_weights=weights or None, rank_by_dynascore=bool(weights), pareto_pairs=pairs)
    print(json.dumps(board.to_dict(), indent=2, sort_keys=True) if args.json else render(board))
    return 0
