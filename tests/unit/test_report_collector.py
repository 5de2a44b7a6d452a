"""The report pauses Python's cyclic garbage collector while it computes (docs/performance.md,
"The year report") and gives it back as it found it, however the computations end."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from eva_engine.services.reports.queries import _Collector


@pytest.fixture(autouse=True)
def _enabled() -> Iterator[None]:
    gc.enable()
    yield
    gc.enable()


def test_the_collector_is_paused_while_computing_and_enabled_again_after() -> None:
    with _Collector.paused():
        assert not gc.isenabled()
        with _Collector.paused():  # a second report running at the same time
            assert not gc.isenabled()
        assert not gc.isenabled()  # the first still runs
    assert gc.isenabled()


def test_a_failed_computation_gives_the_collector_back() -> None:
    with pytest.raises(RuntimeError), _Collector.paused():
        raise RuntimeError("the report failed")
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled() -> None:
    gc.disable()
    with _Collector.paused():
        pass
    assert not gc.isenabled()
