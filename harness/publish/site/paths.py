"""Where each page of the site lives: one place for the paths that pages link to each other by."""

from __future__ import annotations

from harness.records import safe_name
from harness.scoring.board import Leaderboard


def track_folder(board: Leaderboard) -> str:
    """The track's folder under tracks/."""
    return f"tracks/{safe_name(board.track['id'])}"
