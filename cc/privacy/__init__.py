"""Personal data: number masking, reveals, retention of history and a customer's export/erasure requests."""

from __future__ import annotations
