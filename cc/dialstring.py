"""Check an agent's contact: a FreeSWITCH dial string such as ``user/1001`` or ``sofia/gateway/gw/0049...``.

Accepted (what ``originate`` takes): an optional ``{var=value,...}`` (or ``<...>``) prefix, then one or
more legs separated by ``,`` (ring together) or ``|`` (one after the other), each with an optional
``[var=value]`` prefix and ``ENDPOINT/REST``:

- ``user/1001``, ``user/1001@example.com``
- ``sofia/internal/1001@10.0.0.5:5060``, ``sofia/external/sip:bob@example.com``
- ``sofia/gateway/GW/NUMBER``
- ``loopback/1001[/CONTEXT[/DIALPLAN]]``, ``verto.rtc/...``, ``group/...``, ``sim/...`` and other modules
"""

from __future__ import annotations

import re

__all__ = ["EXAMPLES", "contact_problem"]

#: Shown with every refusal.
EXAMPLES = "e.g. user/1001, user/1001@domain, sofia/internal/1001@host:port, sofia/gateway/GW/NUMBER"

_ENDPOINT = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")
_OPEN = {"{": "}", "<": ">", "[": "]"}


def _strip_prefix(text: str, opens: str) -> tuple[str, str | None]:
    """Remove leading variable blocks (``{...}``, ``<...>`` or ``[...]``); (rest, problem)."""
    while text and text[0] in opens:
        close = _OPEN[text[0]]
        depth, quote, end = 0, "", -1
        for i, ch in enumerate(text):
            if quote:
                if ch == quote:
                    quote = ""
            elif ch in "'\"" and depth:
                quote = ch
            elif ch == text[0]:
                depth += 1
            elif ch == close:
                depth -= 1
                if depth == 0:
                    end = i
                    break
        if end < 0:
            return text, f"{text[0]} is never closed with {close}"
        text = text[end + 1:]
    return text, None


def _leg(leg: str) -> str | None:
    rest, problem = _strip_prefix(leg.strip(), "[")
    if problem:
        return problem
    if not rest:
        return "a leg is empty"
    if any(ch.isspace() for ch in rest):
        return f"{rest!r} has a space in it"
    endpoint, slash, target = rest.partition("/")
    if not slash or not target:
        return f"{rest!r} is not ENDPOINT/DESTINATION"
    if not _ENDPOINT.match(endpoint):
        return f"{endpoint!r} is not an endpoint module name"
    parts = target.split("/")
    if endpoint == "user":
        user, at, domain = target.partition("@")
        if not user or "/" in user or (at and not domain):
            return f"{rest!r}: expected user/ID or user/ID@DOMAIN"
    elif endpoint == "sofia":
        if parts[0] == "gateway":
            if len(parts) < 3 or not all(parts[1:3]):
                return f"{rest!r}: expected sofia/gateway/GATEWAY/NUMBER"
        elif len(parts) < 2 or not all(parts[:2]):
            return f"{rest!r}: expected sofia/PROFILE/DESTINATION (or sofia/gateway/GATEWAY/NUMBER)"
    elif "" in parts[:1]:
        return f"{rest!r}: nothing after {endpoint}/"
    return None


def _legs(text: str) -> list[str]:
    """Split on ``,`` and ``|`` outside ``[...]`` blocks and quotes."""
    legs, cur, depth, quote = [], "", 0, ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"" and depth:
            quote = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch in ",|" and depth == 0:
            legs.append(cur)
            cur = ""
            continue
        cur += ch
    legs.append(cur)
    return legs


def contact_problem(contact: str) -> str | None:
    """Why ``contact`` is not a usable dial string, or None when it is one."""
    text = contact.strip()
    if not text:
        return "missing: an agent needs a contact to be called on (" + EXAMPLES + ")"
    rest, problem = _strip_prefix(text, "{<")
    if problem is None:
        for leg in _legs(rest):
            problem = _leg(leg)
            if problem:
                break
    if problem is None:
        return None
    return f"not a dial string: {problem} ({EXAMPLES})"
