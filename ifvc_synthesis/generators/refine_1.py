"""Registration of the learned generator "ifvc-refine-1" (Annex F) with its shipped weights.

Apart from learned.py so that registering it does not import torch: the network loads only
when the generator is made.
"""
from __future__ import annotations

from pathlib import Path

from .base import Generator
from .registry import builtin_generator

NAME = "ifvc-refine-1"
WEIGHTS_FILE = Path(__file__).resolve().parent / "weights" / "ifvc_refine_1.safetensors"


@builtin_generator(NAME, weights=WEIGHTS_FILE)
def make_refine_1() -> Generator:
    from .learned import LearnedGenerator
    return LearnedGenerator()
