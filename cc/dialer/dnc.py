"""Do-not-call lists: sets of E.164 numbers, global or per campaign, checked before every dial."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["DncList", "normalize"]


def normalize(number: str) -> str:
    """The key a number is listed under: E.164 without spaces, dashes or brackets (``+8613800138000``)."""
    return "".join(ch for ch in number.strip() if ch.isdigit() or ch == "+")


class DncList:
    """A do-not-call list; share one object between dialers for a global list."""

    def __init__(self, numbers: Iterable[str] = (), name: str = "campaign") -> None:
        self.name = name
        self._numbers = {normalize(n) for n in numbers}

    def add(self, number: str) -> None:
        """List ``number``: it is not dialed from the next dial decision on."""
        self._numbers.add(normalize(number))

    def discard(self, number: str) -> None:
        """Unlist ``number``."""
        self._numbers.discard(normalize(number))

    def __contains__(self, number: object) -> bool:
        """True when ``number`` is listed."""
        return isinstance(number, str) and normalize(number) in self._numbers

    def __len__(self) -> int:
        """How many numbers are listed."""
        return len(self._numbers)
