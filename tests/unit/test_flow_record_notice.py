"""The recording notice in flows (issue 19): the record_notice verb, the record_notice: key and the path check
that no record_call start can run before the notice where it is required."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from cc.errors import FlowError, InvalidValue
from cc.ivr_dsl import Done, Failed, FlowRun, Play, RecordCall, RecordNotice, check_file, check_text, load_flow_text

HEAD = "flow: rec\n{mode}start: menu\nnodes:\n"
BODY = """\
  menu:
    menu: {prompt: m.wav, choices: {"1": notice, "2": rec}}
    on_fail: bye
  notice: {record_notice: n.wav, next: rec}
  rec: {record_call: start, next: bye}
  bye: {hangup: {}}
"""


def _errors(text: str, **kw: object) -> list[str]:
    _flow, problems = check_text(text, file="f.yaml", **kw)  # type: ignore[arg-type]
    return [str(p) for p in problems if p.is_error]


def test_a_path_without_the_notice_is_an_error_naming_file_line_and_the_path() -> None:
    errors = _errors(HEAD.format(mode="record_notice: required\n") + BODY)
    assert errors == [
        "f.yaml:9:9: nodes.rec.record_call: record_call start may run before the caller heard the recording "
        "notice (record_notice: required), on the path menu -> rec (hint: put a record_notice node on every path "
        "before it (e.g. right after start), or make the notice optional (record_notice: optional))"
    ]
    with pytest.raises(FlowError) as info:
        load_flow_text(HEAD.format(mode="record_notice: required\n") + BODY, file="f.yaml")
    assert (info.value.file, info.value.line) == ("f.yaml", 9)


def test_the_same_flow_passes_when_every_path_plays_the_notice() -> None:
    good = HEAD.format(mode="record_notice: required\n") + BODY.replace('"2": rec', '"2": notice')
    flow = load_flow_text(good, file="f.yaml")
    assert flow.notice_required and flow.unnotified_record == ()


def test_optional_by_default_and_the_loaders_default_applies_without_the_key() -> None:
    text = HEAD.format(mode="") + BODY
    flow = load_flow_text(text, file="f.yaml")
    assert flow.record_notice == "optional" and flow.unnotified_record == ("menu", "rec")
    assert len(_errors(text, record_notice="required")) == 1   # cc.yaml recordings.notice: required
    # the flow's own key wins over the default
    assert _errors(HEAD.format(mode="record_notice: optional\n") + BODY, record_notice="required") == []
    with pytest.raises(InvalidValue):
        check_text(text, record_notice="sometimes")


def test_a_bad_value_of_the_key_is_an_error() -> None:
    errors = _errors(HEAD.format(mode="record_notice: yes\n") + BODY)
    assert errors == ["f.yaml:2:16: record_notice: record_notice is required or optional, not True "
                      "(hint: required: no recording starts before the caller heard a record_notice node)"]


def test_pause_resume_and_stop_need_no_notice() -> None:
    text = HEAD.format(mode="record_notice: required\n") + BODY.replace("record_call: start", "record_call: pause")
    assert _errors(text) == []


def _files(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).write_text(textwrap.dedent(text))
    return tmp_path / "main.yaml"


def test_a_subflow_that_plays_the_notice_on_every_way_back_notifies_its_caller(tmp_path: Path) -> None:
    main = _files(tmp_path, {
        "main.yaml": """\
            flow: main
            record_notice: required
            start: hello
            nodes:
              hello: {subflow: hello.yaml, next: rec}
              rec: {record_call: start, next: bye}
              bye: {hangup: {}}
            """,
        "hello.yaml": """\
            flow: hello
            start: n
            nodes:
              n: {record_notice: n.wav, next: back}
              back: {return: {}}
            """,
    })
    flow, problems = check_file(str(main))
    assert flow is not None, [str(p) for p in problems]
    assert flow.subflows[str(tmp_path / "hello.yaml")].notice_always


def test_a_subflow_that_records_before_any_notice_is_an_error_where_it_is_called(tmp_path: Path) -> None:
    main = _files(tmp_path, {
        "main.yaml": """\
            flow: main
            record_notice: required
            start: menu
            nodes:
              menu:
                menu: {prompt: m.wav, choices: {"1": n, "2": pay}}
                on_fail: pay
              n: {record_notice: n.wav, next: pay}
              pay: {subflow: pay.yaml, next: bye}
              bye: {hangup: {}}
            """,
        "pay.yaml": """\
            flow: pay
            start: rec
            nodes:
              rec: {record_call: start, next: back}
              back: {return: {}}
            """,
    })
    flow, problems = check_file(str(main))
    errors = [p for p in problems if p.is_error]
    assert flow is None and len(errors) == 1
    assert (errors[0].line, errors[0].path) == (9, "nodes.pay.subflow")
    assert "on the path menu -> pay -> pay/rec" in errors[0].message
    # called only after the notice: fine (the subflow alone is not judged, its callers may have notified)
    (tmp_path / "main.yaml").write_text((tmp_path / "main.yaml").read_text().replace('"2": pay', '"2": n')
                                        .replace("on_fail: pay", "on_fail: n"))
    flow, problems = check_file(str(main))
    assert flow is not None, [str(p) for p in problems]


def test_the_verb_plays_then_marks_the_call_and_a_failed_prompt_does_not() -> None:
    text = "flow: n\nstart: n\nnodes:\n  n: {record_notice: 'notice_{{language}}.wav', next: r}\n" \
           "  r: {record_call: start, next: bye}\n  bye: {hangup: {}}\n"
    flow = load_flow_text(text)
    run = FlowRun(flow, call_uuid="u1")
    cmds = run.start(0.0)
    assert isinstance(cmds[-1], Play) and cmds[-1].files == ("notice_en.wav",) and not cmds[-1].barge_in
    cmds = run.feed(Done(), 1.0)
    assert isinstance(cmds[0], RecordNotice) and isinstance(cmds[1], RecordCall)
    assert run.vars["notice_played"] is True
    run = FlowRun(flow, call_uuid="u2")
    run.start(0.0)
    cmds = run.feed(Failed("no such file"), 1.0)
    assert not any(isinstance(c, RecordNotice) for c in cmds)
    assert run.vars["notice_played"] is False
