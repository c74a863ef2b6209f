"""Strict reading of hand-written YAML files: every problem names the file, the key path, what is wrong and the fix.

The one engine behind track files, their data files, predictions.yaml and submission.yaml: `Checker` collects
`Problem`s instead of stopping at the first, so one run of a loader lists them all:
`tracks/tiny.yaml: cutoffs.max_params: expected an integer > 0, got "big"`. It only validates: no
environment variables, network or input mutation. A caller with its own wording (submission.yaml names each
unknown key at its own field and shows values with their kind) subclasses it and overrides the hooks.
"""

from __future__ import annotations

import json
import math
import re
import reprlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import yaml

from harness.errors import ConfigError, did_you_mean

# YAML 1.1 (PyYAML) reads `6e9` as text: such strings are accepted where a number is expected.
_FLOAT_TEXT = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file: the file, the key path (or line) in it, what is wrong, how to fix it."""

    file: str
    field: str
    message: str
    fix: str = ""

    def __str__(self) -> str:
        text = ": ".join([self.file] + ([self.field] if self.field else []) + [self.message])
        return f"{text}; {self.fix}" if self.fix else text


# How much of a bad value messages show: enough to recognize it, bounded whatever its size.
SHOWN_CHARS = 60
DESCRIBED_CHARS = 40
_SHORT_REPR = reprlib.Repr()
_SHORT_REPR.maxlevel, _SHORT_REPR.maxlist, _SHORT_REPR.maxdict, _SHORT_REPR.maxstring = 3, 6, 4, DESCRIBED_CHARS
_SHORT_REPR.maxother = DESCRIBED_CHARS


def shown(value: Any) -> str:
    """A value as the user wrote it, for messages: `"big"`, `12`, `a list`, `nothing`."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (str, int, float)):
        text = json.dumps(value[:SHOWN_CHARS] if isinstance(value, str) else value, ensure_ascii=False)
        return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + '..."'
    return {dict: "a mapping", list: "a list"}.get(type(value), type(value).__name__)


def described(value: Any) -> str:
    """A value with its YAML kind, for readers new to YAML: `text 'big'`, `a number 12`, `a list [1, 2]`."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    kind = {dict: "a mapping", list: "a list", str: "text", int: "a number", float: "a number"}.get(type(value), "")
    text = _SHORT_REPR.repr(value)  # bounded: never the repr of a whole (alias-expanded) value
    text = text if len(text) <= DESCRIBED_CHARS else text[: DESCRIBED_CHARS - 3] + "..."
    return f"{kind} {text}" if kind else text


YAML_MERGE_TAG = "tag:yaml.org,2002:merge"
# Nodes that aliases (`*name`) may add to a document once expanded. Hand-written harness files reuse a block or two
# (tens of nodes); a billion-laughs `name:` nests aliases to expand 10^9 values (13.8 GB in `harness check`, issue 14).
MAX_ALIAS_NODES = 10_000


# Nesting of lists and mappings a harness YAML file may have: submission.yaml needs 4 (tasks.NAME.declared.KEY), and
# PyYAML's composer and constructor recurse once per level, so a 30,000-deep `[[[...]]]` would exhaust Python's stack.
MAX_YAML_DEPTH = 64
DEPTH_FIX = "write the values out flat: a harness file needs a few levels of nesting"


class TooDeep(yaml.YAMLError):
    """A document whose lists and mappings nest deeper than MAX_YAML_DEPTH (found before composing it)."""

    def __init__(self, line: int) -> None:
        super().__init__(f"lists and mappings nested deeper than {MAX_YAML_DEPTH} levels")
        self.line = line


def require_shallow(text: str) -> None:
    """Raise TooDeep when the collections of `text` nest deeper than MAX_YAML_DEPTH: counted on the parser's events,
    which PyYAML produces without recursing (syntax errors raise as yaml.MarkedYAMLError)."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                raise TooDeep(event.start_mark.line + 1 if event.start_mark else 0)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


class AliasBomb(yaml.YAMLError):
    """A document whose aliases expand beyond MAX_ALIAS_NODES nodes, or refer to themselves."""


def _expanded_nodes(node: yaml.Node, sizes: dict[int, int], open_nodes: set[int]) -> int:
    """Nodes of `node`'s tree with every alias expanded (memoized per node; a node inside itself raises AliasBomb)."""
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in open_nodes:
        raise AliasBomb("an alias refers to a node that contains it")
    open_nodes.add(key)
    if isinstance(node, yaml.MappingNode):
        children = [n for pair in node.value for n in pair]
    elif isinstance(node, yaml.SequenceNode):
        children = list(node.value)
    else:
        children = []
    total = 1
    for child in children:
        total += _expanded_nodes(child, sizes, open_nodes)
    open_nodes.discard(key)
    sizes[key] = total
    return total


class StrictLoader(yaml.SafeLoader):
    """A safe loader that records duplicate keys (plain yaml keeps the last one silently)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[str, int]] = []

    def get_single_data(self) -> Any:
        """The document, refused (AliasBomb) before construction when its aliases expand past MAX_ALIAS_NODES."""
        node = self.get_single_node()
        if node is None:
            return None
        sizes: dict[int, int] = {}
        expanded = _expanded_nodes(node, sizes, set())
        if expanded - len(sizes) > MAX_ALIAS_NODES:
            raise AliasBomb(f"aliases expand the document by more than {MAX_ALIAS_NODES} nodes")
        return self.construct_document(node)

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


def parse_yaml(path: Path) -> tuple[Any, list[Problem]]:
    """The parsed document (safe loader) and its problems, each naming where in the file: unreadable or
    non-UTF-8 text, a syntax error with its line, duplicate keys. The document is None when unreadable."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        return None, [Problem(file, f"byte {e.start}", "not UTF-8 text", "save the file as UTF-8")]
    except OSError as e:
        return None, [
            Problem(file, "", f"cannot read the file ({e.strerror or e})", "check the path and its permissions")
        ]
    loader = StrictLoader(text)
    try:
        require_shallow(text)
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        at = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        detail = " ".join(str(x) for x in (e.context, e.problem) if x)
        return None, [
            Problem(
                file,
                at,
                f"YAML syntax error: {detail}",
                "fix the YAML at that line: indentation, a ': ' after "
                "each key, quotes around text that contains ': ' or ' #'",
            )
        ]
    except TooDeep as e:
        return None, [
            Problem(
                file,
                f"line {e.line}",
                f"{e} (not read)",
                DEPTH_FIX,
            )
        ]
    except RecursionError:  # belt and braces: the depth check above keeps the composer far from Python's limit
        return None, [
            Problem(
                file,
                "",
                "nested too deeply to read (not read)",
                DEPTH_FIX,
            )
        ]
    except AliasBomb as e:
        return None, [
            Problem(
                file, "", f"{e} (not read)", "write the values out: anchors and aliases are for a few shared blocks"
            )
        ]
    except yaml.YAMLError as e:
        return None, [Problem(file, "", f"YAML error: {e}", "fix the YAML syntax")]
    finally:
        loader.dispose()
    return data, [
        Problem(
            file,
            f"line {line}",
            f"duplicate key {key!r}",
            "keep one copy of the key: YAML would silently use the last one",
        )
        for key, line in loader.duplicates
    ]


def read_yaml(path: Path) -> Any:
    """The parsed document; an unreadable file, a syntax error or a duplicate key raises ConfigError naming the
    file, the line and the fix (all of them at once)."""
    data, problems = parse_yaml(path)
    c = Checker(str(path))
    c.problems += problems
    c.raise_if_any(str(path))
    return data


class Checker:
    """Typed getters over a parsed document; each records a Problem and returns None when the value is bad.

    Hooks for a dialect: `describe` shows a bad value, `unknown_key` reports a key no schema lists, and
    `top_level` names the empty key path."""

    top_level = "(top level)"

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def fail(self, path: str, message: str, fix: str = "") -> None:
        """Record one problem at a key path, with its fix when there is one."""
        self.problems.append(Problem(self.file, path or self.top_level, message, fix))

    def raise_if_any(self, what: str) -> None:
        """Raise one ConfigError listing every problem found, if any (one alone keeps its fix as the field)."""
        if len(self.problems) == 1:
            p = self.problems[0]
            raise ConfigError(str(Problem(p.file, p.field, p.message)), fix=p.fix)
        if self.problems:
            raise ConfigError(
                f"{len(self.problems)} problems in {what}:\n" + "\n".join(f"  {p}" for p in self.problems)
            )

    def describe(self, value: Any) -> str:
        """A bad value as messages show it."""
        return shown(value)

    def unknown_key(self, path: str, key: str, keys: Sequence[str]) -> None:
        """Report a key of the mapping at `path` that the schema does not list, with the closest known one."""
        self.fail(path, f"unknown key {key!r} ({did_you_mean(key, keys, 'known')})")

    def unknown_keys(self, value: dict, path: str, keys: Sequence[str]) -> None:
        """Report every key of the mapping at `path` that is not one of `keys`."""
        for key in value:
            if not isinstance(key, str) or key not in keys:
                self.unknown_key(path, str(key), keys)

    def mapping(
        self,
        value: Any,
        path: str,
        keys: Sequence[str] | None = None,
        required: Iterable[str] = (),
        fix: str = "",
    ) -> dict | None:
        """A mapping with only `keys` (unknown keys get a did-you-mean; None: any keys) and every `required` key."""
        if not isinstance(value, dict):
            what = "a mapping" if keys is None else f"a mapping of {', '.join(keys)}"
            self.fail(path, f"expected {what}, got {self.describe(value)}", fix)
            return None
        if keys is not None:
            self.unknown_keys(value, path, keys)
        prefix = f"{path}." if path else ""
        for key in required:
            if key not in value:
                self.fail(f"{prefix}{key}", "missing; this key is required")
        return value

    def text(self, value: Any, path: str, choices: Sequence[str] | None = None, fix: str = "") -> str | None:
        """Non-empty text, one of `choices` when given."""
        if not isinstance(value, str) or not value.strip():
            self.fail(path, f"expected text, got {self.describe(value)}", fix)
            return None
        if choices is not None and value not in choices:
            hint = did_you_mean(value, choices)
            got = f"{self.describe(value)} ({hint})" if hint else self.describe(value)
            self.fail(path, f"expected one of {', '.join(choices)}, got {got}", fix)
            return None
        return value

    def integer(self, value: Any, path: str, minimum: int = 1, fix: str = "") -> int | None:
        """An integer >= `minimum` (booleans and floats are refused: counts must be exact)."""
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            bound = "> 0" if minimum == 1 else f">= {minimum}"
            self.fail(path, f"expected an integer {bound}, got {self.describe(value)}", fix)
            return None
        return value

    def number(
        self,
        value: Any,
        path: str,
        low: float | None = None,
        high: float | None = None,
        above: bool = False,
        fix: str = "",
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
            self.fail(path, f"expected a number{bound}, got {self.describe(value)}", fix)
            return None
        return float(value)

    def boolean(self, value: Any, path: str, fix: str = "") -> bool | None:
        """true or false."""
        if not isinstance(value, bool):
            self.fail(path, f"expected true or false, got {self.describe(value)}", fix)
            return None
        return value

    def sequence(self, value: Any, path: str, non_empty: bool = False, fix: str = "") -> list | None:
        """A list (non-empty when asked)."""
        if not isinstance(value, list) or (non_empty and not value):
            self.fail(path, f"expected a {'non-empty ' if non_empty else ''}list, got {self.describe(value)}", fix)
            return None
        return value


def known(c: Checker, value: Any, path: str, names: Sequence[str], what: str) -> str | None:
    """Text that must be one of `names`; a miss names the closest one, else lists them as the fix."""
    name = c.text(value, path)
    if name is not None and name not in names:
        hint = did_you_mean(name, names)
        if hint:
            c.fail(path, f"unknown {what} {name!r} ({hint})")
        else:
            c.fail(path, f"unknown {what} {name!r}", f"known: {', '.join(names)}")
        return None
    return name
