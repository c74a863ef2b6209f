"""End to end in headless Chromium over file:// URLs: index -> track page, sort, filter, submission page, screenshot.

Uses Debian's `chromium` through Playwright (no browser download); skipped only where either is missing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from site_records import XSS, built_site

from harness.publish.site.build import write_site

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright (Python) is not installed: pip install playwright"
)
if not Path(CHROMIUM).is_file():
    pytest.skip("no Chromium at /usr/bin/chromium: apt-get install chromium", allow_module_level=True)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("browser") / "site"
    write_site(built_site(tmp_path_factory).files, out)
    return out


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def visible_ids(page) -> list[str]:
    return page.locator("#board tbody tr").evaluate_all(
        "rows => rows.filter(r => !r.hidden).map(r => r.querySelector('small code').textContent)"
    )


def test_browse_sort_filter_and_open_a_submission(site, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    page.goto((site / "index.html").as_uri())
    assert page.locator("h1").inner_text().startswith("Which compressed model")
    page.get_by_role("link", name="Fixture track", exact=True).click()
    page.wait_for_url("**/tracks/fixture/index.html")
    assert visible_ids(page) == ["alpha", "beta", "selfrep", "gamma", "xss", "big"]
    assert page.locator("form.filters output").inner_text() == "6 of 6 submissions shown"

    page.click("th[data-col=params] button")  # fewer parameters is better: ascending first
    assert visible_ids(page) == ["xss", "beta", "selfrep", "gamma", "alpha", "big"]
    assert page.get_attribute("th[data-col=params]", "aria-sort") == "ascending"
    page.click("th[data-col=params] button")
    assert visible_ids(page) == ["big", "alpha", "gamma", "selfrep", "beta", "xss"]
    page.click("th[data-col=latency_ms] button")  # not measured stays last in both directions
    assert visible_ids(page) == ["xss", "beta", "alpha", "big", "selfrep", "gamma"]
    page.click("th[data-col=latency_ms] button")
    assert visible_ids(page) == ["big", "alpha", "beta", "xss", "selfrep", "gamma"]
    page.click("th[data-col=score] button")  # higher score is better: descending first
    assert visible_ids(page)[:2] == ["big", "alpha"]

    page.select_option("select[name=method]", "quantization")
    assert visible_ids(page) == ["beta"]
    page.select_option("select[name=method]", "")
    page.fill("input[name=max-params]", "12")
    assert sorted(visible_ids(page)) == ["beta", "xss"]
    assert page.locator("form.filters output").inner_text() == "2 of 6 submissions shown"
    page.fill("input[name=max-params]", "")
    page.check("input[name=hide-ineligible]")
    assert "big" not in visible_ids(page) and len(visible_ids(page)) == 5
    page.uncheck("input[name=hide-ineligible]")
    page.click("th[data-col=rank] button")
    assert visible_ids(page)[:5] == ["alpha", "beta", "selfrep", "gamma", "xss"]

    title = page.get_attribute("th[data-col=params]", "title")
    assert "M, lower is better" in title and "unique parameter tensors" in title
    assert page.locator("tr.ineligible").count() == 1 and page.locator("tr.kind-self-reported").count() == 1
    assert page.locator("tr.kind-reference").count() == 1
    assert page.locator("a", has_text=XSS).count() == 1  # shown as text, not run
    assert page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    shot = tmp_path / "track-page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000

    page.locator("#board").get_by_role("link", name="Alpha-6L", exact=True).click()
    page.wait_for_url("**/submissions/alpha.html")
    assert page.locator("h1").inner_text() == "Alpha-6L"
    assert page.locator("text=FLOPs per module").count() == 1
    page.goto((site / "submissions" / "xss.html").as_uri())
    assert page.locator("h1").inner_text() == XSS
    assert problems == []
    page.close()


def test_filters_count_and_hide_rows_of_every_table_shown_apart(browser, tmp_path):
    from site_records import META
    from test_apart import records

    from harness.publish.site.build import build_site
    from harness.scoring.rank import rank
    from harness.tracks.definitions import get_track

    recs = records()
    out = tmp_path / "apart"
    write_site(build_site([rank(recs, get_track("sustainlp-cpu"))], recs, META), out)
    page = browser.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto((out / "tracks" / "sustainlp-cpu" / "index.html").as_uri())
    count = page.locator("form.filters output")
    assert count.inner_text() == "5 of 5 submissions shown"  # the ranking, the estimated group and the --limit run
    page.check("input[name=hide-ineligible]")  # the --limit run is ineligible (rule limit), and so is the failed one
    assert count.inner_text() == "3 of 5 submissions shown"
    assert page.locator("#board-partial tbody tr").evaluate_all("rows => rows.every(r => r.hidden)")
    page.uncheck("input[name=hide-ineligible]")
    page.click("#board-estimated th[data-col=score] button")  # each table sorts on its own
    assert page.get_attribute("#board-estimated th[data-col=score]", "aria-sort") == "descending"
    assert problems == []
    page.close()


# ---------------------------------------------------------------- a track page of many rows (issue 15)


@pytest.fixture(scope="module")
def many(tmp_path_factory) -> Path:
    """The fixture track with 130 synthetic submissions: three pages of rows."""
    from site_records import many_site

    root = tmp_path_factory.mktemp("many")
    out = root / "site"
    write_site(many_site(root, 130)[2], out)
    return out / "tracks" / "fixture" / "index.html"


def open_page(browser, url: str, width: int = 1400, height: int = 900):
    page = browser.new_page(viewport={"width": width, "height": height})
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(url)
    return page, problems


def shown_ids(page, table: str = "#board") -> list[str]:
    return page.locator(f"{table} tbody tr").evaluate_all(
        "rows => rows.filter(r => !r.hidden).map(r => r.querySelector('small code').textContent)"
    )


def test_pages_of_rows_and_a_name_search(many, browser):
    page, problems = open_page(browser, many.as_uri())
    main_rows = len(shown_ids(page))
    assert main_rows == 50
    pager = page.locator("#board-pager")
    assert "1-50 of" in pager.inner_text()
    first = shown_ids(page)
    pager.get_by_role("button", name="Next").click()
    second = shown_ids(page)
    assert len(second) == 50 and not set(first) & set(second)
    pager.get_by_role("button", name="Previous").click()
    assert shown_ids(page) == first
    page.fill("input[name=q]", "Model 0042")
    assert shown_ids(page) == ["m0042"]
    assert "1 of 130 submissions shown" in page.locator("form.filters output").inner_text()
    page.fill("input[name=q]", "")
    assert len(shown_ids(page)) == 50
    page.click("th[data-col=params] button")
    ids = shown_ids(page)
    params = page.locator("#board tbody tr td[data-col=params]").evaluate_all(
        "cells => cells.map(c => parseFloat(c.textContent))"
    )
    assert params == sorted(params) and len(ids) == 50
    assert problems == []
    page.close()


def test_the_header_stays_in_view_after_scrolling(many, browser):
    page, problems = open_page(browser, many.as_uri())
    page.locator("#board tbody tr").nth(40).scroll_into_view_if_needed()
    page.evaluate("window.scrollBy(0, 200)")
    top = page.evaluate("document.querySelector('#board thead th').getBoundingClientRect().top")
    row = page.evaluate("document.querySelector('#board tbody tr').getBoundingClientRect().top")
    assert row < 0 and 0 <= top < 5, (top, row)  # the first row has scrolled away, the header has not
    assert problems == []
    page.close()


def test_compare_two_submissions_side_by_side(many, browser):
    page, problems = open_page(browser, many.as_uri())
    ids = shown_ids(page)[:2]
    for sid in ids:
        page.check(f"#board input.pick[data-id='{sid}']")
    compare = page.locator("#compare")
    assert compare.is_visible()
    text = compare.inner_text()
    assert "Model " + ids[0][1:] in text and "Model " + ids[1][1:] in text
    assert "Difference" in text and "SST-2 Acc" in text and "Parameters" in text
    assert "significant" not in text  # no intervals in these records: no significance claimed
    page.uncheck(f"#board input.pick[data-id='{ids[1]}']")
    assert not compare.is_visible() or "pick two" in compare.inner_text().lower()
    assert problems == []
    page.close()


def test_filter_sort_view_and_compare_survive_a_reload(many, browser):
    page, problems = open_page(browser, many.as_uri())
    page.select_option("select[name=method]", "pruning")
    page.click("th[data-col=score] button")  # higher is better: descending first, then ascending
    page.click("th[data-col=score] button")
    page.click("button[data-view=tasks]")
    ids = shown_ids(page)[:2]
    for sid in ids:
        page.check(f"#board input.pick[data-id='{sid}']")
    before = shown_ids(page)
    url = page.url
    assert "#" in url and "method=pruning" in url
    page.reload()
    assert shown_ids(page) == before
    assert page.input_value("select[name=method]") == "pruning"
    assert page.get_attribute("#board th[data-col=score]", "aria-sort") == "ascending"
    assert page.locator("#board th[data-col='task:sst2']").count() == 1
    assert page.locator("#compare").is_visible()
    other, _ = open_page(browser, url)  # a shared link opens the same view
    assert shown_ids(other) == before
    assert problems == []
    page.close()
    other.close()


def test_the_plot_follows_the_filters_and_links_to_submissions(many, browser):
    page, problems = open_page(browser, many.as_uri())
    svg = page.locator("#plot svg")
    assert svg.count() == 1 and page.locator("#plot svg path.pts").count() >= 1
    points = page.evaluate("document.querySelector('#plot svg').getAttribute('data-points')")
    page.select_option("select[name=method]", "pruning")
    assert int(page.evaluate("document.querySelector('#plot svg').getAttribute('data-points')")) < int(points)
    page.hover("#plot svg", position={"x": 300, "y": 200})  # hover details come from hit-testing
    assert problems == []
    page.close()


def test_a_phone_shows_name_and_score_without_scrolling_sideways(many, site, browser, tmp_path):
    for url in (many.as_uri(), (site / "submissions" / "alpha.html").as_uri(), (site / "index.html").as_uri()):
        page, problems = open_page(browser, url, width=400, height=800)
        assert page.evaluate("document.documentElement.scrollWidth") <= 400, url
        if "tracks" in url:
            row = page.locator("#board tbody tr").first
            assert row.locator("td.c-sub a").is_visible() and row.locator("td[data-col=score]").is_visible()
        shot = tmp_path / "phone.png"
        page.screenshot(path=str(shot), full_page=False)
        assert shot.stat().st_size > 5_000
        assert problems == []
        page.close()


def index_ids(page) -> list[str]:
    return page.locator("#subs tbody tr").evaluate_all(
        "rows => rows.map(r => r.querySelector('small code').textContent)"
    )


def test_the_index_pages_its_submissions_and_searches_them(many, browser):
    page, problems = open_page(browser, (many.parents[2] / "index.html").as_uri())
    first = index_ids(page)
    assert len(first) == 50 and first[:2] == ["m0000", "m0001"]  # by name
    pager = page.locator("#subs-pager")
    assert "1-50 of 130" in pager.inner_text() and "page 1 of 3" in pager.inner_text()
    assert page.locator("form.subs-filter output").inner_text() == "130 of 130 submissions shown"
    pager.get_by_role("button", name="Next").click()
    second = index_ids(page)
    assert len(second) == 50 and not set(first) & set(second) and "51-100 of 130" in pager.inner_text()
    pager.get_by_role("button", name="Next").click()
    assert len(index_ids(page)) == 30 and pager.get_by_role("button", name="Next").is_disabled()
    pager.get_by_role("button", name="Previous").click()
    assert index_ids(page) == second
    page.fill("form.subs-filter input[name=q]", "model 0042")
    assert index_ids(page) == ["m0042"]
    assert page.locator("form.subs-filter output").inner_text() == "1 of 130 submissions shown"
    assert "1-1 of 1" in pager.inner_text()
    page.fill("form.subs-filter input[name=q]", "pruning")  # methods are searched too
    found = index_ids(page)  # FAMILIES[i % 4] is pruning for 33 of the 130
    assert len(found) == 33 and all(int(i[1:]) % 4 == 1 for i in found)
    page.fill("form.subs-filter input[name=q]", "")
    assert index_ids(page) == first
    page.locator("#subs tbody tr a").first.click()
    page.wait_for_url("**/submissions/m0000.html")
    assert problems == []
    page.close()


def test_the_index_shows_hostile_names_as_text(site, browser):
    page, problems = open_page(browser, (site / "index.html").as_uri())
    assert len(index_ids(page)) == 6
    page.fill("form.subs-filter input[name=q]", "script")
    assert index_ids(page) == ["xss"] and page.locator("#subs a", has_text=XSS).count() == 1
    assert problems == []
    page.close()


@pytest.fixture(scope="module")
def with_intervals(tmp_path_factory, mirror) -> Path:
    """A two-task track (RTE, MRPC) of three submissions whose records carry bootstrap blocks, as evaluation
    writes them: b differs from a on one RTE example (tied), c is far behind."""
    from board_records import HEAD, one_apart, track

    from harness.publish.site.build import build_site
    from harness.scoring.rank import rank

    root = tmp_path_factory.mktemp("intervals")
    records = one_apart(mirror, ("rte", "mrpc"), 0.8, 0.5, 1)
    t = track(
        root,
        "ci",
        HEAD + "tasks:\n  - {task: rte, split: validation}\n  - {task: mrpc, split: validation}\n"
        "score: {rule: mean}\nranking: {by: score}\n",
    )
    files = build_site(
        [rank(records, t)], records, {"generated_at": "2026-12-01T00:00:00+00:00", "harness_version": "t"}
    )
    write_site(files, root / "site")
    return root / "site" / "tracks" / "ci" / "index.html"


def test_the_compare_view_loads_the_per_task_intervals_when_it_opens(with_intervals, browser):
    page, problems = open_page(browser, with_intervals.as_uri())
    assert page.locator("#board sup", has_text="=").count() == 1  # b is tied with a
    assert page.evaluate("typeof window.boardIntervals") == "undefined"  # not loaded with the page
    for sid in ("a", "c"):
        page.check(f"#board input.pick[data-id='{sid}']")
    compare = page.locator("#compare")
    compare.get_by_text("RTE", exact=False).first.wait_for()
    page.wait_for_function("typeof window.boardIntervals === 'object'")
    rte = compare.inner_text().split("RTE Acc")[1].split("MRPC")[0]
    assert "(significant: 95% intervals apart)" in rte  # 80% against 50% of 277 examples
    assert "conservative test" in compare.inner_text() and problems == []
    page.close()


def test_axe_core_finds_no_wcag_a_or_aa_violation_on_the_pages(site, many, with_intervals, browser):
    """axe-core (Deque, through axe-playwright-python, which bundles it) over the rendered pages: colour contrast,
    names of controls, headers of tables, landmarks; the WCAG 2.x A and AA rules."""
    axe_sync = pytest.importorskip("axe_playwright_python.sync_playwright", reason="pip install axe-playwright-python")
    axe = axe_sync.Axe()
    rules = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa"]}, "resultTypes": ["violations"]}
    pages = [site / "index.html", many, with_intervals, *sorted((site / "submissions").glob("*.html"))[:2]]
    for path in pages:
        page, problems = open_page(browser, path.as_uri())
        if path == with_intervals:  # the compare view open, its intervals loaded
            for sid in ("a", "c"):
                page.check(f"#board input.pick[data-id='{sid}']")
            page.wait_for_function("typeof window.boardIntervals === 'object'")
        assert problems == []  # before axe runs: over file:// its own fetch of the stylesheet logs an error
        violations = axe.run(page, options=rules).response["violations"]
        found = [(v["id"], v["help"], v["nodes"][0]["html"][:120]) for v in violations]
        assert found == [], f"{path.name}: {found}"
        page.close()


def test_sort_pagination_and_compare_work_from_the_keyboard(many, browser):
    page, problems = open_page(browser, many.as_uri())
    button = page.locator("#board th[data-col=score] button")
    assert button.evaluate("b => b.tabIndex") >= 0  # reachable with Tab
    before = page.get_attribute("#board th[data-col=score]", "aria-sort")
    button.focus()
    page.keyboard.press("Enter")
    assert page.get_attribute("#board th[data-col=score]", "aria-sort") not in (None, before)
    first = shown_ids(page)
    page.locator("#board-pager").get_by_role("button", name="Next").focus()
    page.keyboard.press("Enter")
    assert "51-100 of" in page.locator("#board-pager").inner_text() and shown_ids(page) != first
    pick = page.locator("#board input.pick").first
    pick.focus()
    page.keyboard.press("Space")
    second = page.locator("#board input.pick").nth(1)
    second.focus()
    page.keyboard.press("Space")
    assert page.locator("#compare").is_visible() and "Difference" in page.locator("#compare").inner_text()
    assert problems == []
    page.close()
