"""A small name -> object registry with lazy "module:attr" entries and helpful misses."""

from __future__ import annotations

import difflib
import importlib
from typing import Generic, Iterator, TypeVar

from harness.errors import UserError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to objects; an entry may be a "module:attr" or "module" string, imported on first use."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T | str] = {}

    def add(self, name: str, obj: T | str) -> None:
        """Register `obj` under `name`; registering a name twice is a bug and raises."""
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = obj

    def get(self, name: str, where: str = "") -> T:
        """The object named `name`; a miss raises UserError naming close matches and all known names."""
        if name not in self._entries:
            close = difflib.get_close_matches(name, list(self._entries), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            place = f" ({where})" if where else ""
            raise UserError(f"unknown {self.kind} {name!r}{place}{hint} known: {', '.join(self.names())}")
        entry = self._entries[name]
        if isinstance(entry, str):
            module, _, attr = entry.partition(":")
            entry = importlib.import_module(module)
            if attr:
                entry = getattr(entry, attr)
            self._entries[name] = entry
        return entry  # type: ignore[return-value]

    def names(self) -> list[str]:
        """Registered names in registration order."""
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)
