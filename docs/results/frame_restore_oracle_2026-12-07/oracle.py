"""Oracle (issue 14, QP 32 DISTS): ifvc-geometric-10's KeyRestoreNet applied to every scored frame of a
campaign's decoded videos, as if each were a key picture of the given coded sizes (bits), and scored
with the campaign's metrics on the campaign's strided frames (every 10th from 5). PSNR-RGB is over
every frame, of which only the strided ones are restored: read the LPIPS and DISTS columns.

    python docs/results/frame_restore_oracle_2026-12-07/oracle.py work/camp_g10_test g10 32 4000 12000 40000
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from bitstream.generator_registry import GENERATOR_BY_NAME  # noqa: E402
from ifvc_synthesis.generators.geometric_10 import WEIGHTS  # noqa: E402
from ifvc_synthesis.generators.key_restore import load_network, restore_key_picture  # noqa: E402
from tools.same_levels import STRIDE, campaign_cells, score_versions, strided_indices  # noqa: E402


def main() -> None:
    campaign, codec, qp = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    bits_list = [int(b) for b in sys.argv[4:]]
    net = load_network(WEIGHTS, GENERATOR_BY_NAME["ifvc-geometric-10"].weights_sha256.hex())
    results = {}
    for cell in campaign_cells(campaign, codec, qp, Path("work/sequences")):
        idx = strided_indices(len(cell.source), STRIDE)
        versions = {"decoded": cell.decoded}
        for bits in bits_list:
            restored = cell.decoded.copy()
            for i in idx:
                restored[i] = restore_key_picture(net, cell.decoded[i], bits)
            versions[f"restored_{bits}"] = restored
        results[cell.clip] = score_versions(cell.source, versions)
        print(cell.clip, " | ".join(f"{n}: " + " ".join(f"{x:.4f}" for x in d.values())
                                    for n, d in results[cell.clip].items()), flush=True)
    first = next(iter(results.values()))
    for name in first:
        print("mean", name, {m: round(float(np.mean([r[name][m] for r in results.values()])), 4) for m in first[name]})


if __name__ == "__main__":
    main()
