"""Which flow answers which number: routes from the config and the store, flows loaded and checked once."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from cc.errors import FlowError
from cc.ivr_dsl import Flow, check_file
from cc.model import BusinessCalendar

__all__ = ["FlowBook"]

log = logging.getLogger(__name__)


class FlowBook:
    """Number (DNIS) -> flow file -> checked Flow; every routed flow is validated before a call runs it."""

    def __init__(self, flows_dir: str, routes: Mapping[str, str], default: str | None = None,
                 calendars: Mapping[str, BusinessCalendar] | None = None, record_notice: str = "optional") -> None:
        self.flows_dir = flows_dir
        #: the notice mode of flows without their own record_notice: key (cc.yaml recordings.notice)
        self.record_notice = record_notice
        self.routes = dict(routes)
        self.default = default
        self.calendars = dict(calendars or {})
        self._flows: dict[str, Flow] = {}

    def path(self, ref: str, relative_to: str | None = None) -> str:
        """The absolute path of flow file ``ref`` (relative to ``relative_to``'s folder, else flows_dir)."""
        if os.path.isabs(ref):
            return os.path.normpath(ref)
        base = os.path.dirname(relative_to) if relative_to else self.flows_dir
        return os.path.normpath(os.path.abspath(os.path.join(base, ref)))

    def load(self, ref: str, relative_to: str | None = None) -> Flow:
        """Load (once) and check the flow ``ref``; FlowError lists every problem."""
        path = self.path(ref, relative_to)
        flow = self._flows.get(path)
        if flow is None:
            if not os.path.isfile(path):
                raise FlowError(f"{path}: no such flow file", file=path)
            flow, problems = check_file(path, calendars=self.calendars or None, record_notice=self.record_notice)
            errors = [p for p in problems if p.is_error]
            if flow is None or errors:
                raise FlowError("\n".join(str(p) for p in errors) or f"{path}: flow did not load", file=path,
                                problems=errors)
            for warning in problems:
                log.info("flow %s: %s", os.path.basename(path), warning)
            self._flows[path] = flow
        return flow

    def load_all(self) -> dict[str, Flow]:
        """Load every routed flow (and the default); FlowError with all problems of all files."""
        problems: list[str] = []
        loaded: dict[str, Flow] = {}
        refs = dict(self.routes)
        if self.default:
            refs["*"] = self.default
        for number, ref in refs.items():
            try:
                loaded[number] = self.load(ref)
            except FlowError as exc:
                problems.append(f"route {number} -> {ref}:\n{exc}")
        if problems:
            raise FlowError("\n".join(problems))
        return loaded

    def set_route(self, number: str, ref: str) -> None:
        """Route ``number`` to flow file ``ref`` (checked now; a bad flow is refused)."""
        self.load(ref)
        self.routes[number] = ref

    def for_number(self, number: str) -> Flow | None:
        """The flow for a dialled number, else the default flow, else None."""
        ref = self.routes.get(number) or self.default
        if ref is None:
            return None
        return self.load(ref)

    def by_ref(self, ref: str, current: Flow | None = None) -> Flow:
        """The flow a ``transfer: {flow: ...}`` names, relative to the flow it comes from."""
        return self.load(ref, getattr(current, "file", None) if current is not None else None)
