"""Failed originates to results: FreeSWITCH hangup causes and SIP final responses -> a result code, no agent.

The cause names are FreeSWITCH's (``switch_call_cause_t`` in src/include/switch_types.h, printed by
switch_channel_cause2str); a failed ``bgapi originate`` reports one as its BACKGROUND_JOB body
(``-ERR USER_BUSY``) and the leg's CHANNEL_HANGUP / CHANNEL_HANGUP_COMPLETE as ``Hangup-Cause``. The SIP
responses are the ones the real captures show (tests/data/esl-captures/2026-12/inbound_originate_failures.esl:
``variable_sip_term_status`` on CHANNEL_HANGUP_COMPLETE) mapped the way mod_sofia maps them
(sofia_glue_sip_cause_to_freeswitch): 486 USER_BUSY, 404 UNALLOCATED_NUMBER, 480 NO_USER_RESPONSE,
503 NORMAL_TEMPORARY_FAILURE, 487 after our CANCEL at the originate timeout (NO_ANSWER).

A cause nobody listed (or an empty one) is a ``system_error``: it is retried under its own rule and never
burns the lead as invalid. Carriers differ in how they signal 停机 (suspended) and 空号 (invalid number);
a campaign can pass its own table to the dialer (``Dialer(cause_table=...)``).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from cc.dialer.model import ResultCode

__all__ = ["CAUSE_RESULTS", "SIP_RESULTS", "result_for_failure"]

_R = ResultCode

CAUSE_RESULTS: Mapping[str, ResultCode] = MappingProxyType({
    # the far end did not pick up
    "NO_ANSWER": _R.NO_ANSWER,                       # 19: rang out at originate_timeout (captures: 487 CANCEL)
    "ORIGINATOR_CANCEL": _R.NO_ANSWER,               # 487: we cancelled the ringing leg
    "NO_PICKUP": _R.NO_ANSWER,                       # 812
    "ALLOTTED_TIMEOUT": _R.NO_ANSWER,                # 802
    # busy
    "USER_BUSY": _R.BUSY,                            # 17 (SIP 486, 600)
    "BUSY_EVERYWHERE": _R.BUSY,                      # 815
    # refused by the person
    "CALL_REJECTED": _R.REJECTED,                    # 21 (SIP 603, 403 ...)
    "DECLINE": _R.REJECTED,                          # 816
    "UNWANTED": _R.REJECTED,                         # 819 (SIP 607)
    # the number does not exist (空号)
    "UNALLOCATED_NUMBER": _R.INVALID_NUMBER,         # 1 (SIP 404)
    "NUMBER_CHANGED": _R.INVALID_NUMBER,             # 22 (SIP 410)
    "INVALID_NUMBER_FORMAT": _R.INVALID_NUMBER,      # 28 (SIP 484)
    "NO_ROUTE_DESTINATION": _R.INVALID_NUMBER,       # 3 (SIP 485, 604)
    "DOES_NOT_EXIST_ANYWHERE": _R.INVALID_NUMBER,    # 817
    # the subscriber's service is barred (停机)
    "INCOMING_CALL_BARRED": _R.SUSPENDED,            # 54
    "FACILITY_NOT_SUBSCRIBED": _R.SUSPENDED,         # 50
    # exists but cannot be reached now (关机, no coverage, 无法接通)
    "SUBSCRIBER_ABSENT": _R.UNREACHABLE,             # 20
    "NO_USER_RESPONSE": _R.UNREACHABLE,              # 18 (SIP 480)
    "NORMAL_TEMPORARY_FAILURE": _R.UNREACHABLE,      # 41 (SIP 503, 500, 400; also nothing listening)
    "RECOVERY_ON_TIMER_EXPIRE": _R.UNREACHABLE,      # 102 (SIP 408, 504)
    "DESTINATION_OUT_OF_ORDER": _R.UNREACHABLE,      # 27
    "USER_NOT_REGISTERED": _R.UNREACHABLE,           # 806
    "PROGRESS_TIMEOUT": _R.UNREACHABLE,              # 807
    "NORMAL_CLEARING": _R.UNREACHABLE,               # 16 before an answer: the far end gave up
    "NORMAL_UNSPECIFIED": _R.UNREACHABLE,            # 31 (SIP responses mod_sofia does not know)
    # ours or the network's, not the customer's
    "NETWORK_OUT_OF_ORDER": _R.SYSTEM_ERROR,         # 38 (SIP 502)
    "NORMAL_CIRCUIT_CONGESTION": _R.SYSTEM_ERROR,    # 34
    "SWITCH_CONGESTION": _R.SYSTEM_ERROR,            # 42
    "REQUESTED_CHAN_UNAVAIL": _R.SYSTEM_ERROR,       # 44
    "OUTGOING_CALL_BARRED": _R.SYSTEM_ERROR,         # 52: our trunk may not call out
    "SERVICE_UNAVAILABLE": _R.SYSTEM_ERROR,          # 63
    "SERVICE_NOT_IMPLEMENTED": _R.SYSTEM_ERROR,      # 79
    "INCOMPATIBLE_DESTINATION": _R.SYSTEM_ERROR,     # 88 (SIP 488)
    "EXCHANGE_ROUTING_ERROR": _R.SYSTEM_ERROR,       # 25
    "INTERWORKING": _R.SYSTEM_ERROR,                 # 127
    "INVALID_GATEWAY": _R.SYSTEM_ERROR,              # 808 (captures: no channel at all)
    "GATEWAY_DOWN": _R.SYSTEM_ERROR,                 # 809
    "INVALID_URL": _R.SYSTEM_ERROR,                  # 810
    "INVALID_PROFILE": _R.SYSTEM_ERROR,              # 811
    "CHAN_NOT_IMPLEMENTED": _R.SYSTEM_ERROR,         # 66
    "MEDIA_TIMEOUT": _R.SYSTEM_ERROR,                # 804
    "SYSTEM_SHUTDOWN": _R.SYSTEM_ERROR,              # 701
    "CRASH": _R.SYSTEM_ERROR,                        # 700
    "MANAGER_REQUEST": _R.SYSTEM_ERROR,              # 703: killed by an API call (ours)
    "LOSE_RACE": _R.SYSTEM_ERROR,                    # 702
})
"""FreeSWITCH hangup cause of a failed originate -> the result the dialer sets without an agent."""

SIP_RESULTS: Mapping[int, ResultCode] = MappingProxyType({
    486: _R.BUSY,            # Busy Here -> USER_BUSY
    404: _R.INVALID_NUMBER,  # Not Found -> UNALLOCATED_NUMBER
    480: _R.UNREACHABLE,     # Temporarily Unavailable -> NO_USER_RESPONSE
    503: _R.UNREACHABLE,     # Service Unavailable -> NORMAL_TEMPORARY_FAILURE (also FreeSWITCH's own)
    487: _R.NO_ANSWER,       # Request Terminated: our CANCEL at originate_timeout -> NO_ANSWER
})
"""SIP final response (``variable_sip_term_status``) of a failed originate, as the captures show them."""


def result_for_failure(cause: str | None, sip_status: int | None = None,
                       table: Mapping[str, str] | None = None) -> str:
    """The result code of an originate that failed with ``cause`` (and ``sip_status`` when known).

    A SIP status in SIP_RESULTS wins (it is the far end's own word); otherwise the cause is looked up in
    ``table`` (default CAUSE_RESULTS); anything else is ``system_error``.
    """
    if sip_status is not None and sip_status in SIP_RESULTS:
        return SIP_RESULTS[sip_status]
    key = (cause or "").strip().upper()
    if key.startswith("-ERR "):
        key = key[5:].strip()
    found = (CAUSE_RESULTS if table is None else table).get(key)
    return found if found is not None else ResultCode.SYSTEM_ERROR
