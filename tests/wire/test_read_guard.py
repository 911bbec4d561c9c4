"""The read guard itself: it records cc's reads, allows what captures show, flags what only cc.sim sends."""

from __future__ import annotations

from cc.esl.protocol import PlainEvent
from tests.wire import read_guard

CONNECT = ("Event-Name: CHANNEL_DATA\nUnique-ID: u1\nCaller-Destination-Number: 7000\n"
           "variable_destination_number: 7000\n")


def _read_as_cc(ev: PlainEvent, code: str) -> None:
    """Run ``code`` as if it were a module of cc/runtime (the guard looks at the reading file)."""
    exec(compile(code, f"{read_guard.CC_DIR}/runtime/_guard_probe.py", "exec"), {"ev": ev})


def test_captures_allow_what_the_switch_sends() -> None:
    assert read_guard.allowed("CHANNEL_DATA", "Caller-Destination-Number")
    assert read_guard.allowed("CHANNEL_HANGUP_COMPLETE", "Hangup-Cause")
    assert read_guard.allowed("BACKGROUND_JOB", "Job-UUID")
    assert read_guard.allowed("CHANNEL_DATA", "variable_cc_service_number")   # set by our dialplan
    for invented in ("variable_destination_number", "variable_caller_id_number", "variable_caller_id_name"):
        assert not read_guard.allowed("CHANNEL_DATA", invented), invented
    # FreeSWITCH does send this one, on events after a playback (inbound_events_plain.esl)
    assert read_guard.allowed("CHANNEL_EXECUTE_COMPLETE", "variable_current_application_response")


def test_reads_from_cc_are_recorded_and_judged() -> None:
    ev = PlainEvent(CONNECT)
    with read_guard.recording() as reads:
        _read_as_cc(ev, "ev.header('Caller-Destination-Number'); ev.variable('destination_number')")
        ev.header("Unique-ID")     # a read from the tests is not cc's
    assert set(reads) == {("CHANNEL_DATA", "Caller-Destination-Number"),
                          ("CHANNEL_DATA", "variable_destination_number")}
    [bad] = read_guard.violations(reads)
    assert "variable_destination_number" in bad and "_guard_probe.py" in bad
    # the wrapper is gone after the block
    with read_guard.recording() as again:
        pass
    _read_as_cc(ev, "ev.header('Unique-ID')")
    assert again == {}


def test_variables_cc_names_in_its_commands_are_its_own() -> None:
    from cc.esl import protocol as P

    pagd = P.render_execute("play_and_get_digits", "1 3 1 5000 # a.wav b.wav acct \\d+ 3000")
    assert read_guard.named_variables(pagd) == {"variable_acct"}
    assert read_guard.named_variables(P.render_execute("set", "park_after_bridge=true")) == \
        {"variable_park_after_bridge"}
    assert read_guard.named_variables(P.render_execute("multiset", "a=1 b=2")) == {"variable_a", "variable_b"}
    assert read_guard.named_variables(P.render_api("uuid_setvar u1 x_note hi")) == {"variable_x_note"}
    orig = P.render_bgapi("originate {origination_uuid=u2,member=m1}user/1001 &park()")
    assert read_guard.named_variables(orig) == {"variable_origination_uuid", "variable_member"}
    assert read_guard.named_variables(P.render_execute("playback", "/tmp/a.wav")) == set()
    reads = read_guard.Reads()
    reads[("CHANNEL_EXECUTE_COMPLETE", "variable_acct")] = "cc/esl/outbound.py"
    assert read_guard.violations(reads)
    reads.sent.add("variable_acct")
    assert not read_guard.violations(reads)
