"""The mesh generator "ifvc-geometric-10" (spec Annex H.13, informative): ifvc-geometric-9
(Annex H.12) with a restoration network a quarter of the cost, trained to give back texture.

The key picture is restored once per key frame, as in ifvc-geometric-9, by KeyRestoreNet with
shuffle 2 (key_restore.py): the network works on 2 x 2 blocks of samples (space to depth, 12
planes and the rate plane at half the resolution) and writes its correction back as 2 x 2
blocks, so each convolution covers a quarter of the positions and the network sees twice as far.
Its training added a texture loss (Gram matrices of VGG16 features over 16 x 16 patches,
tools/train_key_restore.py --texture-weight) to L1 and the VGG16 feature distance: VVC intra
smooths hair and skin, and a loss on the samples in place asks only for their local mean back;
a last stage penalised the fixed 2 x 2 checkerboard that the half-resolution layout had learnt
(tools/train_key_restore.phase_pattern). The weights file ifvc_key_restore_2.safetensors ships
with the generator; its SHA-256 is sh_generator_sha256 (Table 3a). Everything else is ifvc-geometric-9's: the key frame is output as
VVC decodes it, raw key pictures and characters are used as they are. No syntax change
(docs/results/texture_restore_2026-12-07).
"""
from __future__ import annotations

from pathlib import Path

from bitstream.generator_registry import GENERATOR_BY_NAME

from .geometric_9 import RestoredKeyMeshGenerator
from .registry import builtin_generator

NAME = "ifvc-geometric-10"
WEIGHTS = Path(__file__).resolve().parent / "weights" / "ifvc_key_restore_2.safetensors"


@builtin_generator(NAME, weights=WEIGHTS)
class TextureRestoredKeyMeshGenerator(RestoredKeyMeshGenerator):
    """Generator protocol (base.py): ifvc-geometric-9 with the half-resolution, texture-trained
    KeyRestoreNet of Annex H.13."""

    name = NAME
    weights_path = WEIGHTS
    weights_sha256 = GENERATOR_BY_NAME[NAME].weights_sha256
