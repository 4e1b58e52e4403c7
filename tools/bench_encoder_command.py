"""Benchmark of the whole `ifvc-encode` command: frames/s of a fresh process, start-up included
(imports, MediaPipe's set-up, the drawing process, every key frame's VVenC), on prepared 256 x 256
clips, for one or more source trees run in turn clip by clip, so that trees compare within one
loop on a machine whose speed drifts.

    python -m tools.bench_encoder_command --sequences work/sequences --clips CLIP [CLIP ...]
        [--trees TREE [TREE ...]] [--rounds 2] [--frames 100] [--out results.txt] [-- ENCODER OPTIONS]

Each TREE is a checkout (default: this one) whose own .venv runs ``python -m ref_encoder.cli``
with PYTHONPATH at the tree; the encoder options after ``--`` replace the default ones (issue 14's
encoder: ``--qp 32 --pose-fit --refresh auto --correction-grid auto``). One line per run:
round, clip, tree, frames/s (wall clock of the whole command), stream bytes and SHA-256 prefix;
then per clip and tree the frames/s of every round, and whether every run of a clip wrote the
same stream (trees that should not change streams must say "same"). Exit 1 when a run fails.
The target (issue 14): at least 15 frames/s at 256 x 256 on 2 cores with adaptive refresh on.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ifvc_common.argtypes import int_range

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OPTIONS = ("--qp", "32", "--pose-fit", "--refresh", "auto", "--correction-grid", "auto")


def sequence_path(sequences: Path, clip: str) -> Path:
    return sequences / f"{clip}_256x256_25_8bit_444.rgb"


def run_once(tree: Path, source: Path, frames: int, options: list[str], out: Path) -> tuple[float, bytes]:
    """Seconds of one whole command in ``tree`` and the stream it wrote; RuntimeError with the
    encoder's last line when it fails."""
    python = tree / ".venv" / "bin" / "python"
    cmd = [str(python if python.exists() else sys.executable), "-m", "ref_encoder.cli", str(source),
           "--width", "256", "--height", "256", "--frames", str(frames), "-o", str(out), "--quiet", *options]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=tree, env=dict(os.environ, PYTHONPATH=str(tree)),
                          capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        raise RuntimeError(f"{tree.name}: {source.name}: exit {proc.returncode}: {last}")
    return seconds, out.read_bytes()


def main(argv: list[str] | None = None) -> int:
    args_in = sys.argv[1:] if argv is None else argv
    options = list(DEFAULT_OPTIONS)
    if "--" in args_in:
        cut = args_in.index("--")
        args_in, options = args_in[:cut], args_in[cut + 1:]
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sequences", type=Path, required=True, help="folder of prepared sequences")
    ap.add_argument("--clips", nargs="+", required=True, help="clip names (CLIP_256x256_25_8bit_444.rgb)")
    ap.add_argument("--trees", type=Path, nargs="+", default=[ROOT], help="checkouts to compare (default: this one)")
    ap.add_argument("--rounds", type=int_range(1, 100), default=2)
    ap.add_argument("--frames", type=int_range(1, 100000), default=100)
    ap.add_argument("--out", type=Path, help="also write the lines to this file")
    args = ap.parse_args(args_in)
    missing = [str(p) for p in [sequence_path(args.sequences, c) for c in args.clips] + args.trees if not p.exists()]
    if missing:
        ap.error(f"not found: {', '.join(missing)}")
    names = [t.resolve().name or str(t) for t in args.trees]
    lines: list[str] = []
    fps: dict[tuple[str, str], list[float]] = {}
    digests: dict[str, set[str]] = {}

    def say(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    say(f"encoder options: {' '.join(options)}; {args.frames} frames; trees: {', '.join(names)}")
    with tempfile.TemporaryDirectory(prefix="ifvc-bench-") as scratch:
        for r in range(1, args.rounds + 1):
            for clip in args.clips:
                for tree, name in zip(args.trees, names):
                    try:
                        seconds, stream = run_once(tree.resolve(), sequence_path(args.sequences, clip).resolve(),
                                                   args.frames, options, Path(scratch) / f"{name}_{clip}.ifvc")
                    except RuntimeError as exc:
                        print(f"bench_encoder_command: {exc}", file=sys.stderr)
                        return 1
                    digest = hashlib.sha256(stream).hexdigest()
                    fps.setdefault((clip, name), []).append(args.frames / seconds)
                    digests.setdefault(clip, set()).add(digest)
                    say(f"round {r} {clip} {name}: {args.frames / seconds:.1f} frames/s (whole command), "
                        f"{len(stream)} bytes, SHA-256 {digest[:12]}")
    for clip in args.clips:
        say(f"{clip}: " + "; ".join(f"{name} " + ", ".join(f"{v:.1f}" for v in fps[(clip, name)]) for name in names)
            + (" (same stream in every run)" if len(digests[clip]) == 1 else f" ({len(digests[clip])} different streams)"))
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
