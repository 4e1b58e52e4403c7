"""Interactive edits of the decoded semantics, applied before synthesis (spec 8.6.1): the
normative reconstruction is untouched, only what the generator is asked to draw changes.

An edit sets, offsets, scales or holds one element over a frame range. Text form (CLI):
    ELEMENT:OP[=VALUE][@FIRST[-LAST]]          (no @: every frame)
    head_yaw:offset=15@10-60     turn the head 15 degrees in frames 10..60
    eye_blink_left:set=0@30      close the left eye in frame 30
    mouth_open:scale=2@0-        open the mouth twice as wide from frame 0 on
    head_roll:hold@40-80         keep the roll of frame 40 until frame 80
    head_loc:set=5               move the head into cell 5 of the 4x4 grid (row 1, column 1)

head_loc is derived from head_tx / head_ty (Annex B.3), which win: an edit of head_loc
moves the head to the target cell by changing head_tx / head_ty (bitstream.head_location.
move_to_cell), and whenever an edit touches head_tx, head_ty or head_loc in a frame,
head_loc is derived again from the edited translation. A head_loc edit takes set=CELL
(an integer 0..15) or hold (stay in the cell of the range's first frame); offset and scale
have no meaning for a cell index and are refused.

Python API: ``EditApplier([parse_edit("head_yaw:offset=15@10-60"), ...])`` is given to
``ref_decoder.decoder.Decoder(edits=...)`` (or used by ``tools.bitstream_editor`` to rewrite a
stream). ``apply(frame_idx, values)`` takes and returns the 14 element values of one frame
(float64, Annex B's table order, the units of Annex B) and clips each edited value to its
element's range; ``touches(frame_idx)`` says whether any edit covers the frame. Frame indices
are output frame indices (0 = the first frame of the stream). The decoder calls
``check_stream_length`` with sh_num_frames when it is known (an edit wholly outside the
stream is an EditError before anything is output) and ``finish`` with the number of frames
decoded. Warnings (values clamped to an element's range, once per edit; edit ranges partly
or wholly outside a live stream) go to ``EditApplier(edits, warn=...)``, by default Python's
warnings module.
"""
from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np

from bitstream.head_location import NUM_CELLS, head_loc_cell, move_to_cell
from bitstream.semantic_elements import ELEMENT_BY_NAME, SEMANTIC_ELEMENTS

OPS = ("set", "offset", "scale", "hold")
_INDEX = {e.name: i for i, e in enumerate(SEMANTIC_ELEMENTS)}
_TX, _TY, _LOC = _INDEX["head_tx"], _INDEX["head_ty"], _INDEX["head_loc"]
_PATTERN = re.compile(r"^(?P<el>[a-z0-9_]+):(?P<op>[a-z]+)(=(?P<val>[-+0-9.eE]+))?"
                      r"(@(?P<first>\d+)(?P<range>-(?P<last>\d*))?)?$")


class EditError(ValueError):
    pass


class EditWarning(UserWarning):
    """An edit that was applied other than written (clamped), or partly outside the stream."""


@dataclass(frozen=True)
class Edit:
    element: str
    op: str
    value: float
    first: int
    last: int | None          # inclusive; None: to the end

    def __post_init__(self) -> None:
        if self.element not in ELEMENT_BY_NAME:
            raise EditError(f"unknown semantic element {self.element!r}; known: "
                            f"{', '.join(e.name for e in SEMANTIC_ELEMENTS)}")
        if self.op not in OPS:
            raise EditError(f"unknown edit operation {self.op!r}; use one of {', '.join(OPS)}")
        if self.first < 0 or (self.last is not None and self.last < self.first):
            raise EditError(f"bad frame range {self.first}-{self.last}")
        if not math.isfinite(self.value):
            raise EditError(f"edit {self}: the value must be a finite number")
        if self.element == "head_loc":
            if self.op in ("offset", "scale"):
                raise EditError(f"edit {self}: head_loc is a cell index (4x4 grid, raster order) and takes "
                                "only set=CELL or hold; to move the head by an amount, offset head_tx / head_ty")
            if self.op == "set" and (self.value != int(self.value) or not 0 <= self.value < NUM_CELLS):
                raise EditError(f"edit {self}: head_loc cells are the integers 0..{NUM_CELLS - 1} "
                                "(4 row + column of a 4x4 grid)")

    def __str__(self) -> str:
        value = "" if self.op == "hold" else f"={self.value:g}"
        frames = f"{self.first}" if self.last == self.first else f"{self.first}-{'' if self.last is None else self.last}"
        return f"{self.element}:{self.op}{value}@{frames}"

    def covers(self, frame_idx: int) -> bool:
        return frame_idx >= self.first and (self.last is None or frame_idx <= self.last)


def parse_edit(text: str) -> Edit:
    m = _PATTERN.match(text.strip())
    if not m:
        raise EditError(f"cannot read edit {text!r}; expected ELEMENT:OP[=VALUE][@FIRST[-LAST]], "
                        "e.g. head_yaw:offset=15@10-60")
    op = m["op"]
    if (op == "hold") != (m["val"] is None):
        raise EditError(f"edit {text!r}: 'hold' takes no value, the others need one")
    first = int(m["first"]) if m["first"] is not None else 0
    if m["first"] is None:                       # no frame range: every frame
        last: int | None = None
    elif m["range"] is None:
        last = first
    else:
        last = int(m["last"]) if m["last"] else None
    try:
        value = float(m["val"]) if m["val"] else 0.0
    except ValueError:
        raise EditError(f"edit {text!r}: {m['val']!r} is not a number") from None
    return Edit(m["el"], op, value, first, last)


def _python_warning(message: str) -> None:
    warnings.warn(message, EditWarning, stacklevel=3)


def _frames(first: int, last: int) -> str:
    return f"frame {first}" if first == last else f"frames {first}-{last}"


class EditApplier:
    """Applies a list of edits frame by frame, in the order given; hold needs the value of
    the first frame of its range, so the applier remembers it."""

    def __init__(self, edits: list[Edit], warn: Callable[[str], None] | None = None) -> None:
        self.edits = edits
        self.warn = warn or _python_warning
        self._held: dict[int, float] = {}
        self._clamp_warned: set[int] = set()
        self._length_checked = False
        self.applied: set[int] = set()        # indices of the edits that covered some frame

    def touches(self, frame_idx: int) -> bool:
        return any(e.covers(frame_idx) for e in self.edits)

    def apply(self, frame_idx: int, values: np.ndarray) -> np.ndarray:
        out = values.copy()
        translated = False
        for k, e in enumerate(self.edits):
            if not e.covers(frame_idx):
                continue
            self.applied.add(k)
            i = _INDEX[e.element]
            translated |= i in (_TX, _TY, _LOC)
            if i == _LOC:
                self._move_head(k, e, out)
                continue
            if e.op == "set":
                out[i] = e.value
            elif e.op == "offset":
                out[i] += e.value
            elif e.op == "scale":
                out[i] *= e.value
            else:
                out[i] = self._held.setdefault(k, float(out[i]))
            el = SEMANTIC_ELEMENTS[i]
            clamped = min(max(out[i], el.min_value), el.max_value)
            if clamped != out[i] and k not in self._clamp_warned:
                self._clamp_warned.add(k)
                self.warn(f"edit {e}: {el.name} {out[i]:g} in frame {frame_idx} clamped to {clamped:g}, "
                          f"the end of its range {el.min_value}..{el.max_value} ({el.unit}); "
                          "further clamps of this edit are not reported")
            out[i] = clamped
        if translated:      # head_tx / head_ty win: head_loc follows them (Annex B.3)
            out[_LOC] = head_loc_cell(float(out[_TX]), float(out[_TY]))
        return out

    def _move_head(self, k: int, e: Edit, out: np.ndarray) -> None:
        """head_loc:set / hold: move the head into the cell by whole cells (spec 8.6.1)."""
        current = head_loc_cell(float(out[_TX]), float(out[_TY]))
        cell = int(e.value) if e.op == "set" else int(self._held.setdefault(k, current))
        out[_TX], out[_TY] = move_to_cell(float(out[_TX]), float(out[_TY]), cell)

    def check_stream_length(self, num_frames: int) -> None:
        """The stream's length is known (sh_num_frames > 0, or the whole stream was read):
        an edit that covers none of its frames is an EditError; one that covers only some
        of them is a warning."""
        self._length_checked = True
        self._check_length(num_frames, fatal=True)

    def finish(self, num_frames: int) -> None:
        """Called after the last frame (num_frames decoded): for a live stream, whose length
        was not known up front, warns about edits outside it."""
        if not self._length_checked:
            self._length_checked = True
            self._check_length(num_frames, fatal=False)

    def _check_length(self, n: int, fatal: bool) -> None:
        stream = f"the stream has {n} frames, numbered 0-{n - 1}" if n else "the stream has no frames"
        for e in self.edits:
            if e.first >= n:
                msg = f"edit {e} covers no frame: {stream}"
                if fatal:
                    raise EditError(msg)
                self.warn(f"{msg}; it changed nothing")
            elif e.last is not None and e.last >= n:
                self.warn(f"edit {e}: {_frames(n, e.last)} not in the stream ({stream}); "
                          f"applied to {_frames(e.first, n - 1)} only")
