"""The mesh generator "ifvc-geometric-9" (spec Annex H.12, informative): ifvc-geometric-8
(Annex H.11) drawing from a restored key picture.

Each VVC-decoded key picture is first restored by KeyRestoreNet (key_restore.py), a small
residual network trained to give back the texture that VVC intra smooths away, told the rate
the picture was coded at (the size of kf_picture_payload, which the reference store keeps with
it: Reference.picture_bits); everything ifvc-geometric-8 makes from the key picture (mesh
texture, person mask, background plate, mouth and lid tones) is then made from the restored
picture. The network runs once per key frame. A raw key picture, or a picture that was never
coded (a virtual character), is used as it is. The key frame itself is output as the VVC
decoder gives it (spec 8.4; its MD5 is what a stream's hash unit checks): only synthesised
frames draw from the restored picture. The weights file ifvc_key_restore_1.safetensors ships
with the generator; its SHA-256 is sh_generator_sha256 (Table 3a). No syntax change. Not the
reference encoder's default: the network costs about 0.3 s a key frame on 2 cores, too much for
the decoder's 25 frames/s on streams that refresh their key frame every 20-25 frames
(docs/results/key_restore_2026-12-07).
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bitstream.generator_registry import GENERATOR_BY_NAME

from .base import Reference
from .geometric_8 import ChinMaskMeshGenerator
from .key_restore import load_network, restore_key_picture
from .registry import builtin_generator

NAME = "ifvc-geometric-9"
WEIGHTS = Path(__file__).resolve().parent / "weights" / "ifvc_key_restore_1.safetensors"


@builtin_generator(NAME, weights=WEIGHTS)
class RestoredKeyMeshGenerator(ChinMaskMeshGenerator):
    """Generator protocol (base.py): ifvc-geometric-8 on the key picture as KeyRestoreNet
    restores it (Annex H.12). It takes the reference store (set_references, MultiReferenceCapable)
    to read the newest key picture's coded size, and draws from that picture alone, as
    ifvc-geometric-8 does."""

    name = NAME
    weights_path = WEIGHTS
    weights_sha256 = GENERATOR_BY_NAME[NAME].weights_sha256

    def __init__(self) -> None:
        super().__init__()
        self._network = load_network(self.weights_path, self.weights_sha256.hex())
        # the last restoration: (picture bytes, shape, bits, restored picture)
        self._restored: tuple[bytes, tuple[int, ...], int, np.ndarray] | None = None

    def restore(self, key_rgb: np.ndarray, picture_bits: int | None) -> np.ndarray:
        """The key picture the generator draws from (Annex H.12.3): restored when it was coded
        in ``picture_bits`` bits, else the picture itself. The last restoration is kept, so that
        a key frame set up again (the store handed over anew) costs no second pass."""
        if picture_bits is None:
            return key_rgb
        data = np.ascontiguousarray(key_rgb).tobytes()
        last = self._restored
        if last is None or last[0] != data or last[1] != key_rgb.shape or last[2] != picture_bits:
            last = (data, key_rgb.shape, picture_bits, restore_key_picture(self._network, key_rgb, picture_bits))
            self._restored = last
        return last[3]

    def set_keyframe(self, key_rgb: np.ndarray, key_values: np.ndarray, geometry: bytes,
                     geometry_version: int, picture_bits: int | None = None) -> None:
        """ifvc-geometric-8's set_keyframe on the key picture restored for ``picture_bits``
        (None: a picture that was not VVC-coded, used as it is)."""
        super().set_keyframe(self.restore(key_rgb, picture_bits), key_values, geometry, geometry_version)

    def set_references(self, references: Sequence[Reference]) -> None:
        """The newest reference becomes the key frame, with its coded size."""
        if not references:
            raise ValueError("no reference given")
        r = references[-1]
        self.set_keyframe(r.rgb, r.values, r.geometry, r.geometry_version, picture_bits=r.picture_bits)
