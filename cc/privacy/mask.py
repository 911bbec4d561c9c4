"""Phone-number masking (pure): 138****1234 for a Chinese mobile, a rule by length for the rest.

The rule (docs/privacy.md): a number's digits after its country code (``+CC`` or ``00CC``) are its
national part of ``n`` digits. Numbers of fewer than 7 digits (extensions, service codes such as
7000 or 10086) are not personal numbers and stay as they are. Otherwise at least
``max(4, ceil(n / 3))`` digits are hidden, at most the last 4 and then the first 3 stay visible::

    13812341234      -> 138****1234        (11 digits: 3 + 4 visible)
    +8613812341234   -> +86138****1234     (country code kept)
    008613812341234  -> +86138****1234     (00 written as +)
    62345678         -> ****5678           (8 digits: last 4)
    4155551234       -> 41****1234         (10 digits)
    1234567          -> ****567            (7 digits: last 3)

``mask_text`` masks every number-shaped run (an optional ``+`` and 7 or more digits not glued to
letters, dots or dashes, so UUIDs, times and decimals are left alone) inside free text such as a
log line or a dial string; ``mask_payload`` walks JSON-like data. Every function is pure.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["MIN_DIGITS", "NUMBER_RE", "mask_number", "mask_payload", "mask_text"]

#: Fewer digits than this (after the country code) are extensions or service codes: not masked.
MIN_DIGITS = 7

#: A number-shaped run in free text: optional + (or 00), 7+ digits, not inside a word, decimal or UUID.
NUMBER_RE = re.compile(r"(?<![\w.\-*+])\+?\d{7,}(?![\w.\-])")

#: ITU-T E.164 country codes of one and two digits; every other code has three.
_CC1 = frozenset({"1", "7"})
_CC2 = frozenset({"20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46",
                  "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63",
                  "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98"})


def _split_country(digits: str) -> tuple[str, str]:
    """(country code, national digits) of an international number's digits (without + or 00)."""
    if digits[:1] in _CC1:
        return digits[:1], digits[1:]
    if digits[:2] in _CC2:
        return digits[:2], digits[2:]
    return digits[:3], digits[3:]


def _mask_digits(digits: str, *, short: bool = False) -> str:
    """The national digits with the middle hidden (unchanged below MIN_DIGITS unless ``short``: the
    national part of an international number, always masked)."""
    n = len(digits)
    if n < MIN_DIGITS and not short:
        return digits
    hide = min(n, max(4, math.ceil(n / 3)))
    visible = n - hide
    tail = min(4, visible)
    head = min(3, visible - tail)
    return digits[:head] + "*" * (n - head - tail) + digits[n - tail:]


def _mask_run(run: str) -> str:
    """One number-shaped run: +CC / 00CC kept (as +CC), the national part masked."""
    if run.startswith("+"):
        cc, national = _split_country(run[1:])
        return "+" + cc + _mask_digits(national, short=len(run) > MIN_DIGITS)
    if run.startswith("00") and len(run) > 2 + MIN_DIGITS:
        cc, national = _split_country(run[2:])
        return "+" + cc + _mask_digits(national, short=True)
    return _mask_digits(run)


def mask_number(number: str | None) -> str:
    """A phone number (or a text holding one, such as a dial string) with its middle digits hidden."""
    if not number:
        return ""
    text = str(number)
    if (text[1:] if text.startswith("+") else text).isdigit():
        digits = text.lstrip("+")
        if text.startswith("+") or len(digits) >= MIN_DIGITS:
            return _mask_run(text)
        return text
    return mask_text(text)


def mask_text(text: str) -> str:
    """``text`` with every number-shaped run masked (see NUMBER_RE); other characters unchanged."""
    if not text or not any(c.isdigit() for c in text):
        return text
    return NUMBER_RE.sub(lambda m: _mask_run(m.group(0)), text)


def mask_payload(value: Any) -> Any:
    """JSON-like data (dicts, lists, tuples, strings) with every string's numbers masked; keys kept."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {k: mask_payload(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_payload(v) for v in value]
    return value
