"""The 2 x 2 pattern of a KeyRestoreNet's correction: on the first frame of 4 test clips coded at
QP 32 (the training tool's VVC cache), the standard deviation (levels) of the four sample-phase
means of restored - decoded (grey), for training checkpoints and the shipped weights files.

    python docs/results/texture_restore_2026-12-07/checkerboard.py work/key_restore/s2c/checkpoint.pt ...
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from bitstream.generator_registry import GENERATOR_BY_NAME  # noqa: E402
from ifvc_synthesis.generators import geometric_9, geometric_10  # noqa: E402
from ifvc_synthesis.generators.key_restore import (KeyRestoreConfig, load_network,  # noqa: E402
                                                   network_from_tensors, restore_key_picture)
from tools import train_key_restore as T  # noqa: E402


def from_checkpoint(path: Path):  # type: ignore[no-untyped-def]
    state = torch.load(path, weights_only=True)
    return network_from_tensors(KeyRestoreConfig.from_json(state["config"]),
                                {k: v.numpy() for k, v in state["net"].items()})


def main() -> int:
    nets = {"ifvc-geometric-9": load_network(geometric_9.WEIGHTS, GENERATOR_BY_NAME["ifvc-geometric-9"].weights_sha256.hex()),
            "ifvc-geometric-10": load_network(geometric_10.WEIGHTS, GENERATOR_BY_NAME["ifvc-geometric-10"].weights_sha256.hex())}
    nets.update({p: from_checkpoint(Path(p)) for p in sys.argv[1:]})
    for clip in T.SPLIT["test"][:4]:
        source = T.frames_of(Path("work/sequences"), clip, 1000)[0]
        decoded, bits = T.coded(source, 32)
        row = []
        for name, net in nets.items():
            r = restore_key_picture(net, decoded, bits).astype(np.float64).mean(axis=2) - decoded.mean(axis=2)
            row.append(f"{name} {np.std([r[i::2, j::2].mean() for i in (0, 1) for j in (0, 1)]):.3f}")
        print(clip, " | ".join(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
