"""Screen: ifvc-geometric-10's KeyRestoreNet told a lower rate than the key picture's own (its
bits scaled by 1.0, 0.8, 0.6, 0.4), on the training tool's validation pictures (frame 0 of the
validation and test clips) coded as the default encoder codes key pictures (no ALF). Printed:
PSNR-RGB, LPIPS-VGG and DISTS of the restored pictures.

    python docs/results/every_frame_targets_2026-12-08/rate_scale_screen.py
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from bitstream.generator_registry import GENERATOR_BY_NAME  # noqa: E402
from ifvc_synthesis.generators.geometric_10 import WEIGHTS  # noqa: E402
from ifvc_synthesis.generators.key_restore import load_network, restore_key_picture  # noqa: E402
from tools import train_key_restore as t  # noqa: E402


def main() -> None:
    net = load_network(WEIGHTS, GENERATOR_BY_NAME["ifvc-geometric-10"].weights_sha256.hex())
    sequences = Path("work/sequences")
    source = np.stack([t.frames_of(sequences, c, 1000)[0] for c in t.SPLIT["validation"] + t.SPLIT["test"]])
    for qp in (32, 42):
        coded = [t.coded(f, qp, "texture") for f in source]
        for scale in (1.0, 0.8, 0.6, 0.4):
            restored = np.stack([restore_key_picture(net, d, int(b * scale)) for d, b in coded])
            s = t.score(source, {"restored": restored})["restored"]
            print(qp, scale, " ".join(f"{k} {v:.4f}" for k, v in s.items()), flush=True)


if __name__ == "__main__":
    main()
