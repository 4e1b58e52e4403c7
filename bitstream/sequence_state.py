"""The state that the decoding process carries from unit to unit within one coded sequence
(spec 6.3), held once and driven by both the stream writer and the stream parser:

- NextFrameIdx and PrevLevel (8.3.1), advanced by key frames (8.3.2), inferred frames (8.3.3)
  and semantic frames (8.3.4);
- the CABAC parsing state of semantic units and its initialisation points (9.3.1);
- the frames a hash unit may still cover (7.4.6), at most MaxHashSpan of them (Annex A);
- the inferred-frame budget: frame index deltas and inferred frames per byte of stream (A.3).

Writer and parser call the same methods in the same order, so encoder and decoder cannot
disagree on any of these rules."""
from __future__ import annotations

from collections import deque
from itertools import islice
from typing import Iterable

from .cabac_contexts import SemanticContextState
from .profiles import LevelLimits
from .semantic_reconstruction import pack_levels
from .structures import ENTROPY_CABAC, SequenceHeader


class ContextCarry:
    """When the semantic parsing state is initialised (spec 9.3.1): at the first semantic
    unit after the sequence header or a key-frame unit, and at every semantic unit when
    sh_cabac_context_carry_flag is 0."""

    def __init__(self, sh: SequenceHeader) -> None:
        self.sh = sh
        self.state: SemanticContextState | None = (
            sh.new_context_state() if sh.sh_entropy_coding_mode == ENTROPY_CABAC else None)
        self.pending_reset = True

    def trial_state(self) -> SemanticContextState | None:
        """A copy of the state the next unit would start from, to code it on the side."""
        if self.state is None:
            return None
        trial = self.state.clone()
        if self.pending_reset or not self.sh.sh_cabac_context_carry_flag:
            trial.initialize()
        return trial

    def for_next_unit(self) -> SemanticContextState | None:
        if self.state is not None and (self.pending_reset or not self.sh.sh_cabac_context_carry_flag):
            self.state.initialize()
        self.pending_reset = False
        return self.state


class HashWindow:
    """The frames a hash unit may cover (spec 7.4.6): those carried or inferred since the
    previous hash unit, at most MaxHashSpan frames (Annex A) before the hash unit. Their packed
    levels are kept in a window of that many frames, so memory does not grow with the stream,
    whatever the hash placement. Frames are added in FrameIdx order, without gaps."""

    def __init__(self, span: int) -> None:
        self.span = span
        self.first = 0                       # FrameIdx of the oldest frame held
        self._packed: deque[bytes] = deque()
        self._keyframes: set[int] = set()

    def __len__(self) -> int:
        return len(self._packed)

    @property
    def end(self) -> int:
        """FrameIdx following the newest frame held."""
        return self.first + len(self._packed)

    def add(self, idx: int, packed: bytes, keyframe: bool = False) -> None:
        if not self._packed:
            self.first = idx
        assert idx == self.end, "frames enter the hash window in order"
        self._packed.append(packed)
        if keyframe:
            self._keyframes.add(idx)
        if len(self._packed) > self.span:     # the oldest frame can no longer be covered
            self._packed.popleft()
            self._keyframes.discard(self.first)
            self.first += 1

    def holds(self, idx: int) -> bool:
        return self.first <= idx < self.end

    def is_keyframe(self, idx: int) -> bool:
        return idx in self._keyframes

    def frames(self) -> range:
        return range(self.first, self.end)

    def packed(self, first: int, count: int) -> Iterable[bytes]:
        """Packed levels of frames first .. first + count - 1 (all held)."""
        return islice(self._packed, first - self.first, first - self.first + count)

    def clear(self) -> None:
        self._packed.clear()
        self._keyframes.clear()


class SequenceState:
    """The inter-unit state of one coded sequence (spec 6.3, 8.3, 9.3.1, 7.4.6, A.3).

    limits: the level limits of the sequence header (None: profile checks off, the parser's
    check_profile=False); hash_span: the frames the hash window holds."""

    def __init__(self, sh: SequenceHeader, limits: LevelLimits | None, hash_span: int) -> None:
        self.sh = sh
        self.limits = limits
        self.next_frame_idx = 0                      # NextFrameIdx (8.3.1)
        self.prev_levels: list[int] | None = None    # PrevLevel (8.3.1); None before a key frame
        self.carry = ContextCarry(sh)                # CABAC initialisation points (9.3.1)
        self.window = HashWindow(hash_span)          # frames a hash unit may cover (7.4.6)
        self.since_hash = 0                          # NextFrameIdx after the previous hash unit
        self.inferred = 0                            # frames inferred so far (A.3)
        self.num_bytes = 0                           # bytes of the stream so far (A.3)

    # -- Annex A.3: frame index deltas -------------------------------------------------
    def frame_idx_delta_problem(self, delta: int, name: str, num_bytes: int | None = None) -> str | None:
        """What is wrong with a frame index delta at the level limits (Annex A.3), or None.
        num_bytes: the stream's bytes up to the end of the unit that carries it (default:
        those counted so far)."""
        limits = self.limits
        if limits is None:
            return None
        if delta > limits.max_frame_idx_delta:
            return f"{name} {delta} exceeds the level limit {limits.max_frame_idx_delta}"
        size = self.num_bytes if num_bytes is None else num_bytes
        if self.inferred + delta > limits.max_inferred_per_byte * size:
            return (f"{name} {delta}: {self.inferred + delta} inferred frames in the first "
                    f"{size} bytes of the stream exceed the level limit of "
                    f"{limits.max_inferred_per_byte} per byte (Annex A)")
        return None

    # -- 8.3: levels of each frame ---------------------------------------------------------
    def infer_frames(self, delta: int) -> list[tuple[int, list[int]]]:
        """Inferred frames (8.3.3): each repeats PrevLevel; before the first key frame they
        have no levels. Returns (FrameIdx, levels) of the inferred frames that have levels."""
        self.inferred += delta
        inferred = []
        for _ in range(delta):
            if self.prev_levels is not None:
                inferred.append((self.next_frame_idx, list(self.prev_levels)))
                self.window.add(self.next_frame_idx, pack_levels(self.prev_levels))
            self.next_frame_idx += 1
        return inferred

    def keyframe(self, ref_levels: list[int]) -> int:
        """A key frame (8.3.2): its levels are kf_ref_sem_level; the CABAC state is
        initialised at the next semantic unit (9.3.1). Returns its FrameIdx."""
        idx = self.next_frame_idx
        self.prev_levels = list(ref_levels)
        self.window.add(idx, pack_levels(ref_levels), keyframe=True)
        self.carry.pending_reset = True
        self.next_frame_idx += 1
        return idx

    def semantic_frame(self, levels: list[int]) -> int:
        """A carried semantic frame (8.3.4) with its reconstructed levels. Returns its FrameIdx."""
        idx = self.next_frame_idx
        self.window.add(idx, pack_levels(levels))
        self.prev_levels = list(levels)
        self.next_frame_idx += 1
        return idx

    # -- 7.4.6: hash coverage --------------------------------------------------------------
    def hash_unit_done(self) -> None:
        """After a hash unit, only later frames may be covered (7.4.6)."""
        self.window.clear()
        self.since_hash = self.next_frame_idx
