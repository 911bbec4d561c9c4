"""The controller's runtime: calls driven over ESL, the ACD driven by events, history, recording, hooks."""

from __future__ import annotations

from cc.runtime.controller import Controller
from cc.runtime.hooks import HookEvent, Hooks

__all__ = ["Controller", "HookEvent", "Hooks"]
