"""Problems found in a flow: one message per problem, formatted ``file:line:col: path: what (hint: ...)``."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from cc.errors import FlowError

__all__ = ["Pos", "Problem", "Severity", "raise_if_errors"]


class Severity(enum.StrEnum):
    """How bad a problem is: errors stop a flow from loading, warnings do not."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Pos:
    """A 1-based line and column in a file."""

    line: int = 1
    col: int = 1


@dataclass(frozen=True)
class Problem:
    """One error or warning about a flow file, located by file, line, column and YAML path."""

    file: str
    line: int
    col: int
    path: str
    message: str
    severity: Severity = Severity.ERROR
    hint: str = ""

    def __str__(self) -> str:
        """Return ``file:line:col: path: message`` plus `` (hint: ...)`` when there is a hint."""
        where = f"{self.path}: " if self.path else ""
        hint = f" (hint: {self.hint})" if self.hint else ""
        return f"{self.file}:{self.line}:{self.col}: {where}{self.message}{hint}"

    @property
    def is_error(self) -> bool:
        """True for errors, False for warnings."""
        return self.severity is Severity.ERROR

    def to_dict(self) -> dict[str, Any]:
        """Return the problem as a JSON-ready dict."""
        return {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "path": self.path,
            "severity": str(self.severity),
            "message": self.message,
            "hint": self.hint,
            "text": str(self),
        }


def raise_if_errors(problems: list[Problem]) -> None:
    """Raise one FlowError carrying every problem when any of them is an error."""
    errors = [p for p in problems if p.is_error]
    if not errors:
        return
    first = errors[0]
    more = f" (and {len(errors) - 1} more error{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    raise FlowError(str(first) + more, file=first.file, line=first.line, path=first.path, problems=list(problems))
