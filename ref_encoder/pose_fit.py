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
The fitted values then go through the usual quantisation (RDOQ or rounding), so the syntax and
the decoder are unchanged; with the fit off every stream is bit-exact as before.

The decision uses only the source and the decoder's own reconstruction (the reference store of
decoded key frames, with the decoder's eviction, spec A.5); nothing looks ahead.

With a worker thread (``pool``, the encoder's --threads 2 or more) the pictures that the
descent may need next are drawn two at a time: the start's candidates together, and for each
element the first step down beside the first step up. A step down is used only where the step
up did not lower the error, and then it is exactly the trial the descent would draw, so the
fitted values are the same with and without the worker (docs/results/encoder_threads_2026-12-06).
"""
from __future__ import annotations

import time
from concurrent.futures import Executor, Future
from dataclasses import dataclass

import numpy as np

from bitstream.semantic_elements import ELEMENT_BY_NAME

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


class PoseFit(DecoderMirror):
    """The encoder's proxy synthesis and the descent over the head elements."""

    def __init__(self, generator_name: str, max_ref_frames: int, steps: dict[int, float]) -> None:
        """steps: element id (table order) -> its level size 2**-p, for the signalled head
        elements to fit; the others are not searched."""
        super().__init__(fit_proxy(generator_name), max_ref_frames, "--pose-fit")
        self.steps = {i: float(steps[i]) for i in FIT_ELEMENT_IDS if i in steps}
        self.stats = PoseFitStats()
        self.pool: Executor | None = None      # a worker drawing a second picture at once

    def _error(self, values: np.ndarray, source: np.ndarray) -> float:
        self.stats.synthesised += 1
        return self._squared_error(values, source)

    def _squared_error(self, values: np.ndarray, source: np.ndarray) -> float:
        """The proxy's picture's squared error against the source (no counting: workers call it)."""
        d = (self.generator.synthesize(values).astype(np.float64) - source).ravel()
        # integers below 2**53: exact in any summation order. einsum, not np.dot: OpenBLAS runs a
        # dot of this length on all its threads, which then spin and take the core the worker
        # and OpenCV need (half the fit's CPU time; docs/results/encoder_threads_2026-12-06)
        return float(np.einsum("i,i->", d, d))

    def _ahead(self, values: np.ndarray, source: np.ndarray) -> Future[float] | None:
        """The error of values, started on the worker (None without one); counted when started."""
        if self.pool is None:
            return None
        self.stats.synthesised += 1
        return self.pool.submit(self._squared_error, values, source)

    def _errors(self, trials: list[np.ndarray], source: np.ndarray) -> list[float]:
        """The errors of trials, in order: the first on the worker while this thread draws the rest."""
        first = self._ahead(trials[0], source) if len(trials) > 1 else None
        rest = [self._error(t, source) for t in (trials[1:] if first is not None else trials)]
        return [first.result(), *rest] if first is not None else rest

    def _start(self, analysed: np.ndarray, src: np.ndarray) -> tuple[np.ndarray, float, float]:
        """The descent's start: the analysed values, or those values with the fitted head
        elements set to a reference's own values (each reference in the store, oldest first,
        whose every fitted element lies within REFERENCE_START_LEVELS levels of the analysis),
        whichever the proxy draws closest; a tie keeps the earlier. Returns the start, its
        error and the analysed values' error."""
        candidates = []
        for _, ref in self.references:
            if any(abs(ref.values[i] - analysed[i]) > REFERENCE_START_LEVELS * step for i, step in self.steps.items()):
                continue                   # a head that has moved: see REFERENCE_START_LEVELS
            candidate = analysed.copy()
            for i in self.steps:
                candidate[i] = ref.values[i]
            if not np.array_equal(candidate, analysed):
                candidates.append(candidate)
        analysed_err, *errors = self._errors([analysed, *candidates], src)
        start, err = analysed, analysed_err
        for candidate, e in zip(candidates, errors):
            if e < err:
                start, err = candidate, e
        return start, err, analysed_err

    def fit(self, values: np.ndarray, source: np.ndarray) -> np.ndarray:
        """The values (table order) with the head elements that the proxy draws closest to the
        source (sum of squared RGB errors over the picture): the descent from _start's pose,
        each element within MAX_STEPS levels of it; the other elements unchanged."""
        t0 = time.perf_counter()
        analysed = np.asarray(values, np.float64)
        src = source.astype(np.float64)
        origin, err, analysed_err = self._start(analysed, src)
        best = origin.copy()
        for i, step in self.steps.items():
            down = best.copy()
            down[i] = origin[i] - step
            down_err = self._ahead(down, src)       # the first step down, drawn beside the first up
            for direction in (1, -1):
                moved = False
                for k in range(1, MAX_STEPS + 1):
                    trial = best.copy()
                    trial[i] = origin[i] + direction * k * step
                    if direction == -1 and k == 1 and down_err is not None:
                        e = down_err.result()       # best has not moved: this trial is down
                    else:
                        e = self._error(trial, src)
                    if e >= err:
                        break
                    best, err, moved = trial, e, True
                if moved:                  # the other direction cannot also improve from here
                    break
            if down_err is not None:
                down_err.result()                   # done before the next element's pictures
        self.stats.fitted += 1
        self.stats.moved += int(err < analysed_err)
        self.stats.from_reference += int(origin is not analysed)
        if err < analysed_err:
            self.stats.gain_db += 10.0 * float(np.log10(analysed_err / max(err, 1.0)))
        self.stats.seconds += time.perf_counter() - t0
        return best
