"""The eyelid-cover variants tried for ifvc-flow-5 (Annex I.11), decoded over ifvc-flow-4's
network output and measured by tools/feature_fidelity.py's eye region on the test clips at
key-frame QP 32 (the clips with closing-eye frames by default).

    python docs/results/flow5_eyelids_2026-12-05/variants.py --out work/flow5_variants \
        [--only fomm_demo_old_08 liveportrait_driving_d13 ...]

A variant is a LidStyle (ifvc_synthesis/generators/mesh_features.py): H.5's cover (0.05 eye
widths above the upper lid to 0.03 above the lower lid, feather 0.7) or the wider one (0.15
above to the lower lid, feather 1.2), each with H.5's feather (the key frame's sample (0, 0)
outside the strip) or with the lid texture continued. The fourth is FLOW_5_LIDS.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from bitstream.raw_video import read_rgb444
from ifvc_synthesis.generators import get_generator
from ifvc_synthesis.generators.learned import FLOW_5, LearnedGenerator
from ifvc_synthesis.generators.mesh_features import FLOW_5_LIDS, GEOMETRIC_3_LIDS, LidStyle
from tools import feature_fidelity
from tools.generator_compare import SPLIT_FILE, coded_sequences

WIDE = LidStyle(overlap=0.15, above_lower=0.0, feather=1.2)
VARIANTS = {"h5-cover": GEOMETRIC_3_LIDS, "wide-cover": WIDE,
            "h5-cover-continued": LidStyle(continue_texture=True), "wide-cover-continued": FLOW_5_LIDS}
CLOSING_EYE_CLIPS = ["fomm_demo_old_08", "liveportrait_driving_d13", "pcavs_Pose_Source_620900105",
                     "sadtalker_RD_Radio34_000"]


def flow_with_lids(style: LidStyle) -> LearnedGenerator:
    """ifvc-flow-5's network and synthesis with ``style``'s eyelid cover (FLOW_5_LIDS: ifvc-flow-5)."""
    return LearnedGenerator(network=dataclasses.replace(FLOW_5, lids=style))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sequences", type=Path, default=Path("work/sequences"))
    ap.add_argument("--work", type=Path, default=Path("work/gen2cmp"))
    ap.add_argument("--only", nargs="+", default=CLOSING_EYE_CLIPS)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    gens = {"ifvc-flow-4": get_generator("ifvc-flow-4"), **{k: flow_with_lids(v) for k, v in VARIANTS.items()}}
    names = [n for n in json.loads(SPLIT_FILE.read_text())["test"] if n in args.only]
    pool = feature_fidelity.Pool()
    for name, seq, stream in coded_sequences(names, args.sequences, args.work, 32, 100):
        feature_fidelity.study_clip(name, read_rgb444(seq, max_frames=100), stream.read_bytes(), gens, pool, None)
        print(f"{name}: done", flush=True)
    text = feature_fidelity.report(pool, list(gens), "python docs/results/flow5_eyelids_2026-12-05/variants.py "
                                   + " ".join(sys.argv[1:]))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "variants.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
