"""Terminal output shared by every command: UTF-8 JSON, a console that never cuts a piped row, plain TSV."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import IO, Any

from rich.console import Console

__all__ = ["PIPE_WIDTH", "dumps", "is_tty", "out_console", "tsv"]

#: The width a console gets when stdout is not a terminal: wide enough that no table row is cut.
PIPE_WIDTH = 100_000


def dumps(data: Any, *, indent: int | None = None) -> str:
    """JSON text with non-ASCII characters as themselves (``李雷``, not ``\\u674e\\u96f7``)."""
    return json.dumps(data, indent=indent, default=str, ensure_ascii=False)


def is_tty(stream: IO[str] | None = None) -> bool:
    """Whether ``stream`` (stdout by default) is a terminal."""
    s = sys.stdout if stream is None else stream
    try:
        return bool(s.isatty())
    except (AttributeError, ValueError):
        return False


def out_console(*, stderr: bool = False, **kw: Any) -> Console:
    """A rich console; when its stream is not a terminal it is so wide that tables are printed whole."""
    stream = sys.stderr if stderr else sys.stdout
    if not is_tty(stream):
        kw.setdefault("width", PIPE_WIDTH)
    return Console(stderr=stderr, **kw)


def _tsv_field(text: str) -> str:
    return text.replace("\t", " ").replace("\r", " ").replace("\n", " ")


def tsv(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Tab-separated lines (header first; tabs and newlines inside a value become spaces)."""
    lines = ["\t".join(_tsv_field(h) for h in header)]
    lines.extend("\t".join(_tsv_field(v) for v in row) for row in rows)
    return "\n".join(lines) + "\n"
