"""How long a click-sort of a 1,000-row track page takes in headless Chromium (goal: under 100 ms).

Builds the GLUE track's site page for 1,000 synthetic submissions (benchmarks/site_build.py's records), opens
it from a file:// URL in Debian's Chromium through Playwright, and times clicks on column headers with
performance.now(), from the click to the re-rendered table after a forced layout. `--site DIR` times a site
built before (for example an older checkout's, `site_build.py --keep DIR`) instead.

`--screenshots DIR` also saves the index, the track page and the leader's submission page at 1,400 px. The
README's pictures (docs/img/) are of the demo's board, real models: after `harness demo`, run
`python benchmarks/site_sort.py --site results/site --track demo-stsb --screenshots docs/img`.

    python benchmarks/site_sort.py [--submissions 1000] [--track glue] [--site DIR] [--repeat 5] [--screenshots DIR]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from site_build import submission_records  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run", "--disable-sync"]
TIMED = """async (col) => {
  const button = document.querySelector(`table#board th[data-col="${col}"] button`);
  const t0 = performance.now();
  button.click();
  void document.body.offsetHeight;  // the layout of the new rows
  return performance.now() - t0;
}"""


def build(root: Path, n: int, track: str) -> Path:
    from harness.publish.site.build import build_site, write_site
    from harness.records import new_record
    from harness.scoring.rank import rank
    from harness.tracks.definitions import get_track

    rnd = random.Random(0)
    records = [new_record(**r) for i in range(n) for r in submission_records(i, rnd)]
    board = rank(records, get_track(track))
    write_site(build_site([board], records, {"generated_at": "benchmark", "harness_version": "bench"}), root)
    return root


TRACK_SHOT_HEIGHT = 2300  # px of a track page's picture: its summary, legend, plot and the first rows of its table


def shots(page, site: Path, url: str, out: Path) -> None:
    """The index, the track page (down to the first rows of its table) and the leader's submission page, at 1,400 px."""
    out.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1400, "height": 1300})
    page.goto(url)
    height = min(TRACK_SHOT_HEIGHT, page.evaluate("document.documentElement.scrollHeight"))
    page.screenshot(
        path=str(out / "track-page.png"), full_page=True, clip={"x": 0, "y": 0, "width": 1400, "height": height}
    )
    leader = page.locator("#board tbody tr a").first.get_attribute("href")
    page.goto((site / "index.html").resolve().as_uri())
    page.set_viewport_size({"width": 1400, "height": 800})
    page.screenshot(path=str(out / "index.png"))
    page.set_viewport_size({"width": 1400, "height": 1300})
    page.goto(url.rsplit("/", 1)[0] + "/" + leader)
    page.screenshot(path=str(out / "submission-page.png"))
    for name in ("index.png", "track-page.png", "submission-page.png"):
        print(f"saved {out / name} ({(out / name).stat().st_size / 1000:.0f} KB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=1000)
    parser.add_argument("--track", default="glue")
    parser.add_argument("--site", type=Path, help="time this built site instead of building one")
    parser.add_argument("--repeat", type=int, default=5, help="clicks per column (default: 5)")
    parser.add_argument("--screenshots", type=Path, help="save 1,400 px screenshots of three pages here")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="site-sort-") as tmp:
        site = args.site or build(Path(tmp), args.submissions, args.track)
        url = (site / "tracks" / args.track / "index.html").resolve().as_uri()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(url)
            rows = page.evaluate("document.querySelectorAll('table#board tbody tr').length")
            total = page.evaluate(
                "(() => { const d = document.getElementById('board-data'); "
                "return d ? JSON.parse(d.textContent).rows.length : document.querySelectorAll('tr.r').length; })()"
            )
            cols = ["params", "score", "submission", "latency_ms"]
            cols = [c for c in cols if page.locator(f'table#board th[data-col="{c}"] button').count()]
            times = {c: [page.evaluate(TIMED, c) for _ in range(args.repeat)] for c in cols}
            if args.screenshots:
                shots(page, site, url, args.screenshots)
            browser.close()
    print(f"{url.rsplit('/', 3)[-2]} track page: {total} submissions, {rows} rows rendered in the ranking table")
    for c, ms in times.items():
        print(f"sort by {c}: median {statistics.median(ms):.1f} ms, max {max(ms):.1f} ms over {len(ms)} clicks")
    worst = max(max(ms) for ms in times.values())
    print(f"slowest click-sort: {worst:.1f} ms (goal < 100 ms)")


if __name__ == "__main__":
    main()
