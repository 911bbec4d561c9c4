"""Dial strings, originate arguments and application arguments as FreeSWITCH splits them."""

from __future__ import annotations

import pytest

from cc.errors import InvalidValue
from cc.sim.api import parse_originate
from cc.sim.apps import split_args
from cc.sim.endpoints import match_agent_user
from cc.sim.simulator import parse_address, parse_dial


def test_parse_dial_vars_failover_and_parallel() -> None:
    gvars, groups = parse_dial("{origination_uuid=abc,cc_test=1,name='a,b'}[leg=1]user/1001,user/1002|"
                               "sofia/internal/agent@127.0.0.1:5090")
    assert gvars == {"origination_uuid": "abc", "cc_test": "1", "name": "a,b"}
    assert groups == [[("user/1001", {"leg": "1"}), ("user/1002", {})],
                      [("sofia/internal/agent@127.0.0.1:5090", {})]]
    assert parse_dial("") == ({}, [])


def test_parse_originate() -> None:
    assert parse_originate("{a=b}sofia/internal/x@h:5090 &park()") == ("{a=b}sofia/internal/x@h:5090", "&park()", [])
    assert parse_originate("user/1001 &bridge(user/1002 foo) XML default") == \
        ("user/1001", "&bridge(user/1002 foo)", ["XML", "default"])
    assert parse_originate("user/1001 7000 XML public Bob 555 30") == \
        ("user/1001", "7000", ["XML", "public", "Bob", "555", "30"])
    assert parse_originate("user/1001") is None
    assert parse_originate("") is None


def test_split_args_keeps_hash_and_quotes() -> None:
    assert split_args("1 3 1 5000 # /p/a.wav /p/b.wav cc_digits \\d+") == \
        ["1", "3", "1", "5000", "#", "/p/a.wav", "/p/b.wav", "cc_digits", "\\d+"]
    assert split_args("1 1 1 1000 # 'say:hello world' x v '^[12]$'") == \
        ["1", "1", "1", "1000", "#", "say:hello world", "x", "v", "^[12]$"]


def test_match_agent_user() -> None:
    assert match_agent_user("user/1001") == ("1001", "", "user")
    assert match_agent_user("user/1001@example.com") == ("1001", "example.com", "user")
    assert match_agent_user("sofia/internal/agent@127.0.0.1:5090") == ("agent", "127.0.0.1:5090", "sofia")
    assert match_agent_user("sofia/internal/sip:1001@h;transport=tcp") == ("1001", "h", "sofia")
    assert match_agent_user("loopback/9999")[2] == "other"


def test_parse_address() -> None:
    assert parse_address("127.0.0.1:8021", "listen") == ("127.0.0.1", 8021)
    assert parse_address(("h", 1), "x") == ("h", 1)
    for bad in ("8021", "host:", "host:99999", ":80"):
        with pytest.raises(InvalidValue):
            parse_address(bad, "listen")
