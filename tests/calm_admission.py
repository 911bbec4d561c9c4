"""The admission limits of every test controller that does not test admission itself: one place for all of them.

A controller started by a test on a loaded machine (two cores shared by several test runs) sees its hub busy
and its event loop late for reasons the test does not control; with the production limits it refuses new calls
(``refused:busy``, ``refused:lag``) and the test fails now and then. These limits cannot be tripped by load:
the busy share is off (1), a lag refusal needs a whole minute's stall and does not hold afterwards. The tests of
admission (:data:`ADMISSION_TESTS`) keep their own limits; tests/unit/test_calm_admission.py checks that every
other test controller uses these.
"""

from __future__ import annotations

from cc.config import OverloadConfig

__all__ = ["ADMISSION_TESTS", "TEST_OVERLOAD", "TEST_OVERLOAD_YAML"]

#: no busy-share refusals, a lag refusal only after a minute's stall, no hold after it
TEST_OVERLOAD = OverloadConfig(max_lag_s=60.0, max_busy=1.0, hold_s=0.0)

#: the same limits as cc.yaml's ``overload:`` (for ``ccctl serve`` started as a process)
TEST_OVERLOAD_YAML = "overload: {max_lag: 60s, max_busy: 1, hold: 0s}\n"

#: the test files whose controllers test admission and keep their own limits (paths from the repository root)
ADMISSION_TESTS = frozenset({"tests/wire/overload_controller.py", "tests/wire/test_overload.py",
                             "tests/unit/test_overload_units.py"})

