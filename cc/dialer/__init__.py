"""Outbound dialing core: lead order, calling windows, DNC and pacing; pure like cc.acd (events in, commands out)."""

from __future__ import annotations
