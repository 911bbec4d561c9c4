"""Every verb and every outcome, run through FlowRun with hand-fed results."""

from __future__ import annotations

import datetime
import textwrap
from typing import Any

import pytest

from cc.ivr_dsl import (
    Answer,
    CallerHangup,
    Collect,
    Digits,
    Done,
    Enqueue,
    Failed,
    FlowRun,
    Hangup,
    Http,
    HttpResponse,
    NoInput,
    Play,
    QueueOutcome,
    QueueResult,
    Record,
    RecordCall,
    Recorded,
    Say,
    SetLanguage,
    SetVar,
    StoreSurvey,
    Transfer,
    Voicemail,
    load_flow_text,
)
from cc.ivr_dsl.flow import Flow
from cc.model import SkillRequirement, SkillStep

NOW = datetime.datetime(2026, 11, 24, 10, 0, tzinfo=datetime.UTC).timestamp()  # a Tuesday


def make(nodes: str, head: str = "") -> Flow:
    text = "flow: t\nstart: a\n" + textwrap.dedent(head) + "nodes:\n" + textwrap.indent(textwrap.dedent(nodes), "  ")
    text += "  end: {hangup: {}}\n" if "\nend:" not in "\n" + textwrap.dedent(nodes) else ""
    return load_flow_text(text)


def start(flow: Flow, **kw: Any) -> tuple[FlowRun, list[Any]]:
    run = FlowRun(flow, call_uuid="u-1", **kw)
    return run, run.start(NOW)


def test_answer_then_auto_answer_only_once() -> None:
    run, out = start(make("a: {answer: {}, next: b}\nb: {play: x.wav, next: end}\n"))
    assert out == [Answer(), Play(("x.wav",))]
    assert run.feed(Done(), NOW) == [Hangup()]
    _, out = start(make("a: {answer: {}, next: end}\n"), answered=True)
    assert out == [Hangup()]


def test_play_auto_answers_and_barge_in_digits_land_in_into() -> None:
    run, out = start(make("a: {play: [a.wav, b.wav], barge_in: true, into: key, next: end}\n"))
    assert out == [Answer(), Play(("a.wav", "b.wav"), barge_in=True)]
    assert run.feed(Digits("5"), NOW) == [Hangup()]
    assert run.vars["key"] == "5" and run.path == ["a", "end"]


def test_play_failure_goes_on_and_is_noted() -> None:
    run, _ = start(make("a: {play: x.wav, next: end}\n"), answered=True)
    assert run.feed(Failed("file not found"), NOW) == [Hangup()]
    assert run.messages == ["a: play failed: file not found"]


@pytest.mark.parametrize(
    ("as_", "say_type", "method"),
    [
        ("number", "NUMBER", "PRONOUNCED"),
        ("digits", "NUMBER", "ITERATED"),
        ("ordinal", "NUMBER", "COUNTED"),
        ("money", "CURRENCY", "PRONOUNCED"),
        ("date", "CURRENT_DATE", "PRONOUNCED"),
        ("time", "CURRENT_TIME", "PRONOUNCED"),
        ("datetime", "CURRENT_DATE_TIME", "PRONOUNCED"),
        ("telephone", "TELEPHONE_NUMBER", "ITERATED"),
        ("spelled", "NAME_SPELLED", "ITERATED"),
    ],
)
def test_say_types(as_: str, say_type: str, method: str) -> None:
    run, out = start(
        make(f"a: {{say: {{value: '{{{{n * 2}}}}', as: {as_}}}, next: end}}\n", "vars: {n: 21}\n"),
        answered=True,
    )
    assert out == [Say("42", say_type, method, "en")]
    assert run.feed(Done(), NOW) == [Hangup()]


def test_language_switches_say_and_sets_the_variable() -> None:
    run, out = start(make("a: {language: pt_BR, next: b}\nb: {say: '7', next: end}\n"), answered=True)
    assert out == [SetLanguage("pt_BR"), Say("7", "NUMBER", "PRONOUNCED", "pt_BR")]
    assert run.vars["language"] == "pt_BR"


MENU = """
a:
  menu:
    prompt: m.wav
    choices: {"1": one, "2": two}
    retries: 2
    invalid_prompt: bad.wav
    no_input_prompt: silence.wav
    into: pick
  on_fail: failed
one: {hangup: {}}
two: {hangup: {}}
failed: {hangup: USER_BUSY}
"""


def test_menu_choice() -> None:
    run, out = start(make(MENU), answered=True)
    assert out == [Collect(("m.wav",), 1, 1, 5.0, 3.0, "")]
    assert run.feed(Digits("2"), NOW) == [Hangup()]
    assert run.path == ["a", "two"] and run.vars["pick"] == "2"


def test_menu_retries_with_the_right_prompts_then_fails() -> None:
    run, _ = start(make(MENU), answered=True)
    assert run.feed(Digits("9"), NOW) == [Collect(("bad.wav", "m.wav"), 1, 1, 5.0, 3.0, "")]
    assert run.feed(NoInput(), NOW) == [Collect(("silence.wav", "m.wav"), 1, 1, 5.0, 3.0, "")]
    assert run.feed(NoInput(), NOW) == [Hangup("USER_BUSY")]
    assert run.path == ["a", "failed"] and run.vars["pick"] is None


def test_menu_collect_failure_fails_at_once() -> None:
    run, _ = start(make(MENU), answered=True)
    assert run.feed(Failed("no media"), NOW) == [Hangup("USER_BUSY")]


def test_menu_multi_digit_choices_use_a_terminator() -> None:
    _, out = start(make("a: {menu: {prompt: m.wav, choices: {'1': end, '10': end}}, on_fail: end}\n"), answered=True)
    assert out == [Collect(("m.wav",), 1, 2, 5.0, 3.0, "#")]


GATHER = """
a:
  gather: {prompt: pin.wav, into: pin, min_digits: 4, max_digits: 6, regex: '1\\d+', retries: 1,
           timeout: 7s, digit_timeout: 2s, terminators: "*", invalid_prompt: bad.wav}
  next: ok
  on_fail: ko
ok: {hangup: {}}
ko: {hangup: CALL_REJECTED}
"""


def test_gather_valid() -> None:
    run, out = start(make(GATHER), answered=True)
    assert out == [Collect(("pin.wav",), 4, 6, 7.0, 2.0, "*")]
    assert run.feed(Digits("12345"), NOW) == [Hangup()]
    assert run.vars["pin"] == "12345"


@pytest.mark.parametrize("bad", [Digits("12"), Digits("1234567"), Digits("2345"), NoInput()])
def test_gather_retry_then_fail(bad: Any) -> None:
    run, _ = start(make(GATHER), answered=True)
    retry = run.feed(bad, NOW)
    want = ("bad.wav", "pin.wav") if isinstance(bad, Digits) else ("pin.wav",)
    assert retry == [Collect(want, 4, 6, 7.0, 2.0, "*")]
    assert run.feed(bad, NOW) == [Hangup("CALL_REJECTED")]
    assert run.vars["pin"] is None


RECORD = """
a:
  record: {prompt: beep-first.wav, into: msg, max: 30s, silence: 2s, beep: false, min: 2s}
  next: ok
  on_empty: empty
ok: {hangup: {}}
empty: {hangup: NO_ANSWER}
"""


def test_record_message() -> None:
    run, out = start(make(RECORD), answered=True)
    assert out == [Play(("beep-first.wav",))]
    (rec,) = run.feed(Done(), NOW)
    assert rec == Record("recordings/u-1-a.wav", 30.0, 2.0, 200, False, "#", True, "message")
    assert run.feed(Recorded("/rec/u-1-a.wav", 12.0, "success"), NOW) == [Hangup()]
    assert run.vars["msg"] == "/rec/u-1-a.wav"


@pytest.mark.parametrize("result", [Recorded("/rec/x.wav", 1.0), Recorded("", 0.0), Failed("disk full")])
def test_record_empty(result: Any) -> None:
    run, _ = start(make(RECORD), answered=True)
    run.feed(Done(), NOW)
    assert run.feed(result, NOW) == [Hangup("NO_ANSWER")]
    assert run.vars["msg"] is None


def test_record_path_template() -> None:
    _, out = start(
        make("a: {record: {path: '/spool/{{caller_id}}.wav'}, next: end, on_empty: end}\n"),
        answered=True,
        caller_id="+331",
    )
    assert out[0].path == "/spool/+331.wav"


def test_set_is_sequential_and_export_emits_setvar() -> None:
    run, out = start(make("a: {set: {x: '2', y: 'x * 10', z: \"'id-' + y\"}, export: true, next: end}\n"))
    assert out == [SetVar("x", "2"), SetVar("y", "20"), SetVar("z", "id-20"), Hangup()]
    assert run.vars | {"x": 2, "y": 20, "z": "id-20"} == run.vars


@pytest.mark.parametrize(("n", "target"), [(1, "one"), (5, "five"), (50, "other")])
def test_branch_first_match_else(n: int, target: str) -> None:
    flow = make("""
        a:
          branch:
            - {if: "n < 3", then: one}
            - {if: "n < 10 and n != 0", then: five}
            - {if: "n < 20", then: one}
          else: other
        one: {hangup: {}}
        five: {hangup: {}}
        other: {hangup: {}}
    """)
    run, _ = start(flow, variables={"n": n})
    assert run.path == ["a", target]


CAL_HEAD = "calendars:\n  office: {timezone: Europe/Paris, hours: {mon-fri: '09:00-18:00'}}\n"


@pytest.mark.parametrize(("hour", "target"), [(7, "closed"), (8, "open"), (16, "open"), (17, "closed")])
def test_business_hours_uses_now(hour: int, target: str) -> None:
    flow = make(
        "a: {business_hours: office, open: open, closed: closed}\nopen: {hangup: {}}\nclosed: {hangup: {}}\n",
        CAL_HEAD,
    )
    run = FlowRun(flow)
    run.start(datetime.datetime(2026, 11, 24, hour, 30, tzinfo=datetime.UTC).timestamp())  # UTC+1 in Paris
    assert run.path == ["a", target]


def test_business_hours_unknown_calendar_at_run_time_is_closed() -> None:
    flow = make(
        "a: {business_hours: office, open: open, closed: closed}\nopen: {hangup: {}}\nclosed: {hangup: {}}\n",
        CAL_HEAD,
    )
    flow.calendars.clear()
    run, _ = start(flow)
    assert run.path == ["a", "closed"] and "treated as closed" in run.messages[0]


HTTP = """
a:
  http:
    url: "https://crm.example/c?ani={{caller_id}}"
    method: POST
    headers: {Authorization: "Bearer {{token}}"}
    body: {ani: "{{caller_id}}", n: 3, list: ["{{token}}"]}
    timeout: 2s
    into: crm
  next: ok
  on_error: ko
ok: {hangup: {}}
ko: {hangup: {}}
"""


def test_http_request_and_success() -> None:
    run, out = start(make(HTTP, "vars: {token: t0k}\n"), caller_id="+4930")
    assert out == [
        Http(
            "POST",
            "https://crm.example/c?ani=+4930",
            (("Authorization", "Bearer t0k"),),
            {"ani": "+4930", "n": 3, "list": ["t0k"]},
            2.0,
        )
    ]
    run.feed(HttpResponse(200, {"vip": True}), NOW)
    assert run.path == ["a", "ok"] and run.vars["crm"] == {"vip": True} and run.vars["http_status"] == 200


@pytest.mark.parametrize(
    "result",
    [
        HttpResponse(503, "busy"),
        HttpResponse(0, None, "timeout"),
        HttpResponse(200, None, "connection reset"),
        Failed("dns"),
    ],
)
def test_http_failures_take_on_error(result: Any) -> None:
    run, _ = start(make(HTTP, "vars: {token: t}\n"))
    run.feed(result, NOW)
    assert run.path == ["a", "ko"] and run.vars["crm"] is None


def test_http_url_rendering_to_another_scheme_is_not_requested() -> None:
    flow = make("a: {http: {url: '{{base}}/x', into: r}, next: ok, on_error: ko}\nok: {hangup: {}}\nko: {hangup: {}}\n")
    run, out = start(flow, variables={"base": "file:///etc"})
    assert out == [Hangup()] and run.path == ["a", "ko"] and run.vars["r"] is None
    assert run.vars["http_status"] == 0 and "does not start with http:// or https://" in run.messages[0]


ENQ = """
a:
  enqueue:
    queue: billing
    priority: "if(vip, 9, 2)"
    skills: [{require: {"{{product}}": ">=5", english: 3}, for: 30s}, {require: {}}]
    announce_position: true
    announce_every: 30s
    max_wait: 5m
    callback: {digit: "1", after: 1m}
    exit_key: "0"
  next: served
  on_timeout: timeout
  on_no_agent: no_agent
  on_full: full
  on_callback: callback
  on_exit_key: exit_key
served: {hangup: {}}
timeout: {hangup: {}}
no_agent: {hangup: {}}
full: {hangup: {}}
callback: {hangup: {}}
exit_key: {hangup: {}}
"""


def test_enqueue_command() -> None:
    _run, out = start(make(ENQ, "vars: {vip: true, product: billing}\n"))
    assert out[0] == Answer()
    cmd = out[1]
    assert isinstance(cmd, Enqueue)
    assert (
        cmd.queue,
        cmd.priority,
        cmd.announce_position,
        cmd.announce_every_s,
        cmd.max_wait_s,
        cmd.exit_key,
    ) == ("billing", 9, True, 30.0, 300.0, "0")
    assert cmd.skills == (
        SkillStep((SkillRequirement("billing", ">=", 5), SkillRequirement("english", ">=", 3)), 30.0),
        SkillStep((), None),
    )
    assert cmd.callback is not None and (cmd.callback.digit, cmd.callback.after_s) == ("1", 60.0)
    assert cmd.to_dict()["skills"][0]["require"][0] == {"skill": "billing", "op": ">=", "level": 5}


@pytest.mark.parametrize("outcome", list(QueueOutcome))
def test_enqueue_every_outcome_has_its_branch(outcome: QueueOutcome) -> None:
    run, _ = start(make(ENQ, "vars: {vip: false, product: x}\n"))
    run.feed(QueueResult(outcome, "a7" if outcome is QueueOutcome.SERVED else None, 12.0), NOW)
    assert run.path == ["a", outcome.value]
    assert run.vars["queue_outcome"] == outcome.value and run.vars["queue_wait"] == 12.0


def test_enqueue_failure_is_no_agent_and_hangup_in_queue_ends_run() -> None:
    run, _ = start(make(ENQ, "vars: {vip: false, product: x}\n"))
    run.feed(Failed("acd down"), NOW)
    assert run.path == ["a", "no_agent"]
    run, _ = start(make(ENQ, "vars: {vip: false, product: x}\n"))
    assert run.feed(CallerHangup("ORIGINATOR_CANCEL"), NOW) == []
    assert run.done and run.ended_at == "a" and run.final == CallerHangup("ORIGINATOR_CANCEL")


@pytest.mark.parametrize(
    ("spec", "cmd"),
    [
        ("1001", Transfer("extension", "1001")),
        ("{extension: '2000', context: sales}", Transfer("extension", "2000", "sales")),
        ("{number: '+4930123'}", Transfer("number", "+4930123")),
        ("{number: '{{callback}}'}", Transfer("number", "+33999")),
        ("{flow: billing}", Transfer("flow", "billing")),
    ],
)
def test_transfer_ends_the_run(spec: str, cmd: Transfer) -> None:
    run, out = start(make(f"a: {{transfer: {spec}}}\n", "vars: {callback: '+33999'}\n"))
    assert out == [cmd] and run.done and run.final == cmd and run.ended_by == "flow"


def test_voicemail() -> None:
    run, out = start(
        make(
            "a: {voicemail: {box: 'vm-{{dept}}', domain: example.com, max: 1m}, next: end}\n",
            "vars: {dept: sales}\n",
        )
    )
    assert out == [Answer(), Voicemail("vm-sales", "example.com", "", 60.0)]
    run.feed(Recorded("/vm/1.wav", 9.0), NOW)
    assert run.vars["voicemail_path"] == "/vm/1.wav" and run.path == ["a", "end"]


SURVEY = """
a: {enqueue: q1, next: s}
s:
  survey: {name: csat, question: q2, prompt: rate.wav, min: 1, max: 5, retries: 1, into: score}
  next: thanks
  on_fail: nope
thanks: {hangup: {}}
nope: {hangup: {}}
"""


def test_survey_stores_the_score_with_queue_and_agent() -> None:
    run, _ = start(make(SURVEY))
    assert run.feed(QueueResult(QueueOutcome.SERVED, "a9"), NOW) == [Collect(("rate.wav",), 1, 1, 5.0, 1.0, "")]
    assert run.feed(Digits("4"), NOW) == [StoreSurvey("csat", "q2", 4, "a9", "q1"), Hangup()]
    assert run.vars["score"] == 4


def test_survey_out_of_range_then_fail() -> None:
    run, _ = start(make(SURVEY))
    run.feed(QueueResult(QueueOutcome.SERVED, "a9"), NOW)
    assert isinstance(run.feed(Digits("7"), NOW)[0], Collect)
    assert run.feed(NoInput(), NOW) == [Hangup()]
    assert run.path[-1] == "nope" and run.vars["score"] is None


def test_record_call_actions() -> None:
    _run, out = start(
        make("""
        a: {record_call: {action: start, path: '/rec/{{call_uuid}}.wav'}, next: b}
        b: {record_call: pause, next: c}
        c: {record_call: resume, next: d}
        d: {record_call: stop, next: end}
    """)
    )
    assert out == [
        Answer(),
        RecordCall("start", "/rec/u-1.wav"),
        RecordCall("pause"),
        RecordCall("resume"),
        RecordCall("stop"),
        Hangup(),
    ]


def test_goto() -> None:
    run, _ = start(make("a: {goto: b}\nb: {hangup: USER_BUSY}\n"))
    assert run.path == ["a", "b"] and run.final == Hangup("USER_BUSY")


def test_subflow_shares_variables_and_returns(tmp_path: Any) -> None:
    (tmp_path / "sub.yaml").write_text(
        "flow: sub\nstart: s\ninputs: [x]\nnodes:\n"
        "  s: {set: {y: 'x + 1'}, next: p}\n  p: {play: p.wav, next: r}\n"
        "  r: {return: {}}\n"
    )
    flow = load_flow_text(
        "flow: main\nstart: a\nvars: {x: 1}\nnodes:\n  a: {subflow: sub.yaml, next: b}\n"
        "  b: {say: '{{y}}', next: c}\n  c: {hangup: {}}\n",
        base_dir=str(tmp_path),
    )
    run, out = start(flow)
    assert out == [Answer(), Play(("p.wav",))]
    assert run.node == "sub/p"
    assert run.feed(Done(), NOW) == [Say("2", "NUMBER", "PRONOUNCED", "en")]
    assert run.path == ["a", "sub/s", "sub/p", "sub/r", "b"]


def test_return_at_top_level_hangs_up() -> None:
    run, out = start(make("a: {return: {}}\n"))
    assert out == [Hangup()] and run.done


@pytest.mark.parametrize("cause", ["NORMAL_CLEARING", "USER_BUSY", "CALL_REJECTED"])
def test_hangup_cause(cause: str) -> None:
    run, out = start(make(f"a: {{hangup: {cause}}}\n"))
    assert out == [Hangup(cause)] and run.ended_at == "a"
