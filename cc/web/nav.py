"""The navigation bar: one entry per page area, shown to the users the permission decision lets open it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import lazy_gettext
from flask_babel.speaklater import LazyString

from cc.authz import Permission, Principal, Resource, allowed

__all__ = ["NAV", "NavItem", "visible_nav"]


@dataclass(frozen=True)
class NavItem:
    """A page in the navigation: its Flask endpoint, its label, and who sees it."""

    endpoint: str
    label: LazyString
    visible: Callable[[Principal], bool]


def _is_agent(user: Principal) -> bool:
    """The workbench: a user who is an agent and may act for his own agent."""
    return user.agent_id is not None and bool(
        allowed(user, Permission.CONTROL_AGENTS, Resource.of_agent(user.agent_id, user.unit)))


def _sees_live(user: Principal) -> bool:
    """The supervisor console: a user who holds view_live beyond himself (supervisor, manager, admin)."""
    return user.holds(Permission.VIEW_LIVE)


def _sees_recordings(user: Principal) -> bool:
    """Recordings: a user who holds view_recordings (beyond his own calls)."""
    return user.holds(Permission.VIEW_RECORDINGS)


def _sees_customers(user: Principal) -> bool:
    """The CRM pages: a user who holds view_customers (beyond the customer of his own call)."""
    return user.holds(Permission.VIEW_CUSTOMERS)


def _scores_calls(user: Principal) -> bool:
    """The QA work list: a user who holds score_calls."""
    return user.holds(Permission.SCORE_CALLS)


def _is_scored_agent(user: Principal) -> bool:
    """An agent's own QA scores."""
    return user.agent_id is not None and user.holds(Permission.AGENT_SELF)


#: the areas in menu order (a new area adds its entry here)
NAV: list[NavItem] = [
    NavItem("workbench.page", lazy_gettext("Workbench"), _is_agent),
    NavItem("supervisor.wallboard", lazy_gettext("Wallboard"), _sees_live),
    NavItem("supervisor.agents", lazy_gettext("Agents"), _sees_live),
    NavItem("recordings.search", lazy_gettext("Recordings"), _sees_recordings),
    NavItem("customers.search", lazy_gettext("Customers"), _sees_customers),
    NavItem("qa.worklist", lazy_gettext("Quality"), _scores_calls),
    NavItem("qa.mine", lazy_gettext("My scores"), _is_scored_agent),
]


def visible_nav(user: Principal) -> list[NavItem]:
    """The entries ``user`` may open."""
    return [item for item in NAV if item.visible(user)]


