"""The README's example of refinement-testing a user's own implementation (a ring buffer)."""

from __future__ import annotations

from typing import Any

import pytest
from ftverify.checker.engines.conformance import Adapter, Step, assert_refines, exhaustive_test

from tests.conftest import MODELS


class RingBuffer:
    """The implementation under test: a fixed array, a head index and a count."""

    def __init__(self, capacity: int = 3) -> None:
        self.buf = [0] * capacity
        self.head = self.count = 0

    def put(self, x: int) -> bool:
        if self.count == len(self.buf):
            return False
        self.buf[(self.head + self.count) % len(self.buf)] = x
        self.count += 1
        return True

    def get(self) -> int | None:
        if self.count == 0:
            return None
        x, self.head, self.count = self.buf[self.head], (self.head + 1) % len(self.buf), self.count - 1
        return x


class RingBufferAdapter(Adapter):
    spec = str(MODELS / "examples" / "bounded_queue.ftv")
    impl_class: type[RingBuffer] = RingBuffer

    def __init__(self) -> None:
        self.rb = self.impl_class()

    def abstract(self) -> dict[str, Any]:  # the abstraction function
        return {"q": [self.rb.buf[(self.rb.head + i) % len(self.rb.buf)] for i in range(self.rb.count)]}

    def perform(self, call: tuple[Any, ...]) -> Step:
        if call[0] == "put":
            x = call[1]
            if self.rb.put(x):
                return Step("put", (("x", x),))
            return Step(None, refused=("put", (("x", x),)), result="full")
        if self.rb.get() is None:
            return Step(None, refused=("get", ()), result="empty")
        return Step("get")

    @classmethod
    def all_calls(cls) -> list[tuple[Any, ...]]:
        return [("put", x) for x in range(4)] + [("get",)]

    @classmethod
    def call_for(cls, action: str, args: dict[str, Any]) -> tuple[Any, ...]:
        return ("put", args["x"]) if action == "put" else ("get",)


def test_the_ring_buffer_refines_the_queue_spec() -> None:
    out = assert_refines(RingBufferAdapter, examples=100, depth=6)
    assert out.calls > 1000


class ForgetfulRingBuffer(RingBuffer):
    def put(self, x: int) -> bool:  # a bug: when full, overwrites the oldest element
        if self.count == len(self.buf):
            self.buf[self.head] = x
            return False
        return super().put(x)


def test_a_buggy_ring_buffer_is_caught_with_a_shortest_trace() -> None:
    adapter = type("Buggy", (RingBufferAdapter,), {"impl_class": ForgetfulRingBuffer})
    with pytest.raises(AssertionError, match="the spec state changed"):
        assert_refines(adapter, examples=100)
    out = exhaustive_test(adapter, 5)
    assert out.divergence is not None and len(out.divergence.calls) == 4  # three puts fill it, the fourth breaks
