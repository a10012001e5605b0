"""Pipeline stages: order, back-pressure, and how a stage ends."""

from __future__ import annotations

import threading
from collections.abc import Iterable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tagtrail_collector.config import IngestSection
from tagtrail_collector.errors import StageStopped, StoreUnavailable
from tagtrail_collector.ingest.pipeline import _delay
from tagtrail_collector.ingest.stages import Stage


def test_items_are_worked_in_order_and_close_waits_for_them() -> None:
    done: list[int] = []
    stage: Stage[int] = Stage("t", done.append)
    for n in range(100):
        stage.put(n)
    stage.close(5)
    assert done == list(range(100))


def test_put_waits_while_the_stage_is_busy() -> None:
    release = threading.Event()
    started = threading.Event()

    def work(_: int) -> None:
        started.set()
        release.wait(5)

    stage: Stage[int] = Stage("t", work, depth=1)
    stage.put(1)
    started.wait(5)
    stage.put(2)  # waits in the queue
    third = threading.Thread(target=stage.put, args=(3,))
    third.start()
    third.join(0.3)
    assert third.is_alive(), "a third write must wait: one in work, one queued"
    release.set()
    third.join(5)
    stage.close(5)


def test_a_stopped_stage_refuses_more_work() -> None:
    def work(_: int) -> None:
        raise StageStopped("store failing at stop")

    stage: Stage[int] = Stage("t", work)
    stage.put(1)
    with pytest.raises(StageStopped):
        _put_all(stage, range(50))
    stage.close(5)


def test_a_failing_stage_raises_its_error_to_the_caller() -> None:
    def work(n: int) -> None:
        if n == 2:
            raise RuntimeError("bug")

    stage: Stage[int] = Stage("t", work)
    with pytest.raises(RuntimeError, match="bug"):
        _put_all(stage, range(50))
    with pytest.raises(RuntimeError, match="bug"):
        stage.close(5)


def _put_all(stage: Stage[int], items: Iterable[int]) -> None:
    for item in items:
        stage.put(item)


@given(attempt=st.integers(min_value=0, max_value=200))
def test_a_retry_never_comes_at_once(attempt: int) -> None:
    """Equal jitter: never "retrying in 0.0 s", never past the cap."""
    settings = IngestSection(retry_base_s=0.5, retry_cap_s=30.0)
    wait = _delay(settings, attempt, StoreUnavailable("down"))
    assert 0.25 <= wait <= 30.0
    assert _delay(settings, attempt, StoreUnavailable("busy", retry_after_s=0.0)) >= 0.5
