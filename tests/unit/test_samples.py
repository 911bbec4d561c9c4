"""cc.runtime.samples: the newest N floats, oldest first, in memory reserved once."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cc.runtime.samples import Samples


@given(st.integers(min_value=1, max_value=20), st.lists(st.floats(allow_nan=False), max_size=60))
def test_keeps_the_newest_capacity_samples_oldest_first(capacity: int, values: list[float]) -> None:
    s = Samples(capacity)
    for v in values:
        s.append(v)
    assert list(s) == values[-capacity:] if values else list(s) == []
    assert len(s) == min(capacity, len(values))


def test_clear_and_reuse() -> None:
    s = Samples(3)
    for v in (1.0, 2.0, 3.0, 4.0):
        s.append(v)
    s.clear()
    assert list(s) == [] and len(s) == 0 and s.capacity == 3
    s.append(5.0)
    assert list(s) == [5.0]


def test_refuses_an_empty_window() -> None:
    with pytest.raises(ValueError):
        Samples(0)
