"""Flow files from a Chinese office: GBK/GB18030, UTF-16 and BOM files are read; errors keep file:line:col."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from cc.errors import FlowError
from cc.ivr_dsl import check_file, load_flow
from cc.textdecode import decode_text

FLOW = """# 客服热线
flow: 客服
start: 欢迎
nodes:
  欢迎: {set: {greeting: "'您好'"}, next: 排队}
  排队: {enqueue: {queue: support}, next: 再见}
  再见: {hangup: NORMAL_CLEARING}
"""


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-16", "utf-8-sig", "utf-8"])
def test_flow_file_in_any_common_encoding(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "cn.yaml"
    path.write_bytes(FLOW.encode(encoding))
    flow = load_flow(str(path))
    assert flow.start == "欢迎" and set(flow.nodes) == {"欢迎", "排队", "再见"}


def test_gbk_flow_errors_name_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "gbk.yaml"
    path.write_bytes(FLOW.replace("next: 再见}", "next: 没有}").encode("gbk"))
    with pytest.raises(FlowError) as info:
        load_flow(str(path))
    text = str(info.value)
    assert "gbk.yaml:6:" in text and "没有" in text


def test_undecodable_bytes_are_located(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"flow: x\nstart: a\n# M\xfcller\n")
    _, problems = check_file(str(path))
    assert (problems[0].line, problems[0].col) == (3, 4)
    assert "not UTF-8" in problems[0].message


def test_decode_text() -> None:
    assert decode_text("李雷".encode("gbk")).encoding == "gb18030"
    assert decode_text(codecs.BOM_UTF8 + b"id").text == "id"
    assert decode_text("id,名".encode("utf-16-le")).text == "id,名"  # no BOM: the zero bytes show it
    assert decode_text(b"J\xfcrgen").text is None  # Latin-1, not GBK
    assert decode_text(b"J\xfcrgen", "cp1252").text == "Jürgen"
    bad = decode_text(b"ok\n\xff", "utf-8")
    assert (bad.text, bad.line, bad.col) == (None, 2, 1)
    assert "unknown encoding" in decode_text(b"x", "klingon").problem


def test_node_name_hint() -> None:
    from cc.ivr_dsl import check_text

    _, problems = check_text("flow: x\nstart: 'a b'\nnodes:\n  'a b': {hangup: NORMAL_CLEARING}\n")
    assert any("letters (any script)" in p.hint for p in problems)
