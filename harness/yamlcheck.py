"""Strict reading of hand-written YAML files: every problem names the file, the key path and what was expected.

`Checker` collects problems instead of stopping at the first, so one run of a loader lists them all:
`tracks/tiny.yaml: cutoffs.max_params: expected an integer > 0, got "big"`. It only validates: no
environment variables, network or input mutation.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from pathlib import Path
from typing import Any, Iterable, Sequence

import yaml

from harness.errors import ConfigError

# YAML 1.1 (PyYAML) reads `6e9` as text: such strings are accepted where a number is expected.
_FLOAT_TEXT = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")


def shown(value: Any) -> str:
    """A value as the user wrote it, for messages: `"big"`, `12`, `a list`, `nothing`."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (str, int, float)):
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= 60 else text[:57] + '..."'
    return {dict: "a mapping", list: "a list"}.get(type(value), type(value).__name__)


YAML_MERGE_TAG = "tag:yaml.org,2002:merge"


class StrictLoader(yaml.SafeLoader):
    """A safe loader that records duplicate keys (plain yaml keeps the last one silently)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[str, int]] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == YAML_MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                if key in seen:
                    self.duplicates.append((str(key), key_node.start_mark.line + 1))
                seen.add(key)
            except TypeError:  # an unhashable key: construct_mapping reports it
                pass
        return super().construct_mapping(node, deep=deep)


def parse_yaml(path: Path) -> tuple[Any, list[tuple[str, str, str]]]:
    """The parsed document (safe loader) and its problems, each (where in the file, what is wrong, the fix):
    unreadable or non-UTF-8 text, a syntax error with its line, duplicate keys. The document is None when unreadable."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        return None, [(f"byte {e.start}", "not UTF-8 text", "save the file as UTF-8")]
    except OSError as e:
        return None, [("", f"cannot read the file ({e.strerror or e})", "check the path and its permissions")]
    loader = StrictLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        at = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        detail = " ".join(str(x) for x in (e.context, e.problem) if x)
        return None, [
            (
                at,
                f"YAML syntax error: {detail}",
                "fix the YAML at that line: indentation, a ': ' after "
                "each key, quotes around text that contains ': ' or ' #'",
            )
        ]
    except yaml.YAMLError as e:
        return None, [("", f"YAML error: {e}", "fix the YAML syntax")]
    finally:
        loader.dispose()
    return data, [
        (f"line {line}", f"duplicate key {key!r}", "keep one copy of the key: YAML would silently use the last one")
        for key, line in loader.duplicates
    ]


def read_yaml(path: Path) -> Any:
    """The parsed document; an unreadable file, a syntax error or a duplicate key raises ConfigError naming the
    file, the line and the fix (all of them at once)."""
    data, problems = parse_yaml(path)
    c = Checker(str(path))
    c.problems += [
        ": ".join([str(path)] + ([where] if where else []) + [message]) + f"; {fix}" for where, message, fix in problems
    ]
    c.raise_if_any(str(path))
    return data


class Checker:
    """Typed getters over a parsed document; each records a problem and returns None when the value is bad."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[str] = []

    def fail(self, path: str, message: str) -> None:
        """Record one problem at a key path."""
        self.problems.append(f"{self.file}: {path or '(top level)'}: {message}")

    def raise_if_any(self, what: str) -> None:
        """Raise one ConfigError listing every problem found, if any."""
        if self.problems:
            if len(self.problems) == 1:
                raise ConfigError(self.problems[0])
            raise ConfigError(
                f"{len(self.problems)} problems in {what}:\n" + "\n".join(f"  {p}" for p in self.problems)
            )

    def mapping(self, value: Any, path: str, keys: Sequence[str], required: Iterable[str] = ()) -> dict | None:
        """A mapping with only `keys` (unknown keys get a did-you-mean) and every `required` key present."""
        if not isinstance(value, dict):
            self.fail(path, f"expected a mapping of {', '.join(keys)}, got {shown(value)}")
            return None
        prefix = f"{path}." if path else ""
        for key in value:
            if not isinstance(key, str) or key not in keys:
                close = difflib.get_close_matches(str(key), list(keys), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(keys)})"
                self.fail(path, f"unknown key {str(key)!r}{hint}")
        for key in required:
            if key not in value:
                self.fail(f"{prefix}{key}", "missing; this key is required")
        return value

    def text(self, value: Any, path: str, choices: Sequence[str] | None = None) -> str | None:
        """Non-empty text, one of `choices` when given."""
        if not isinstance(value, str) or not value.strip():
            self.fail(path, f"expected text, got {shown(value)}")
            return None
        if choices is not None and value not in choices:
            close = difflib.get_close_matches(value, list(choices), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            self.fail(path, f"expected one of {', '.join(choices)}, got {shown(value)}{hint}")
            return None
        return value

    def integer(self, value: Any, path: str, minimum: int = 1) -> int | None:
        """An integer >= `minimum` (booleans and floats are refused: counts must be exact)."""
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            bound = "> 0" if minimum == 1 else f">= {minimum}"
            self.fail(path, f"expected an integer {bound}, got {shown(value)}")
            return None
        return value

    def number(
        self, value: Any, path: str, low: float | None = None, high: float | None = None, above: bool = False
    ) -> float | None:
        """A finite number within [low, high] (or > low when `above`); YAML-1.1 text like "6e9" is accepted."""
        if isinstance(value, str) and _FLOAT_TEXT.match(value.strip()):
            value = float(value)
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if ok and low is not None:
            ok = value > low if above else value >= low
        if ok and high is not None:
            ok = value <= high
        if not ok:
            bound = "" if low is None else (f" > {low:g}" if above else f" >= {low:g}")
            bound += "" if high is None else (f" and <= {high:g}" if bound else f" <= {high:g}")
            self.fail(path, f"expected a number{bound}, got {shown(value)}")
            return None
        return float(value)

    def boolean(self, value: Any, path: str) -> bool | None:
        """true or false."""
        if not isinstance(value, bool):
            self.fail(path, f"expected true or false, got {shown(value)}")
            return None
        return value

    def sequence(self, value: Any, path: str, non_empty: bool = False) -> list | None:
        """A list (non-empty when asked)."""
        if not isinstance(value, list) or (non_empty and not value):
            self.fail(path, f"expected a {'non-empty ' if non_empty else ''}list, got {shown(value)}")
            return None
        return value
