"""Number masking: the rule by length, country codes, free text, and what is left alone."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cc.privacy.mask import mask_number, mask_payload, mask_text

#: what the whole-output scan of tests/privacy/test_no_unmasked.py looks for
UNMASKED = re.compile(r"(?<![\w.\-*+])\+?\d{7,}(?![\w.\-])")


@pytest.mark.parametrize(("number", "masked"), [
    ("13812341234", "138****1234"),
    ("+8613812341234", "+86138****1234"),
    ("008613812341234", "+86138****1234"),
    ("+14155551234", "+141****1234"),
    ("4155551234", "41****1234"),
    ("62345678", "****5678"),
    ("1234567", "****567"),
    ("+442079460123", "+4420****0123"),
    ("+3531234567", "+353****567"),
    ("123456789012345", "123********2345"),
    ("7000", "7000"),
    ("10086", "10086"),
    ("", ""),
    ("sofia/gateway/carrier/13812341234", "sofia/gateway/carrier/138****1234"),
    ("sip:+8613812341234@example.com", "sip:+86138****1234@example.com"),
])
def test_mask_number(number: str, masked: str) -> None:
    assert mask_number(number) == masked


def test_text_leaves_uuids_times_and_decimals() -> None:
    text = ("call 12345678-1234-4234-8234-123456789012 at 2026-12-07 03:34:16 waited 1733542456.125 s "
            "from 13812341234 to 7000")
    assert mask_text(text) == ("call 12345678-1234-4234-8234-123456789012 at 2026-12-07 03:34:16 waited "
                               "1733542456.125 s from 138****1234 to 7000")


def test_payload_walks_nested_data_and_keeps_keys() -> None:
    data = {"13812341234": [{"caller": "+8613812341234", "n": 13812341234}], "t": ("15912345678",)}
    assert mask_payload(data) == {"13812341234": [{"caller": "+86138****1234", "n": 13812341234}],
                                  "t": ["159****5678"]}


@given(st.from_regex(r"\A\+?[1-9]\d{6,14}\Z"))
def test_no_masked_number_shows_seven_digits_in_a_row(number: str) -> None:
    masked = mask_number(number)
    assert not UNMASKED.search(masked), masked
    assert masked.count("*") >= 4       # at least four digits are always hidden
    assert len(masked) == len(number) or number.startswith("00")


@given(st.text())
def test_mask_text_never_crashes_and_is_idempotent(text: str) -> None:
    once = mask_text(text)
    assert mask_text(once) == once


def test_a_reveal_needs_the_permission_and_a_reason_and_is_audited_first() -> None:
    from cc.authz.permissions import Permission
    from cc.authz.policy import Principal, Reach
    from cc.errors import InvalidValue
    from cc.privacy.audit import ListAudit
    from cc.privacy.reveal import Disclosure, RevealRefused

    audit = ListAudit()
    d = Disclosure(audit=audit)
    data = {"caller": "13812341234"}
    qa = Principal(1, "qa1", reach={Permission.VIEW_RECORDINGS: Reach(True, frozenset())})
    boss = Principal(2, "boss", reach={Permission.REVEAL_NUMBERS: Reach(True, frozenset())})
    assert d.view_for(qa, None, "GET /api/v1/calls")(data) == {"caller": "138****1234"}
    with pytest.raises(RevealRefused):
        d.view_for(qa, "complaint 17", "GET /api/v1/calls")
    with pytest.raises(InvalidValue):
        d.view_for(boss, "  ", "GET /api/v1/calls")
    assert audit.entries == []
    assert d.view_for(boss, "complaint 17", "GET /api/v1/calls")(data) == data
    assert [(e.actor, e.action, e.detail["reason"]) for e in audit.entries] == [("user:boss", "reveal", "complaint 17")]
    with pytest.raises(RevealRefused):                 # the token path, until tokens carry users: nobody
        d.view("token:t1", "complaint 17", "GET /api/v1/calls")
