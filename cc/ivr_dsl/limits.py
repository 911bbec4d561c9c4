"""Limits shared by the flow checker and the interpreter (a module both import, so neither imports the other)."""

from __future__ import annotations

__all__ = ["MAX_STEPS"]

#: Most nodes a run may pass through without waiting for a result before it is stopped as runaway.
MAX_STEPS = 1000
