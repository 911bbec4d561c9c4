"""Retention periods per data type (pure): what cc.yaml's ``retention:`` says, read without the store.

Example::

    retention:
      recordings: 180d         # h, d, w, m (30 days), y (365 days); forever (the default) keeps everything
      call_records: 2y
      interactions: 3y
      leads: 1y
      audit: 6y
      interval: 1h             # `ccctl serve` runs the job this often
      batch: 2000              # rows per delete transaction
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from cc.errors import InvalidValue

__all__ = ["DATA_TYPES", "MAX_AGE_S", "RetentionPolicy", "parse_age"]

#: The data types a retention period is given for.
DATA_TYPES = ("recordings", "call_records", "interactions", "leads", "audit")

_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(h|d|w|m|y)\s*$")
_UNITS = {"h": 3600.0, "d": 86400.0, "w": 7 * 86400.0, "m": 30 * 86400.0, "y": 365 * 86400.0}
#: The longest period: ``now - period`` must stay a date (the job's cut); longer is what ``forever`` says.
MAX_AGE_S = 1000 * 365 * 86400.0


def parse_age(value: object) -> float | None:
    """Seconds from ``36h``, ``180d``, ``26w``, ``6m`` (30 days), ``2y`` (365 days); None for ``forever``/``off``.

    ValueError for anything else (a bare number has no unit: write 90d, not 90; more than 1000y: write forever)."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("forever", "off", "keep")):
        return None
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(f"not a retention period: {value!r} (write 180d, 26w, 6m, 2y or forever)")
    m = _AGE.match(value)
    if not m:
        raise ValueError(f"not a retention period: {value!r} (write 180d, 26w, 6m, 2y or forever)")
    seconds = float(m.group(1)) * _UNITS[m.group(2)]
    if seconds <= 0:
        raise ValueError(f"a retention period must be more than 0, not {value!r} (forever keeps everything)")
    if seconds > MAX_AGE_S:
        raise ValueError(f"a retention period is at most 1000y, not {value!r} (forever keeps everything)")
    return seconds


@dataclass(frozen=True)
class RetentionPolicy:
    """How long each data type is kept (None: forever) and how the job runs."""

    periods: Mapping[str, float | None] = field(default_factory=lambda: dict.fromkeys(DATA_TYPES))
    interval_s: float = 3600.0     # `ccctl serve` runs the job this often
    batch: int = 2000              # rows per delete transaction
    pause_s: float = 0.02          # between batches: the controller's writes go first

    def __post_init__(self) -> None:
        unknown = set(self.periods) - set(DATA_TYPES)
        if unknown:
            raise InvalidValue("retention", ", ".join(sorted(unknown)), f"known: {', '.join(DATA_TYPES)}")
        if self.batch < 1:
            raise InvalidValue("retention.batch", self.batch, "must be at least 1")

    @property
    def active(self) -> bool:
        """Whether any data type has a period (else the job has nothing to do)."""
        return any(v is not None for v in self.periods.values())


