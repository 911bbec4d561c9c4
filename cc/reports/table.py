"""A report as data: typed columns and rows of plain values, what every exporter and the CLI render."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["KINDS", "Column", "Report"]

#: Column kinds: how a value is typed in xlsx, formatted in tables and serialized in JSON.
KINDS = ("text", "int", "float", "seconds", "ratio", "datetime", "bool")


@dataclass(frozen=True)
class Column:
    """One column: the row key, its header, its kind (see KINDS) and what it means."""

    key: str
    title: str
    kind: str = "int"
    help: str = ""


@dataclass
class Report:
    """A named report: its columns, its rows (dicts keyed by column key) and its time zone name.

    ``rows`` may be a one-shot iterator (the calls report streams); ``definitions`` maps each column
    title to its definition for the definitions sheet.
    """

    name: str
    columns: list[Column]
    rows: Iterable[Mapping[str, Any]]
    tz: str = "UTC"
    meta: dict[str, Any] = field(default_factory=dict)

    def iter_rows(self) -> Iterator[Mapping[str, Any]]:
        """The rows, once (a list can be iterated again; a generator cannot)."""
        return iter(self.rows)

    def materialize(self) -> Report:
        """The same report with its rows in a list (for rendering twice)."""
        if not isinstance(self.rows, list):
            self.rows = list(self.rows)
        return self
