"""Interactive edits of the decoded semantics, applied before synthesis (spec 8.6): the
normative reconstruction is untouched, only what the generator is asked to draw changes.

An edit sets, offsets, scales or holds one element over a frame range. Text form (CLI):
    ELEMENT:OP[=VALUE]@FIRST[-LAST]
    head_yaw:offset=15@10-60     turn the head 15 degrees in frames 10..60
    eye_blink_left:set=0@30      close the left eye in frame 30
    mouth_open:scale=2@0-        open the mouth twice as wide from frame 0 on
    head_roll:hold@40-80         keep the roll of frame 40 until frame 80

Python API: ``EditApplier([parse_edit("head_yaw:offset=15@10-60"), ...])`` is given to
``ref_decoder.decoder.Decoder(edits=...)`` (or used by ``tools.bitstream_editor`` to rewrite a
stream). ``apply(frame_idx, values)`` takes and returns the 14 element values of one frame
(float64, Annex B's table order, the units of Annex B) and clips each edited value to its
element's range; ``touches(frame_idx)`` says whether any edit covers the frame. Frame indices
are output frame indices (0 = the first frame of the stream).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from bitstream.semantic_elements import ELEMENT_BY_NAME, SEMANTIC_ELEMENTS

OPS = ("set", "offset", "scale", "hold")
_INDEX = {e.name: i for i, e in enumerate(SEMANTIC_ELEMENTS)}
_PATTERN = re.compile(r"^(?P<el>[a-z0-9_]+):(?P<op>[a-z]+)(=(?P<val>[-+0-9.eE]+))?@(?P<first>\d+)(?P<range>-(?P<last>\d*))?$")


class EditError(ValueError):
    pass


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

    def covers(self, frame_idx: int) -> bool:
        return frame_idx >= self.first and (self.last is None or frame_idx <= self.last)


def parse_edit(text: str) -> Edit:
    m = _PATTERN.match(text.strip())
    if not m:
        raise EditError(f"cannot read edit {text!r}; expected ELEMENT:OP[=VALUE]@FIRST[-LAST], "
                        "e.g. head_yaw:offset=15@10-60")
    op = m["op"]
    if (op == "hold") != (m["val"] is None):
        raise EditError(f"edit {text!r}: 'hold' takes no value, the others need one")
    first = int(m["first"])
    if m["range"] is None:
        last: int | None = first
    else:
        last = int(m["last"]) if m["last"] else None
    return Edit(m["el"], op, float(m["val"]) if m["val"] else 0.0, first, last)


class EditApplier:
    """Applies a list of edits frame by frame, in the order given; hold needs the value of
    the first frame of its range, so the applier remembers it."""

    def __init__(self, edits: list[Edit]) -> None:
        self.edits = edits
        self._held: dict[int, float] = {}

    def touches(self, frame_idx: int) -> bool:
        return any(e.covers(frame_idx) for e in self.edits)

    def apply(self, frame_idx: int, values: np.ndarray) -> np.ndarray:
        out = values.copy()
        for k, e in enumerate(self.edits):
            if not e.covers(frame_idx):
                continue
            i = _INDEX[e.element]
            if e.op == "set":
                out[i] = e.value
            elif e.op == "offset":
                out[i] += e.value
            elif e.op == "scale":
                out[i] *= e.value
            else:
                out[i] = self._held.setdefault(k, float(out[i]))
            el = SEMANTIC_ELEMENTS[i]
            out[i] = min(max(out[i], el.min_value), el.max_value)
        return out
