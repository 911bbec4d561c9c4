"""The replay peer used by the wire tests (implemented in cc.esl.replay, which `ccctl demo` uses too)."""

from __future__ import annotations

from cc.esl.replay import ReplayServer, Session, dial, dial_async, loose_match, play, rewrite

__all__ = ["ReplayServer", "Session", "dial", "dial_async", "loose_match", "play", "rewrite"]
