"""Head-pose fitting by synthesis (informative encoder choice; issue 14 item 4).

The analysed head pose (Annex B) is a measurement: the landmarks' camera fit, smoothed, then
quantised. The decoder does not show the measurement, it shows what its generator draws from
the key frame posed with the coded values, and that picture can sit a few pixels or half a
degree away from the source even when the measurement is right (the canonical face is not this
face, the key frame's own pose is quantised too). The encoder has both the source and the
decoder's references, so it can choose the pose that the decoder will draw best.

For each semantic frame that codes the head group (an anchor, spec 7.2a), the descent starts
from the analysed pose or, where the proxy draws it closer to the source, from the pose of a
reference in the store (the head elements set to that key frame's reference values), if that
pose lies within REFERENCE_START_LEVELS levels of the analysis in every element: a still
head whose analysis wanders by a degree or two is drawn best by the key frame itself, a pose
the steps below cannot reach. Then coordinate descent over the signalled head elements
(head_tx, head_ty, head_tz, head_yaw, head_pitch, head_roll, in that order): each element moves
in steps of one level of its precision (2**-p) while the synthesised frame's squared error
against the source falls, at most MAX_STEPS steps from the start. The synthesis runs a proxy:
the stream's generator when it is a geometric one, otherwise the geometric pass that the
learned generator starts from (FIT_PROXY), since the
learned networks cost 10x more per frame and correct what the pass draws rather than move it.
The proxy draws small pictures: its references and the source are reduced (area averaging),
each reference's key geometry scaled with its picture (reduced_reference). A mesh generator's
proxy (one with Annex H.4's head mesh layer: ifvc-geometric-3 and later, and the geometric pass
of ifvc-flow-2 to -5) draws only that layer, its colour over the unmoved key picture with its
opacity (proxy_picture), at most HEAD_FIT_SIDE pixels a side: no person layer, no mouth or
eyes. On the test split that descent keeps the whole picture's BD-rates at 64 x 64 at about a
third of the time a fitted frame of the whole picture at 128 x 128
(docs/results/pose_fit_reduced_2026-12-07, second part). The other proxies draw the whole
picture at most FIT_SIDE pixels a side: at 128 x 128 that kept the full-size fit's BD-rates,
and the whole picture at 64 x 64 lost refresh decisions on the clips whose head turns.
The fitted values then go through the usual quantisation (RDOQ or rounding), so the syntax and
the decoder are unchanged; with the fit off every stream is bit-exact as before.

The decision uses only the source and the decoder's own reconstruction (the reference store of
decoded key frames, with the decoder's eviction, spec A.5); nothing looks ahead.

A frame's fit is asked, with --threads 2 or more, of a worker process when the frame is read,
and taken when its semantic unit is written; the encoder's thread fits it itself if the worker has
not begun it by then (draw_ahead.py). On small pictures the fit is Python and numpy overhead
more than pixels, so a thread of its own did not pay (docs/results/pose_fit_reduced_2026-12-07);
a process does, beside the encoder's analysis (docs/results/encoder_processes_2026-12-07).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, fields, replace

import cv2
import numpy as np

from bitstream import geometry_payload_v2 as gp2
from bitstream.key_geometry import GEOMETRY_VERSION_NONE, GEOMETRY_VERSION_V2, decode_key_geometry
from bitstream.semantic_elements import ELEMENT_BY_NAME
from ifvc_synthesis.generators import Reference

from .decoder_mirror import DecoderMirror

# Fitted elements, in the order of the descent: the position first (the largest errors), then
# scale, then the rotations.
FIT_ELEMENT_NAMES = ("head_tx", "head_ty", "head_tz", "head_yaw", "head_pitch", "head_roll")
FIT_ELEMENT_IDS = tuple(ELEMENT_BY_NAME[n].element_id for n in FIT_ELEMENT_NAMES)
MAX_STEPS = 2               # levels away from the start, per element
# A reference's pose is a start only where each fitted element lies within this many levels of
# the analysis: a still head whose measurement wanders. A pose further away is a head that has
# moved, and drawing it unmoved would hide from the adaptive refresh a frame that needs a key frame.
REFERENCE_START_LEVELS = 2 * MAX_STEPS
# The generator the fit synthesises with, for generators that are not themselves cheap.
FIT_PROXY = {"ifvc-refine-1": "ifvc-geometric-1", "ifvc-flow-1": "ifvc-geometric-1",
             "ifvc-flow-2": "ifvc-geometric-3", "ifvc-flow-3": "ifvc-geometric-3",
             "ifvc-flow-4": "ifvc-geometric-3", "ifvc-flow-5": "ifvc-geometric-3"}


# The proxy draws at most this many pixels wide and high: the references and the source reduced
# (area averaging), the key geometry scaled with them. At 256 x 256 it keeps the fit's gain (the
# proxy's PSNR gain on the full pictures, test clips) at a third of the time per picture
# (docs/results/pose_fit_reduced_2026-12-07).
FIT_SIDE = 128
# ... and this many where the proxy draws the head mesh layer alone (proxy_picture): 64 x 64 head
# layers kept the BD-rates of 128 x 128 whole pictures (test split) at about a third of the time.
HEAD_FIT_SIDE = 64


def fit_size(width: int, height: int, side: int = FIT_SIDE) -> tuple[int, int]:
    """(width, height) of the pictures the fit draws, at most side a side, for a picture of
    width x height."""
    scale = min(1.0, side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def reduced(picture: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The picture (HxWx3 uint8) reduced to size (width, height) by area averaging."""
    if picture.shape[1::-1] == size:
        return picture
    return cv2.resize(np.ascontiguousarray(picture), size, interpolation=cv2.INTER_AREA)


def reduced_reference(reference: Reference, size: tuple[int, int]) -> Reference:
    """The reference as the fit's proxy sees it: its picture reduced to size and its key
    geometry (Annex E.2) decoded at the full size, scaled, and written again as a version 2
    payload of that size at the finest step that codes it (half a pixel of the reduced picture);
    without landmarks (version 0) the posed canonical face of the reduced size."""
    h, w = reference.rgb.shape[:2]
    if (w, h) == size:
        return reference
    rgb = reduced(reference.rgb, size)
    if reference.geometry_version == GEOMETRY_VERSION_NONE:
        return replace(reference, rgb=rgb)
    values = np.asarray(reference.values, np.float64)
    geom = decode_key_geometry(reference.geometry_version, reference.geometry, width=w, height=h, ref_values=values)
    points = geom.points * np.array([size[0] / w, size[1] / h])
    for step in range(1, gp2.GP2_MAX_STEP + 1):
        try:
            payload = gp2.payload_from_points_v2(points, values, size[0], size[1], step, step, False)
        except ValueError:                 # a difference beyond gp2_diff's range: a coarser step
            continue
        return replace(reference, rgb=rgb, geometry=gp2.write_payload_v2(payload),
                       geometry_version=GEOMETRY_VERSION_V2)
    raise ValueError("the key geometry cannot be written at the pose fit's reduced size")


def fit_proxy(generator_name: str) -> str:
    """The generator the fit runs for a stream that names ``generator_name``."""
    return FIT_PROXY.get(generator_name, generator_name)


@dataclass
class PoseFitStats:
    fitted: int = 0              # frames searched
    moved: int = 0               # frames whose pose the search changed
    from_reference: int = 0      # frames whose descent started from a reference's pose
    synthesised: int = 0         # pictures the proxy drew
    gain_db: float = 0.0         # sum over fitted frames of the PSNR gain of the proxy's picture
    seconds: float = 0.0         # wall-clock time of the search (benchmarks)

    def add(self, other: "PoseFitStats") -> None:
        """Counts another's fits too (those a worker process ran: draw_ahead.py)."""
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


class PoseFit(DecoderMirror):
    """The encoder's proxy synthesis and the descent over the head elements."""

    def __init__(self, generator_name: str, max_ref_frames: int, steps: dict[int, float]) -> None:
        """steps: element id (table order) -> its level size 2**-p, for the signalled head
        elements to fit; the others are not searched."""
        super().__init__(fit_proxy(generator_name), max_ref_frames, "--pose-fit")
        self.steps = {i: float(steps[i]) for i in FIT_ELEMENT_IDS if i in steps}
        self.stats = PoseFitStats()
        # a mesh generator's proxy draws its head layer alone (proxy_picture), on smaller pictures;
        # the class is asked, since a multi-reference wrapper forwards attributes to a reference
        self.head_layer = hasattr(type(self._generator), "render_mesh")
        self.side = HEAD_FIT_SIDE if self.head_layer else FIT_SIDE

    def add_keyframe(self, reference: Reference) -> None:
        """The reference, reduced to the fit's size (fit_size), joins the proxy's store."""
        h, w = reference.rgb.shape[:2]
        super().add_keyframe(reduced_reference(reference, fit_size(w, h, self.side)))

    def proxy_picture(self, values: np.ndarray) -> np.ndarray:
        """The picture the descent compares with the source (HxWx3 uint8, the reduced size): for a
        mesh generator its head layer (Annex H.4 steps 2 to 5: the colour and opacity of
        render_mesh) over the newest reference's key picture, unmoved, rounded as the generator
        rounds; otherwise the generator's whole picture."""
        gen = self.generator
        if not self.head_layer:
            return gen.synthesize(values)
        colour, opacity = gen.render_mesh(values)  # type: ignore[attr-defined]
        key = gen.key_rgb.astype(np.float32)       # type: ignore[attr-defined]
        return np.clip(np.floor(key + opacity[..., None] * (colour - key) + 0.5), 0, 255).astype(np.uint8)

    def _error(self, values: np.ndarray, source: np.ndarray) -> float:
        """The proxy's picture's squared error against the (reduced) source."""
        self.stats.synthesised += 1
        d = (self.proxy_picture(values).astype(np.float64) - source).ravel()
        # integers below 2**53: exact in any summation order. einsum, not np.dot: OpenBLAS runs a
        # dot on all its threads, which then spin and take the core that the encoder's other
        # threads need (docs/results/encoder_threads_2026-12-06)
        return float(np.einsum("i,i->", d, d))

    def _start(self, analysed: np.ndarray, src: np.ndarray) -> tuple[np.ndarray, float, float]:
        """The descent's start: the analysed values, or those values with the fitted head
        elements set to a reference's own values (each reference in the store, oldest first,
        whose every fitted element lies within REFERENCE_START_LEVELS levels of the analysis),
        whichever the proxy draws closest; a tie keeps the earlier. Returns the start, its
        error and the analysed values' error."""
        start = analysed
        err = analysed_err = self._error(analysed, src)
        for _, ref in self.references:
            if any(abs(ref.values[i] - analysed[i]) > REFERENCE_START_LEVELS * step for i, step in self.steps.items()):
                continue                   # a head that has moved: see REFERENCE_START_LEVELS
            candidate = analysed.copy()
            for i in self.steps:
                candidate[i] = ref.values[i]
            if np.array_equal(candidate, analysed):
                continue
            e = self._error(candidate, src)
            if e < err:
                start, err = candidate, e
        return start, err, analysed_err

    def fit(self, values: np.ndarray, source: np.ndarray) -> np.ndarray:
        """The values (table order) with the head elements that the proxy draws closest to the
        source (sum of squared RGB errors over the picture): the descent from _start's pose,
        each element within MAX_STEPS levels of it; the other elements unchanged."""
        t0 = time.perf_counter()
        analysed = np.asarray(values, np.float64)
        h, w = source.shape[:2]
        src = reduced(source, fit_size(w, h, self.side)).astype(np.float64)
        origin, err, analysed_err = self._start(analysed, src)
        best = origin.copy()
        for i, step in self.steps.items():
            for direction in (1, -1):
                moved = False
                for k in range(1, MAX_STEPS + 1):
                    trial = best.copy()
                    trial[i] = origin[i] + direction * k * step
                    e = self._error(trial, src)
                    if e >= err:
                        break
                    best, err, moved = trial, e, True
                if moved:                  # the other direction cannot also improve from here
                    break
        self.stats.fitted += 1
        self.stats.moved += int(err < analysed_err)
        self.stats.from_reference += int(origin is not analysed)
        if err < analysed_err:
            self.stats.gain_db += 10.0 * float(np.log10(analysed_err / max(err, 1.0)))
        self.stats.seconds += time.perf_counter() - t0
        return best
