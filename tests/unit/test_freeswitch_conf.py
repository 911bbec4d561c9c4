"""freeswitch-conf/ is well-formed and says what cc relies on."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

CONF = Path(__file__).resolve().parents[2] / "freeswitch-conf"
XML_FILES = sorted(CONF.rglob("*.xml"))


def _parse(path: Path) -> ET.Element:
    # FreeSWITCH includes these files into a larger document: wrap them to parse alone.
    return ET.fromstring(f"<root>{path.read_text(encoding='utf-8')}</root>")


def test_the_overlay_has_its_files() -> None:
    names = {p.relative_to(CONF).as_posix() for p in XML_FILES}
    assert names == {
        "autoload_configs/event_socket.conf.xml",
        "dialplan/default/00_cc.xml",
        "dialplan/public/00_cc.xml",
        "directory/default/cc_agents.xml",
        "sip_profiles/internal.xml",
    }


@pytest.mark.parametrize("path", XML_FILES, ids=lambda p: p.relative_to(CONF).as_posix())
def test_well_formed(path: Path) -> None:
    _parse(path)


def test_event_socket_listens_on_loopback_8021() -> None:
    root = _parse(CONF / "autoload_configs/event_socket.conf.xml")
    params = {p.get("name"): p.get("value") for p in root.iter("param")}
    assert params["listen-ip"] == "127.0.0.1"
    assert params["listen-port"] == "8021"
    assert params["password"]
    assert root.find("configuration").get("name") == "event_socket.conf"  # type: ignore[union-attr]


@pytest.mark.parametrize("context", ["public", "default"])
def test_service_numbers_go_to_cc_in_async_full_mode(context: str) -> None:
    root = _parse(CONF / "dialplan" / context / "00_cc.xml")
    condition = root.find("include/extension/condition")
    assert condition is not None
    assert re.fullmatch(condition.get("expression", ""), "7000")
    assert not re.fullmatch(condition.get("expression", ""), "6000")
    apps = [(a.get("application"), a.get("data")) for a in condition.iter("action")]
    assert ("socket", "127.0.0.1:8084 async full") in apps
    assert apps[-1][0] == "park"   # a call whose socket ended without a hangup waits for the next controller


def test_agent_users_are_unique_and_have_passwords() -> None:
    root = _parse(CONF / "directory/default/cc_agents.xml")
    ids = [u.get("id") for u in root.iter("user")]
    assert len(ids) == 20 and len(set(ids)) == 20
    for user in root.iter("user"):
        assert user.find("params/param[@name='password']") is not None


def test_internal_profile_binds_the_variable_it_sets() -> None:
    root = _parse(CONF / "sip_profiles/internal.xml")
    profile = root.find("profile")
    assert profile is not None and profile.get("name") == "internal"
    params = {p.get("name"): p.get("value") for p in profile.iter("param")}
    assert params["sip-ip"] == "$${cc_sip_ip}"
    assert params["context"] == "public"
    assert params["sip-port"] == "5060"
    sets = [e.get("data", "") for e in root.iter("X-PRE-PROCESS") if e.get("cmd") == "set"]
    assert any(s.startswith("cc_sip_ip=") for s in sets)
