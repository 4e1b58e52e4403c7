"""One opened stream in the studio: random access to its decoded frames under any list of edits.

The reference decoder (ref_decoder.decoder.Decoder) is sequential: it parses unit after unit
and synthesises each frame as it comes. The studio needs any frame, many times a second, for
edits that change while the user drags a slider. So the stream is decoded once, when it is
opened, by the reference decoder itself with two recorders in place of its edits and of its
generator's draw call:

- the values the decoder hands to its edits for every frame (after the normative
  reconstruction and the virtual-character transfer, spec 8.6.1) and the frame's kind;
- every key-frame state the decoder gives the generator (the reference store of spec A.5,
  ``set_references``: pictures, reference values, geometry of up to MaxRefFrames key
  frames), and which of them each frame is drawn from.

A preview of frame i under edits E then replays, in frame order, what the decoder does
(``EditApplier(E).apply`` on each frame it would call it for, so ``hold`` remembers the same
first value) and asks a generator of the stream's kind for frame i from i's key-frame state.
Key frames that no edit touches are shown as decoded, as the decoder does. The result is the
frame ``ifvc-decode --edit E`` outputs, byte for byte (tests/test_studio_session.py checks it
for every frame, in random order).
"""
from __future__ import annotations

import struct
import threading
import zlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from bitstream.errors import BitstreamError
from bitstream.semantic_elements import SEMANTIC_ELEMENTS
from bitstream.stream import StreamParser
from bitstream.structures import SequenceHeader
from ref_decoder.decoder import Character, Decoder, DecodingError, HashReport
from ref_decoder.edits import Edit, EditApplier, EditError, parse_edit
from ifvc_synthesis.generators import Generator, Reference, get_generator, use_references
from ref_decoder.stream_editing import edit_stream

MAX_FRAMES = 1500           # 60 s at 25 fps: the studio keeps every frame's values in memory
MAX_EDITS = 200
_CACHE = 16                 # edit lists whose replayed values are kept


class StudioError(ValueError):
    """Something the user asked for cannot be done; the message is shown in the page as is."""


@dataclass(frozen=True)
class KeyState:
    """What the decoder gave its generator at a key frame: the reference store (spec A.5),
    oldest first; the newest entry is the key frame itself."""
    references: tuple[Reference, ...]

    @property
    def rgb(self) -> np.ndarray:
        return self.references[-1].rgb


@dataclass(frozen=True)
class Replay:
    """The edited values of every frame for one edit list, and what the edits said."""
    values: np.ndarray          # N x 16 (Table 3), float64, table order (row p: frame_idx first + p)
    touched: np.ndarray         # N bools: an edit covers the frame
    warnings: tuple[str, ...]


class _RecordingGenerator:
    """Stands in for the stream's generator while the stream is opened: records each key-frame
    state, draws nothing (the frames are drawn later, one at a time, on request)."""

    def __init__(self, inner: Generator) -> None:
        self.name = inner.name
        self.weights_sha256 = inner.weights_sha256
        self.keys: list[KeyState] = []
        self._shape: tuple[int, ...] = (0, 0, 3)

    def set_keyframe(self, key_rgb: np.ndarray, key_values: np.ndarray, geometry: bytes,
                     geometry_version: int) -> None:
        self.set_references([Reference(0, key_rgb, key_values, geometry, geometry_version)])

    def set_references(self, references: Sequence[Reference]) -> None:
        # the store's entries are not changed once made (the decoder appends new ones)
        self.keys.append(KeyState(tuple(references)))
        self._shape = references[-1].rgb.shape

    def synthesize(self, target_values: np.ndarray) -> np.ndarray:
        return np.zeros(self._shape, np.uint8)


class _RecordingEdits(EditApplier):
    """Stands in for the decoder's edits while the stream is opened: covers every frame, so
    the decoder hands over each frame's values (key frames included), and changes nothing."""

    def __init__(self, decoder: "_LoadingDecoder") -> None:
        super().__init__([])
        self.decoder = decoder
        self.values: list[np.ndarray] = []
        self.slots: list[int] = []
        self.first = 0

    def touches(self, frame_idx: int) -> bool:
        return True

    def apply(self, frame_idx: int, values: np.ndarray) -> np.ndarray:
        if not self.values:
            self.first = frame_idx            # a stream may start after frame 0 (kf_frame_idx_delta)
        if frame_idx != self.first + len(self.values):
            raise StudioError(f"frame {frame_idx} came out of order (expected {self.first + len(self.values)})")
        self.values.append(values.copy())
        self.slots.append(len(self.decoder.recorder.keys) - 1)
        return values.copy()


class _LoadingDecoder(Decoder):
    """The reference decoder, with the generator the stream names (its weights checked by the
    decoder as usual) wrapped in a recorder."""

    real_generator: Generator
    recorder: _RecordingGenerator

    def _select_generator(self, sh: SequenceHeader) -> Generator:
        self.real_generator = super()._select_generator(sh)
        self.recorder = _RecordingGenerator(self.real_generator)
        return self.recorder


def parse_edits(texts: list[str]) -> list[Edit]:
    """The page's edit list (the ``--edit`` texts) as edits; EditError names the bad one."""
    if len(texts) > MAX_EDITS:
        raise EditError(f"at most {MAX_EDITS} edits")
    return [parse_edit(t) for t in texts]


class StudioSession:
    """A stream opened in the studio (see the module docstring). Thread-safe: one request at a
    time draws a frame (the generator holds one key-frame state)."""

    def __init__(self, data: bytes, name: str, character: Character | None = None,
                 character_name: str = "") -> None:
        self.data = data
        self.name = name
        self.character = character
        self.character_name = character_name
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[str, ...], Replay] = OrderedDict()
        dec = _LoadingDecoder(character=character, max_frames=MAX_FRAMES)
        dec.edits = recorder = _RecordingEdits(dec)
        kinds: list[str] = []
        try:
            for frame in dec.decode(data):
                kinds.append(frame.kind)
        except BitstreamError as exc:
            raise StudioError(f"{name} is not a valid IFVC stream: {exc}") from None
        except (DecodingError, EditError) as exc:
            raise StudioError(f"{name} cannot be decoded: {exc}") from None
        if not kinds:
            raise StudioError(f"{name} holds no frames")
        assert dec.sh is not None
        self.sh: SequenceHeader = dec.sh
        self.hashes: HashReport = dec.hashes
        self.kinds = kinds                    # of frame_idx first, first + 1, ...
        self.first = recorder.first
        self.base = np.stack(recorder.values)
        self.slots = recorder.slots
        self.keys = dec.recorder.keys
        self.generator = dec.real_generator
        self._slot_set: int | None = None

    # -- what the page shows ---------------------------------------------------------------
    @property
    def num_frames(self) -> int:
        return len(self.kinds)

    @property
    def end(self) -> int:
        """The frame_idx after the last frame."""
        return self.first + self.num_frames

    def info(self) -> dict[str, object]:
        """Stream facts and the original element curves, for the page."""
        sh = self.sh
        h = self.hashes
        hash_text = ("no hash units" if not (h.semantics_checked or h.keyframes_checked) else
                     f"hash check {'OK' if h.ok else 'MISMATCH: ' + ', '.join(h.mismatches)}")
        signalled = set(sh.sh_sem_element_id)
        return {
            "name": self.name, "bytes": len(self.data), "frames": self.num_frames,
            "width": sh.sh_pic_width, "height": sh.sh_pic_height, "fps": float(sh.frame_rate),
            "generator": self.generator.name, "hash": hash_text,
            "character": self.character_name, "first_frame": self.first,
            "key_frames": [self.first + p for p, k in enumerate(self.kinds) if k == "key"],
            "elements": [{"name": e.name, "unit": e.unit, "min": e.min_value, "max": e.max_value,
                          "signalled": e.element_id in signalled} for e in SEMANTIC_ELEMENTS],
            "original": self.base.T.round(6).tolist(),
        }

    def replay(self, texts: list[str]) -> Replay:
        """Every frame's values under the edits, as the decoder applies them (in frame order,
        key frames only where an edit covers them or a character is shown). EditError for an
        edit that cannot be read or covers no frame of the stream."""
        key = tuple(texts)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        warnings: list[str] = []
        applier = EditApplier(parse_edits(texts), warn=warnings.append)
        # the length the decoder checks edits against: sh_num_frames when the stream gives it
        applier.check_stream_length(self.sh.sh_num_frames or self.end)
        values = self.base.copy()
        touched = np.zeros(self.num_frames, bool)
        for p, kind in enumerate(self.kinds):
            touched[p] = applier.touches(self.first + p)
            if kind == "key" and self.character is None and not touched[p]:
                continue                          # the decoder shows the key picture as decoded
            values[p] = applier.apply(self.first + p, self.base[p])
        result = Replay(values, touched, tuple(warnings))
        with self._lock:
            self._cache[key] = result
            while len(self._cache) > _CACHE:
                self._cache.popitem(last=False)
        return result

    def frame(self, idx: int, texts: list[str]) -> np.ndarray:
        """Frame idx (frame_idx, as --edit counts; H x W x 3 uint8 RGB) as ``ifvc-decode --edit``
        outputs it."""
        if not self.first <= idx < self.end:
            raise StudioError(f"frame {idx} is not in the stream (frames {self.first}-{self.end - 1})")
        replay = self.replay(texts)
        return self._draw(idx - self.first, replay)

    def _draw(self, p: int, replay: Replay) -> np.ndarray:
        """The frame at position p (frame_idx first + p)."""
        slot = self.slots[p]
        state = self.keys[slot]
        if self.kinds[p] == "key" and self.character is None and not replay.touched[p]:
            return state.rgb
        with self._lock:
            try:
                if self._slot_set != slot:
                    self._slot_set = None
                    use_references(self.generator, state.references)   # as the decoder does
                    self._slot_set = slot
                return self.generator.synthesize(replay.values[p])
            except (ValueError, cv2.error) as exc:
                raise StudioError(f"generator {self.generator.name} cannot draw frame "
                                  f"{self.first + p}: {exc}") from None

    def frames(self, texts: list[str]):  # type: ignore[no-untyped-def]
        """Every frame in order (for the MP4 export)."""
        replay = self.replay(texts)
        for p in range(self.num_frames):
            yield self._draw(p, replay)

    # -- exports ---------------------------------------------------------------------------
    def export_stream(self, texts: list[str]) -> tuple[bytes, int, list[str]]:
        """The edited stream, rewritten as ``ifvc-edit`` does (key-frame payloads untouched,
        hash units recomputed): (bytes, frames changed, warnings)."""
        warnings: list[str] = []
        try:
            out, changed = edit_stream(self.data, EditApplier(parse_edits(texts), warn=warnings.append))
            list(StreamParser().parse(out))      # the result must parse, as ifvc-edit checks
        except BitstreamError as exc:
            raise StudioError(f"the edited stream cannot be written: {exc}") from None
        return out, changed, warnings


def png_bytes(rgb: np.ndarray) -> bytes:
    """A lossless PNG of an RGB frame (8-bit truecolour, no filter, stored deflate blocks).

    Written here rather than with cv2.imencode because the preview is sent many times a second
    and its cost counts: a 256x256 frame takes about 0.7 ms this way (about 200 KB, nothing
    over a loopback socket) against 8-13 ms for OpenCV's encoder at any compression level
    (measured on the 2-core development machine, tools/bench_studio.py)."""
    h, w, _ = rgb.shape
    rows = np.zeros((h, 1 + 3 * w), np.uint8)          # filter type 0 (None) before each row
    rows[:, 1:] = rgb.reshape(h, 3 * w)

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)   # 8 bits, colour type 2 (RGB)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows.tobytes(), 0))
            + chunk(b"IEND", b""))
