"""The IFVC reference encoder: face video in, conforming .ifvc stream out.

Per frame (low delay: nothing looks ahead of the semantic unit in progress): analysis -> causal smoothing -> quantisation to
integer levels (rounding, or rate-distortion optimised against the writer's closed-loop
prediction and CABAC state: semantic_rdoq.py); a key frame is coded with VVC intra when a refresh is due, and what the
generator needs from it (reference semantics, geometry) is computed on the DECODED key frame,
exactly as every decoder will see it. Semantic frames are grouped into semantic units of up
to frames_per_unit frames; a hash unit closes each key-frame period.

A refresh is due on the first frame, every keyframe_period frames, when the pose moves more
than keyframe_pose_threshold from the key frame, or (adaptive refresh, adaptive_refresh.py)
where the generator, run on the encoder's own reconstruction as every decoder will run it,
draws the frame below a quality threshold. That judgement is made when the frame's semantic
unit is written, with the levels the decoder draws it with (the unit's, interpolated ones
included), on the generator's picture (refresh_picture "shown": after the correction stage, with
the levels chosen for it); a frame that falls short cuts the unit there and becomes a key
frame, and the frames after it are coded again (nothing looks further ahead than the unit in
progress).

With pose_fit (pose_fit.py) the head pose of each frame that codes the head group is chosen by
synthesis before quantisation: the pose whose picture, drawn from the decoder's references,
is closest to the source.
"""
from __future__ import annotations

import hashlib
import itertools
import time
import warnings
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from fractions import Fraction
from functools import partial
from typing import Callable, Iterable

import numpy as np

from bitstream.generator_registry import DEFAULT_GENERATOR_NAME, GENERATOR_BY_NAME, resolve_generator_id
from bitstream.picture_format import frame_to_rgb_planar
from bitstream.key_geometry import check_geometry_version
from bitstream.profiles import (COMPACT_HEADER_PROFILES, LEVELS, PROFILE_COMPACT, PROFILE_NAMES, allowed_element_ids,
                                compact_tools, max_ref_frames)
from bitstream.semantic_elements import (BACKGROUND_ELEMENT_IDS, CORRECTION_ELEMENT_IDS, DEFAULT_ELEMENT_IDS,
                                         ELEMENT_BY_ID, ELEMENT_BY_NAME, SEMANTIC_ELEMENTS)
from bitstream.semantic_groups import GROUP_HEAD, GROUP_NAMES, group_list
from bitstream.semantic_reconstruction import values_from_levels
from bitstream.semantic_temporal import MAX_SEM_PERIOD, interpolate_unit, is_anchor, sem_periods
from bitstream.stream import StreamWriter
from bitstream.structures import (ENTROPY_CABAC, KEYFRAME_CODEC_RAW, KEYFRAME_CODEC_VVC,
                                  SequenceHeader)
from ifvc_synthesis.correction_grid import apply_correction
from ifvc_synthesis.generators import Reference, coded_picture_bits, known_generators

from .adaptive_refresh import (REFRESH_PICTURES, AdaptiveRefresh, RefreshStats, resolve_check_every,
                               resolve_failed, resolve_invented, resolve_refresh, resolve_teeth)
from .analysis import FaceAnalyzer, NoFaceError
from .analysis.analyzer import DEFAULT_ONE_EURO
from .analysis.face_count import MultiFaceMonitor
from .analysis.smoothing import OneEuroFilter
from .background_motion import BackgroundMotion, signals_background
from .correction_grid import CorrectionChooser, resolve_correction
from .decoder_mirror import DecoderMirror
from .draw_ahead import DrawAhead, DrawJob
from .draw_worker import do_job
from .keyframe_coding import (DEFAULT_KEYFRAME_FILTERS, KEYFRAME_FILTERS, CodedKeyframe, encode_vvc_intra,
                              resolve_keyframe_preset)
from .keyframe_geometry import GEOMETRY_VERSION_V1, GEOMETRY_VERSION_V2, geometry_from_landmarks
from .pose_fit import PoseFit, PoseFitStats
from .semantic_rdoq import (ClosedLoopChooser, SemanticQuantiser, choose_unit_levels, default_max_level_error,
                            resolve_lambda)

MAX_LEADING_NO_FACE = 50   # frames without a face tolerated before the first face
# The Compact profile's default temporal resolution: the head at every third frame of a unit,
# eyes and mouth at every frame (docs/results/temporal_resolution_2026-12-03: head /3 saves 8 %
# of the semantic bits with no measurable quality change; sub-sampled eyes make blinks shallower).
DEFAULT_SEMANTIC_PERIODS = {"head": 3}


class EncoderWarning(UserWarning):
    """Something the user should know about the input or the options; coding goes on."""


def _python_warning(message: str) -> None:
    warnings.warn(message, EncoderWarning, stacklevel=3)

# Semantic precision presets (Annex B.6), in element-table order. "default" is Table 3's.
PRECISION_PRESETS: dict[str, list[int]] = {
    "fine": [2, 2, 2, 8, 8, 7, 0, 5, 5, 8, 7, 4, 4, 4, 9, 9],  # matched to the analysis noise
    "default": [e.default_precision for e in SEMANTIC_ELEMENTS],
    "low": [0, 0, 0, 6, 6, 5, 0, 3, 3, 6, 5, 2, 2, 2, 7, 7],   # about 0.5 kbit/s
}


@dataclass
class EncoderConfig:
    keyframe_qp: int = 42
    keyframe_codec: str = "vvc"              # "vvc" or "raw"
    entropy_coding_mode: int = ENTROPY_CABAC
    frames_per_unit: int = 8                 # delay vs. rate: 1 gives the lowest delay
    keyframe_period: int = 0                 # 0: one key frame; N: a key frame every N frames
    keyframe_pose_threshold: float = 0.0     # degrees of yaw/pitch/roll away from the key frame; 0: off
    smoothing: bool = True                   # causal One-Euro filter (Annex B.5)
    precision_preset: str = "default"        # PRECISION_PRESETS key
    precisions: dict[str, int] = field(default_factory=dict)   # element name -> p, over the preset
    semantic_lambda: str | float = "auto"    # "off": rounding; "auto": from keyframe_qp; or a number
    semantic_max_level_error: float | None = None   # RDOQ error bound, in levels (None: the profile's)
    hash_units: bool = True
    generator_name: str = DEFAULT_GENERATOR_NAME
    generator_sha256: bytes | None = None    # SHA-256 of the weights given; None: none given (the
                                             # registry's shipped digest, bitstream/generator_registry.py)
    vvc_preset: str = "auto"                 # VVenC preset of the key frames: a KEYFRAME_PRESETS name or
                                             # "auto" (medium; with refresh the later key frames fast:
                                             # resolve_keyframe_preset)
    keyframe_filters: str = DEFAULT_KEYFRAME_FILTERS   # VVenC's in-loop filters for the key
                                             # pictures: a KEYFRAME_FILTERS name (texture: no ALF)
    level_idc: int | None = None             # None: the lowest level that fits
    profile_idc: int = PROFILE_COMPACT       # the version 1.2 low-overhead tools; PROFILE_MAIN: 1.1 syntax
    full_header: bool = False                # Compact profile: sequence_header( ) instead of the
                                             # compact form (spec 7.3.8); Main always writes it
    refresh: str | float = "off"             # adaptive refresh: "off", "auto" (threshold from keyframe_qp)
                                             # or a face-region PSNR threshold in dB (adaptive_refresh.py)
    refresh_invented: str | float = "off"    # with refresh, also a key frame where more than this share
                                             # (percent) of the picture is drawn from beyond the key
                                             # picture's edges: "off", a percentage or "auto" (3 % at
                                             # keyframe_qp <= 32, off above; resolve_invented)
    refresh_failed: str | float = "off"      # with refresh, also a key frame where more than this share
                                             # (percent) of the picture is in blocks that show other
                                             # content: "off" or a percentage (resolve_failed)
    refresh_teeth: bool | str = "off"        # with refresh and a mesh generator, also a key frame where the
                                             # source shows teeth and no drawing reference does: "off",
                                             # "on" (or a bool), "auto" (on at keyframe_qp <= 32)
    refresh_check_every: int | str = "auto"  # synthesise and measure every k-th frame (speed); "auto":
                                             # by the generator's cost (adaptive_refresh.AUTO_CHECK_EVERY)
    refresh_picture: str = "generator"       # what the refresh check judges where the stream has the
                                             # correction elements: "generator" (the generator's picture,
                                             # before the correction stage) or "shown" (after it, as the
                                             # decoder shows it); docs/results/refresh_corrected_2026-12-06
    refresh_qp_offset: int = 0               # key frames after the first: QP keyframe_qp + this (clipped
                                             # to 0..63); a refresh mostly supplies appearance the first
                                             # key frame lacks, which a coarser picture still shows
    element_ids: list[int] | None = None     # signalled elements (ids of Table 3, header order);
                                             # None: DEFAULT_ELEMENT_IDS
    background_motion: str | bool = "auto"   # signal bg_tx, bg_ty (spec 1.2), measured by
                                             # background_motion.py: "on" (True), "off" (False), or
                                             # "auto": on in the Compact profile when the stream's
                                             # generator moves its background plate by them
                                             # (Table 3a; Annex G.5a) and no element list is given
    geometry_version: int | None = None      # kf_geometry_version of key frames with a face; None:
                                             # the smallest the profile allows (2 Compact, 1 Main)
    pose_fit: bool = False                   # choose each head anchor's pose by synthesis (pose_fit.py)
    semantic_periods: dict[str, int] | None = None   # group name (head, eyes, mouth, other) -> SemPeriod
                                             # 1..4 (spec 7.2a, Compact profile); None: the profile's
                                             # default (DEFAULT_SEMANTIC_PERIODS; Main: all 1)
    correction_grid: str | bool = "auto"     # signal the correction elements (Table 3e, spec 8.6.2),
                                             # chosen by correction_grid.py: "on" (True), "off" (False),
                                             # or "auto": on in the Compact profile at keyframe_qp <= 32
                                             # (docs/results/correction_elements_2026-12-06)
    threads: int = 1                         # the encoder's thread and threads - 1 worker processes that
                                             # draw a unit's frames for the refresh check and the correction
                                             # grid and run the pose fit (draw_ahead.py); the stream is the
                                             # same for any count


@dataclass
class FrameLog:
    """One coded frame. `values`/`levels` are what the stream carries for it (for a key frame
    its reference semantics, measured on the decoded picture); `analysed` is the (smoothed)
    analysis of the source frame with its background displacement, before any pose fit."""
    frame_idx: int
    kind: str                                 # "key" or "semantic"
    values: list[float]
    levels: list[int]
    face_found: bool
    analysed: list[float] = field(default_factory=list)


@dataclass
class _Analysed:
    """A source frame after analysis: its picture, landmarks (None: no face found) and
    semantic values (smoothed, background displacement measured), before any pose fit."""
    rgb: np.ndarray
    landmarks: np.ndarray | None
    values: np.ndarray


@dataclass
class _Waiting:
    """A semantic frame waiting for its unit: the values it codes (after the pose fit), its
    levels (set when the unit is written: provisional with temporal sub-sampling), and what was
    last drawn, chosen and judged
    for it, each with the inputs it came from, so that the same levels are not synthesised twice."""
    frame: _Analysed
    values: np.ndarray
    levels: list[int] = field(default_factory=list)
    judged: tuple[tuple[list[int], list[int] | None], bool] | None = None  # ((levels, previous
                                              # frame's levels with correction), fell short)
    drawn: tuple[list[int], np.ndarray] | None = None    # (levels, the generator's picture of them)
    invented: tuple[list[int], float] | None = None      # (levels, their picture's invented share,
                                              # where a worker measured it with the picture)
    proposal: tuple[list[int], list[tuple[int, int]]] | None = None   # (levels, the correction fitted on
                                              # their picture: CorrectionChooser.propose)
    ahead: tuple[list[int], DrawJob] | None = None  # (levels, the worker drawing them: draw_ahead.py)
    needs_fit: bool = False                   # its pose is fitted when the unit is written (pose_fit.py)
    fit: DrawJob | None = None                # the worker fitting it meanwhile, if any
    corrected: tuple[tuple[list[int], list[int]], list[int]] | None = None  # ((levels, previous
                                              # frame's levels), the levels with the correction chosen)


@dataclass
class _Run:
    """The state of one encode(): the writer, the mirrored decoder stores, the frames to code
    (todo: analysed, or sent back by a refresh) and those waiting for their semantic unit."""
    writer: StreamWriter
    analyzer: FaceAnalyzer
    background: BackgroundMotion | None
    refresh: AdaptiveRefresh | None
    fitter: PoseFit | None
    correction: CorrectionChooser | None = None
    mirror: DecoderMirror | None = None       # draws frames for the correction (the refresh's if any)
    ahead: DrawAhead | None = None            # worker processes drawing and fitting (threads > 1)
    todo: deque[_Analysed] = field(default_factory=deque)
    waiting: list[_Waiting] = field(default_factory=list)
    logs: list[FrameLog] = field(default_factory=list)
    key_md5: dict[int, bytes] = field(default_factory=dict)
    key_values: np.ndarray | None = None
    last_key: int = 0


@dataclass
class EncodeResult:
    stream: bytes
    frames: list[FrameLog]
    writer: StreamWriter
    no_face_frames: int
    skipped_leading_frames: int
    multi_face_frames: int = 0                # frames that show more than one face (one is coded)
    refresh: RefreshStats | None = None       # adaptive refresh: frames checked, key frames inserted
    pose_fit: PoseFitStats | None = None      # pose fitting: frames searched, pictures drawn
    correction: CorrectionChooser | None = None  # correction grid: .frames measured, .coded (levels
                                                 # changed), .seconds spent

    def bits_by_unit_type(self) -> dict[int, int]:
        out: dict[int, int] = {}
        for r in self.writer.records:
            out[r.unit_type] = out.get(r.unit_type, 0) + 8 * r.num_bytes
        return out


def _choose_level(width: int, height: int, fps: float, fpu: int) -> int:
    for idc, lim in sorted(LEVELS.items()):
        if max(width, height) <= lim.max_pic_size and fps <= lim.max_frame_rate and fpu <= lim.max_frames_per_unit:
            return idc
    raise ValueError(f"{width}x{height} at {fps:g} fps with {fpu} frames per unit exceeds every level")


def resolve_background_motion(config: EncoderConfig) -> bool:
    """Whether the encoder measures and signals bg_tx, bg_ty (EncoderConfig.background_motion).
    With "auto" the default element set becomes DEFAULT_BACKGROUND_ELEMENT_IDS, which the
    compact sequence header names with one bit (csh_background_elements_flag, spec 7.4.7)."""
    setting = {True: "on", False: "off"}.get(config.background_motion, config.background_motion)  # type: ignore[call-overload]
    if setting == "on":         # the Main profile refuses the elements with the element set
        return True
    if setting == "auto":
        registered = GENERATOR_BY_NAME.get(config.generator_name)
        return (config.profile_idc == PROFILE_COMPACT and config.element_ids is None
                and registered is not None and registered.background_plate)
    if setting == "off":
        return False
    raise ValueError(f"background motion {config.background_motion!r}: use auto, on or off")


class Encoder:
    """The reference encoder (Python API of ``ifvc-encode``).

    ``Encoder(config, width, height, fps, num_frames=0).encode(frames)`` codes an iterable of
    frames and returns an ``EncodeResult``: the stream (``.stream``, bytes of a conforming
    coded sequence, clause 6), one ``FrameLog`` per coded frame and the unit records
    (``.writer.records``: type and size of every unit, for rate breakdowns).

    Frame layout: each frame is a ``numpy.ndarray`` of shape (height, width, 3), dtype
    ``uint8``, channels in R, G, B order (not OpenCV's BGR), 8 bits per sample, full range;
    width and height are even and equal to the constructor's. ``fps`` is exact
    (``fractions.Fraction``, e.g. ``Fraction(30000, 1001)``). ``num_frames`` (0: unknown, e.g.
    live) becomes sh_num_frames (7.4.2). A new Encoder is needed for every stream.
    """

    def __init__(self, config: EncoderConfig, width: int, height: int, fps: Fraction,
                 num_frames: int = 0, warn: Callable[[str], None] | None = None) -> None:
        """warn receives the warnings meant for the user (default: Python's warnings module)."""
        self.warn = warn or _python_warning
        # A name no decoder knows is refused unless its weights identify it (spec 7.4.2).
        generator_sha256, notes = resolve_generator_id(config.generator_name, config.generator_sha256)
        for note in notes:
            self.warn(note)
        if width % 2 or height % 2:
            raise ValueError(f"picture size {width}x{height} must be even (4:2:0 key frames)")
        if not 1 <= config.frames_per_unit <= 64:
            raise ValueError("frames per unit must be 1..64")
        if config.threads < 1:
            raise ValueError(f"thread count must be at least 1, got {config.threads}")
        unknown = set(config.precisions) - set(ELEMENT_BY_NAME)      # Tables 3 and 3e
        if unknown:
            raise ValueError(f"unknown semantic element(s): {', '.join(sorted(unknown))}")
        self.cfg = config
        self.width, self.height, self.fps = width, height, fps
        fps_frac = Fraction(fps).limit_denominator(65535)
        level = config.level_idc or _choose_level(width, height, float(fps_frac), config.frames_per_unit)
        # The element set: DEFAULT_ELEMENT_IDS (one constant with the compact header's flag).
        ids = list(DEFAULT_ELEMENT_IDS if config.element_ids is None else config.element_ids)
        if resolve_background_motion(config):
            ids += [i for i in BACKGROUND_ELEMENT_IDS if i not in ids]
        if resolve_correction(config.correction_grid, config.keyframe_qp, config.profile_idc == PROFILE_COMPACT):
            # the grid is measured on the picture this encoder draws with the stream's generator:
            # auto leaves it off for a generator it cannot run, on refuses one before any coding
            if config.generator_name in known_generators():
                ids += [i for i in CORRECTION_ELEMENT_IDS if i not in ids]
            elif config.correction_grid != "auto":
                raise ValueError(f"--correction-grid needs a generator this encoder can run, not "
                                 f"{config.generator_name!r} (known: {', '.join(known_generators())})")
        if len(set(ids)) != len(ids) or any(i not in ELEMENT_BY_ID for i in ids):
            raise ValueError(f"element ids {ids} must be distinct ids of Tables 3 and 3e (0..{max(ELEMENT_BY_ID)})")
        refused = [ELEMENT_BY_ID[i].name for i in ids if i not in allowed_element_ids(config.profile_idc)]
        if refused:
            shown = refused if len(refused) <= 4 else refused[:2] + [f"... ({len(refused)} elements)"]
            raise ValueError(f"{', '.join(shown)} (--background-motion, --correction-grid) need the "
                             "Compact profile (spec Annex A.2, A.4)")
        unused = set(config.precisions) - {ELEMENT_BY_ID[i].name for i in ids}
        if unused:
            raise ValueError(f"precision given for element(s) not in the element set: {', '.join(sorted(unused))}")
        self.element_ids = ids
        if config.precision_preset not in PRECISION_PRESETS:
            raise ValueError(f"unknown precision preset {config.precision_preset!r}; "
                             f"use one of {', '.join(PRECISION_PRESETS)}")
        preset = PRECISION_PRESETS[config.precision_preset]
        # the presets are Table 3's; the correction elements take Table 3e's default precision
        self.precisions = [config.precisions.get(ELEMENT_BY_ID[i].name,
                                                 preset[i] if i < len(preset) else ELEMENT_BY_ID[i].default_precision)
                           for i in ids]
        if config.profile_idc not in PROFILE_NAMES:
            raise ValueError(f"unknown profile_idc {config.profile_idc} "
                             f"({', '.join(f'{n} = {i}' for i, n in PROFILE_NAMES.items())})")
        codec = {"vvc": KEYFRAME_CODEC_VVC, "raw": KEYFRAME_CODEC_RAW}.get(config.keyframe_codec)
        if codec is None:
            raise ValueError(f"unknown key-frame codec {config.keyframe_codec!r} (vvc or raw)")
        self.sh = SequenceHeader(
            sh_profile_idc=config.profile_idc, sh_level_idc=level, sh_pic_width=width, sh_pic_height=height,
            sh_frame_rate_num=fps_frac.numerator, sh_frame_rate_den=fps_frac.denominator,
            sh_num_frames=num_frames, sh_chroma_format_idc=3, sh_entropy_coding_mode=config.entropy_coding_mode,
            sh_keyframe_codec_id=codec, sh_sem_element_id=ids, sh_sem_precision=self.precisions,
            sh_generator_name=config.generator_name, sh_generator_sha256=generator_sha256,
            compact_form=int(config.profile_idc in COMPACT_HEADER_PROFILES and not config.full_header))
        # Key frames' reference levels are rounded; semantic frames go through the quantiser
        # (rounding when lambda is off). head_loc is derived from the reconstructed
        # head_tx/head_ty in both (Annex B.3), so that a decoder deriving it finds the same cell.
        if config.geometry_version is None:
            self.geometry_version = GEOMETRY_VERSION_V2 if compact_tools(self.sh) else GEOMETRY_VERSION_V1
        else:
            if config.geometry_version not in (GEOMETRY_VERSION_V1, GEOMETRY_VERSION_V2):
                raise ValueError(f"geometry version {config.geometry_version} cannot be written (1 or 2)")
            check_geometry_version(self.sh, config.geometry_version)
            self.geometry_version = config.geometry_version
        self.refresh_threshold = resolve_refresh(config.refresh, config.keyframe_qp)
        self.refresh_check_every = resolve_check_every(config.refresh_check_every, config.generator_name)
        self.refresh_invented = resolve_invented(config.refresh_invented, config.keyframe_qp)
        self.refresh_failed = resolve_failed(config.refresh_failed)
        self.refresh_teeth = resolve_teeth(config.refresh_teeth, config.keyframe_qp)
        refresh_on = self.refresh_threshold is not None
        self.keyframe_preset = resolve_keyframe_preset(config.vvc_preset, refresh_on)     # the first key frame
        self.later_keyframe_preset = resolve_keyframe_preset(config.vvc_preset, refresh_on, first=False)
        if config.keyframe_filters not in KEYFRAME_FILTERS:
            raise ValueError(f"unknown key-frame filters {config.keyframe_filters!r}; "
                             f"use one of {', '.join(KEYFRAME_FILTERS)}")
        self.keyframe_filters = config.keyframe_filters
        # the first frame and its key-frame picture, coded while MediaPipe is set up (encode)
        self._first_picture: tuple[np.ndarray, Future[CodedKeyframe]] | None = None
        self._set_semantic_periods(config)
        self.semantic_lambda = resolve_lambda(config.semantic_lambda, config.keyframe_qp)
        self.quantiser = SemanticQuantiser(self.sh, self.semantic_lambda,
                                           max_level_error=default_max_level_error(config.profile_idc)
                                           if config.semantic_max_level_error is None
                                           else config.semantic_max_level_error)
        self._chooser = ClosedLoopChooser(self.quantiser)
        if self.refresh_threshold is not None:     # fail before any coding on a generator we cannot run
            probe = AdaptiveRefresh(config.generator_name, self.refresh_threshold, 1, self.refresh_check_every,
                                    self.refresh_invented, teeth=self.refresh_teeth)
            if self.refresh_invented is not None and probe.invented_limit is None:
                self.warn(f"--refresh-invented has no effect: {config.generator_name} has no person layer")
            if self.refresh_teeth and not probe.teeth:
                self.warn(f"--refresh-teeth has no effect: {config.generator_name} does not draw Annex H.5's mouth")
        elif self.refresh_invented is not None or self.refresh_failed is not None or self.refresh_teeth:
            self.warn("--refresh-invented, --refresh-failed and --refresh-teeth have no effect without --refresh")
        if config.refresh_picture not in REFRESH_PICTURES:
            raise ValueError(f"refresh picture {config.refresh_picture!r}: use {' or '.join(REFRESH_PICTURES)}")
        if config.refresh_picture == "shown" and (self.refresh_threshold is None
                                                  or not any(i in CORRECTION_ELEMENT_IDS for i in ids)):
            self.warn("--refresh-picture shown has no effect without --refresh and the correction elements "
                      "(--correction-grid)")
        if config.pose_fit:
            self._new_pose_fit(1)

    def _fit_steps(self) -> dict[int, float]:
        """The pose fit's step of each signalled element: one level (PoseFit fits the head ones)."""
        return {i: 2.0 ** -p for i, p in zip(self.element_ids, self.precisions)}

    def _new_pose_fit(self, max_refs: int) -> PoseFit:
        """The pose fit over the signalled head elements, in steps of one level of each."""
        return PoseFit(self.cfg.generator_name, max_refs, self._fit_steps())

    def _codes_head(self, position: int) -> bool:
        """Whether the frame at this position of a full semantic unit codes the head group
        (an anchor, spec 7.2a). A unit cut short by a key frame or the end makes its last frame
        an anchor too; that frame is not fitted."""
        period = sem_periods(self.sh)[GROUP_HEAD]
        return is_anchor(position, self.cfg.frames_per_unit, period)

    def _set_semantic_periods(self, config: EncoderConfig) -> None:
        """sh_sem_temporal_flag and sh_sem_group_period_minus1 (spec 7.2a, 7.4.2) from the
        configuration: only for the groups signalled, only with more than 1 frame per unit
        (at 1 frame per unit every frame is an anchor)."""
        periods = config.semantic_periods
        explicit = periods is not None
        if periods is None:
            # adaptive refresh judges a frame when its unit is written (_close_unit), with the
            # levels the decoder draws it with, interpolated ones included
            periods = DEFAULT_SEMANTIC_PERIODS if compact_tools(self.sh) else {}
        unknown = set(periods) - set(GROUP_NAMES)
        if unknown:
            raise ValueError(f"unknown element group(s) {', '.join(sorted(unknown))} (known: {', '.join(GROUP_NAMES)})")
        for name, p in periods.items():
            if not 1 <= p <= MAX_SEM_PERIOD:
                raise ValueError(f"the period of group {name} must be 1..{MAX_SEM_PERIOD}, not {p}")
        if not any(p > 1 for p in periods.values()):
            return
        if not compact_tools(self.sh):
            raise ValueError("a semantic period above 1 needs the Compact profile (spec Annex A.4)")
        if config.frames_per_unit == 1:
            if explicit:
                self.warn("semantic periods have no effect at 1 frame per unit (every frame is an anchor)")
            return
        present = group_list(self.sh.sh_sem_element_id)
        minus1 = [0] * len(GROUP_NAMES)
        for name, p in periods.items():
            g = GROUP_NAMES.index(name)
            if g in present:
                minus1[g] = p - 1
        if any(minus1):
            self.sh.sh_sem_temporal_flag, self.sh.sh_sem_group_period_minus1 = 1, minus1

    def _signalled(self, values: np.ndarray, held: list[int] | None = None) -> np.ndarray:
        """The values of the signalled elements, in header order, from those of table order.
        The correction elements (Table 3e) have no value there: the value of their level in held
        (the previous levels, so that the quantiser keeps them) or 0; the unit's levels of them
        are chosen when it is written (_correct)."""
        v = np.asarray(values, np.float64)
        return np.array([v[e] if e < len(v) else (held[i] / (1 << p) if held is not None else 0.0)
                         for i, (e, p) in enumerate(zip(self.element_ids, self.precisions))], np.float64)

    def _levels(self, values: np.ndarray) -> list[int]:
        return self.quantiser.round_levels(self._signalled(values))

    def _semantic_levels(self, values: np.ndarray, writer: StreamWriter, pending: list[list[int]]) -> list[int]:
        """A semantic frame's levels: rounded, or chosen by RDOQ in closed loop with the writer.
        With temporal sub-sampling the levels are provisional (rounded): the unit's levels are
        chosen when it is written (_unit_levels), once its frame count is known."""
        if self.semantic_lambda is None or self.sh.sh_sem_temporal_flag:
            return self._levels(values)
        held = pending[-1] if pending else writer.state.prev_levels
        return self._chooser.next_frame(self._signalled(values, held), writer, pending)[0].levels

    def _settle_frames(self, run: "_Run", waiting: list["_Waiting"]) -> None:
        """Settles the waiting frames before their unit is written: each frame's pose fit (a
        worker's, or done here: DrawAhead.take) and then its levels, in frame order
        (_semantic_levels: provisional with temporal sub-sampling, else final; the writer's state
        is that of the last unit written, as when the frame was read)."""
        pending: list[list[int]] = []
        for w in waiting:
            if w.needs_fit:
                assert run.fitter is not None
                if w.fit is None:
                    w.values = run.fitter.fit(w.frame.values, w.frame.rgb)
                else:
                    assert run.ahead is not None
                    w.values, stats = run.ahead.take(w.fit)
                    run.fitter.stats.add(stats)
                w.needs_fit, w.fit = False, None
            w.levels = self._semantic_levels(w.values, run.writer, pending)
            pending.append(w.levels)

    def _unit_levels(self, writer: StreamWriter, waiting: list["_Waiting"]) -> list[list[int]]:
        """The levels of the waiting frames coded as one semantic unit. With temporal
        sub-sampling (spec 8.3.4) they are chosen now, for the unit's frame count; otherwise
        each frame's levels were final when the unit's frames were settled (_settle_frames)."""
        if not self.sh.sh_sem_temporal_flag:
            return [w.levels for w in waiting]
        values = [self._signalled(w.values, writer.state.prev_levels) for w in waiting]
        if self.semantic_lambda is None:
            return interpolate_unit(self.sh, writer.state.prev_levels,  # type: ignore[arg-type]
                                    [self.quantiser.round_levels(v) for v in values])
        return choose_unit_levels(self.quantiser, values, writer)

    def _keyframe_due(self, idx: int, last_key: int, values: np.ndarray, key_values: np.ndarray | None) -> bool:
        if key_values is None:
            return True
        if self.cfg.keyframe_period and idx - last_key >= self.cfg.keyframe_period:
            return True
        thr = self.cfg.keyframe_pose_threshold
        return bool(thr and np.max(np.abs(values[:3] - key_values[:3])) > thr)

    def encode(self, frames: Iterable[np.ndarray],
               progress: Callable[[int], None] | None = None) -> EncodeResult:
        """Codes the frames. Leading frames without a face (at most MAX_LEADING_NO_FACE) are
        skipped, since a key frame must show a face; later frames without a face repeat the
        previous semantics."""
        num_frames_hint = self.sh.sh_num_frames
        smoother = OneEuroFilter(DEFAULT_ONE_EURO, float(self.fps)) if self.cfg.smoothing else None
        prev_values: np.ndarray | None = None
        no_face = skipped = 0
        background = BackgroundMotion(self.width, self.height) if signals_background(self.element_ids) else None
        refresh = None if self.refresh_threshold is None else AdaptiveRefresh(
            self.cfg.generator_name, self.refresh_threshold, max_ref_frames(self.sh.sh_level_idc),
            self.refresh_check_every, self.refresh_invented, self.refresh_failed, self.refresh_teeth)
        fitter = self._new_pose_fit(max_ref_frames(self.sh.sh_level_idc)) if self.cfg.pose_fit else None
        correction = mirror = None
        if any(i in CORRECTION_ELEMENT_IDS for i in self.element_ids):
            correction = CorrectionChooser(self.sh, self.cfg.keyframe_qp)
            mirror = refresh or DecoderMirror(self.cfg.generator_name, max_ref_frames(self.sh.sh_level_idc),
                                              "--correction-grid")
        run: _Run | None = None
        # the encoder's thread and threads - 1 worker processes drawing and fitting (draw_ahead.py)
        # the pictures drawn for a refresh that measures the invented share come with it
        invented = refresh is not None and refresh.invented_limit is not None
        ahead = DrawAhead(self.cfg.threads - 1 if mirror is not None or fitter is not None else 0,
                          partial(do_job, mirror=mirror, chooser=correction, fitter=fitter, invented=invented),
                          self.cfg.generator_name if mirror is not None else "",
                          max_ref_frames(self.sh.sh_level_idc), self.sh if correction is not None else None,
                          self.cfg.keyframe_qp,
                          (self.cfg.generator_name, self._fit_steps()) if fitter is not None else None, invented)
        for m in (refresh, fitter, mirror):       # new references set up while the next frames are read
            if m is not None:
                m.in_background = self.cfg.threads > 1
        with ExitStack() as stack:
            stack.enter_context(closing(ahead))
            frames = self._start_first_picture(frames, stack)
            analyzer = stack.enter_context(FaceAnalyzer(tracking=True))
            faces = stack.enter_context(MultiFaceMonitor())
            for idx, rgb in enumerate(frames):
                if rgb.shape != (self.height, self.width, 3):
                    raise ValueError(f"frame {idx} is {rgb.shape[1]}x{rgb.shape[0]}, expected "
                                     f"{self.width}x{self.height}")
                fa = analyzer.analyze_frame(rgb)
                if faces.observe(idx, rgb):       # one face is coded: say so, once (Annex B.2)
                    self.warn(faces.warning())
                if fa.face_found:
                    values = smoother(fa.semantics) if smoother else fa.semantics
                elif prev_values is not None:
                    values = prev_values           # carry the previous semantics forward
                    no_face += 1
                else:
                    skipped += 1
                    if skipped > MAX_LEADING_NO_FACE:
                        raise NoFaceError(f"no face found in the first {skipped} frames")
                    continue
                if run is None:
                    if num_frames_hint:
                        self.sh.sh_num_frames = num_frames_hint - skipped
                    run = _Run(StreamWriter(self.sh), analyzer, background, refresh, fitter, correction, mirror,
                               ahead if ahead.active else None)
                    if background is not None:    # the first picture is the background's origin
                        background.set_reference(rgb, fa.landmarks, np.zeros(2))
                if background is not None:
                    values = np.array(values, np.float64)
                    values[list(BACKGROUND_ELEMENT_IDS)] = background.estimate(
                        rgb, fa.landmarks if fa.face_found else None)
                prev_values = values
                run.todo.append(_Analysed(rgb, fa.landmarks if fa.face_found else None, values))
                self._code_queued(run)
                if progress:
                    progress(idx + 1)
            if run is None:
                raise NoFaceError(f"no face found in any of the {skipped} frames" if skipped
                                  else "the input has no frames")
            while run.waiting:                    # the last unit (a refresh may cut it: its rest coded again)
                self._close_unit(run)
                self._code_queued(run)
        writer = run.writer
        if self.cfg.hash_units:
            writer.hash_unit(keyframe_md5=run.key_md5)
        writer.end_of_sequence()
        return EncodeResult(writer.getvalue(), run.logs, writer, no_face, skipped, faces.frames,
                            refresh.stats if refresh is not None else None,
                            fitter.stats if fitter is not None else None,
                            correction)

    def _code_queued(self, run: "_Run") -> None:
        """Codes the analysed frames in run.todo, in order: a key frame where one is due by the
        configuration (first frame, period, pose threshold), else a semantic frame waiting for
        its unit, which is written once full (and may send frames back to run.todo: a refresh)."""
        writer = run.writer
        while run.todo:
            frame = run.todo[0]
            # Frames waiting for their unit are not yet in the writer: they come first.
            out_idx = writer.next_frame_idx + len(run.waiting)
            if self._keyframe_due(out_idx, run.last_key, frame.values, run.key_values):
                if run.waiting and self._close_unit(run):
                    continue                      # a refresh cut the unit: its rest, then this frame
                run.todo.popleft()
                self._code_keyframe(run, frame)
                continue
            run.todo.popleft()
            waiting = _Waiting(frame, frame.values)
            if run.fitter is not None and frame.landmarks is not None and self._codes_head(len(run.waiting)):
                waiting.needs_fit = True          # a worker fits it while the next frames are read
                if run.ahead is not None:
                    waiting.fit = run.ahead.fit(frame.values, frame.rgb)
            run.waiting.append(waiting)
            if len(run.waiting) == self.cfg.frames_per_unit and not self._close_unit(run):
                if self.cfg.hash_units and writer.hash_due(self.cfg.frames_per_unit):
                    writer.hash_unit(keyframe_md5=run.key_md5)   # before MaxHashSpan is exceeded
                    run.key_md5 = {}

    def _close_unit(self, run: "_Run") -> bool:
        """Writes the waiting frames as one semantic unit; True when adaptive refresh cut it.

        With refresh, each frame due for a check is first judged as the decoder will draw it:
        with the unit's final levels (interpolated ones included) and the references the
        decoder holds. At the first frame that falls short the unit is cut: the frames before
        it are written as a shorter unit (whose levels, with temporal sub-sampling, are chosen
        and judged again), that frame becomes a key frame, and the frames after it go back to
        the front of run.todo: they are coded again after the key frame (pose fit, levels), as
        new frames would be, and every frame read after the key frame has its background
        displacement measured again against the key frame's picture (Annex B.3a)."""
        writer, waiting = run.writer, run.waiting
        n, cut, unit_first = len(waiting), None, writer.next_frame_idx
        self._settle_frames(run, waiting)
        levels = self._unit_levels(writer, waiting)
        self._draw_ahead(run, waiting, levels)
        while run.refresh is not None and n > 0:
            short = self._first_short(run, waiting[:n], levels)
            if short is None:
                break
            cut = n = short
            for w in waiting[n:]:                 # coded again after the key frame, if at all:
                if w.ahead is not None:           # a job not started never runs, a running one is ignored
                    w.ahead[1].cancel()
            if n > 0:
                levels = self._unit_levels(writer, waiting[:n])
                self._draw_ahead(run, waiting[:n], levels)
        if n > 0:
            first = writer.next_frame_idx
            if run.correction is not None:
                levels = self._correct(run, waiting[:n], levels[:n])
            writer.semantic_unit(levels[:n])
            for k, (w, lv) in enumerate(zip(waiting[:n], levels)):
                run.logs.append(FrameLog(first + k, "semantic", [float(v) for v in w.values], lv,
                                         w.frame.landmarks is not None, [float(v) for v in w.frame.values]))
        run.waiting = []
        if cut is None:
            return False
        assert run.refresh is not None
        run.refresh.count_insertion(unit_first + cut)
        self._code_keyframe(run, waiting[cut].frame)
        run.todo.extendleft(reversed([w.frame for w in waiting[cut + 1:]]))
        if run.background is not None:
            for frame in run.todo:            # in reading order, as if read after the key frame
                frame.values = frame.values.copy()
                frame.values[list(BACKGROUND_ELEMENT_IDS)] = run.background.estimate(frame.rgb, frame.landmarks)
        return True

    def _draw_ahead(self, run: "_Run", waiting: list["_Waiting"], levels: list[list[int]]) -> None:
        """With worker threads (draw_ahead.py), starts drawing, in frame order, each waiting
        frame's picture from these levels that the unit's coding will ask for (every frame's
        with the correction grid, else those due for a refresh check), with the correction
        fitted on it. Pictures already drawn or being drawn from the same levels are not
        started again; a job for other levels is dropped."""
        if run.ahead is None or run.mirror is None:
            return
        refresh, first = run.refresh, run.writer.next_frame_idx
        for i, (w, lv) in enumerate(zip(waiting, levels)):
            checked = refresh is not None and refresh.due_for_check(first + i, run.last_key)
            if not checked and run.correction is None:
                continue
            if (w.drawn is not None and w.drawn[0] == lv) or (w.ahead is not None and w.ahead[0] == lv):
                continue
            if w.ahead is not None:
                w.ahead[1].cancel()
            values = values_from_levels(self.sh, lv, run.key_values)
            # the correction is fitted on the picture where the source shows a face
            source = w.frame.rgb if run.correction is not None and w.frame.landmarks is not None else None
            w.ahead = (list(lv), run.ahead.draw(values, source))

    def _collect(self, run: "_Run", w: "_Waiting", lv: list[int]) -> None:
        """Takes the picture (and fitted correction) of these levels, if one was asked of a
        worker, into w.drawn (and w.proposal): the worker's, or drawn here (DrawAhead.take); a
        worker's error is raised here."""
        if w.ahead is None or w.ahead[0] != lv:
            return
        job, w.ahead = w.ahead[1], None
        assert run.ahead is not None
        picture, fitted, invented = run.ahead.take(job)
        w.drawn = (list(lv), picture)
        w.invented = None if invented is None else (list(lv), invented)
        if fitted is not None:
            w.proposal = (list(lv), fitted)

    def _drawn(self, run: "_Run", w: "_Waiting", lv: list[int]) -> np.ndarray:
        """The generator's picture of the frame with these levels (the decoder mirror's)."""
        self._collect(run, w, lv)
        if w.drawn is None or w.drawn[0] != lv:
            assert run.mirror is not None
            w.drawn = (list(lv), run.mirror.generator.synthesize(values_from_levels(self.sh, lv, run.key_values)))
        return w.drawn[1]

    def _corrected(self, run: "_Run", w: "_Waiting", lv: list[int], previous: list[int],
                   drawn: np.ndarray | None = None) -> list[int]:
        """The frame's levels with the correction elements chosen (correction_grid.py) on the
        picture the decoder draws from lv (drawn, if given, is that picture); a frame without a
        face in the source keeps the previous frame's correction."""
        assert run.correction is not None
        if w.frame.landmarks is None:
            out = list(lv)
            for i in run.correction.layout.indices:
                out[i] = previous[i]
            return out
        key = (list(lv), list(previous))
        if w.corrected is None or w.corrected[0] != key:
            t0 = time.perf_counter()
            picture = drawn if drawn is not None else self._drawn(run, w, lv)
            proposal = w.proposal[1] if w.proposal is not None and w.proposal[0] == lv else None
            w.corrected = (key, run.correction.choose(w.frame.rgb, picture, lv, previous, proposal))
            run.correction.seconds += time.perf_counter() - t0
        return w.corrected[1]

    def _shown(self, run: "_Run", w: "_Waiting", lv: list[int], previous: list[int], drawn: np.ndarray) -> np.ndarray:
        """The picture the decoder shows for the generator's picture drawn from lv: corrected
        (8.6.2) with the levels chosen for it after the previous frame's."""
        assert run.correction is not None
        return apply_correction(drawn, run.correction.layout, self._corrected(run, w, lv, previous, drawn))

    def _correct(self, run: "_Run", waiting: list["_Waiting"], levels: list[list[int]]) -> list[list[int]]:
        """The unit's levels with the correction elements chosen frame by frame, each on the
        picture the decoder draws from its levels (reused where the refresh check chose them)."""
        previous = run.writer.state.prev_levels
        assert previous is not None
        out = []
        for w, lv in zip(waiting, levels):
            previous = self._corrected(run, w, lv, previous)
            out.append(previous)
        return out

    def _first_short(self, run: "_Run", waiting: list["_Waiting"], levels: list[list[int]]) -> int | None:
        """The position of the first waiting frame due for a refresh check whose picture, drawn
        from these levels, falls below the threshold; None if none does. The picture is the
        generator's; with refresh_picture "shown" and the correction elements, it is that picture
        after the correction stage (8.6.2) with the levels the encoder chooses for it, which
        depend on the previous frame's: the unit's frames are then corrected in order up to the
        one judged. A frame judged before with the same levels (and previous levels) is not
        synthesised again."""
        assert run.refresh is not None
        first = run.writer.next_frame_idx
        shown = run.correction is not None and self.cfg.refresh_picture == "shown"
        previous = run.writer.state.prev_levels if shown else None
        for i, (w, lv) in enumerate(zip(waiting, levels)):
            if not run.refresh.due_for_check(first + i, run.last_key):
                if previous is not None:
                    previous = self._corrected(run, w, lv, previous)
                continue
            key = (list(lv), None if previous is None else list(previous))
            if w.judged is None or w.judged[0] != key:
                rec = values_from_levels(self.sh, lv, run.key_values)
                correct = None if previous is None else partial(self._shown, run, w, lv, previous)
                self._collect(run, w, lv)
                drawn = w.drawn[1] if w.drawn is not None and w.drawn[0] == lv else None
                invented = w.invented[1] if w.invented is not None and w.invented[0] == lv else None
                short = run.refresh.falls_short(first + i, w.frame.rgb, w.frame.landmarks, rec, correct, drawn,
                                                invented)
                w.judged = (key, short)
                if run.refresh.last_picture is not None:
                    w.drawn = (list(lv), run.refresh.last_picture)
            if w.judged[1]:
                return i
            if previous is not None:
                previous = self._corrected(run, w, lv, previous)
        return None

    def _code_keyframe(self, run: "_Run", frame: "_Analysed") -> None:
        """Codes the frame as a key frame (a hash unit first closes the previous key-frame
        period) and adds it to the mirrored reference stores."""
        writer = run.writer
        out_idx = writer.next_frame_idx
        if run.ahead is not None:
            run.ahead.drain()                 # what was asked for the old references is not needed
        if self.cfg.hash_units and run.key_values is not None:
            writer.hash_unit(keyframe_md5=run.key_md5)
            run.key_md5 = {}
        picture, decoded = self._code_picture(frame.rgb, first=run.key_values is None)
        levels, ref_values, geom_version, geom = self._keyframe_semantics(decoded, frame.values, run.analyzer)
        writer.keyframe(picture, levels, geometry_version=geom_version, geometry_payload=geom)
        run.key_md5[out_idx] = hashlib.md5(frame_to_rgb_planar(decoded)).digest()
        bits = coded_picture_bits(self.sh.sh_keyframe_codec_id, picture)
        reference = Reference(out_idx, decoded, values_from_levels(self.sh, levels, run.key_values),
                              geom, geom_version, picture_bits=bits)
        mirrors = {id(m): m for m in (run.refresh, run.fitter, run.mirror) if m is not None}
        for mirror in mirrors.values():             # the decoder's reference store, mirrored
            if mirror is not None:
                mirror.add_keyframe(reference)
        if run.ahead is not None:                  # and in the worker processes
            run.ahead.add_keyframe(reference)
        run.key_values = np.asarray(ref_values)
        if run.background is not None and out_idx > 0:
            # later estimates are relative to this picture, from what it signals
            run.background.set_reference(frame.rgb, frame.landmarks,
                                         run.key_values[list(BACKGROUND_ELEMENT_IDS)])
        run.last_key = out_idx
        run.logs.append(FrameLog(out_idx, "key", [float(v) for v in ref_values], levels,
                                 frame.landmarks is not None, [float(v) for v in frame.values]))

    def _keyframe_semantics(self, decoded: np.ndarray, values: np.ndarray, analyzer: FaceAnalyzer
                            ) -> tuple[list[int], np.ndarray, int, bytes]:
        """Reference levels and geometry payload of a key frame, from the DECODED picture
        (what the decoder warps). The payload predicts the landmarks from the canonical face
        posed with the dequantised reference levels, so it is computed after quantisation.
        Without a face on the decoded picture: the frame's own values, no geometry (v0)."""
        fa = analyzer.analyze_frame(decoded)
        if not fa.face_found:
            levels = self._levels(values)
            return levels, values_from_levels(self.sh, levels), 0, b""
        semantics = np.array(fa.semantics, np.float64)
        semantics[list(BACKGROUND_ELEMENT_IDS)] = np.asarray(values, np.float64)[list(BACKGROUND_ELEMENT_IDS)]
        levels = self._levels(semantics)
        ref = values_from_levels(self.sh, levels)
        payload = geometry_from_landmarks(fa.landmarks, ref, self.width, self.height,
                                          version=self.geometry_version)
        return levels, ref, self.geometry_version, payload

    def keyframe_qp_of(self, first: bool) -> int:
        """The VVC QP of a key frame: keyframe_qp for the first, plus refresh_qp_offset for the others."""
        return self.cfg.keyframe_qp if first else min(max(self.cfg.keyframe_qp + self.cfg.refresh_qp_offset, 0), 63)

    def _start_first_picture(self, frames: Iterable[np.ndarray], stack: ExitStack) -> Iterable[np.ndarray]:
        """Starts VVenC on the first frame, the first key frame unless it shows no face, before
        MediaPipe is set up and the frame analysed (VVenC at medium takes about 0.5 s, in its own
        process, while the encoder's thread does both): the same call that _code_picture would
        make later, so the stream is the same. Returns the frames, the first one included."""
        self._first_picture = None
        frames = iter(frames)
        first = next(frames, None)
        if first is None:
            return frames
        if self.sh.sh_keyframe_codec_id != KEYFRAME_CODEC_RAW and first.shape == (self.height, self.width, 3):
            pool = ThreadPoolExecutor(1, thread_name_prefix="ifvc-first-key")
            # a picture not used (the first frame shows no face) is not waited for
            stack.callback(pool.shutdown, wait=False, cancel_futures=True)
            self._first_picture = first, pool.submit(encode_vvc_intra, first, self.keyframe_qp_of(True),
                                                     preset=self.keyframe_preset, filters=self.keyframe_filters)
        return itertools.chain([first], frames)

    def _code_picture(self, rgb: np.ndarray, first: bool = True) -> tuple[bytes, np.ndarray]:
        if self.sh.sh_keyframe_codec_id == KEYFRAME_CODEC_RAW:
            return frame_to_rgb_planar(rgb), rgb
        early, self._first_picture = self._first_picture, None
        if first and early is not None and early[0] is rgb:
            coded = early[1].result()           # started by _start_first_picture
        else:
            coded = encode_vvc_intra(rgb, self.keyframe_qp_of(first),
                                     preset=self.keyframe_preset if first else self.later_keyframe_preset,
                                     filters=self.keyframe_filters)
        return coded.payload, coded.decoded
