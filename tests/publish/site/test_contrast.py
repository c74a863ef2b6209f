"""Text contrast of the site's stylesheet meets WCAG 2.x AA (4.5:1 for normal text), computed from site.css itself:
its custom properties and rules, parsed here (no browser). A colour pair the pages use is named by the selector
and property its foreground and background come from, so an edit of site.css is checked as written."""

from __future__ import annotations

import re

import pytest

from harness.publish.site.build import static

AA = 4.5


def rules(css: str) -> dict[str, dict[str, str]]:
    """{selector: {property: value}} of the stylesheet's plain rules (a selector list splits into its selectors;
    later rules win, as in the cascade for equal specificity; @media blocks are left out: the narrow layout
    changes no colour)."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    css = re.sub(r"@media[^{]*\{(?:[^{}]*\{[^{}]*\})*\s*\}", "", css)
    out: dict[str, dict[str, str]] = {}
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        decls = {}
        for decl in body.split(";"):
            if ":" in decl:
                k, v = decl.split(":", 1)
                decls[k.strip()] = v.strip()
        for sel in selectors.split(","):
            out.setdefault(" ".join(sel.split()), {}).update(decls)
    return out


RULES = rules(static("site.css"))
VARS = {k: v for k, v in RULES[":root"].items() if k.startswith("--")}


def resolve(value: str) -> str:
    """A colour value with var(--x) replaced by its custom property, as #rrggbb."""
    for _ in range(5):
        value = re.sub(r"var\((--[\w-]+)\)", lambda m: VARS[m.group(1)], value)
    m = re.search(r"#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b", value)
    if m is None:
        names = {"white": "ffffff", "black": "000000"}
        word = value.split()[-1].lower() if value.split() else ""
        assert word in names, f"not a colour this test reads: {value!r}"
        return "#" + names[word]
    h = m.group(1)
    return "#" + (h if len(h) == 6 else "".join(c * 2 for c in h)).lower()


def colour(selector: str, prop: str) -> str:
    decls = RULES[selector]
    value = decls.get(prop) if prop in decls else decls.get("background") if prop == "background-color" else None
    assert value is not None, f"site.css has no {prop} for {selector!r}"
    return resolve(value)


def luminance(hex_colour: str) -> float:
    """WCAG 2.x relative luminance of an sRGB colour."""
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_the_contrast_formula_matches_wcag_reference_values():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # the classic just-failing grey
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)
    assert resolve("var(--ink)") == colour("body", "color")


PAGE = ("body", "background")
HEAD = ("thead th", "background")
PAIRS = {  # what the reader reads: (foreground selector, property), (background selector, property)
    "body text": (("body", "color"), PAGE),
    "muted text (hints, footer)": ((".hint", "color"), PAGE),
    "footer": (("footer", "color"), PAGE),
    "not measured cells": (("td.nm", "color"), PAGE),
    "links": (("a", "color"), PAGE),
    "links on the summary box": (("a", "color"), ("#summary", "background")),
    "links on the submission card": (("a", "color"), (".card", "background")),
    "muted text on the filter bar": (("form.filters output", "color"), ("form.filters", "background")),
    "muted text on the summary box": ((".hint", "color"), ("#summary", "background")),
    "table header text": (("body", "color"), HEAD),
    "table header units": (("th .unit", "color"), HEAD),
    "site header link": (("header.top a", "color"), ("header.top", "background")),
    "lead paragraph": ((".lead", "color"), PAGE),
    "facts labels": (("dl.facts dt", "color"), PAGE),
    "self-reported cells": (("td.p-self-reported", "color"), ("tr.kind-self-reported", "background")),
    "estimated mark": (("td.p-estimated sup", "color"), PAGE),
    "estimated mark on a self-reported row": (("td.p-estimated sup", "color"), ("tr.kind-self-reported", "background")),
    "estimated mark on a partial row": (
        ("td.p-estimated sup", "color"),
        ("section.group-partial table.board tbody tr", "background"),
    ),
    "published mark on a reference row": (("td.p-published sup", "color"), ("tr.kind-reference", "background")),
    "reference row text": (("body", "color"), ("tr.kind-reference", "background")),
    "ineligible rows": (("tr.ineligible", "color"), ("tr.ineligible", "background")),
    "broken rules": (("ul.broken li", "color"), ("tr.ineligible", "background")),
    "board notes": (("ul.board-notes", "color"), PAGE),
    "estimated group heading": (("section.group-estimated h3", "color"), PAGE),
    "failed task": ((".failed", "color"), PAGE),
    "disabled pager button": (("nav.pager button[disabled]", "color"), ("nav.pager button", "background")),
    "pager buttons": (("nav.pager button", "color"), ("nav.pager button", "background")),
    "pressed view button": (
        ('form.filters button[aria-pressed="true"]', "color"),
        ('form.filters button[aria-pressed="true"]', "background"),
    ),
    "plot axis text": (("#plot text.axis", "fill"), ("#plot svg", "background")),
    "plot tick text": (("#plot .ticks text", "fill"), ("#plot svg", "background")),
    "plot tooltip": (("body", "color"), ("#plot .tip", "background")),
    "provenance marks": (("td sup", "color"), PAGE),
    "legend marks": ((".legend sup", "color"), PAGE),
    "folded summaries": (("details summary", "color"), PAGE),
    "plot captions": (("figure.plot figcaption", "color"), PAGE),
}
ON_DARK = {"header.top a": "header.top", ".badge": ".b-note"}  # text whose background is another rule's


@pytest.mark.parametrize("what", sorted(PAIRS))
def test_text_colours_meet_wcag_aa_against_their_backgrounds(what):
    (fg_sel, fg_prop), (bg_sel, bg_prop) = PAIRS[what]
    fg, bg = colour(fg_sel, fg_prop), colour(bg_sel, bg_prop)
    assert contrast(fg, bg) >= AA, f"{what}: {fg} on {bg} is {contrast(fg, bg):.2f}:1, under {AA}:1"


def test_every_badge_is_readable_on_its_background():
    text = colour(".badge", "color")
    badges = sorted(s for s in RULES if re.fullmatch(r"\.b-[\w-]+", s))
    assert {".b-self-reported", ".b-reference", ".b-ineligible", ".b-note"} <= set(badges)
    for sel in badges:
        bg = colour(sel, "background")
        assert contrast(text, bg) >= AA, f"badge {sel}: {text} on {bg} is {contrast(text, bg):.2f}:1"


def test_text_on_every_row_background_meets_aa():
    """Body and muted text on each tinted row or box the stylesheet defines (hover, kinds, groups, cards)."""
    ink, muted = colour("body", "color"), resolve("var(--muted)")
    tinted = [
        "table.board tbody tr:hover",
        "tr.kind-self-reported",
        "tr.ineligible",
        "tr.kind-reference",
        "section.group-partial table.board tbody tr",
        "#summary",
        ".card",
        "form.filters",
        "thead th",
    ]
    for sel in tinted:
        bg = colour(sel, "background")
        for name, fg in (("text", ink), ("muted text", muted)):
            assert contrast(fg, bg) >= AA, f"{name} on {sel}: {fg} on {bg} is {contrast(fg, bg):.2f}:1"


def test_every_text_colour_in_the_stylesheet_is_checked_against_its_background():
    """Any rule that sets a text colour: against its own background if it sets one, against its known dark
    background (the site header, badges), else against the page. A colour added later is checked too."""
    page = colour(*PAGE)
    seen = 0
    for sel, decls in RULES.items():
        for prop in ("color", "fill"):
            if prop not in decls or (prop == "fill" and "text" not in sel) or decls[prop] in ("inherit", "none"):
                continue
            fg = resolve(decls[prop])
            if "background" in decls or "background-color" in decls:
                bg = colour(sel, "background-color")
            elif sel in ON_DARK:
                bg = colour(ON_DARK[sel], "background")
            else:
                bg = page
            seen += 1
            assert contrast(fg, bg) >= AA, f"{sel} {{{prop}: {decls[prop]}}}: {fg} on {bg} is {contrast(fg, bg):.2f}:1"
    assert seen >= 25, seen
