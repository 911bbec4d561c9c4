"""Decode a user's text file (a roster CSV, a flow): BOMs, UTF-16, UTF-8, GBK/GB18030, or a given encoding.

What Excel on a Chinese Windows saves is GBK (GB18030 is its superset), "Unicode text" is UTF-16 with a
BOM, "CSV UTF-8" has a UTF-8 BOM. Bytes that are none of these are refused with the line and column
(in characters) of the first byte that does not decode, never with a bare byte offset. Pure: bytes in,
text out.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

__all__ = ["Decoded", "decode_text"]

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass(frozen=True)
class Decoded:
    """The text and the encoding it was read with; or ``text`` None and ``problem`` at ``line``:``col``."""

    text: str | None
    encoding: str
    line: int = 1
    col: int = 1
    problem: str = ""


def _where(data: bytes, start: int, encoding: str) -> tuple[int, int]:
    """1-based line and column (in characters) of byte ``start``."""
    prefix = data[:start].decode(encoding, errors="replace")
    line = prefix.count("\n") + 1
    return line, len(prefix) - (prefix.rfind("\n") + 1) + 1


def _utf16_without_bom(data: bytes) -> str | None:
    """'utf-16-le'/'utf-16-be' when most characters have a zero high byte (ASCII text saved as UTF-16)."""
    if len(data) < 4 or len(data) % 2:
        return None
    sample = data[:4096]
    half = len(sample) // 2
    even = sample[0::2].count(0)
    odd = sample[1::2].count(0)
    if odd >= half * 0.3 and even == 0:
        return "utf-16-le"
    if even >= half * 0.3 and odd == 0:
        return "utf-16-be"
    return None


def _looks_like_gbk(data: bytes) -> bool:
    """True when every multi-byte character is a GB18030 one and most are in the GB2312 range (A1-FE A1-FE).

    Latin-1 text (``J\\xfcrgen``) also decodes as GB18030, but into rare extension characters whose
    second byte is ASCII; real Chinese text is almost all GB2312 characters.
    """
    i, n, common, multi = 0, len(data), 0, 0
    while i < n:
        b = data[i]
        if b < 0x80:
            i += 1
            continue
        if not 0x81 <= b <= 0xFE or i + 1 >= n:
            return False
        t = data[i + 1]
        if 0x30 <= t <= 0x39:  # a four-byte GB18030 sequence
            multi += 1
            i += 4
            continue
        multi += 1
        if 0xA1 <= b <= 0xF7 and 0xA1 <= t <= 0xFE:
            common += 1
        i += 2
    return multi > 0 and common >= 0.8 * multi


def decode_text(data: bytes, encoding: str | None = None) -> Decoded:
    """Decode ``data``: with ``encoding`` if given, else by BOM, UTF-16 shape, UTF-8, then GBK/GB18030."""
    if encoding:
        try:
            name = codecs.lookup(encoding).name
        except LookupError:
            return Decoded(None, encoding, problem=f"unknown encoding {encoding!r} (e.g. utf-8, gb18030, utf-16, "
                                                   "cp1252)")
        if name == "utf-8" and data.startswith(codecs.BOM_UTF8):
            name = "utf-8-sig"
        try:
            return Decoded(data.decode(name), name)
        except UnicodeDecodeError as exc:
            line, col = _where(data, exc.start, name)
            return Decoded(None, name, line, col, f"not {encoding} text (byte 0x{data[exc.start]:02x})")
    for bom, name in _BOMS:
        if data.startswith(bom):
            try:
                return Decoded(data.decode(name), name)
            except UnicodeDecodeError as exc:
                line, col = _where(data, exc.start, name)
                return Decoded(None, name, line, col, f"not {name} text although it starts with a {name} BOM")
    wide = _utf16_without_bom(data)
    if wide is not None:
        try:
            return Decoded(data.decode(wide), wide)
        except UnicodeDecodeError:
            pass
    try:
        return Decoded(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError as exc:
        first = exc
    if _looks_like_gbk(data):
        try:
            return Decoded(data.decode("gb18030"), "gb18030")
        except UnicodeDecodeError:
            pass
    line, col = _where(data, first.start, "utf-8")
    return Decoded(None, "utf-8", line, col,
                   f"not UTF-8 text (byte 0x{data[first.start]:02x}), nor GBK/GB18030 or UTF-16")
