"""Synthesis from several references (spec Annex G.6, informative).

Wraps a single-reference generator class: one instance per reference of the reference store
(spec A.5; the decoder hands over the store after every key frame, so at most MaxRefFrames
instances exist), the frame drawn by the primary reference of the selection rule
(ifvc_synthesis/reference_selection.py), and the mouth and the eyes blended in from the
reference whose mouth or eye state is closest, when that is another one: the mouth interior
(teeth, tongue) and open eyes then come from a picture that shows them instead of a fill.
With one reference, the output is that reference's generator's output, byte for byte.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np

from ..idi import EYE_LEFT, EYE_RIGHT, OUTER_LOWER_LIP, OUTER_UPPER_LIP, _idx
from ..reference_selection import select_references
from .base import Reference

MOUTH_SCALE = 1.15         # the outer-lip hull grown about its centre: lips and the skin next to them
EYE_SCALE = 1.6            # the eye ring grown about its centre: eye, lids, lashes
REGION_SIGMA = 1.5         # feathering of the blended region (pixels)


def region_mask(shape: tuple[int, int], points: np.ndarray, scale: float, sigma: float = REGION_SIGMA
                ) -> np.ndarray:
    """Feathered mask (HxW float32 in [0, 1]) of the convex hull of points grown by scale."""
    centre = points.mean(axis=0)
    hull = cv2.convexHull((centre + (points - centre) * scale).astype(np.float32))
    mask = np.zeros(shape, np.float32)
    cv2.fillConvexPoly(mask, np.round(hull.reshape(-1, 2) * 16).astype(np.int32), 1.0,
                       lineType=cv2.LINE_AA, shift=4)
    return cv2.GaussianBlur(mask, (0, 0), sigma)


class MultiReferenceGenerator:
    """Generator protocol (base.py, MultiReferenceCapable) over a single-reference class
    whose instances have set_keyframe( ) and synthesize_with_field( ) (geometric-1 family)."""

    def __init__(self, factory: Callable[[], object], name: str, weights_sha256: bytes) -> None:
        self.factory = factory
        self.name = name
        self.weights_sha256 = weights_sha256
        self._refs: list[tuple[int, np.ndarray, object]] = []    # (FrameIdx, values, generator)

    # -- references -----------------------------------------------------------------------------
    def set_keyframe(self, key_rgb: np.ndarray, key_values: np.ndarray, geometry: bytes,
                     geometry_version: int) -> None:
        """The given key frame becomes the only reference (single-reference use)."""
        self._refs = []
        self.set_references([Reference(0, key_rgb, key_values, geometry, geometry_version)])

    def set_references(self, references: Sequence[Reference]) -> None:
        """Mirror the reference store (oldest first): instances of references still in it are
        kept, new ones are made, the others dropped (memory bounded by the store)."""
        if not references:
            raise ValueError("no reference given")
        kept = {idx: (values, gen) for idx, values, gen in self._refs}
        refs: list[tuple[int, np.ndarray, object]] = []
        for r in references:
            if r.frame_idx in kept:
                values, gen = kept[r.frame_idx]
            else:
                gen = self.factory()
                gen.set_keyframe(r.rgb, r.values, r.geometry, r.geometry_version)   # type: ignore[attr-defined]
                values = np.asarray(r.values, dtype=np.float64).copy()
            refs.append((r.frame_idx, values, gen))
        self._refs = refs

    @property
    def reference_count(self) -> int:
        return len(self._refs)

    @property
    def reference_generators(self) -> list[object]:
        """The single-reference generators of the store, oldest first (what the encoder's
        refresh asks of each reference, e.g. whether its mouth shows teeth)."""
        return [gen for _, _, gen in self._refs]

    @property
    def newest(self) -> object:
        """The newest reference's generator (single-reference studies: its mask, plate, ...)."""
        if not self._refs:
            raise RuntimeError("set_keyframe() must come before synthesize()")
        return self._refs[-1][2]

    def __getattr__(self, attr: str) -> object:
        # Single-reference attributes (person_mask, plate, person_alpha, target_geometry, ...)
        # are the newest reference's; only reached for names this class does not define.
        if attr.startswith("_") or attr in ("factory", "name", "weights_sha256"):
            raise AttributeError(attr)
        return getattr(self.newest, attr)

    # -- synthesis ------------------------------------------------------------------------------
    def synthesize(self, target_values: np.ndarray) -> np.ndarray:
        return self.synthesize_with_field(target_values)[0]

    def synthesize_with_field(self, target_values: np.ndarray):  # type: ignore[no-untyped-def]
        """(image, map_x, map_y, target geometry) of the primary reference, the mouth and eyes
        blended in from their own references where the rule picks another one."""
        if not self._refs:
            raise RuntimeError("set_keyframe() must come before synthesize()")
        sel = select_references(target_values, [values for _, values, _ in self._refs])
        image, map_x, map_y, tg = self._refs[sel.primary][2].synthesize_with_field(target_values)  # type: ignore[attr-defined]
        if sel.mouth == sel.primary and sel.eyes == sel.primary:
            return image, map_x, map_y, tg
        out = image.astype(np.float32)
        shape = image.shape[:2]
        drawn: dict[int, np.ndarray] = {}
        regions = []
        if sel.mouth != sel.primary:
            regions.append((sel.mouth, region_mask(shape, tg.landmarks[_idx(OUTER_UPPER_LIP + OUTER_LOWER_LIP)],
                                                   MOUTH_SCALE)))
        if sel.eyes != sel.primary:
            for eye in (EYE_LEFT, EYE_RIGHT):
                regions.append((sel.eyes, region_mask(shape, tg.landmarks[_idx(eye["ring"])], EYE_SCALE)))
        for ref, mask in regions:
            if ref not in drawn:
                drawn[ref] = self._refs[ref][2].synthesize(target_values).astype(np.float32)  # type: ignore[attr-defined]
            a = mask[..., None]
            out = out + a * (drawn[ref] - out)
        return np.clip(np.floor(out + 0.5), 0, 255).astype(np.uint8), map_x, map_y, tg
