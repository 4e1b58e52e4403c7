"""Benchmark of the decoder as the evaluation campaign runs it: frames/s and CPU time per frame
of whole streams, at given thread counts, each decode in a fresh spawned process.

    python -m tools.bench_decoder STREAM.ifvc [STREAM.ifvc ...] [--threads 1 2] [--repeat 2]
    python -m tools.bench_decoder STREAM.ifvc --generator ifvc-refine-1 --split

Each run is one spawned worker process set up as a campaign pool worker is
(conformance/campaign/executors.py: spawn context, the same initializer with the thread
count, OMP_WAIT_POLICY=PASSIVE in its environment unless --active-wait), which decodes the stream with the campaign's own decode function
(conformance/campaign/coding.py: ``ref_decoder.decoder.Decoder`` in-process, frames written
to an .rgb file, frame count and hash units checked). So the time includes everything the
campaign pays per cell: torch import and weights loading (first cell of a worker),
parsing, key-frame decoding, synthesis, the output file. ``--repeat 2`` decodes again in the
same worker: the second row is a warm worker (no import, weights read again as the decoder
does per stream). ``--generator NAME`` synthesises with that registered generator instead of
the one each stream names (as ``ifvc-decode --generator`` does), to compare generators on the
same stream; the generator column names the one used.

Printed per run: wall frames/s, CPU seconds per frame (user + system of the worker, all its
threads: the fair measure on a loaded machine, where wall time depends on the other
processes), the SHA-256 of the decoded .rgb (identical across thread counts and runs is the
determinism target) and the 1-minute load average before the run. ``--split`` runs the
decode under cProfile and prints the time per stage (parse, key frame, IDI, warp, network,
conversion, output).
"""
from __future__ import annotations

import argparse
import cProfile
import hashlib
import multiprocessing
import os
import pstats
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ifvc_synthesis.cpu_threads import prefer_passive_openmp_wait

# Stages of the split: (stage, module path suffix, function name); cumulative cProfile times,
# nested stages subtracted from their parent where noted in STAGE_PARENTS.
STAGES: tuple[tuple[str, str, str], ...] = (
    ("decode (total)", "ref_decoder/decoder.py", "decode"),
    ("key frame picture (VVC decode, conversion, MD5)", "ref_decoder/decoder.py", "decode_keyframe_picture"),
    ("references + set_keyframe", "ifvc_synthesis/generators/base.py", "use_references"),
    ("synthesis (generator.synthesize)", "ref_decoder/decoder.py", "_generate"),
    ("IDI: target geometry", "ifvc_synthesis/generators/geometric.py", "target_geometry"),
    ("IDI: motion field", "ifvc_synthesis/idi.py", "motion_field"),
    ("network input (masks, build_inputs)", "ifvc_synthesis/generators/refine_net.py", "build_inputs"),
    ("network (RefineNet forward)", "ifvc_synthesis/generators/learned.py", "refine"),
    ("network output to uint8", "ifvc_synthesis/generators/refine_net.py", "to_uint8"),
    ("weights read + SHA-256", "ifvc_synthesis/generators/learned.py", "load_weights"),
    ("output file write", "~", "<method 'write' of '_io.BufferedWriter' objects>"),
    ("output transpose/tobytes", "~", "<method 'tobytes' of 'numpy.ndarray' objects>"),
)


@dataclass
class RunResult:
    stream: str
    generator: str
    threads: int
    run: int
    frames: int
    wall_s: float
    cpu_s: float
    sha256: str
    load1: float
    peak_rss_mib: float
    split: list[tuple[str, float]] | None = None


def _cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _stage_times(stats: pstats.Stats) -> list[tuple[str, float]]:
    table = stats.stats  # type: ignore[attr-defined]
    out = []
    for stage, path, name in STAGES:
        total = 0.0
        for (file, _line, func), (_cc, _nc, _tt, ct, _callers) in table.items():
            if func == name and file.replace("\\", "/").endswith(path):
                total += ct
        out.append((stage, total))
    return out


def _decode_once(stream: str, frames: int, threads: int, run: int, split: bool,
                 generator: str | None = None) -> RunResult:
    """In the worker: the campaign's decode of one stream, timed."""
    from conformance.campaign.coding import _decode_ifvc
    load1 = os.getloadavg()[0]
    data = Path(stream).read_bytes()
    with tempfile.TemporaryDirectory(prefix="bench-decoder-") as tmp:
        out = Path(tmp) / "decoded.rgb"
        profiler = cProfile.Profile() if split else None
        c0, t0 = _cpu_seconds(), time.perf_counter()
        if profiler is not None:
            profiler.enable()
        name, _sha = _decode_ifvc(data, frames, out, generator)
        if profiler is not None:
            profiler.disable()
        wall, cpu = time.perf_counter() - t0, _cpu_seconds() - c0
        digest = _file_sha256(out)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    stages = _stage_times(pstats.Stats(profiler)) if profiler is not None else None
    return RunResult(Path(stream).name, name, threads, run, frames, wall, cpu, digest, load1, rss, stages)


def _file_sha256(path: Path) -> str:
    """In pieces: reading the whole output would add its size to the peak RSS measured."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _stream_frames(data: bytes) -> int:
    from bitstream.stream import StreamParser
    parser = StreamParser()
    for _ in parser.parse(data):
        pass
    return parser.next_frame_idx


def _worker_initializer(threads: int) -> None:
    from conformance.campaign.executors import set_torch_threads
    set_torch_threads(threads)


def bench(stream: Path, threads: int, repeat: int, split: bool, active_wait: bool = False,
          generator: str | None = None) -> list[RunResult]:
    """Decodes `stream` `repeat` times in one fresh worker process set up as the campaign's
    (with `generator` instead of the stream's when given)."""
    frames = _stream_frames(stream.read_bytes())
    if not active_wait:
        prefer_passive_openmp_wait()        # as the campaign's LocalExecutor does before its pool
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=_worker_initializer,
                             initargs=(threads,)) as pool:
        return [pool.submit(_decode_once, str(stream), frames, threads, run, split, generator).result()
                for run in range(1, repeat + 1)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("streams", nargs="+", type=Path, help=".ifvc streams")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                    help="thread counts of the worker (the campaign's --threads)")
    ap.add_argument("--repeat", type=int, default=1, help="decodes per worker (2nd: a warm worker)")
    ap.add_argument("--split", action="store_true", help="time per stage under cProfile (slower)")
    ap.add_argument("--active-wait", action="store_true",
                    help="leave OpenMP's spinning wait (the campaign before 2026-12-03) unless "
                         "OMP_WAIT_POLICY is set")
    ap.add_argument("--generator", metavar="NAME",
                    help="synthesise with this registered generator instead of the stream's")
    args = ap.parse_args(argv)
    if args.generator is not None:
        from ifvc_synthesis.generators import known_generators
        if args.generator not in known_generators():
            print(f"error: unknown generator {args.generator!r}; known generators: "
                  f"{', '.join(known_generators())}", file=sys.stderr)
            return 2
    for s in args.streams:
        if not s.is_file():
            print(f"error: stream not found: {s}", file=sys.stderr)
            return 2
    print("stream | generator | threads | run | frames | wall frames/s | CPU ms/frame | peak RSS MiB "
          "| load1 | SHA-256 of the output")
    digests: dict[str, set[str]] = {}
    for stream in args.streams:
        for threads in args.threads:
            for r in bench(stream, threads, args.repeat, args.split, args.active_wait, args.generator):
                digests.setdefault(r.stream, set()).add(r.sha256)
                print(f"{r.stream} | {r.generator} | {r.threads} | {r.run} | {r.frames} | "
                      f"{r.frames / r.wall_s:.1f} | {1000 * r.cpu_s / r.frames:.1f} | {r.peak_rss_mib:.0f} | "
                      f"{r.load1:.1f} | {r.sha256[:16]}", flush=True)
                if r.split:
                    for stage, seconds in r.split:
                        print(f"    {stage}: {1000 * seconds / r.frames:.2f} ms/frame")
    for stream, seen in digests.items():
        print(f"{stream}: {'identical output in every run' if len(seen) == 1 else f'{len(seen)} DIFFERENT outputs'}")
    return 0 if all(len(s) == 1 for s in digests.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
