"""The IFVC reference decoder: parse, reconstruct the integer semantics and the key frames
(normative, bit-exact), then synthesise every other frame with the generator the stream
names (informative). Frames come out as their units are parsed (low delay), and memory
does not grow with the length of the sequence."""
from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass, field
from typing import Iterator

import cv2
import numpy as np

from bitstream.errors import BitstreamError
from bitstream.key_geometry import check_geometry_version
from bitstream.keyframe_vvc import decode_vvc_yuv420
from bitstream.picture_format import (frame_to_rgb_planar, rgb_planar_to_frame, yuv420_from_bytes,
                                      yuv420_planar_bytes, yuv420_to_rgb)
from bitstream.profiles import max_ref_frames
from bitstream.reference_store import ReferenceStore
from bitstream.semantic_elements import SEMANTIC_ELEMENTS
from bitstream.semantic_reconstruction import values_from_levels  # noqa: F401 (spec 8.3.5; re-exported)
from bitstream.stream import (ParsedHash, ParsedKeyframe, ParsedSemanticUnit,
                              ParsedSequenceHeader, StreamParser)
from bitstream.structures import KEYFRAME_CODEC_RAW, KEYFRAME_CODEC_VVC, SequenceHeader
from ifvc_synthesis.correction_grid import CorrectionLayout, apply_correction
from ifvc_synthesis.generators import Generator, Reference, coded_picture_bits, get_generator, use_references

from .edits import EditApplier

_MIN_VALUES = np.array([e.min_value for e in SEMANTIC_ELEMENTS], dtype=np.float64)
_MAX_VALUES = np.array([e.max_value for e in SEMANTIC_ELEMENTS], dtype=np.float64)


class DecodingError(RuntimeError):
    """The stream decodes, but cannot be synthesised as asked (generator, character)."""


@dataclass
class DecodedFrame:
    frame_idx: int
    rgb: np.ndarray
    values: np.ndarray           # the 14 element values after edits, table order
    levels: list[int]            # reconstructed levels, signalled order (normative, unedited)
    kind: str                    # "key", "semantic" or "inferred"


@dataclass
class HashReport:
    semantics_checked: int = 0
    semantics_mismatched: int = 0
    keyframes_checked: int = 0
    keyframes_mismatched: int = 0
    mismatches: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.semantics_mismatched or self.keyframes_mismatched)


@dataclass
class Character:
    """A key frame that replaces the stream's key frames (virtual character): a picture, its
    reference semantic values and geometry payload, taken from a one-key-frame IFVC stream."""
    rgb: np.ndarray
    values: np.ndarray
    geometry: bytes
    geometry_version: int


def decode_keyframe_picture(sh: SequenceHeader, codec_id: int, payload: bytes) -> tuple[np.ndarray, bytes]:
    """A key frame (spec 8.4): its H x W x 3 RGB for the generator, and the MD5 of the
    decoded picture in the output format (spec 7.4.6): R, G, B planes for 4:4:4, the decoded
    Y, Cb, Cr planes for 4:2:0 (hashed before any conversion)."""
    w, h = sh.sh_pic_width, sh.sh_pic_height
    if codec_id == KEYFRAME_CODEC_RAW:
        if sh.sh_chroma_format_idc == 3:
            return rgb_planar_to_frame(payload, w, h), hashlib.md5(payload).digest()
        planes = yuv420_from_bytes(payload, w, h)
    elif codec_id == KEYFRAME_CODEC_VVC:
        planes = decode_vvc_yuv420(payload, w, h)
    else:
        raise BitstreamError(f"kf_codec_id {codec_id} is not supported", element="kf_codec_id")
    rgb = yuv420_to_rgb(*planes)
    if sh.sh_chroma_format_idc == 3:
        return rgb, hashlib.md5(frame_to_rgb_planar(rgb)).digest()
    return rgb, hashlib.md5(yuv420_planar_bytes(*planes)).digest()


class Decoder:
    """The reference decoder (Python API of ``ifvc-decode``): parsing and the normative
    reconstruction of semantics and key frames (clauses 8 and 9), then synthesis (8.6).

    ``for frame in Decoder().decode(data): ...`` yields one ``DecodedFrame`` per output frame,
    in output order, as soon as the unit that carries it is parsed (low delay, clause 6.3);
    a stream error raises ``BitstreamError`` (or ``DecodingError``) where it is found. After
    the loop, ``.sh`` is the sequence header and ``.hashes`` the hash-unit verdict (8.5).

    Frame layout: ``frame.rgb`` is a ``numpy.ndarray`` of shape (sh_pic_height,
    sh_pic_width, 3), dtype ``uint8``, channels R, G, B (not BGR), 8 bits, full range;
    ``frame.values`` the 14 element values of Annex B's table order after edits (float64),
    ``frame.levels`` the normative integer levels in signalled order, before edits. The
    ``.rgb`` output of ``ifvc-decode`` is these frames as planar R, G, B planes, frame after
    frame (``bitstream.picture_format.frame_to_rgb_planar``).

    ``edits`` (``ref_decoder.edits.EditApplier``) change what the generator draws, never the
    levels; ``character`` replaces the key frame (virtual character); ``generator``
    overrides the generator the stream names.
    """

    def __init__(self, *, generator: Generator | None = None, edits: EditApplier | None = None,
                 character: Character | None = None, max_frames: int | None = None) -> None:
        """max_frames: refuse (DecodingError) a stream that asks for more frames than this,
        before synthesising any frame of the unit that asks (for untrusted streams)."""
        self.max_frames = max_frames
        self.generator_override = generator
        self.edits = edits or EditApplier([])
        self.character = character
        self.sh: SequenceHeader | None = None
        self.generator: Generator | None = None
        self.hashes = HashReport()
        self._key_md5: dict[int, bytes] = {}
        self._key_rgb: np.ndarray | None = None
        self._key_values: np.ndarray | None = None
        # Decoded key frames kept for synthesis (spec A.5): at most MaxRefFrames of the level.
        self.references: ReferenceStore[Reference] = ReferenceStore(1)
        self._correction: CorrectionLayout | None = None     # the stream's correction elements (8.6.2)

    # -- helpers -------------------------------------------------------------------------
    def _values(self, levels: list[int]) -> np.ndarray:
        """Full element vector: signalled elements dequantised, the others from the key frame."""
        assert self.sh is not None
        return values_from_levels(self.sh, levels, self._key_values)

    def _select_generator(self, sh: SequenceHeader) -> Generator:
        if self.generator_override is not None:
            if self.generator_override.name != sh.sh_generator_name:
                print(f"note: synthesising with {self.generator_override.name}; the stream names "
                      f"{sh.sh_generator_name or 'no generator'}", file=sys.stderr)
            return self.generator_override
        if not sh.sh_generator_name:
            raise DecodingError("the stream names no generator; choose one (--generator)")
        try:
            gen = get_generator(sh.sh_generator_name)
        except ValueError as exc:
            raise DecodingError(str(exc)) from None
        if gen.weights_sha256 != sh.sh_generator_sha256:
            raise DecodingError(f"generator {sh.sh_generator_name}: weights SHA-256 "
                                f"{gen.weights_sha256.hex()} differs from the stream's "
                                f"{sh.sh_generator_sha256.hex()}")
        return gen

    def _synth(self, idx: int, levels: list[int], kind: str) -> DecodedFrame:
        assert self.generator is not None
        values = self._values(levels)
        if self.character is not None and self._key_values is not None:
            # Relative motion transfer: the character moves as the speaker moves away from
            # the speaker's key frame, from the character's own pose and expression.
            values = self.character.values + (values - self._key_values)
            values = np.clip(values, _MIN_VALUES, _MAX_VALUES)
        values = self.edits.apply(idx, values)
        rgb = self._generate(self.generator.synthesize, values)
        if (self._correction is not None and kind != "key" and self.character is None
                and not self.edits.touches(idx)):
            # 8.6.2: the correction describes the picture as coded, not an edited or
            # character's one, and a key frame shows its decoded picture
            rgb = apply_correction(rgb, self._correction, levels)
        return DecodedFrame(idx, rgb, values, levels, kind)

    def _generate(self, fn, *args):  # type: ignore[no-untyped-def]
        """Calls the generator; its failures (not the stream's) become a DecodingError."""
        try:
            return fn(*args)
        except (ValueError, cv2.error) as exc:
            name = self.generator.name if self.generator else "?"
            raise DecodingError(f"generator {name} cannot synthesise this frame: {exc}") from None

    # -- decoding ------------------------------------------------------------------------
    def decode(self, data: bytes) -> Iterator[DecodedFrame]:
        count = 0
        for frame in self._decode_units(data):
            count += 1
            yield frame
        self.edits.finish(count)             # a live stream's edits outside it: warnings

    def _decode_units(self, data: bytes) -> Iterator[DecodedFrame]:
        parser = StreamParser()
        for unit in parser.parse(data):
            self._check_max_frames(parser)
            if isinstance(unit, ParsedSequenceHeader):
                self.sh = unit.sh
                if unit.sh.sh_num_frames:     # known length: an edit outside it is an error now
                    self.edits.check_stream_length(unit.sh.sh_num_frames)
                self.generator = self._select_generator(unit.sh)
                self.references = ReferenceStore(max_ref_frames(unit.sh.sh_level_idc))
                layout = CorrectionLayout(unit.sh)
                self._correction = layout if layout.present else None
            elif isinstance(unit, ParsedKeyframe):
                yield from self._inferred(unit.inferred_before)
                yield self._keyframe(unit)
                # Key frames a hash unit can no longer name are forgotten (bounded memory).
                first = parser.hash_window_first
                self._key_md5 = {k: v for k, v in self._key_md5.items() if k >= first}
            elif isinstance(unit, ParsedSemanticUnit):
                for f in unit.frames:
                    yield self._synth(f.frame_idx, f.levels, "inferred" if f.inferred else "semantic")
            elif isinstance(unit, ParsedHash):
                self._check_hashes(unit)

    def _check_max_frames(self, parser: StreamParser) -> None:
        if self.max_frames is None or parser.sh is None:
            return
        asked = max(parser.next_frame_idx, parser.sh.sh_num_frames)
        if asked > self.max_frames:
            raise DecodingError(f"the stream has more than {self.max_frames} frames (at least "
                                f"{asked}; limit set by --max-frames)")

    def _inferred(self, frames: list[tuple[int, list[int]]]) -> Iterator[DecodedFrame]:
        for idx, levels in frames:
            yield self._synth(idx, levels, "inferred")

    def _keyframe(self, unit: ParsedKeyframe) -> DecodedFrame:
        assert self.sh is not None and self.generator is not None
        kf = unit.kf
        rgb, md5 = decode_keyframe_picture(self.sh, kf.kf_codec_id, kf.kf_picture_payload)
        self._key_md5[unit.frame_idx] = md5
        if self.character is not None and self.sh is not None:
            c = self.character
            if c.rgb.shape[:2] != (self.sh.sh_pic_height, self.sh.sh_pic_width):
                raise DecodingError(f"the character is {c.rgb.shape[1]}x{c.rgb.shape[0]}, the stream "
                                    f"{self.sh.sh_pic_width}x{self.sh.sh_pic_height}: make the character "
                                    "at the stream's size (ifvc-character --size)")
        values = self._values(unit.levels)
        self._key_values = values
        kept = rgb.copy()                     # the store's own picture: output frames may be changed by users
        kept.flags.writeable = False
        bits = coded_picture_bits(kf.kf_codec_id, kf.kf_picture_payload)
        self.references.add(unit.frame_idx, Reference(unit.frame_idx, kept, values.copy(),
                                                      bytes(kf.kf_geometry_payload), kf.kf_geometry_version,
                                                      picture_bits=bits))
        if self.character is not None:       # the character is the one reference
            c = self.character
            self._generate(self.generator.set_keyframe, c.rgb, c.values, c.geometry, c.geometry_version)
        else:                                # the store, or its newest entry (generator's choice)
            self._generate(check_geometry_version, self.sh, kf.kf_geometry_version)
            self._generate(use_references, self.generator, [ref for _, ref in self.references])
        if self.character is not None or self.edits.touches(unit.frame_idx):
            return self._synth(unit.frame_idx, unit.levels, "key")  # the edit or character must show
        return DecodedFrame(unit.frame_idx, rgb, values, unit.levels, "key")

    def _check_hashes(self, unit: ParsedHash) -> None:
        for check in unit.checks:
            e = check.entry
            if check.matches is None:      # a key-frame picture: ours to check
                self.hashes.keyframes_checked += 1
                if self._key_md5.get(e.hu_first_frame_idx) != e.hu_md5:
                    self.hashes.keyframes_mismatched += 1
                    self.hashes.mismatches.append(f"key frame {e.hu_first_frame_idx}")
            else:
                self.hashes.semantics_checked += 1
                if not check.matches:
                    self.hashes.semantics_mismatched += 1
                    last = e.hu_first_frame_idx + e.hu_num_frames_minus1
                    self.hashes.mismatches.append(f"semantics of frames {e.hu_first_frame_idx}..{last}")
        self._key_md5.clear()
