"""CPU time of ifvc-flow-5's eyelids (Annex I.11) and of H.5's on one frame where both eyes
close: liveportrait_driving_d13 frame 36 of the feature study's QP 32 stream, 256x256, OpenCV
on one thread, 200 calls each.

    python docs/results/flow5_eyelids_2026-12-05/bench_lids.py --stream work/gen2cmp/liveportrait_driving_d13_qp32_f100.ifvc
"""
from __future__ import annotations

import argparse
import time
from itertools import islice
from pathlib import Path

import cv2
import numpy as np

from ifvc_synthesis.generators import get_generator
from ifvc_synthesis.generators.geometric_3 import MeshGenerator
from ifvc_synthesis.generators.mesh_features import FLOW_5_LIDS, GEOMETRIC_3_LIDS
from ref_decoder.decoder import Decoder
from tools.generator_compare import _geometry_of

FRAME, CALLS = 36, 200


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stream", type=Path, required=True)
    args = ap.parse_args()
    cv2.setNumThreads(1)
    data = args.stream.read_bytes()
    frames = list(islice(Decoder(generator=get_generator("ifvc-geometric-1")).decode(data), FRAME + 1))
    geo = MeshGenerator()
    geo.set_keyframe(frames[0].rgb, np.asarray(frames[0].values), *_geometry_of(data))
    tg = geo.target_geometry(np.asarray(frames[FRAME].values))
    base = frames[FRAME].rgb.astype(np.float32)
    print(f"frame {FRAME}: eye gains {tg.eye_gain[0]:.3f}, {tg.eye_gain[1]:.3f}")
    for label, style in (("FLOW_5_LIDS (I.11)", FLOW_5_LIDS), ("GEOMETRIC_3_LIDS (H.5)", GEOMETRIC_3_LIDS)):
        start = time.process_time()
        for _ in range(CALLS):
            geo.features.draw_eyelids(base.copy(), tg, style)
        print(f"{label}: {1000 * (time.process_time() - start) / CALLS:.2f} ms CPU per frame")


if __name__ == "__main__":
    main()
