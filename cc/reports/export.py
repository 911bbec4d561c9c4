"""Report exports: CSV, JSON and xlsx (typed cells, widths, frozen header, a definitions sheet).

Every writer streams the rows it is given (xlsx in openpyxl's write-only mode), so the calls report
of a large range never sits in memory whole. Files are written to a temporary name and renamed into
place, so a failure never leaves half a file behind.
"""

from __future__ import annotations

import csv
import datetime
import json
import math
import os
import tempfile
import zoneinfo
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from copy import copy
from pathlib import Path
from typing import IO, Any

from cc.errors import InvalidValue
from cc.reports.table import Column, Report

__all__ = ["cell_value", "csv_value", "json_value", "meta_text", "ordinary_mode", "write_csv", "write_json",
           "write_xlsx"]

_FORMATS = {"int": "0", "float": "0.00", "seconds": "[h]:mm:ss", "ratio": "0.0%", "datetime": "yyyy-mm-dd hh:mm:ss"}
#: Decimals a CSV figure keeps: what it means, not the float's noise (8.77281698129945 s -> 8.8).
_DECIMALS = {"seconds": 1, "ratio": 4, "float": 2}
_WIDTHS = {"int": 10, "float": 10, "seconds": 10, "ratio": 10, "datetime": 20, "bool": 8, "text": 14}


def _local(epoch: float, tz: str) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(epoch, zoneinfo.ZoneInfo(tz))


def json_value(col: Column, value: Any, tz: str) -> Any:
    """A value as JSON wants it: datetimes as local ISO strings, NaN/inf as null."""
    if value is None:
        return None
    if col.kind == "datetime":
        return _local(float(value), tz).isoformat(timespec="seconds")
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def csv_value(col: Column, value: Any, tz: str) -> Any:
    """A value as CSV shows it: like JSON, with figures rounded to what they mean (0.1 s, 0.01 %)."""
    v = json_value(col, value, tz)
    places = _DECIMALS.get(col.kind)
    if places is not None and isinstance(v, int | float) and not isinstance(v, bool):
        return round(float(v), places)
    return v


def cell_value(col: Column, value: Any, tz: str) -> Any:
    """A value as a spreadsheet cell wants it: naive local datetimes, durations as times, numbers as numbers."""
    if value is None:
        return None
    if col.kind == "datetime":
        return _local(float(value), tz).replace(tzinfo=None)
    if col.kind == "int":
        return int(value)
    if col.kind == "seconds":
        d = float(value)
        return datetime.timedelta(seconds=d) if math.isfinite(d) else None
    if col.kind in ("float", "ratio"):
        v = float(value)
        return v if math.isfinite(v) else None
    if col.kind == "bool":
        return bool(value)
    return str(value)


def ordinary_mode(path: str | Path) -> None:
    """Give ``path`` the mode a plain ``open()`` would (0666 less the umask), not mkstemp's 0600."""
    mask = os.umask(0o022)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)


def meta_text(key: str, value: Any, tz: str) -> str:
    """A report parameter in words: the window as local date/times, no filter as ``(all)``."""
    if value is None:
        return "(all)"
    if key in ("from", "to") and isinstance(value, int | float):
        return f"{_local(float(value), tz).strftime('%Y-%m-%d %H:%M:%S')} ({tz})"
    if key.endswith("_s") and isinstance(value, int | float):
        return f"{value:g} s"
    return str(value)


@contextmanager
def _atomic(path: str | Path, mode: str = "w") -> Iterator[IO[Any]]:
    """Write to a temporary file beside ``path`` and rename it into place on success."""
    target = Path(path)
    if target.is_dir():
        raise InvalidValue("file", str(path), "is a directory")
    if not target.parent.exists():
        raise InvalidValue("file", str(path), f"directory {str(target.parent)!r} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, mode, newline="" if "b" not in mode else None,
                       encoding=None if "b" in mode else "utf-8") as fh:
            yield fh
        ordinary_mode(tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_csv(report: Report, path: str | Path, *, progress: Callable[[int], None] | None = None) -> int:
    """Write one report as CSV (header = column titles; datetimes local ISO); returns rows written."""
    n = 0
    with _atomic(path) as fh:
        w = csv.writer(fh)
        w.writerow([c.title for c in report.columns])
        for row in report.iter_rows():
            w.writerow(["" if (v := csv_value(c, row.get(c.key), report.tz)) is None else v
                        for c in report.columns])
            n += 1
            if progress is not None and n % 10_000 == 0:
                progress(n)
    return n


def write_json(reports: Sequence[Report], fh: IO[str]) -> None:
    """Write reports as one JSON object ``{name: [row, ...]}`` (rows keyed by column key), streaming."""
    fh.write("{")
    for i, rep in enumerate(reports):
        fh.write(("," if i else "") + json.dumps(rep.name, ensure_ascii=False) + ": [")
        for j, row in enumerate(rep.iter_rows()):
            obj = {c.key: json_value(c, row.get(c.key), rep.tz) for c in rep.columns}
            fh.write(("," if j else "") + "\n  " + json.dumps(obj, ensure_ascii=False))
        fh.write("\n]")
    fh.write("}\n")


def write_xlsx(reports: Sequence[Report], path: str | Path, *,
               meta: Mapping[str, Any] | None = None, progress: Callable[[int], None] | None = None) -> int:
    """Write one sheet per report plus a ``Definitions`` sheet; returns the data rows written.

    Cells are typed (numbers, local date/times, percentages formatted as such), columns have widths,
    the header row is frozen and bold.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    total = 0
    for rep in reports:
        ws = wb.create_sheet(rep.name[:31])
        ws.freeze_panes = "A2"
        for i, c in enumerate(rep.columns, start=1):
            width = max(_WIDTHS.get(c.kind, 12), min(40, len(c.title) + 2))
            ws.column_dimensions[get_column_letter(i)].width = width
        header = []
        for c in rep.columns:
            cell = WriteOnlyCell(ws, value=c.title)
            cell.font = bold
            header.append(cell)
        ws.append(header)
        # One styled template cell per formatted column; its style id is shared by every cell below.
        styled: list[Any] = []
        for c in rep.columns:
            fmt = _FORMATS.get(c.kind)
            if fmt is None:
                styled.append(None)
                continue
            tpl = WriteOnlyCell(ws)
            tpl.number_format = fmt
            styled.append(tpl._style)
        cols = list(zip(rep.columns, styled, strict=True))
        tz = rep.tz
        for row in rep.iter_rows():
            cells: list[Any] = []
            for c, style in cols:
                value = cell_value(c, row.get(c.key), tz)
                if style is None or value is None:
                    cells.append(value)  # a plain value: openpyxl types it, General format
                else:
                    cell = WriteOnlyCell(ws, value=value)
                    cell._style = copy(style)
                    cells.append(cell)
            ws.append(cells)
            total += 1
            if progress is not None and total % 10_000 == 0:
                progress(total)
    ws = wb.create_sheet("Definitions")
    ws.freeze_panes = "A2"
    for letter, width in zip("ABCD", (12, 22, 10, 90), strict=True):
        ws.column_dimensions[letter].width = width
    head = []
    for title in ("Report", "Column", "Kind", "Definition"):
        cell = WriteOnlyCell(ws, value=title)
        cell.font = bold
        head.append(cell)
    ws.append(head)
    for rep in reports:
        for c in rep.columns:
            ws.append([rep.name, c.title, c.kind, c.help])
    tz = reports[0].tz if reports else "UTC"
    for key, value in (meta or {}).items():
        ws.append(["(report)", str(key), "text", meta_text(key, value, tz)])
    with _atomic(path, "wb") as fh:
        wb.save(fh)
    return total
