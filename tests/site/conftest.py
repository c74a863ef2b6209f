"""The fixture site, built once per test session (matplotlib's figures are the slow part)."""

from __future__ import annotations

import pytest

from site_records import Built, META, write_fixture


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Built:
    """The fixture records written to disk, ranked the way `harness leaderboard` ranks, and the site built from them."""
    from harness.commands.leaderboard import build_boards
    from harness.site.build import build_site

    root = tmp_path_factory.mktemp("site-fixture")
    results, tracks = write_fixture(root)
    boards, records = build_boards(results, str(tracks))
    return Built(root, results, tracks, boards, records, build_site(boards, records, META))
