"""Benchmark of a generator (IDI + warp, and the learned refinement): frames/s and CPU time
per frame at 256x256 and peak memory, frame by frame (batch 1, as a low-delay decoder runs it).

    python -m tools.bench_generator [--sequence NAME] [--frames 100] [--repeat 2] [--threads 1]
    python -m tools.bench_generator --generator ifvc-geometric-2 [--sequences DIR]
    python -m tools.bench_generator --generator ifvc-geometric-3 [--sequences DIR]
    python -m tools.bench_generator --generator ifvc-refine-1 [--device cuda] [--threads 2]

Reads a prepared sequence from work/sequences, takes frame 0 as the key frame (geometry
payload v1 from its analysis, as the encoder makes it), analyses the other frames for their
semantic values (before timing), then times IDI (target geometry + motion field) and the
whole synthesize() call per frame. The generator is made as the decoder makes it (the
registry: weights read and SHA-256 checked) and runs on --threads CPU threads set as the
decoder sets them (ifvc_synthesis/cpu_threads.py: OpenCV and PyTorch; the campaign's workers
take 1). Prints wall frames/s, CPU time per frame (all threads of the process: the fair
measure on a loaded machine), the load average, the time split, the Python heap peak during
synthesis (tracemalloc) and the peak resident memory of the process.

This times the generator alone, warm, on analysed (not decoded) semantics. The whole decoder
as the evaluation campaign runs it (a spawned worker, parsing, key-frame decoding, weights
loading, the output file) is timed by tools/bench_decoder.py.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

from bitstream.raw_video import read_rgb444

SEQ_DIR = Path("work") / "sequences"       # relative to the working directory


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sequence", default="liveportrait_driving_d14")
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=2, help="passes over the frames")
    ap.add_argument("--generator", default="ifvc-geometric-1",
                    help="ifvc-geometric-1, ifvc-geometric-2 (layered), ifvc-geometric-3 (mesh), ifvc-refine-1 or ifvc-flow-1")
    ap.add_argument("--sequences", type=Path, default=SEQ_DIR, help="folder of prepared sequences")
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="device of a learned generator")
    ap.add_argument("--threads", type=int, default=1,
                    help="CPU threads of the synthesis, OpenCV and PyTorch (default 1, as a campaign worker)")
    args = ap.parse_args(argv)
    path = args.sequences / f"{args.sequence}_256x256_25_8bit_444.rgb"
    if not path.is_file():
        print(f"error: {path} not found (run python -m tools.prepare_sequences)", file=sys.stderr)
        return 2
    frames = read_rgb444(path, max_frames=args.frames)
    from ifvc_synthesis.generators import get_generator
    from ref_encoder.analysis import FaceAnalyzer
    from ref_encoder.keyframe_geometry import compute_keyframe_geometry
    with FaceAnalyzer(tracking=True) as fa:
        key_values, payload = compute_keyframe_geometry(frames[0])
        targets = []
        for f in frames:
            a = fa.analyze_frame(f)
            targets.append(a.semantics if a.face_found else (targets[-1] if targets else key_values))
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    from ifvc_synthesis.cpu_threads import set_synthesis_threads
    set_synthesis_threads(args.threads)
    if args.device == "cuda":
        os.environ["IFVC_GENERATOR_DEVICE"] = "cuda"       # as ifvc-decode --device cuda
        import torch
        if not torch.cuda.is_available():
            print("error: --device cuda: no CUDA device available", file=sys.stderr)
            return 2
    gen = get_generator(args.generator)                   # as the decoder makes it
    t0 = time.perf_counter()
    gen.set_keyframe(frames[0], key_values, payload, 1)
    t_key = time.perf_counter() - t0
    gen.synthesize(targets[0])                                    # warm-up
    t_idi = 0.0
    n = 0
    load1 = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), _cpu_seconds()
    for _ in range(args.repeat):
        for v in targets:
            gen.synthesize(v)
            n += 1
    dt, cpu = time.perf_counter() - t0, _cpu_seconds() - c0
    tracemalloc.start()                                           # separate pass: it slows Python down
    for v in targets[:10]:
        gen.synthesize(v)
    _, heap_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    model = getattr(gen, "model", None) or getattr(getattr(gen, "geometric", None), "model", None)
    if model is not None:                                         # IDI share (the geometric pass)
        t1 = time.perf_counter()
        for v in targets:
            model.motion_field(model.target_geometry(np.asarray(v)))
        t_idi = (time.perf_counter() - t1) / len(targets)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{args.generator} ({args.device}, {args.threads} thread{'s' if args.threads > 1 else ''}) on "
          f"{args.sequence}: {n} frames 256x256 in {dt:.2f} s: "
          f"{n / dt:.1f} frames/s ({1000 * dt / n:.2f} ms/frame wall, CPU {1000 * cpu / n:.2f} ms/frame"
          + (f", IDI target geometry + motion field {1000 * t_idi:.2f} ms" if t_idi else "")
          + f"); load average {load1:.1f} before the timed pass")
    print(f"set_keyframe (payload {len(payload)} bytes, mesh build"
          + (", person mask, background plate" if args.generator in ("ifvc-geometric-2", "ifvc-geometric-3") else "")
          + (", face mesh, key-frame z-buffer" if args.generator == "ifvc-geometric-3" else "")
          + f"): {1000 * t_key:.1f} ms")
    print(f"Python heap peak during synthesis (tracemalloc): {heap_peak / 2**20:.1f} MiB; "
          f"peak RSS {rss / 1024:.0f} MiB (before the generator: {rss0 / 1024:.0f} MiB, "
          f"includes the analysis model)")
    if args.device == "cuda":
        import torch
        print(f"GPU {torch.cuda.get_device_name(0)}: peak allocated "
              f"{torch.cuda.max_memory_allocated() / 2**20:.1f} MiB")
    return 0


def _cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


if __name__ == "__main__":
    sys.exit(main())
