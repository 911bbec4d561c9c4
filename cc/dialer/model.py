"""Outbound campaign domain: frozen dataclasses and Enums shared by the dialer core, the store and the CLI.

Times are epoch seconds (UTC) like everywhere in cc; a lead's local time comes from its IANA ``tz``.
The default result (disposition) set follows the plans: system results the switch decides (no answer,
busy, invalid number 空号 ...) and agent-set outcomes (interested, sale, callback ...), each with flags
that say what happens next (retry, callback, DNC, final) and how it counts (human reached, success,
abandon).
"""

from __future__ import annotations

import enum
import math
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from cc.errors import InvalidValue

__all__ = [
    "DEFAULT_RESULTS",
    "MIN_DIAL_TIMEOUT_S",
    "Callback",
    "CampaignMode",
    "CampaignSettings",
    "CampaignStatus",
    "DialAttempt",
    "Lead",
    "LeadState",
    "Result",
    "ResultCode",
    "RetryRule",
    "default_results",
    "default_retry_rules",
]

#: The shortest dial timeout a campaign may set (seconds): shorter cuts off people who are reaching the phone.
MIN_DIAL_TIMEOUT_S = 15.0


class CampaignMode(enum.StrEnum):
    """How a campaign places calls."""

    MANUAL = "manual"            # click-to-dial: the agent's leg first, then the customer
    PREVIEW = "preview"          # the next lead is reserved for an agent, shown, then dialed or skipped
    PROGRESSIVE = "progressive"  # one call per ready agent, reserved before dialing (0 abandons)
    PREDICTIVE = "predictive"    # as many calls as the abandon target allows, for agents about to be free


class CampaignStatus(enum.StrEnum):
    """A campaign's life cycle (the table is cc/dialer/campaign_state.py)."""

    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    FINISHED = "finished"


class LeadState(enum.StrEnum):
    """Where a lead is in its life (the table is cc/dialer/lead_state.py)."""

    NEW = "new"              # imported, never dialed
    RETRY = "retry"          # dialed before; waits for ``next_dial_at`` (retry rule of its last result)
    CALLBACK = "callback"    # a callback is scheduled at ``next_dial_at``
    RESERVED = "reserved"    # held for an agent (preview offer, progressive reservation)
    DIALING = "dialing"      # an originate is out
    ANSWERED = "answered"    # the customer answered; being bridged, talking, or in the overflow message
    WRAP_UP = "wrap_up"      # the call ended with a human; waiting for the agent's result
    DONE = "done"            # a final result: nothing more to dial
    DNC = "dnc"              # on the do-not-call list: never dialed again
    EXHAUSTED = "exhausted"  # max attempts reached without a final result


class ResultCode(enum.StrEnum):
    """The codes of the default result set (a campaign may add its own codes as plain strings)."""

    CONNECTED = "connected"
    NO_ANSWER = "no_answer"
    REJECTED = "rejected"
    INVALID_NUMBER = "invalid_number"
    SUSPENDED = "suspended"
    UNREACHABLE = "unreachable"
    BUSY = "busy"
    VOICEMAIL = "voicemail"
    INTERESTED = "interested"
    FOLLOW_UP = "follow_up"
    SALE = "sale"
    MEMBER = "member"
    DO_NOT_CALL = "do_not_call"
    CALLBACK = "callback"
    ABANDONED = "abandoned"
    OVERFLOW = "overflow"
    SYSTEM_ERROR = "system_error"


@dataclass(frozen=True)
class Result:
    """A result (disposition) of one dial attempt, with its labels and what it means.

    ``human_reached``: a person answered (contact rate); ``final``: the lead is done; ``retry``: the lead is
    dialed again after the campaign's retry rule for this code; ``callback``: a callback time goes with it;
    ``dnc``: the number goes on the campaign's do-not-call list; ``success``: counts as a success;
    ``abandon``: an answered call no agent took (the abandon rate); ``agent_set``: set by the agent after the
    call (otherwise the dialer sets it from the switch's hangup cause).
    """

    code: str
    label_zh: str
    label_en: str
    human_reached: bool = False
    final: bool = False
    retry: bool = False
    callback: bool = False
    dnc: bool = False
    success: bool = False
    abandon: bool = False
    agent_set: bool = False


def default_results() -> tuple[Result, ...]:
    """The default result set of a new campaign (codes of ResultCode; labels in zh-CN and en)."""
    c = ResultCode
    return (
        Result(c.CONNECTED, "已接通", "Connected", human_reached=True, final=True, agent_set=True),
        Result(c.NO_ANSWER, "无人接听", "No answer", retry=True),
        Result(c.REJECTED, "拒接", "Rejected", retry=True),
        Result(c.INVALID_NUMBER, "空号", "Invalid number", final=True),
        Result(c.SUSPENDED, "停机", "Suspended", final=True),
        Result(c.UNREACHABLE, "无法接通", "Unreachable", retry=True),
        Result(c.BUSY, "忙线", "Busy", retry=True),
        Result(c.VOICEMAIL, "语音信箱", "Voicemail", retry=True, agent_set=True),
        Result(c.INTERESTED, "意向客户", "Interested", human_reached=True, callback=True, agent_set=True),
        Result(c.FOLLOW_UP, "多次跟踪", "Follow-up", human_reached=True, callback=True, agent_set=True),
        Result(c.SALE, "成单", "Sale", human_reached=True, final=True, success=True, agent_set=True),
        Result(c.MEMBER, "会员", "Member", human_reached=True, final=True, success=True, agent_set=True),
        Result(c.DO_NOT_CALL, "勿扰", "Do not call", human_reached=True, final=True, dnc=True, agent_set=True),
        Result(c.CALLBACK, "预约回拨", "Callback", human_reached=True, callback=True, agent_set=True),
        Result(c.ABANDONED, "放弃", "Abandoned", human_reached=True, retry=True, abandon=True),
        Result(c.OVERFLOW, "无坐席放音", "Overflow message", human_reached=True, retry=True, abandon=True),
        Result(c.SYSTEM_ERROR, "系统故障", "System error", retry=True),
    )


DEFAULT_RESULTS: tuple[Result, ...] = default_results()
"""The default result set (see default_results)."""


@dataclass(frozen=True)
class RetryRule:
    """Dial a lead again ``delay_s`` after a result with this rule, at most ``max_retries`` times for it."""

    delay_s: float
    max_retries: int

    def __post_init__(self) -> None:
        if not math.isfinite(self.delay_s) or self.delay_s < 0:
            raise InvalidValue("retry.delay_s", self.delay_s, "must be a finite number >= 0")
        if self.max_retries < 0:
            raise InvalidValue("retry.max_retries", self.max_retries, "must be >= 0")


def default_retry_rules() -> Mapping[str, RetryRule]:
    """Retry rules of a new campaign: busy soon, no answer later, failures of the network in between."""
    c = ResultCode
    return MappingProxyType({
        c.NO_ANSWER: RetryRule(3600.0, 3),
        c.BUSY: RetryRule(600.0, 3),
        c.REJECTED: RetryRule(4 * 3600.0, 1),
        c.UNREACHABLE: RetryRule(1800.0, 3),
        c.VOICEMAIL: RetryRule(4 * 3600.0, 2),
        c.ABANDONED: RetryRule(900.0, 2),
        c.OVERFLOW: RetryRule(900.0, 2),
        c.SYSTEM_ERROR: RetryRule(300.0, 3),
    })


@dataclass(frozen=True)
class CampaignSettings:
    """What a campaign dials and how: mode, caller IDs, dial string, calling window, timeouts, retries, pacing.

    ``dial_string`` is a template with ``{number}`` (and ``{gw}``, the campaign's ``gateway``);
    ``calendar`` names a business-hours calendar (cc.model.BusinessCalendar) whose weekly hours and
    holidays are read in each lead's own time zone; None dials at any hour.
    """

    campaign_id: str
    mode: CampaignMode = CampaignMode.PROGRESSIVE
    caller_ids: tuple[str, ...] = ()
    dial_string: str = "sofia/gateway/{gw}/{number}"
    gateway: str = ""
    calendar: str | None = None
    dial_timeout_s: float = 25.0
    max_attempts: int = 5
    retry_rules: Mapping[str, RetryRule] = field(default_factory=default_retry_rules)
    results: tuple[Result, ...] = DEFAULT_RESULTS
    abandon_target: float = 0.03
    overflow_message: str = ""
    min_agents_predictive: int = 8
    preview_timeout_s: float = 60.0
    skip_delay_s: float = 3600.0
    wrap_up_timeout_s: float = 120.0
    wrap_up_default_result: str = ResultCode.CONNECTED
    callback_reminder_s: float = 300.0
    max_lines_per_agent: float = 6.0

    def __post_init__(self) -> None:
        for name in ("dial_timeout_s", "preview_timeout_s", "skip_delay_s", "wrap_up_timeout_s", "callback_reminder_s",
                     "max_lines_per_agent", "abandon_target"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:     # NaN would pass every comparison below
                raise InvalidValue(name, value, "must be a finite number >= 0")
        if self.dial_timeout_s < MIN_DIAL_TIMEOUT_S:
            raise InvalidValue("dial_timeout_s", self.dial_timeout_s, f"must be >= {MIN_DIAL_TIMEOUT_S:g} s")
        if self.max_attempts < 1:
            raise InvalidValue("max_attempts", self.max_attempts, "must be >= 1")
        if not 0.0 <= self.abandon_target < 1.0:
            raise InvalidValue("abandon_target", self.abandon_target, "must be a fraction in [0, 1)")
        if self.min_agents_predictive < 1:
            raise InvalidValue("min_agents_predictive", self.min_agents_predictive, "must be >= 1")
        if self.preview_timeout_s <= 0:
            raise InvalidValue("preview_timeout_s", self.preview_timeout_s, "must be > 0")
        if self.max_lines_per_agent < 1.0:
            raise InvalidValue("max_lines_per_agent", self.max_lines_per_agent, "must be >= 1")
        if "{number}" not in self.dial_string:
            raise InvalidValue("dial_string", self.dial_string, "must contain {number}")
        codes = [r.code for r in self.results]
        if len(set(codes)) != len(codes):
            raise InvalidValue("results", codes, "result codes must be unique")
        for code in self.retry_rules:
            if code not in codes:
                raise InvalidValue("retry_rules", code, "is not a result code of the campaign")
        if self.wrap_up_default_result not in codes:
            raise InvalidValue("wrap_up_default_result", self.wrap_up_default_result, "is not a result code")
        for code in (ResultCode.OVERFLOW, ResultCode.ABANDONED, ResultCode.SYSTEM_ERROR):
            if code not in codes:
                raise InvalidValue("results", code, "the dialer needs this result code")

    def result(self, code: str) -> Result:
        """The result with ``code``; InvalidValue when the campaign has none."""
        for r in self.results:
            if r.code == code:
                return r
        raise InvalidValue("result", code, "is not a result code of the campaign")

    def render_dial_string(self, number: str) -> str:
        """The dial string for ``number`` (the template with {number} and {gw} filled in)."""
        return self.dial_string.replace("{gw}", self.gateway).replace("{number}", number)


@dataclass(frozen=True)
class Lead:
    """One person to call: numbers (E.164, tried in order), local time zone, priority, owner and progress.

    ``priority``: higher is dialed first; ``created_at`` orders leads of equal priority (older first);
    ``number_index`` is the number the next attempt uses; ``next_dial_at`` is when a retry or callback is due;
    ``result_counts`` counts the results of its attempts per code, ``((code, n), ...)``.
    """

    lead_id: str
    campaign_id: str
    numbers: tuple[str, ...]
    tz: str = "Asia/Shanghai"
    customer_id: str | None = None
    priority: int = 0
    owner_agent: str | None = None
    state: LeadState = LeadState.NEW
    attempts: int = 0
    next_dial_at: float | None = None
    last_result: str | None = None
    created_at: float = 0.0
    number_index: int = 0
    list_id: str | None = None
    result_counts: tuple[tuple[str, int], ...] = ()

    def count_of(self, code: str) -> int:
        """How many attempts of this lead ended with result ``code`` (for the retry rule's maximum)."""
        for c, n in self.result_counts:
            if c == code:
                return n
        return 0

    def __post_init__(self) -> None:
        if not self.numbers:
            raise InvalidValue("numbers", self.numbers, f"lead {self.lead_id} has no phone number")
        try:
            zoneinfo.ZoneInfo(self.tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise InvalidValue("tz", self.tz, f"lead {self.lead_id}: not an IANA time zone") from None

    @property
    def number(self) -> str:
        """The number the next attempt dials."""
        return self.numbers[self.number_index % len(self.numbers)]


@dataclass(frozen=True)
class Callback:
    """A scheduled callback of ``lead_id`` at ``due_at`` (to the minute); ``agent_id`` None: anyone may take it."""

    lead_id: str
    due_at: float
    agent_id: str | None = None
    note: str = ""


@dataclass(frozen=True)
class DialAttempt:
    """One originate and what became of it (a row of dial_attempts; times are epoch seconds)."""

    uuid: str
    lead_id: str
    campaign_id: str
    number: str
    started_at: float
    agent_id: str | None = None
    answered_at: float | None = None
    bridged_at: float | None = None
    ended_at: float | None = None
    hangup_cause: str | None = None
    result: str | None = None
    result_by: str | None = None   # "system", "agent:<id>", "reconciler"
