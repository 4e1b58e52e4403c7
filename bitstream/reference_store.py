"""The reference store (spec Annex A.5, normative): the decoded key frames a decoder keeps
for synthesis, at most MaxRefFrames of them (Table A.1).

A key frame enters the store when it is decoded (clause 8.4), with its FrameIdx. When the
store already holds MaxRefFrames entries, the entry with the smallest FrameIdx (the oldest
key frame; key frames are decoded in increasing FrameIdx) is removed first. A stream with
more key frames than MaxRefFrames is not an error: the oldest ones are simply forgotten, so
the memory a decoder needs is bounded by the level, never by the length of the stream.

The store is generic over what an entry carries (the reference decoder keeps the decoded
picture, the reference semantic values and the geometry payload); which entry a generator
uses for which frame is the generator's own informative rule (e.g. Annex G.6).
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class ReferenceStore(Generic[T]):
    """At most ``max_ref_frames`` entries (FrameIdx, item), oldest first (spec A.5)."""

    def __init__(self, max_ref_frames: int) -> None:
        if max_ref_frames < 1:
            raise ValueError(f"MaxRefFrames must be at least 1, got {max_ref_frames}")
        self.max_ref_frames = max_ref_frames
        self._entries: list[tuple[int, T]] = []

    def add(self, frame_idx: int, item: T) -> list[int]:
        """Stores a newly decoded key frame; returns the FrameIdx of the entries evicted to
        make room (the oldest), in eviction order."""
        if self._entries and frame_idx <= self._entries[-1][0]:
            raise ValueError(f"key frame {frame_idx} does not follow key frame {self._entries[-1][0]}")
        evicted: list[int] = []
        while len(self._entries) >= self.max_ref_frames:
            evicted.append(self._entries.pop(0)[0])
        self._entries.append((frame_idx, item))
        return evicted

    def clear(self) -> None:
        self._entries.clear()

    def frame_indices(self) -> list[int]:
        return [idx for idx, _ in self._entries]

    def items(self) -> list[tuple[int, T]]:
        """The entries (FrameIdx, item), oldest first."""
        return list(self._entries)

    def newest(self) -> tuple[int, T]:
        if not self._entries:
            raise LookupError("the reference store is empty (no key frame decoded yet)")
        return self._entries[-1]

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[tuple[int, T]]:
        return iter(list(self._entries))
