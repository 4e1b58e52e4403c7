"""Plot semantic trajectories of prepared sequences (raw and with the default causal smoothing).

    python -m tools.plot_semantics [NAME ...] [--out work/plots]

Writes <out>/<name>_semantics.png (not committed). Eye closings show as dips of
eye_blink_left/right towards 0.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ifvc_common.outputs import OutputTransaction
from tools.semantics_cache import raw_semantics, sequence_path

DEFAULT = ["liveportrait_driving_d14", "sadtalker_WDA_AlexandriaOcasioCortez_000", "pcavs_Pose_Source_620900105"]


def plot(name: str, out_dir: Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from ref_encoder.analysis import ELEMENT_NAMES, apply_smoothing

    raw, _ = raw_semantics(name)
    smo = apply_smoothing(raw, "one_euro")
    t = np.arange(len(raw)) / 25.0
    fig, axes = plt.subplots(7, 2, figsize=(12, 14), sharex=True)
    for e, ax in enumerate(axes.T.ravel()):
        ax.plot(t, raw[:, e], lw=0.8, color="0.6", label="raw")
        ax.plot(t, smo[:, e], lw=1.0, color="C0", label="one-euro")
        ax.set_title(ELEMENT_NAMES[e], fontsize=9)
        ax.tick_params(labelsize=7)
    axes[0, 0].legend(fontsize=7)
    for ax in axes[-1]:
        ax.set_xlabel("s")
    fig.suptitle(name)
    fig.tight_layout()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}_semantics.png"
    with OutputTransaction() as outputs:
        fig.savefig(outputs.reserve(path), dpi=80)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", default=DEFAULT)
    ap.add_argument("--out", type=Path, default=Path("work") / "plots")
    args = ap.parse_args(argv)
    missing = [n for n in args.names if not sequence_path(n).is_file()]
    if missing:
        print(f"error: no prepared sequence for {', '.join(missing)} (run python -m tools.prepare_sequences)",
              file=sys.stderr)
        return 2
    for n in args.names:
        print(f"wrote {plot(n, args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
