"""Lead files (CSV/XLSX rows) to checked lead rows: header synonyms, E.164 numbers, time zones, row problems.

Pure: header names and cells in, :class:`LeadInput` and :class:`RowProblem` out; the reading of the file
(encodings, delimiters, formulas) is cc.commands.io's, the database checks (duplicates against the campaign,
do-not-call, customers) are cc.store.campaigns'. Headers are matched case-insensitively, in Chinese or English
(``姓名``/``name``, ``电话``/``phone``, ``手机``/``mobile``, ``座机``/``landline`` ...); a trailing number or
``#`` is ignored (``电话2``, ``phone 3``), so several columns may hold numbers, and one cell may hold several
numbers separated by ``;`` ``,`` ``/`` ``、`` or their full-width forms. Unknown columns are kept as the lead's
extra fields.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import phonenumbers
from phonenumbers import timezone as phone_timezone

from cc.errors import InvalidValue

__all__ = [
    "FIELDS",
    "PHONE_FIELDS",
    "SYNONYMS",
    "ColumnMap",
    "LeadInput",
    "RowProblem",
    "check_lead_row",
    "column_letter",
    "map_columns",
    "number_timezone",
    "parse_map_option",
    "to_e164",
]

#: The fields a column can map to; ``extra`` keeps the column under its header, ``ignore`` drops it.
FIELDS = ("name", "phone", "mobile", "landline", "address", "note", "tz", "priority", "owner", "email",
          "customer_type", "extra", "ignore")
#: The fields whose cells are phone numbers (labelled by field on the customer's numbers).
PHONE_FIELDS = ("phone", "mobile", "landline")

#: Header -> field (lower case; a trailing number, ``#``, ``.`` or space is stripped before the lookup).
SYNONYMS: Mapping[str, str] = {
    **dict.fromkeys(("name", "full name", "customer", "customer name", "contact", "contact name", "姓名", "名字",
                     "客户", "客户名", "客户名称", "客户姓名", "联系人", "名称"), "name"),
    **dict.fromkeys(("phone", "phone number", "phones", "tel", "telephone", "number", "电话", "电话号码", "联系电话",
                     "号码", "联系方式"), "phone"),
    **dict.fromkeys(("mobile", "mobile phone", "cell", "cellphone", "cell phone", "手机", "手机号", "手机号码",
                     "移动电话"), "mobile"),
    **dict.fromkeys(("landline", "office phone", "home phone", "work phone", "fixed line", "座机", "座机号码", "固话",
                     "固定电话", "办公电话", "家庭电话"), "landline"),
    **dict.fromkeys(("address", "addr", "地址", "联系地址", "住址", "通讯地址"), "address"),
    **dict.fromkeys(("note", "notes", "remark", "remarks", "comment", "comments", "备注", "说明", "备注信息"), "note"),
    **dict.fromkeys(("tz", "timezone", "time zone", "时区"), "tz"),
    **dict.fromkeys(("priority", "prio", "优先级"), "priority"),
    **dict.fromkeys(("owner", "agent", "owner agent", "坐席", "归属坐席", "负责人", "业务员", "坐席工号"), "owner"),
    **dict.fromkeys(("email", "e-mail", "mail", "邮箱", "电子邮件", "电子邮箱"), "email"),
    **dict.fromkeys(("customer type", "customer_type", "type", "客户类型", "类型"), "customer_type"),
}

_TRAILING = re.compile(r"[\s#.\-_]*\d+$")
_SPLIT = re.compile("[;,/、\uff1b\uff0c|\n]+")  # also the full-width ; and ,
_LONGEST_NUMBER = 40


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA (as a spreadsheet names its columns)."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(ord("A") + rem) + out
    return out


@dataclass(frozen=True)
class RowProblem:
    """Why a row (or one cell of it) was not imported; ``column`` is ``C (电话)`` or empty for the whole row.

    ``kind``: ``error`` (bad data: blocks the import unless partial), ``duplicate`` (a number already in the
    file or the campaign) or ``dnc`` (a number on a do-not-call list): those two are reported, not imported.
    """

    row: int
    column: str
    reason: str
    kind: str = "error"


@dataclass(frozen=True)
class ColumnMap:
    """Which field each column of the file holds (by column index), and each column's display name."""

    fields: tuple[str, ...]
    names: tuple[str, ...]

    def label(self, index: int) -> str:
        """``C (电话)``: the column's letter and its header."""
        name = self.names[index] if index < len(self.names) else ""
        return f"{column_letter(index)} ({name})" if name else column_letter(index)

    @property
    def phone_columns(self) -> list[int]:
        """Indexes of the columns holding phone numbers."""
        return [i for i, f in enumerate(self.fields) if f in PHONE_FIELDS]


def parse_map_option(items: Sequence[str]) -> dict[str, str]:
    """``["客户电话=phone", "Col C=mobile"]`` -> {header (lower case): field}; InvalidValue otherwise."""
    out: dict[str, str] = {}
    for item in items:
        column, sep, target = item.partition("=")
        column, target = column.strip().lower(), target.strip().lower()
        if not sep or not column or not target:
            raise InvalidValue("--map", item, "expected COLUMN=FIELD (e.g. 客户电话=phone)")
        if target not in FIELDS:
            raise InvalidValue("--map", item, f"unknown field {target!r} (known: {', '.join(FIELDS)})")
        out[column] = target
    return out


def _field_of(header: str) -> str | None:
    key = " ".join(header.strip().lower().replace("_", " ").split())
    if key in SYNONYMS:
        return SYNONYMS[key]
    bare = _TRAILING.sub("", key)
    return SYNONYMS.get(bare) if bare else None


def map_columns(header: Sequence[str], mapping: Mapping[str, str] | None = None) -> ColumnMap:
    """The field of every column: ``mapping`` (from --map) first, then the synonyms, else ``extra``.

    InvalidValue when no column holds phone numbers, when a single-valued field (name, tz ...) is given by two
    columns, or when ``mapping`` names a column the file does not have.
    """
    names = tuple(h.strip() for h in header)
    lowered = [n.lower() for n in names]
    mapping = dict(mapping or {})
    for column in mapping:
        if column not in lowered and not (len(column) <= 3 and column.isalpha() and column.isascii()):
            raise InvalidValue("--map", column, f"no such column (columns: {', '.join(n for n in names if n)})")
    fields: list[str] = []
    for i, name in enumerate(lowered):
        target = mapping.get(name) or mapping.get(column_letter(i).lower())
        if target is None:
            target = _field_of(name) if name else "ignore"
        fields.append(target or "extra")
    single = [f for f in FIELDS if f not in PHONE_FIELDS and f not in ("extra", "ignore")]
    for f in single:
        where = [i for i, x in enumerate(fields) if x == f]
        if len(where) > 1:
            cols = ", ".join(ColumnMap(tuple(fields), names).label(i) for i in where)
            raise InvalidValue("header", f, f"given by several columns ({cols}); keep one or use --map COLUMN=extra")
    cmap = ColumnMap(tuple(fields), names)
    if not cmap.phone_columns:
        raise InvalidValue("header", ", ".join(n for n in names if n),
                           "no phone column (电话/手机/座机, phone/mobile/landline); name one with --map COLUMN=phone")
    return cmap


def to_e164(text: str, region: str) -> str:
    """One number in E.164 (``+8613800138000``); InvalidValue saying why it is not one."""
    return _parse(text, region)[0]


def _parse(text: str, region: str) -> tuple[str, phonenumbers.PhoneNumber]:
    """(E.164, the parsed number); InvalidValue saying why it is not one."""
    raw = text.strip()
    if len(raw) > _LONGEST_NUMBER:
        raise InvalidValue("number", raw[:_LONGEST_NUMBER] + "...", "too long for a phone number")
    if re.fullmatch(r"\d(\.\d+)?[eE]\+?\d+", raw):
        raise InvalidValue("number", raw, "a number Excel shortened to scientific notation: format the column "
                                          "as text in Excel and enter the digits again")
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidValue("number", raw, f"not a phone number ({exc})") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidValue("number", raw, f"not a valid phone number for region {region}"
                           if not raw.startswith("+") else "not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), parsed


def number_timezone(number: str | phonenumbers.PhoneNumber, default: str) -> str:
    """The IANA zone of an E.164 number (phonenumbers' geocoding), ``default`` when unknown or ambiguous.

    A number whose prefix spans several zones (most of a large country's mobiles) gets ``default`` when it is
    one of them, else the first zone listed.
    """
    try:
        parsed = number if isinstance(number, phonenumbers.PhoneNumber) else phonenumbers.parse(number)
    except phonenumbers.NumberParseException:
        return default
    zones = phone_timezone.time_zones_for_number(parsed)
    known = [z for z in zones if z != "Etc/Unknown"]
    if not known:
        return default
    if len(known) > 1 and default in known:
        return default
    return known[0]


def valid_tz(text: str) -> str | None:
    """``text`` when it is an IANA time zone name (Asia/Shanghai), else None."""
    try:
        zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None
    return text


@dataclass
class LeadInput:
    """One checked row: numbers in E.164 with their labels (mobile, phone ...), fields, extra fields."""

    row: int
    numbers: list[tuple[str, str]]
    name: str = ""
    tz: str = ""
    priority: int = 0
    owner: str | None = None
    email: str | None = None
    customer_type: str | None = None
    note: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    number_columns: dict[str, str] = field(default_factory=dict)   # E.164 -> column label (for reports)


def check_lead_row(cmap: ColumnMap, row: int, cells: Sequence[str], *, region: str, default_tz: str,
                   read_problems: Sequence[str] = (), agents: set[str] | None = None,
                   customer_types: Mapping[str, str] | None = None) -> tuple[LeadInput | None, list[RowProblem]]:
    """One row -> (LeadInput, []) or (None, every problem of the row, each with its column).

    ``agents``: known agent ids (an owner must be one); ``customer_types``: code or label (lower case) -> code.
    Numbers repeated within the row are kept once.
    """
    problems = [RowProblem(row, "", p) for p in read_problems]
    if len(cells) > len(cmap.fields):
        problems.append(RowProblem(row, column_letter(len(cmap.fields)),
                                   f"row has {len(cells)} cells but the header names {len(cmap.fields)} columns"))
    lead = LeadInput(row, [])
    seen: set[str] = set()
    first: phonenumbers.PhoneNumber | None = None
    for i, target in enumerate(cmap.fields):
        value = cells[i].strip() if i < len(cells) else ""
        if not value or target == "ignore":
            continue
        col = cmap.label(i)
        if target in PHONE_FIELDS:
            for part in _SPLIT.split(value):
                if not part.strip():
                    continue
                try:
                    e164, parsed = _parse(part, region)
                except InvalidValue as exc:
                    problems.append(RowProblem(row, col, f"{part.strip()!r}: {exc.why}"))
                    continue
                if e164 not in seen:
                    seen.add(e164)
                    first = first or parsed
                    lead.numbers.append((e164, target))
                    lead.number_columns[e164] = col
        elif target == "name":
            lead.name = value[:128]
        elif target == "tz":
            if valid_tz(value) is None:
                problems.append(RowProblem(row, col, f"{value!r}: not an IANA time zone (e.g. Asia/Shanghai)"))
            lead.tz = value
        elif target == "priority":
            try:
                lead.priority = int(float(value)) if re.fullmatch(r"-?\d+(\.0+)?", value) else int(value)
            except ValueError:
                problems.append(RowProblem(row, col, f"{value!r}: expected a whole number"))
        elif target == "owner":
            if agents is not None and value not in agents:
                problems.append(RowProblem(row, col, f"{value!r}: no such agent"))
            lead.owner = value
        elif target == "email":
            lead.email = value[:128]
        elif target == "customer_type":
            code = (customer_types or {}).get(value.lower())
            if code is None:
                known = ", ".join(sorted(set((customer_types or {}).values()))) or "none defined"
                problems.append(RowProblem(row, col, f"{value!r}: no such customer type (known: {known})"))
            lead.customer_type = code
        elif target == "note":
            lead.note = value
        else:  # address and extra columns are kept on the lead
            key = "address" if target == "address" else (cmap.names[i] or column_letter(i))
            lead.extra[key] = value
    if not lead.numbers and not any(p.column and cmap.fields[_index(p.column)] in PHONE_FIELDS
                                    for p in problems if p.column and _index(p.column) < len(cmap.fields)):
        cols = ", ".join(cmap.label(i) for i in cmap.phone_columns)
        problems.append(RowProblem(row, cols, "no phone number"))
    if problems:
        return None, problems
    if not lead.tz:
        lead.tz = number_timezone(first if first is not None else lead.numbers[0][0], default_tz)
    return lead, []


def _index(label: str) -> int:
    """The column index of a label such as ``C (电话)``."""
    letters = label.split(" ", 1)[0]
    n = 0
    for ch in letters:
        if not ch.isalpha():
            return 1 << 30
        n = n * 26 + (ord(ch.upper()) - ord("A") + 1)
    return n - 1
