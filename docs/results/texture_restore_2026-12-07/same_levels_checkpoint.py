"""Same-levels check of a KeyRestoreNet training checkpoint: a campaign's ifvc-geometric-8 cells
decoded again plainly (must give the campaign's decoded video byte for byte: checked), with
ifvc-geometric-9 (the shipped weights) and with ifvc-geometric-9's generator on the checkpoint's
weights (numpy inference, as the decoder runs it).

    python docs/results/texture_restore_2026-12-07/same_levels_checkpoint.py work/camp_g8_test g8 32 OUT.json \
        work/key_restore/RUN/checkpoint.pt
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from ifvc_synthesis.generators import ChinMaskMeshGenerator  # noqa: E402
from ifvc_synthesis.generators.geometric_9 import RestoredKeyMeshGenerator  # noqa: E402
from ifvc_synthesis.generators.key_restore import KeyRestoreConfig, network_from_tensors  # noqa: E402
from tools.same_levels import compare_generators, study_arguments  # noqa: E402


def checkpoint_generator(path: Path) -> type[RestoredKeyMeshGenerator]:
    state = torch.load(path, weights_only=True)
    config = KeyRestoreConfig.from_json(state["config"])
    network = network_from_tensors(config, {k: v.numpy() for k, v in state["net"].items()})

    class FromCheckpoint(RestoredKeyMeshGenerator):
        def __init__(self) -> None:
            super().__init__()
            self._network = network
    return FromCheckpoint


def main() -> int:
    campaign, codec, qp, out = study_arguments(sys.argv[1:5])
    if len(sys.argv) != 6:
        raise SystemExit("usage: CAMPAIGN CODEC QP OUT.json CHECKPOINT.pt")
    compare_generators(campaign, codec, qp, out, {"geometric-8": ChinMaskMeshGenerator,
                                                  "geometric-9": RestoredKeyMeshGenerator,
                                                  "checkpoint": checkpoint_generator(Path(sys.argv[5]))},
                       plain="geometric-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
