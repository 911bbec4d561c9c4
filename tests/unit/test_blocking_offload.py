"""Store calls from a greenlet (cc.runtime.blocking.offload): a store that does not answer is DatabaseUnavailable,
an Exception that callers catch, not gevent's Timeout (a BaseException: the campaigns' status sync loop died of one)."""

from __future__ import annotations

import threading

import gevent
import pytest

from cc.errors import DatabaseUnavailable
from cc.runtime.blocking import offload


def test_an_unanswered_store_call_is_database_unavailable() -> None:
    release = threading.Event()
    with pytest.raises(DatabaseUnavailable, match=r"within 0\.05 s"):
        offload(lambda: release.wait(5), timeout_s=0.05)
    release.set()


def test_a_callers_own_timeout_is_still_its_own() -> None:
    release = threading.Event()
    outer = gevent.Timeout(0.05)
    with pytest.raises(gevent.Timeout) as caught:
        with outer:
            offload(lambda: release.wait(5), timeout_s=10)
    assert caught.value is outer
    release.set()


def test_answers_and_errors_come_back() -> None:
    assert offload(lambda: 42) == 42
    with pytest.raises(ZeroDivisionError):
        offload(lambda: 1 / 0)


def test_a_call_that_comes_back_while_the_store_hangs_is_visit_2() -> None:
    """Controller.stored_segment waited with gevent's Timeout, which its ``except Exception`` let through: the
    call's greenlet died. Now the store's silence is DatabaseUnavailable, logged, and the visit counted as 2."""
    import collections

    from cc.runtime.controller import Controller

    release = threading.Event()
    ctl = object.__new__(Controller)   # only what stored_segment reads
    ctl.visits = lambda uuid: int(release.wait(5))
    ctl._segments = collections.OrderedDict()
    assert ctl.stored_segment("u1", timeout_s=0.05) == 2 and ctl._segments["u1"] == 2
    release.set()
    ctl.visits = lambda uuid: 4
    assert ctl.stored_segment("u2") == 5
