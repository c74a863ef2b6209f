"""HTML building blocks: escaping, safe links, the page frame. Everything a submitter wrote passes `esc`."""

from __future__ import annotations

from typing import Any, Mapping
from urllib.parse import urlsplit

SITE_TITLE = "Compressed NLP leaderboard"
LINK_SCHEMES = ("http", "https")


def esc(value: Any) -> str:
    """Text made safe for HTML element content and quoted attributes.

    >>> esc("<b class='x'>&</b>")
    '&lt;b class=&#x27;x&#x27;&gt;&amp;&lt;/b&gt;'
    """
    text = value if type(value) is str else "" if value is None else str(value)
    # The same output as html.escape(text, quote=True); most text has nothing to escape, and a site build
    # escapes about 750,000 strings, so that case is checked first.
    if "&" in text or "<" in text or ">" in text or '"' in text or "'" in text:
        return text.translate(_ESCAPES)
    return text


_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"})


KIND_BADGES = {"self-reported": "self-reported", "reference": "published"}  # row kind -> badge text


def badge(kind: str) -> str:
    """The badge after a name for a self-reported or published row ('' for a measured one)."""
    return f' <span class="badge b-{esc(kind)}">{esc(KIND_BADGES[kind])}</span>' if kind in KIND_BADGES else ""


def safe_url(url: Any) -> str | None:
    """The URL if it is an absolute http(s) URL with a host, else None (javascript:, data:, relative...).

    >>> safe_url("https://arxiv.org/abs/1"), safe_url("javascript:alert(1)"), safe_url(" http://x.org ")
    ('https://arxiv.org/abs/1', None, 'http://x.org')
    """
    if not isinstance(url, str):
        return None
    url = url.strip()
    if any(ord(c) < 33 for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in LINK_SCHEMES and parts.netloc else None


def external(url: Any, label: str | None = None) -> str:
    """An outbound link for an http(s) URL; any other value shows as plain (escaped) text."""
    ok = safe_url(url)
    if ok is None:
        return esc(url) if url else ""
    return f'<a href="{esc(ok)}" rel="nofollow noopener noreferrer">{esc(label or ok)}</a>'


def page(title: str, body: str, root: str, meta: Mapping[str, Any]) -> str:
    """A whole HTML page; `root` is the relative path from the page to the site root ('' or '../..')."""
    prefix = f"{root}/" if root else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)} - {SITE_TITLE}</title>
<link rel="stylesheet" href="{prefix}assets/site.css">
</head>
<body>
<header class="top"><a href="{prefix}index.html">{SITE_TITLE}</a></header>
<main>
{body}
</main>
<footer>Rendered from result records by harness {esc(meta.get("harness_version", ""))}; \
built {esc(meta.get("generated_at", ""))}. Static pages: they need no server and no network.</footer>
<script src="{prefix}assets/site.js"></script>
</body>
</html>
"""


def table(header: list[str], rows: list[list[str]], cls: str = "plain") -> str:
    """A simple table from already-escaped cells."""
    head = "".join(f'<th scope="col">{h}</th>' for h in header)
    body = "\n".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>'


def facts(items: list[tuple[str, str]]) -> str:
    """A definition list of (escaped label, escaped value) pairs, skipping empty values."""
    return '<dl class="facts">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in items if v) + "</dl>"


def submission_link(submission: str, name: str, names: Mapping[str, str], root: str) -> str:
    """A link to a submission's page (its file name from `names`), `root` being the path up to the site's root."""
    return f'<a href="{root}submissions/{esc(names[submission])}.html">{esc(name)}</a>'
