"""Adaptive key-frame refresh (informative encoder choice; issue 14 item 4).

The encoder runs the generator the stream names (ifvc_synthesis, the code every decoder runs)
on its own decoder-side reconstruction: the reference store of decoded key frames (spec A.5,
same eviction as the decoder) and each frame's reconstructed semantic values. Where the
synthesised frame falls below a quality threshold against the source, the frame is coded as
a key frame instead. Nothing here looks ahead, and the decision uses only the source and the
decoder's own output. Where the stream signals the correction elements (Table 3e), the
decoder shows the synthesised picture after the correction stage (8.6.2); the check judges
the generator's picture before it unless asked otherwise (REFRESH_PICTURES: the correction
raises the face-region PSNR of frames whose content the key frame no longer shows).

Quality measure: PSNR over RGB in the face region (the bounding box of the source frame's
landmarks grown by FACE_MARGIN of its size on each side, so hair and ears count), chosen by
tools/multiref_study.py against full-frame LPIPS-Alex (rank correlation per clip) and for its
cost (numbers in docs/results/multiref_2026-12-03).
The threshold follows the key-frame QP: at a high QP key frames are cheap but poor, and a
refresh gains less, so the bar is lower; towards lower QPs it rises, but not above
AUTO_THRESHOLD_MAX_DB, because a key frame at a low QP is expensive (about 5 KB at QP 22 at
256x256) and a refresh there never repaid its bits on the train split's head-turn clips
(auto_threshold; docs/results/refresh_threshold_2026-12-05).

Second measure, for the generators that composite a person layer (those with
synthesize_with_layers: ifvc-geometric-3 and later): the invented share, the part of the picture
that the person layer draws from beyond the key picture's edges (INVENTED_MARGIN_PX or more
outside it), where the generator can only continue the edge samples. A camera tilt that
brings the shirt into view below a key frame that ends at the neck draws a stretched neck
there; the face region sees nothing of it. A frame whose invented share exceeds the limit
(--refresh-invented) falls short as well.

Third measure, for every generator: the failed share, the part of the picture in 16 x 16 blocks
whose PSNR against the source is below FAILED_BLOCK_DB, i.e. blocks that show other content
(a caption or a logo that appears, a hand in front of the face, a scene cut). A frame whose
failed share exceeds the limit (--refresh-failed) falls short.

They raise what is shown (the test clip whose camera tilts gains 2 to 3.7 dB PSNR-RGB at QP 32)
but, at every QP, cost BD-rate against VVC on the train split, where no limit swept repaid its
key frames (docs/results/refresh_measures_2026-12-05). Both are off unless asked for.
--refresh-invented auto limits the invented share at key-frame QPs up to 32 only
(INVENTED_AUTO_PCT there, off above): with ifvc-geometric-10 it shows the tilting test clip's
shirt and meets issue 14's QP 32 DISTS on the quick config's strided frames, but on every frame
the head-turn clip scores worse, so it is not the default (docs/results/invented_auto_2026-12-07).
With worker processes (draw_ahead.py) the worker that draws a checked picture measures its
invented share with it (draw_worker.do_job).

Fourth measure, for the mesh generators (those that draw Annex H.5's mouth interior:
ifvc-geometric-3 and later): teeth. H.5 draws the teeth band from the key frame's own teeth
only when the key frame shows them (its key-teeth rule); otherwise it is a neutral grey band.
A frame falls short on teeth (--refresh-teeth) when the source shows teeth plainly (H.5's
rule on the source picture and its landmarks, with the stricter TEETH_SOURCE_MIN_GAP_PX and
TEETH_SOURCE_MIN_SHARE), its eyes are open (TEETH_EYES_OPEN of the newest key frame's) and no
reference that draws the frame shows teeth by H.5's own rule, unless the newest key frame was
itself inserted for teeth (its decoded picture failed the rule: no second try until another key
frame comes). A quality option, off by default: on the train split it costs 13-17 points of
each BD-rate at every QP, and none of LPIPS-Alex's and DISTS's where it runs at key-frame QPs up
to 32 only (auto; docs/results/teeth_refresh_2026-12-06).
"""
from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ifvc_synthesis.generators import MultiReferenceGenerator, Reference
from ifvc_synthesis.generators.mesh_features import lip_colour, lip_gap, shows_teeth
from ifvc_synthesis.idi import EYE_L, EYE_R, INNER_LIP_PAIRS, INNER_LIP_RING, OUTER_LOWER_LIP, OUTER_UPPER_LIP

from .decoder_mirror import DecoderMirror

FACE_MARGIN = 0.25          # face box grown by this share of its width / height on each side
REFRESH_MIN_GAP = 12        # frames between key frames at least (no bursts on a long failure)
AUTO_REFERENCE_QP = 42      # auto threshold: AUTO_THRESHOLD_DB at this key-frame QP, ...
AUTO_THRESHOLD_DB = 16.0    # dB of face-region PSNR (test split at QP 42: 13-15 dB median on the head-turn
                            # clip, 18-22 dB on the others; multiref_study.py)
AUTO_THRESHOLD_SLOPE = 0.1  # ... and this many dB less per QP step above it (more below), ...
AUTO_THRESHOLD_MAX_DB = 17.0  # ... but never above this (reached at QP 32). Chosen on the train split
                              # (schedule_study.py in docs/results/refresh_threshold_2026-12-05): 18 dB at
                              # QP 22 instead of 17 cost 6.8 points of mean BD-rate over LPIPS-Alex/VGG and
                              # DISTS there; a flat 15 dB scored better still but leaves the test split's
                              # head-turn clip at 19.2 dB PSNR-RGB at QP 32 (21.6-22.0 with 17 dB).


REFRESH_PICTURES = ("generator", "shown")   # what the check judges (--refresh-picture): the generator's
                            # picture (default), or the picture after the correction stage (8.6.2), as the
                            # decoder shows it. "shown" inserts fewer key frames (its face-region PSNR is
                            # higher) and lowers the BD-rates a little on both splits, but the frames that
                            # lose their refresh show what the correction cannot move: a hand that has
                            # left the picture, a collar torn by a head turn
                            # (docs/results/refresh_corrected_2026-12-06)


INVENTED_MARGIN_PX = 2.0    # samples this far outside the key picture count as invented (the
                            # clamped bicubic kernel's own reach is under 2 pixels)
FAILED_BLOCK = 16           # block size (pixels) of the failed share
FAILED_BLOCK_DB = 12.0      # a block below this PSNR (RMS error 64 levels) shows other content
TEETH_SOURCE_MIN_GAP_PX = 5.0   # the source's inner lips this far apart (pixels) at least, and ...
TEETH_SOURCE_MIN_SHARE = 0.25   # ... this share of its mouth bright and grey: it plainly shows teeth
TEETH_EYES_OPEN = 0.9           # and both its eyes this open at least, as a share of the newest key
                                # frame's (a key frame with shut eyes would draw every later frame's
                                # open eyes as lids: seen on the train split)
INVENTED_AUTO_PCT = 3.0         # --refresh-invented auto: this limit (%; the lower of the two swept in
                                # docs/results/refresh_measures_2026-12-05) at key-frame QPs up to ...
INVENTED_AUTO_MAX_QP = 32       # ... this, off above, where a key frame costs as much as the rest of the
                                # stream (docs/results/invented_auto_2026-12-07)
TEETH_AUTO_MAX_QP = 32          # --refresh-teeth auto: on at key-frame QPs up to this (train split: LPIPS-Alex
                                # and DISTS BD-rates unchanged, LPIPS-VGG 4 points worse; above it a key frame
                                # for the teeth costs 8-16 points of each)
# MediaPipe indices of H.5's inner-lip rows and ring and of the outer lips (source landmarks)
_UPPER_ROW = [78, *(u for u, _ in INNER_LIP_PAIRS), 308]
_LOWER_ROW = [78, *(d for _, d in INNER_LIP_PAIRS), 308]
MEASURE_LOG_LEN = 4096      # checked frames whose measurements RefreshStats keeps (the last ones)


def auto_threshold(keyframe_qp: int) -> float:
    """The face-region PSNR (dB) below which ``--refresh auto`` inserts a key frame."""
    return min(AUTO_THRESHOLD_MAX_DB, AUTO_THRESHOLD_DB - AUTO_THRESHOLD_SLOPE * (keyframe_qp - AUTO_REFERENCE_QP))


def resolve_refresh(setting: str | float, keyframe_qp: int) -> float | None:
    """The threshold (dB) of ``--refresh``: ``off`` -> None, ``auto`` -> auto_threshold(qp),
    or the number given; ValueError for anything else."""
    if isinstance(setting, str):
        if setting == "off":
            return None
        if setting == "auto":
            return auto_threshold(keyframe_qp)
    try:
        value = float(setting)
    except ValueError:
        raise ValueError(f"refresh {setting!r}: use off, auto or a threshold in dB") from None
    if not 0.0 < value < 100.0:
        raise ValueError(f"refresh threshold {value:g} dB is outside 0..100")
    return value


def resolve_share_limit(setting: str | float, what: str, choices: str = "off or a percentage") -> float | None:
    """A share limit (0..1) given as ``off`` -> None or a percentage (0 < P <= 100);
    ValueError naming `what` for anything else."""
    if setting == "off":
        return None
    try:
        value = float(setting)
    except ValueError:
        raise ValueError(f"refresh {what} share {setting!r}: use {choices}") from None
    if not 0.0 < value <= 100.0:
        raise ValueError(f"refresh {what} share {value:g} % is outside 0..100")
    return value / 100.0


def resolve_invented(setting: str | float, keyframe_qp: int = INVENTED_AUTO_MAX_QP) -> float | None:
    """The invented-share limit of ``--refresh-invented``: off, a percentage, or auto
    (INVENTED_AUTO_PCT at key-frame QPs up to INVENTED_AUTO_MAX_QP, off above)."""
    if setting == "auto":
        return INVENTED_AUTO_PCT / 100.0 if keyframe_qp <= INVENTED_AUTO_MAX_QP else None
    return resolve_share_limit(setting, "invented", "off, auto or a percentage")


def resolve_failed(setting: str | float) -> float | None:
    """The failed-share limit of ``--refresh-failed``."""
    return resolve_share_limit(setting, "failed")


def invented_share(map_x: np.ndarray, map_y: np.ndarray, person_alpha: np.ndarray) -> float:
    """The share (0..1) of the picture that the person layer (alpha HxW in [0, 1]) draws from
    key-frame positions (map_x, map_y) INVENTED_MARGIN_PX or more outside the key picture,
    which has the target's size."""
    h, w = person_alpha.shape
    m = np.float32(INVENTED_MARGIN_PX)
    outside = (map_x <= -m) | (map_x >= np.float32(w - 1) + m) | (map_y <= -m) | (map_y >= np.float32(h - 1) + m)
    return float(np.sum(person_alpha, where=outside, dtype=np.float64)) / float(h * w)


def failed_share(a: np.ndarray, b: np.ndarray) -> float:
    """The share (0..1) of the picture in FAILED_BLOCK-square blocks (those at the right and
    bottom edges cut to the picture) whose RGB PSNR between a and b (HxWx3 uint8) is below
    FAILED_BLOCK_DB."""
    h, w = a.shape[:2]
    d = a.astype(np.int32) - b.astype(np.int32)
    sq = np.sum(d * d, axis=2, dtype=np.int64)
    rows, cols = np.arange(0, h, FAILED_BLOCK), np.arange(0, w, FAILED_BLOCK)
    sums = np.add.reduceat(np.add.reduceat(sq, rows, axis=0), cols, axis=1)
    areas = np.outer(np.diff(np.append(rows, h)), np.diff(np.append(cols, w)))
    # PSNR < T  <=>  sum > 3 * area * 255^2 / 10^(T/10)
    failed = sums > (3.0 * 255.0 * 255.0 / 10.0 ** (FAILED_BLOCK_DB / 10.0)) * areas
    return float(np.sum(areas, where=failed)) / float(h * w)


# Frames between two checks with --refresh-check-every auto (the default): K such that the
# encoder's CPU time per frame (its own 12-24 ms at 256x256, plus one synthesis and face PSNR
# every K frames) stays under 66 ms, i.e. 15 frames/s even on one core. CPU per check on
# liveportrait_driving_d13 at QP 42: geometric-1 3 ms, geometric-2 4, geometric-3 20,
# refine-1 29, flow-1 200, flow-2 234, flow-3 205 (docs/results/refresh_speed_2026-12-04);
# flow-4 is flow-3's network with other weights, flow-5 flow-4 with eyelids drawn (no measurable
# cost), geometric-4 geometric-3 on another plate (made once per key frame), geometric-5 geometric-4
# with clamped bicubic samples (about 3 ms more a frame), geometric-6 geometric-5 with another lid
# cover (drawn only where an eye closes), geometric-7 geometric-6 with other mouth tones (the same
# work), geometric-8 geometric-7 with another person mask (made once per key frame), geometric-9
# geometric-8 on a restored key picture (its network runs once per key frame), geometric-10
# geometric-9 with a network of a quarter of the cost. Generators not listed: 1.
AUTO_CHECK_EVERY: dict[str, int] = {"ifvc-flow-1": 4, "ifvc-flow-2": 6, "ifvc-flow-3": 6, "ifvc-flow-4": 6,
                                   "ifvc-flow-5": 6}
MAX_CHECK_EVERY = 64


def resolve_check_every(setting: str | int, generator_name: str) -> int:
    """K of ``--refresh-check-every``: ``auto`` -> AUTO_CHECK_EVERY of the generator (1 if not
    listed), or the number given (1..MAX_CHECK_EVERY); ValueError for anything else."""
    if setting == "auto":
        return AUTO_CHECK_EVERY.get(generator_name, 1)
    try:
        value = int(setting)
    except (TypeError, ValueError):
        raise ValueError(f"refresh check interval {setting!r}: use auto or 1..{MAX_CHECK_EVERY}") from None
    if not 1 <= value <= MAX_CHECK_EVERY:
        raise ValueError(f"refresh check interval {value} is outside 1..{MAX_CHECK_EVERY}")
    return value


def resolve_teeth(setting: str | bool, keyframe_qp: int) -> bool:
    """Whether ``--refresh-teeth`` measures teeth: off / on, or auto (on at key-frame QPs up to
    TEETH_AUTO_MAX_QP); ValueError for anything else."""
    if setting is True or setting == "on":
        return True
    if setting is False or setting == "off":
        return False
    if setting == "auto":
        return keyframe_qp <= TEETH_AUTO_MAX_QP
    raise ValueError(f"refresh teeth {setting!r}: use off, on or auto")


def source_shows_teeth(source: np.ndarray, landmarks: np.ndarray) -> bool:
    """H.5's key-teeth rule on a source picture (H x W x 3 uint8) with its MediaPipe landmarks,
    with the teeth refresh's stricter limits (the lip colour only where the lips are apart enough)."""
    up, lo = landmarks[_UPPER_ROW], landmarks[_LOWER_ROW]
    if lip_gap(up, lo) < TEETH_SOURCE_MIN_GAP_PX:
        return False
    lip = lip_colour(source, landmarks[list(OUTER_UPPER_LIP + OUTER_LOWER_LIP)])
    return shows_teeth(source, landmarks[list(INNER_LIP_RING)], up, lo, lip, TEETH_SOURCE_MIN_GAP_PX,
                       TEETH_SOURCE_MIN_SHARE)


def drawing_generators(generator: object) -> list[object]:
    """The single-reference generators that draw a frame: every reference of a multi-reference
    generator (any may draw the mouth), else the generator itself (its newest key frame)."""
    if isinstance(generator, MultiReferenceGenerator):
        return generator.reference_generators
    return [generator]


def face_box(landmarks: np.ndarray, width: int, height: int) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the face region: the landmarks' box grown by FACE_MARGIN."""
    x0, y0 = landmarks[:, 0].min(), landmarks[:, 1].min()
    x1, y1 = landmarks[:, 0].max(), landmarks[:, 1].max()
    mx, my = FACE_MARGIN * (x1 - x0), FACE_MARGIN * (y1 - y0)
    return (int(max(np.floor(x0 - mx), 0)), int(max(np.floor(y0 - my), 0)),
            int(min(np.ceil(x1 + mx), width)), int(min(np.ceil(y1 + my), height)))


def region_psnr(a: np.ndarray, b: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """PSNR (dB, peak 255) over the RGB samples of box; 100 for identical samples."""
    x0, y0, x1, y1 = box
    if x1 <= x0 or y1 <= y0:
        return 100.0
    d = a[y0:y1, x0:x1].astype(np.int32) - b[y0:y1, x0:x1].astype(np.int32)
    mse = float(np.mean(d * d))
    return 100.0 if mse == 0 else 10.0 * float(np.log10(255.0 * 255.0 / mse))


@dataclass
class RefreshStats:
    checked: int = 0                  # frames synthesised and measured
    inserted: int = 0                 # key frames inserted by the refresh
    inserted_by: dict[str, int] = field(default_factory=dict)   # ... by the measure that fell short
                                      # ("face", "invented", "failed", "teeth"; a frame may count for several)
    # (frame, value) of the last MEASURE_LOG_LEN checked frames (bounded: memory does not grow with
    # the stream): face PSNR, and the invented and failed shares where they are measured
    quality: deque[tuple[int, float]] = field(default_factory=lambda: deque(maxlen=MEASURE_LOG_LEN))
    invented: deque[tuple[int, float]] = field(default_factory=lambda: deque(maxlen=MEASURE_LOG_LEN))
    failed: deque[tuple[int, float]] = field(default_factory=lambda: deque(maxlen=MEASURE_LOG_LEN))
    seconds: float = 0.0              # wall-clock time spent synthesising and measuring (benchmarks)
    cpu_seconds: float = 0.0          # CPU time of the same (this process, all threads)


class AdaptiveRefresh(DecoderMirror):
    """The encoder's decoder-side synthesis and the refresh decision."""

    def __init__(self, generator_name: str, threshold_db: float, max_ref_frames: int,
                 check_every: int = 1, invented_limit: float | None = None,
                 failed_limit: float | None = None, teeth: bool = False) -> None:
        """invented_limit, failed_limit: the invented and failed shares (0..1) above which a
        frame falls short; None (and for the invented share a generator without a person
        layer): not measured. teeth: the teeth measure (only for generators that draw H.5's
        mouth; see teeth_available)."""
        super().__init__(generator_name, max_ref_frames, "--refresh")
        if check_every < 1:
            raise ValueError("check_every must be at least 1")
        self.threshold_db = threshold_db
        self.check_every = check_every
        # the class, not the instance: a multi-reference wrapper delegates attributes to its references
        self.invented_limit = invented_limit if hasattr(type(self.generator), "synthesize_with_layers") else None
        self.failed_limit = failed_limit
        self.teeth = teeth and self.teeth_available
        self._newest_for_teeth = False      # the newest key frame was inserted for teeth
        self._pending_teeth = False         # the key frame about to be added is inserted for teeth
        self.stats = RefreshStats()
        self.last_picture: np.ndarray | None = None    # the picture the last falls_short drew
        self._reasons: dict[int, tuple[str, ...]] = {}      # frame -> measures it fell short on when last
                                                            # judged (frames that did not: not kept)

    @property
    def teeth_available(self) -> bool:
        """Whether the generator draws H.5's mouth interior (it has a mesh generator's features)."""
        gen = self.generator
        drawn_by = gen.factory if isinstance(gen, MultiReferenceGenerator) else type(gen)
        return isinstance(drawn_by, type) and hasattr(drawn_by, "mouth")

    def add_keyframe(self, reference: Reference) -> None:
        super().add_keyframe(reference)
        self._newest_for_teeth, self._pending_teeth = self._pending_teeth, False

    def _teeth_short(self, source: np.ndarray, landmarks: np.ndarray, values: np.ndarray) -> bool:
        if self._newest_for_teeth:
            return False
        key = np.asarray(self.references.newest()[1].values, np.float64)
        eyes = [EYE_L, EYE_R]
        if np.any(np.asarray(values, np.float64)[eyes] < TEETH_EYES_OPEN * key[eyes]):
            return False
        if not source_shows_teeth(source, landmarks):
            return False
        drawing = drawing_generators(self.generator)
        return not any(gen.features.key_has_teeth for gen in drawing)  # type: ignore[attr-defined]

    def due_for_check(self, frame_idx: int, last_key: int) -> bool:
        since = frame_idx - last_key
        return since >= REFRESH_MIN_GAP and since % self.check_every == 0

    def falls_short(self, frame_idx: int, source: np.ndarray, landmarks: np.ndarray | None,
                    reconstructed_values: np.ndarray,
                    correct: Callable[[np.ndarray], np.ndarray] | None = None,
                    drawn: np.ndarray | None = None, drawn_invented: float | None = None) -> bool:
        """Synthesises the frame from the reconstruction and compares it with the source.
        correct: what the decoder does to the generator's picture before showing it (the
        correction stage, clause 8.6.2, with the levels the encoder chooses for it); the face
        and failed measures judge its result, the invented share the generator's field.
        drawn: the generator's picture of the reconstruction, if the caller has it (drawn
        ahead, draw_ahead.py), and drawn_invented its invented share, measured where it was
        drawn; drawn is used unless the invented share is measured and not given with it."""
        self.last_picture = None
        if landmarks is None:                 # no face in the source: nothing to judge
            return False
        h, w = source.shape[:2]
        t0, c0 = time.perf_counter(), time.process_time()
        invented = None
        if self.invented_limit is None:
            synth = self.generator.synthesize(reconstructed_values) if drawn is None else drawn
        elif drawn is not None and drawn_invented is not None:
            synth, invented = drawn, drawn_invented
        else:                                 # the same picture, with the field that drew it
            synth, map_x, map_y, layers, _ = self.generator.synthesize_with_layers(reconstructed_values)
            invented = invented_share(map_x, map_y, layers.person_alpha)
        self.last_picture = synth             # the generator's picture: the correction's input
        shown = synth if correct is None else correct(synth)
        q = region_psnr(shown, source, face_box(landmarks, w, h))
        failed = None if self.failed_limit is None else failed_share(shown, source)
        self.stats.seconds += time.perf_counter() - t0
        self.stats.cpu_seconds += time.process_time() - c0
        self.stats.checked += 1
        self.stats.quality.append((frame_idx, q))
        reasons = ["face"] if q < self.threshold_db else []
        if invented is not None and self.invented_limit is not None:
            self.stats.invented.append((frame_idx, invented))
            if invented > self.invented_limit:
                reasons.append("invented")
        if failed is not None and self.failed_limit is not None:
            self.stats.failed.append((frame_idx, failed))
            if failed > self.failed_limit:
                reasons.append("failed")
        if self.teeth and self._teeth_short(source, landmarks, reconstructed_values):
            reasons.append("teeth")
        if reasons:                           # only frames that fell short are kept (bounded memory)
            self._reasons[frame_idx] = tuple(reasons)
        else:
            self._reasons.pop(frame_idx, None)
        return bool(reasons)

    def count_insertion(self, frame_idx: int) -> None:
        """A key frame inserted at frame_idx, which fell short when last judged."""
        self.stats.inserted += 1
        reasons = self._reasons.get(frame_idx, ())
        self._pending_teeth = "teeth" in reasons     # the encoder codes and adds that key frame next
        for reason in self._reasons.pop(frame_idx, ()):
            self.stats.inserted_by[reason] = self.stats.inserted_by.get(reason, 0) + 1
