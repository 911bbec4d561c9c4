"""Event Socket layer: the only package that talks to FreeSWITCH (and the only one importing greenswitch).

``cc.esl.protocol`` and ``cc.esl.capture`` are pure; ``Switch``, ``Job`` (inbound), ``OutboundServer`` and
``CallChannel`` (outbound) need gevent and are imported lazily from here.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["CallChannel", "Event", "Frame", "FrameParser", "Job", "OutboundServer", "Switch"]

_WHERE = {"CallChannel": "cc.esl.outbound", "OutboundServer": "cc.esl.outbound", "Job": "cc.esl.inbound",
          "Switch": "cc.esl.inbound", "Event": "cc.esl.protocol", "Frame": "cc.esl.protocol",
          "FrameParser": "cc.esl.protocol"}


def __getattr__(name: str) -> Any:
    """Import the public classes on first use (keeps ``import cc.esl.protocol`` free of gevent)."""
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'cc.esl' has no attribute {name!r}")
