"""Revealing numbers: masked by default; unmasked only for a permitted actor who gives a reason (audited).

``Disclosure.view(actor, reason, what)`` returns the function that prepares one output (an API answer,
an event stream, a report): ``mask_payload`` when no reason is given; the identity when the actor
may reveal (``may_reveal``: the permissions core's ``allowed(user, "reveal_numbers", ...)``) and the
reveal was written to the audit log first. A reveal that is not allowed is refused (RevealRefused),
never silently masked, so that the caller knows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cc.authz.permissions import Permission, ResourceKind
from cc.authz.policy import Principal, Resource, allowed
from cc.errors import CCError, InvalidValue
from cc.privacy.audit import AuditEntry, AuditSink
from cc.privacy.mask import mask_payload

__all__ = ["MAX_REASON", "Disclosure", "RevealRefused", "check_reason", "never_reveal", "principal_may_reveal"]

MAX_REASON = 512


class RevealRefused(CCError):
    """The actor may not reveal numbers (HTTP 403; CLI exit 1)."""

    def __init__(self, actor: str) -> None:
        super().__init__(f"{actor} may not reveal numbers (needs the reveal_numbers permission)")
        self.actor = actor


def check_reason(reason: str | None, option: str = "--reason") -> str:
    """The reason of a reveal, stripped; InvalidValue when it is empty, too long or not one line."""
    text = (reason or "").strip()
    if not text:
        raise InvalidValue(option, reason, "a reveal needs a reason (it is written to the audit log)")
    if len(text) > MAX_REASON or "\n" in text or "\r" in text:
        raise InvalidValue(option, text[:40], f"must be one line of at most {MAX_REASON} characters")
    return text


def never_reveal(actor: str) -> bool:
    """The default ``may_reveal``: nobody (until a permission policy is given)."""
    return False


def principal_may_reveal(user: Principal, resource: Resource | None = None) -> bool:
    """The permissions core's decision: ``allowed(user, reveal_numbers, resource)`` (default: calls, shared)."""
    return bool(allowed(user, Permission.REVEAL_NUMBERS, resource or Resource.common(ResourceKind.CALL)))


def _same(value: Any) -> Any:
    return value


class Disclosure:
    """Masks by default; reveals for permitted actors with a reason, after auditing it."""

    def __init__(self, may_reveal: Callable[[str], bool] = never_reveal, audit: AuditSink | None = None) -> None:
        self.may_reveal = may_reveal
        self.audit = audit

    def view_for(self, user: Principal, reason: str | None, what: str,
                 resource: Resource | None = None) -> Callable[[Any], Any]:
        """``view`` for a signed-in user: the reveal is decided by ``allowed(user, reveal_numbers, resource)``."""
        if reason is None:
            return mask_payload
        text = check_reason(reason)
        if not principal_may_reveal(user, resource) or self.audit is None:
            raise RevealRefused(user.login)
        self.audit.append(AuditEntry(f"user:{user.login}", "reveal", what, {"reason": text, "user_id": user.id}))
        return _same

    def view(self, actor: str, reason: str | None, what: str) -> Callable[[Any], Any]:
        """The function to pass ``what`` (e.g. ``GET /api/v1/calls``) through before it leaves cc."""
        if reason is None:
            return mask_payload
        text = check_reason(reason)
        if not self.may_reveal(actor) or self.audit is None:
            raise RevealRefused(actor)
        self.audit.append(AuditEntry(actor, "reveal", what, {"reason": text}))
        return _same
