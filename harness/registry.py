"""A small name -> object registry with lazy "module:attr" entries and helpful misses."""

from __future__ import annotations

import importlib
from typing import Generic, Iterator, TypeVar

from harness.errors import UserError, did_you_mean

T = TypeVar("T")

# Modules to import before a command or a worker runs, named by the organizer (comma-separated): out-of-tree
# backends or tasks that register themselves on import, so that every process of a run has them.
PLUGINS_ENV = "HARNESS_PLUGINS"


def plugin_names() -> list[str]:
    """The modules $HARNESS_PLUGINS names (comma-separated)."""
    import os

    return [n.strip() for n in os.environ.get(PLUGINS_ENV, "").split(",") if n.strip()]


def import_plugins() -> list[str]:
    """Import the modules $HARNESS_PLUGINS names; one that cannot be imported is refused with its name."""
    names = plugin_names()
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as e:
            raise UserError(
                f"${PLUGINS_ENV} names {name!r}, which cannot be imported ({e})",
                fix="put its folder on PYTHONPATH, or remove it from the variable",
            ) from e
    return names


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
            hint = did_you_mean(name, self._entries)
            place = f" ({where})" if where else ""
            raise UserError(
                f"unknown {self.kind} {name!r}{place}",
                fix=f"{hint + ' ' if hint else ''}known: {', '.join(self.names())}",
            )
        entry = self._entries[name]
        if isinstance(entry, str):
            module, _, attr = entry.partition(":")
            entry = importlib.import_module(module)
            if attr:
                entry = getattr(entry, attr)
            self._entries[name] = entry
        return entry  # type: ignore[return-value]

    def remove(self, name: str) -> None:
        """Drop the entry `name` (a plugin or a test that added it takes it back); a name not registered raises."""
        if name not in self._entries:
            raise KeyError(f"{self.kind} {name!r} is not registered")
        del self._entries[name]

    def names(self) -> list[str]:
        """Registered names in registration order."""
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)
