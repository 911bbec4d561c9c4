"""cc.esl.capture: the `.esl` container reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from cc.errors import ConfigError
from cc.esl.capture import parse_capture, read_capture


def test_counts_match_the_readme(captures_dir: Path) -> None:
    expected = {"inbound_auth": (7, 13), "inbound_api": (20, 23), "inbound_events_plain": (15, 145),
                "inbound_events_json": (15, 143), "outbound_ivr": (13, 46), "outbound_caller_hangup": (5, 19),
                "outbound_sync_nolinger": (5, 6), "outbound_nolinger_caller_hangup": (4, 24)}
    for name, (s, r) in expected.items():
        cap = read_capture(captures_dir / f"{name}.esl")
        assert (len(cap.sends), len(cap.recvs)) == (s, r), name
        assert cap.comments[0].startswith("# FreeSWITCH Event Socket capture")
        assert any(c.startswith("# Result: ok") for c in cap.comments)


def test_inbound_auth_has_three_connections(captures_dir: Path) -> None:
    cap = read_capture(captures_dir / "inbound_auth.esl")
    assert [len(c) for c in cap.connections] == [4, 6, 10]
    for conn in cap.connections:
        assert conn[0].direction == "recv" and conn[0].data == b"Content-Type: auth/request\n\n"
        assert conn[0].t < 0.01
    assert cap.connections[0][1].data == b"auth WrongPassword\n\n"


def test_split_without_comment_uses_auth_request(captures_dir: Path) -> None:
    data = (captures_dir / "inbound_auth.esl").read_bytes()
    body = data[data.index(b"\n#> recv") + 1:]
    cap = parse_capture(body)
    assert [len(c) for c in cap.connections] == [4, 6, 10]


def test_records_keep_data_exact(captures_dir: Path) -> None:
    cap = read_capture(captures_dir / "outbound_ivr.esl")
    assert cap.records[0].data == b"connect\n\n" and cap.records[0].index == 1
    assert cap.records[0].is_send
    assert all(r.data.endswith(b"\n\n") for r in cap.sends)
    assert len(cap.records[1].data) == 5706


@pytest.mark.parametrize("data", [
    b"# x\n#> send 0.1 5\nab\n",              # truncated
    b"#> sned 0.1 1\na\n",                    # bad direction
    b"#> send x 1\na\n",                      # bad time
    b"#> send 0.1 1\nab",                     # no newline after data
    b"#> send 0.1 1\na\ngarbage\n",           # not a record
])
def test_malformed_capture(data: bytes) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_capture(data, file="x.esl")
    assert "x.esl:" in str(exc.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        read_capture(tmp_path / "nope.esl")
