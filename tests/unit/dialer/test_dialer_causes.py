"""Hangup causes and SIP responses of failed originates -> results, checked against the real captures."""

from __future__ import annotations

import re
import urllib.parse
from pathlib import Path

from cc.dialer.causes import CAUSE_RESULTS, SIP_RESULTS, result_for_failure
from cc.dialer.model import DEFAULT_RESULTS, ResultCode

CAPTURE = "2026-12/inbound_originate_failures.esl"


def _events(path: Path) -> list[dict[str, str]]:
    data = path.read_bytes()
    out: list[dict[str, str]] = []
    pos = 0
    while pos < len(data):
        nl = data.index(b"\n", pos)
        line = data[pos:nl]
        if line.startswith(b"#> "):
            direction, _, n = line[3:].split(b" ")
            body = data[nl + 1:nl + 1 + int(n)]
            pos = nl + 2 + int(n)
            if direction == b"recv" and b"text/event-plain" in body:
                text = body.split(b"\n\n", 1)[1].decode("utf-8", "replace")
                head, _, rest = text.partition("\n\n")
                ev = {}
                for h in head.split("\n"):
                    k, _, v = h.partition(": ")
                    ev.setdefault(k, urllib.parse.unquote(v))
                ev["_body"] = rest
                out.append(ev)
        else:
            pos = nl + 1
    return out


def test_the_captured_failures_map_to_the_results_the_readme_names(captures_dir: Path) -> None:
    events = _events(captures_dir / CAPTURE)
    seen: dict[tuple[str, int | None], str] = {}
    for e in events:
        if e.get("Event-Name") == "CHANNEL_HANGUP_COMPLETE":
            sip = e.get("variable_sip_term_status")
            key = (e["Hangup-Cause"], int(sip) if sip else None)
            seen[key] = result_for_failure(*key)
            assert seen[key] == result_for_failure(key[0]), key   # the SIP table agrees with the cause table
    assert seen == {
        ("USER_BUSY", 486): ResultCode.BUSY,
        ("NO_ANSWER", None): ResultCode.NO_ANSWER,
        ("UNALLOCATED_NUMBER", 404): ResultCode.INVALID_NUMBER,
        ("NO_USER_RESPONSE", 480): ResultCode.UNREACHABLE,
        ("NORMAL_TEMPORARY_FAILURE", 503): ResultCode.UNREACHABLE,
    }
    jobs = [e["_body"].strip() for e in events if e.get("Event-Name") == "BACKGROUND_JOB"]
    errs = [j for j in jobs if j.startswith("-ERR ")]
    assert len(errs) == 9
    for j in errs:   # every cause the switch reported is in the table (none falls to the default by accident)
        assert j[5:] in CAUSE_RESULTS, j
    assert result_for_failure("-ERR INVALID_GATEWAY") == ResultCode.SYSTEM_ERROR


def test_tables_name_only_results_of_the_default_set() -> None:
    codes = {r.code for r in DEFAULT_RESULTS}
    assert set(CAUSE_RESULTS.values()) <= codes
    assert set(SIP_RESULTS.values()) <= codes
    assert all(re.fullmatch(r"[A-Z_]+", c) for c in CAUSE_RESULTS)
    for r in DEFAULT_RESULTS:   # results the switch decides are never agent-set
        if r.code in set(CAUSE_RESULTS.values()):
            assert not r.agent_set, r.code


def test_unknown_or_empty_causes_are_system_errors() -> None:
    assert result_for_failure(None) == ResultCode.SYSTEM_ERROR
    assert result_for_failure("") == ResultCode.SYSTEM_ERROR
    assert result_for_failure("SOMETHING_NEW") == ResultCode.SYSTEM_ERROR
    assert result_for_failure(" user_busy ") == ResultCode.BUSY
    assert result_for_failure("NO_ANSWER", 599) == ResultCode.NO_ANSWER
    assert result_for_failure("USER_BUSY", table={"USER_BUSY": "rejected"}) == "rejected"
