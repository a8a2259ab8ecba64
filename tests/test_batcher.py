"""The runner's burst commits: nothing held longer than the window, a store fault raised in the caller's thread."""

from __future__ import annotations

import time

import pytest

from trustbench.core import GenerationSettings, Request, Response
from trustbench.runner import Batcher
from trustbench.store import Store


def req(i: int) -> Request:
    return Request(f"k{i}", f"p{i}", GenerationSettings())


def test_a_burst_is_stored_within_the_window_and_a_lone_response_at_once(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    sink = Batcher(store, "m")
    time.sleep(Batcher.WINDOW)
    sink.add(req(0), Response(text="a", tokens=1))  # the first after a quiet spell: stored at once
    assert store.count("responses") == 1
    for i in range(1, 4):
        sink.add(req(i), Response(text="b", tokens=1))
    assert store.count("responses") == 1  # the burst is held ...
    time.sleep(Batcher.WINDOW * 3)
    assert store.count("responses") == 4  # ... and the timer stored it without another arrival


def test_a_store_fault_in_the_timer_surfaces_in_the_caller(tmp_path):
    class Broken:
        def put_responses(self, rows):
            raise RuntimeError("disk full")

    sink = Batcher(Broken(), "m")  # type: ignore[arg-type]
    sink.last = time.perf_counter()
    sink.add(req(0), Response(text="a", tokens=1))
    time.sleep(Batcher.WINDOW * 3)
    with pytest.raises(RuntimeError, match="disk full"):
        sink.add(req(1), Response(text="b", tokens=1))
