"""Minimal reproducers: delta debugging (Zeller's ddmin) over the stream's units, then over
its bytes, keeping every reduction that still shows the same signature."""
from __future__ import annotations

from typing import Callable, Sequence, TypeVar

from bitstream.errors import BitstreamError
from bitstream.units import iter_units

T = TypeVar("T")


def split_units(data: bytes) -> list[bytes]:
    """The stream's units (header and payload each), bytes that do not frame as a last chunk."""
    chunks: list[bytes] = []
    pos = 0
    try:
        for raw in iter_units(data):
            chunks.append(data[raw.offset:raw.offset + raw.size])
            pos = raw.offset + raw.size
    except BitstreamError:
        pass
    if pos < len(data):
        chunks.append(data[pos:])
    return chunks


class Budget:
    """Tests left; a minimisation stops (keeping the smallest stream so far) when it runs out."""

    def __init__(self, tests: int) -> None:
        self.left = tests

    def spend(self) -> bool:
        self.left -= 1
        return self.left >= 0


def ddmin(items: Sequence[T], fails: Callable[[list[T]], bool], budget: Budget) -> list[T]:
    """A 1-minimal subsequence of items for which fails() holds (fails(items) is assumed)."""
    current = list(items)
    n = 2
    while len(current) >= 2:
        size = -(-len(current) // n)
        chunks = [current[i:i + size] for i in range(0, len(current), size)]
        reduced = False
        for k in range(len(chunks)):            # a complement first: removes the most at once
            complement = [x for j, c in enumerate(chunks) if j != k for x in c]
            if not complement:
                continue
            if not budget.spend():
                return current
            if fails(complement):
                current, n, reduced = complement, max(n - 1, 2), True
                break
        if not reduced:
            if n >= len(current):
                break
            n = min(len(current), 2 * n)
    return current


def minimise(data: bytes, same_failure: Callable[[bytes], bool], max_tests: int = 300) -> bytes:
    """The smallest stream found that still fails the same way: whole units removed first,
    then bytes."""
    budget = Budget(max_tests)
    units = ddmin(split_units(data), lambda us: same_failure(b"".join(us)), budget)
    smaller = b"".join(units)
    out = ddmin(list(smaller), lambda bs: same_failure(bytes(bs)), budget)
    return bytes(out)
