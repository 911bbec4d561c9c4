"""What a FlowRun asks the runtime to do (commands) and what the runtime reports back (results).

Every command and result is a frozen dataclass. A command with ``awaits = True`` is the last one of a
batch: the run waits until the runtime feeds the result of doing it (or a CallerHangup). The others are
fire-and-forget. ``to_dict`` gives a JSON-ready form (used by ``ccctl flow test`` and its case files).
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

from cc.model import SkillStep

__all__ = [
    "Answer",
    "CallbackOffer",
    "CallerHangup",
    "Collect",
    "Command",
    "Digits",
    "Done",
    "Enqueue",
    "Failed",
    "Hangup",
    "Http",
    "HttpResponse",
    "NoInput",
    "Play",
    "QueueOutcome",
    "QueueResult",
    "Record",
    "RecordCall",
    "RecordNotice",
    "Recorded",
    "Result",
    "Say",
    "SetLanguage",
    "SetVar",
    "StoreSurvey",
    "Transfer",
    "Voicemail",
]


def _jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


@dataclass(frozen=True)
class Command:
    """Base of every command a flow emits; ``kind`` names it, ``awaits`` says whether a result follows."""

    kind: ClassVar[str] = "command"
    awaits: ClassVar[bool] = False

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"kind": ..., field: value ...}`` with plain JSON values."""
        out: dict[str, Any] = {"kind": self.kind}
        for f in fields(self):
            out[f.name] = (
                _jsonable(asdict(self)[f.name])
                if f.name != "skills"
                else [
                    {
                        "require": [{"skill": r.skill, "op": r.op, "level": r.level} for r in s.require],
                        "for_s": s.for_s,
                    }
                    for s in getattr(self, f.name)
                ]
            )
        return out


@dataclass(frozen=True)
class Answer(Command):
    """Answer the call."""

    kind: ClassVar[str] = "answer"


@dataclass(frozen=True)
class Play(Command):
    """Play files in order; with ``barge_in`` a digit stops playback (reported as Digits), else Done."""

    kind: ClassVar[str] = "play"
    awaits: ClassVar[bool] = True
    files: tuple[str, ...]
    barge_in: bool = False
    terminators: str = ""


@dataclass(frozen=True)
class Say(Command):
    """Speak a value with FreeSWITCH ``say`` (module[:lang] type method [gender] text); result Done."""

    kind: ClassVar[str] = "say"
    awaits: ClassVar[bool] = True
    text: str
    say_type: str
    method: str
    language: str = "en"
    gender: str = ""
    barge_in: bool = False


@dataclass(frozen=True)
class Collect(Command):
    """Play a prompt and collect DTMF (one try); result Digits or NoInput. Validation is the flow's job."""

    kind: ClassVar[str] = "collect"
    awaits: ClassVar[bool] = True
    prompt: tuple[str, ...]
    min_digits: int = 1
    max_digits: int = 1
    timeout_s: float = 5.0
    digit_timeout_s: float = 3.0
    terminators: str = "#"


@dataclass(frozen=True)
class Record(Command):
    """Record the caller into ``path``; result Recorded. ``store``: keep it in the store."""

    kind: ClassVar[str] = "record"
    awaits: ClassVar[bool] = True
    path: str
    max_s: float = 120.0
    silence_s: float = 3.0
    silence_threshold: int = 200
    beep: bool = True
    terminators: str = "#"
    store: bool = True
    purpose: str = "message"


@dataclass(frozen=True)
class CallbackOffer:
    """How a queue offers a callback: ``digit`` to press, offered after ``after_s`` of waiting."""

    digit: str = "1"
    after_s: float = 60.0
    prompt: str = ""


@dataclass(frozen=True)
class Enqueue(Command):
    """Put the caller in a queue; result QueueResult (or CallerHangup if the caller gives up)."""

    kind: ClassVar[str] = "enqueue"
    awaits: ClassVar[bool] = True
    queue: str
    priority: int = 0
    skills: tuple[SkillStep, ...] = ()
    announce_position: bool = False
    announce_ewt: bool = False
    announce_every_s: float | None = None
    max_wait_s: float | None = None
    max_wait_no_agent_s: float | None = None
    callback: CallbackOffer | None = None
    exit_key: str = ""
    moh: str = ""


@dataclass(frozen=True)
class Transfer(Command):
    """Hand the call over: ``to`` is ``extension``, ``number`` or ``flow``; the run ends here."""

    kind: ClassVar[str] = "transfer"
    to: str
    target: str
    context: str = ""


@dataclass(frozen=True)
class Hangup(Command):
    """Hang the call up with a Q.850 cause name; the run ends here."""

    kind: ClassVar[str] = "hangup"
    cause: str = "NORMAL_CLEARING"


@dataclass(frozen=True)
class SetVar(Command):
    """Set a channel variable (flow variables exported with ``set: {..., export: true}``)."""

    kind: ClassVar[str] = "set_var"
    name: str
    value: str


@dataclass(frozen=True)
class SetLanguage(Command):
    """Switch the prompt language of the call (sound prefix, `say` language)."""

    kind: ClassVar[str] = "set_language"
    language: str


@dataclass(frozen=True)
class Http(Command):
    """Perform an HTTP request within ``timeout_s``; result HttpResponse (status 0 + error on failure)."""

    kind: ClassVar[str] = "http"
    awaits: ClassVar[bool] = True
    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    body: Any = None
    timeout_s: float = 3.0


@dataclass(frozen=True)
class RecordCall(Command):
    """Start, pause, resume or stop the call's recording (pause while a card number is read)."""

    kind: ClassVar[str] = "record_call"
    action: str
    path: str = ""


@dataclass(frozen=True)
class RecordNotice(Command):
    """The caller has heard the "this call may be recorded" notice: the runtime marks the call as notified
    (``cc_record_notice=played`` on the channel), which a required notice asks for before any recording."""

    kind: ClassVar[str] = "record_notice"


@dataclass(frozen=True)
class StoreSurvey(Command):
    """Store a survey answer (cc.model.SurveyResult is built by the runtime from this)."""

    kind: ClassVar[str] = "store_survey"
    survey: str
    question: str
    score: int
    agent_id: str | None = None
    queue: str | None = None


@dataclass(frozen=True)
class Voicemail(Command):
    """Run a voicemail box (greeting, beep, recording); result Done, Recorded or Failed."""

    kind: ClassVar[str] = "voicemail"
    awaits: ClassVar[bool] = True
    box: str
    domain: str = ""
    greeting: str = ""
    max_s: float = 180.0


# --- results ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    """Base of what the runtime feeds back into a FlowRun."""

    kind: ClassVar[str] = "result"


@dataclass(frozen=True)
class Done(Result):
    """The awaited command finished normally (a prompt played to its end, a voicemail left ...)."""

    kind: ClassVar[str] = "done"


@dataclass(frozen=True)
class Failed(Result):
    """The awaited command could not be done (missing file, bad gateway ...); ``reason`` says why."""

    kind: ClassVar[str] = "failed"
    reason: str = ""


@dataclass(frozen=True)
class Digits(Result):
    """The caller pressed ``digits`` (terminator not included), e.g. to a Collect or a barge-in Play."""

    kind: ClassVar[str] = "digits"
    digits: str
    terminator: str = ""


@dataclass(frozen=True)
class NoInput(Result):
    """A Collect timed out with no digits."""

    kind: ClassVar[str] = "no_input"


@dataclass(frozen=True)
class Recorded(Result):
    """A Record or Voicemail finished: the file and its length (0 when the caller said nothing)."""

    kind: ClassVar[str] = "recorded"
    path: str = ""
    duration_s: float = 0.0
    cause: str = ""


@dataclass(frozen=True)
class HttpResponse(Result):
    """An Http command's answer: status 0 and ``error`` when no answer came (timeout, refused ...)."""

    kind: ClassVar[str] = "http_response"
    status: int = 0
    body: Any = None
    error: str = ""


class QueueOutcome(enum.StrEnum):
    """How a queue stay ended while the caller was still on the line."""

    SERVED = "served"
    TIMEOUT = "timeout"
    NO_AGENT = "no_agent"
    FULL = "full"
    CALLBACK = "callback"
    EXIT_KEY = "exit_key"


@dataclass(frozen=True)
class QueueResult(Result):
    """An Enqueue's outcome; after SERVED the caller's call continues (e.g. to a survey)."""

    kind: ClassVar[str] = "queue_result"
    outcome: QueueOutcome
    agent_id: str | None = None
    wait_s: float = 0.0
    talk_s: float = 0.0
    digit: str = ""


@dataclass(frozen=True)
class CallerHangup(Result):
    """The caller hung up; may be fed at any time and ends the run."""

    kind: ClassVar[str] = "caller_hangup"
    cause: str = "NORMAL_CLEARING"
