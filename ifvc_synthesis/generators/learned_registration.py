"""Registration of the learned generators with their shipped weights: "ifvc-refine-1"
(Annex F), "ifvc-flow-1" (Annex I), "ifvc-flow-2" (Annex I.8), "ifvc-flow-3" (Annex I.9) and
"ifvc-flow-4" (Annex I.10) and "ifvc-flow-5" (Annex I.11: flow-4's network and weights with
eyelids drawn over its output).

Apart from learned.py so that registering them does not import torch: a network loads only
when its generator is made. A generator registers only when its weights file is shipped.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from .base import Generator
from .registry import builtin_generator

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
REFINE_1_NAME = "ifvc-refine-1"
REFINE_1_WEIGHTS = WEIGHTS_DIR / "ifvc_refine_1.safetensors"
FLOW_1_NAME = "ifvc-flow-1"
FLOW_1_WEIGHTS = WEIGHTS_DIR / "ifvc_flow_1.safetensors"
FLOW_2_NAME = "ifvc-flow-2"
FLOW_2_WEIGHTS = WEIGHTS_DIR / "ifvc_flow_2.safetensors"
FLOW_3_NAME = "ifvc-flow-3"
FLOW_3_WEIGHTS = WEIGHTS_DIR / "ifvc_flow_3.safetensors"
FLOW_4_NAME = "ifvc-flow-4"
FLOW_4_WEIGHTS = WEIGHTS_DIR / "ifvc_flow_4.safetensors"
FLOW_5_NAME = "ifvc-flow-5"
FLOW_5_WEIGHTS = FLOW_4_WEIGHTS          # the same network and weights; only the eyelids differ


def _factory(name: str) -> Callable[[], Generator]:
    def make() -> Generator:
        from .learned import LEARNED_NETWORKS, LearnedGenerator
        return LearnedGenerator(network=LEARNED_NETWORKS[name])
    return make


for _name, _weights in ((REFINE_1_NAME, REFINE_1_WEIGHTS), (FLOW_1_NAME, FLOW_1_WEIGHTS),
                        (FLOW_2_NAME, FLOW_2_WEIGHTS), (FLOW_3_NAME, FLOW_3_WEIGHTS),
                        (FLOW_4_NAME, FLOW_4_WEIGHTS), (FLOW_5_NAME, FLOW_5_WEIGHTS)):
    builtin_generator(_name, weights=_weights)(_factory(_name))
