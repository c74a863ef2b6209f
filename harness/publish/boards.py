"""Every track's board from a results folder, ranked as `harness rank` ranks it, ready for the site: what
`harness leaderboard` and `harness demo` render."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def build_boards(results: Path, tracks: str | None, workers: int = 1) -> tuple[list[Any], list[Any]]:
    """Every track's board (as `harness rank` builds it, plus a Pareto pair per plotted cost column) and the records.

    `workers` > 1 ranks the tracks in that many processes (forked), the tracks with the most records first
    (tracks with the same tasks, hardware and measurement settings together, sharing their common work);
    meanwhile this process imports what the site's figures and exports need, so that the site's workers,
    forked from it next, inherit those modules instead of each importing them again (about 1.2 s each here).
    """
    from collections import Counter

    from harness.forkpool import shared_map
    from harness.records import read_results
    from harness.scoring.rank import grouping_key
    from harness.tracks.definitions import load_track, track_files

    records = read_results(results)
    loaded = [load_track(path) for path in track_files(tracks).values()]
    per_task = Counter(r.task.name for r in records)
    groups: dict[Any, list[int]] = {}  # tracks that group the records alike are ranked in one job, sharing the work
    for i, track in enumerate(loaded):
        groups.setdefault(grouping_key(track), []).append(i)
    jobs = sorted(groups.values(), key=lambda job: -len(job) * sum(per_task[t] for t in loaded[job[0]].task_names()))
    ranked = {
        i: board
        for job, boards in zip(jobs, shared_map(_boards, (records, loaded), jobs, workers, meanwhile=_import_renderers))
        for i, board in zip(job, boards)
    }
    return [ranked[i] for i in range(len(loaded))], records


def _import_renderers() -> None:
    import pandas  # noqa: F401  (the exports)

    from harness.publish.plots import import_matplotlib

    import_matplotlib()


def _boards(shared: tuple[list[Any], list[Any]], job: list[int]) -> list[Any]:
    from harness.publish.plots import PLOT_X
    from harness.scoring.rank import board_columns, rank

    records, tracks = shared
    reuse: dict[Any, Any] = {}
    boards = []
    for index in job:
        track = tracks[index]
        shown = {c.id for c in board_columns(track, track.dynascore)}
        boards.append(rank(records, track, pareto_pairs=[("score", x) for x in PLOT_X if x in shown], reuse=reuse))
    return boards


def build_time() -> str:
    """The build timestamp (UTC): $SOURCE_DATE_EPOCH when set, for fully reproducible builds, else now."""
    import os
    from datetime import datetime, timezone

    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = datetime.fromtimestamp(int(epoch), timezone.utc) if epoch and epoch.isdigit() else datetime.now(timezone.utc)
    return when.isoformat(timespec="seconds")
