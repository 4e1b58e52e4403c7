"""Benchmark of the IFVC quality metrics: pairs per second and peak memory per metric.

Each metric runs in its own child process on 256x256 uint8 RGB frame pairs (synthetic,
smooth plus noise), after one warm-up pair, so its peak memory is its own. Memory is the
child's peak resident set size (and, on CUDA, torch's peak allocated GPU memory).

    .venv/bin/python tools/bench_metrics.py                 # all metrics, 1 thread, CPU/CUDA
    .venv/bin/python tools/bench_metrics.py --threads 2 --pairs 20 --metrics lpips_vgg dists

``--mode compare`` times the network metrics three ways in one child process, on the same
frames: "before", the one-pair definition ``model(x, y)`` on a freshly built model, one pair per call
(what ``*_frames`` did before source features existed: two backbone passes a pair); "after", ``*_frames`` with
``--batch-size``; "cached", one source sequence against ``--versions`` decoded versions
(pairwise.score_frames: the source's features once per frame). It checks that the three agree
within 1e-6 and reports wall pairs/s and CPU seconds a pair (CPU time is steadier than
wall time on a shared machine):

    .venv/bin/python tools/bench_metrics.py --mode compare --threads 1 --pairs 6 --versions 4
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

DEFAULT_PAIRS = {"psnr_rgb": 200, "psnr_y": 200, "psnr_yuv420": 200, "ssim_y": 50, "ssim_rgb": 50,
                 "lpips_alex": 30, "lpips_vgg": 8, "dists": 8}


def synthetic_pair(size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    base = np.stack([xx, yy, 1 - xx * yy], axis=-1) * 200 + rng.normal(0, 10, (size, size, 3))
    ref = base.clip(0, 255).astype(np.uint8)
    dis = (base + rng.normal(0, 8, base.shape)).clip(0, 255).astype(np.uint8)
    return ref, dis


def _in_child(context, target, args: tuple, label: str):  # type: ignore[no-untyped-def]
    """Run TARGET(*ARGS, queue) in its own process (so its peak memory is its own) and return
    what it put on the queue; None, with a line naming LABEL, when the child failed."""
    queue: mp.Queue = context.Queue()
    child = context.Process(target=target, args=(*args, queue))
    child.start()
    child.join()
    if child.exitcode != 0:
        print(f"{label} failed (exit code {child.exitcode})")
        return None
    return queue.get()


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def measure(metric: str, pairs: int, size: int, threads: int, batch_size: int, device: str | None,
            queue: mp.Queue) -> None:
    """Child process: time `pairs` pairs of one metric and report through the queue."""
    import torch

    from conformance.metrics import METRICS
    from conformance.metrics.frames import resolve_device

    torch.set_num_threads(threads)
    function, is_network = METRICS[metric]
    dev = resolve_device(device)
    kwargs = {"device": dev, "batch_size": batch_size} if is_network else {}
    ref, dis = synthetic_pair(size, 0)
    refs, diss = np.stack([ref] * pairs), np.stack([dis] * pairs)
    rss_before = _peak_rss_mib()
    function(refs[:batch_size], diss[:batch_size], **kwargs)  # warm-up: loads weights, plans kernels
    if dev.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    function(refs, diss, **kwargs)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    gpu_mib = torch.cuda.max_memory_allocated() / 2**20 if dev.type == "cuda" else float("nan")
    queue.put((pairs / seconds, seconds / pairs * 1000, _peak_rss_mib(), _peak_rss_mib() - rss_before, gpu_mib, str(dev)))


NETWORK = ("lpips_alex", "lpips_vgg", "dists")
COMPARE_PAIRS = {"lpips_alex": 24, "lpips_vgg": 6, "dists": 6}


def _timed(function) -> tuple[object, float, float]:  # noqa: ANN001 - any callable
    wall, cpu = time.perf_counter(), time.process_time()
    value = function()
    return value, time.perf_counter() - wall, time.process_time() - cpu


def compare(metric: str, frames: int, versions: int, size: int, threads: int, batch_size: int,
            queue: mp.Queue) -> None:
    """Child process: before / after / cached timings of one network metric on the CPU."""
    import torch

    from conformance.metrics.aggregate import network_model
    from conformance.metrics.dists import DISTS
    from conformance.metrics.lpips import LPIPS
    from conformance.metrics.pairwise import score_frames

    torch.set_num_threads(threads)
    cpu = torch.device("cpu")
    refs = np.stack([synthetic_pair(size, seed)[0] for seed in range(frames)])
    decoded = [np.stack([synthetic_pair(size, 1000 * (v + 1) + seed)[1] for seed in range(frames)])
               for v in range(versions)]
    fast = network_model(metric, cpu)
    plain = DISTS() if metric == "dists" else LPIPS(metric.removeprefix("lpips_"))

    def before() -> np.ndarray:
        with torch.inference_mode():
            return np.array([float(plain(plain.to_input(refs[i:i + 1], cpu),
                                         plain.to_input(decoded[0][i:i + 1], cpu))[0])
                             for i in range(frames)])

    def after() -> np.ndarray:
        return score_frames(fast, refs, decoded[:1], batch_size=batch_size, device=cpu)[0]

    def cached() -> list[np.ndarray]:
        return score_frames(fast, refs, decoded, batch_size=batch_size, device=cpu)

    # Warm-up of both models: weights in cache, oneDNN kernels planned.
    score_frames(fast, refs[:batch_size], [decoded[0][:batch_size]], batch_size=batch_size, device=cpu)
    with torch.inference_mode():
        plain(plain.to_input(refs[:1], cpu), plain.to_input(decoded[0][:1], cpu))
    before_scores, before_wall, before_cpu = _timed(before)
    after_scores, after_wall, after_cpu = _timed(after)
    cached_scores, cached_wall, cached_cpu = _timed(cached)
    differences = [float(np.abs(after_scores - before_scores).max()),
                   float(np.abs(cached_scores[0] - before_scores).max())]
    rows = [("before", frames, before_wall, before_cpu), ("after", frames, after_wall, after_cpu),
            (f"cached x{versions}", frames * versions, cached_wall, cached_cpu)]
    queue.put((rows, max(differences)))


def main_compare(args: argparse.Namespace) -> int:
    context = mp.get_context("spawn")
    print(f"IFVC network metrics before/after: {args.size}x{args.size} RGB, CPU, torch threads "
          f"{args.threads}, batch {args.batch_size}, cached = 1 source vs {args.versions} versions")
    header = f"{'metric':<11} {'mode':<10} {'pairs':>5} {'pairs/s':>8} {'CPU s/pair':>10} {'x before':>8}"
    print(header)
    print("-" * len(header))
    for metric in [m for m in args.metrics if m in NETWORK]:
        frames = args.pairs or COMPARE_PAIRS[metric]
        result = _in_child(context, compare, (metric, frames, args.versions, args.size,
                                              args.threads, args.batch_size), f"{metric:<11}")
        if result is None:
            continue
        rows, difference = result
        base = rows[0][1] / rows[0][2]
        for mode, pairs, wall, cpu in rows:
            print(f"{metric:<11} {mode:<10} {pairs:>5} {pairs / wall:>8.3f} {cpu / pairs:>10.3f} "
                  f"{pairs / wall / base:>8.2f}")
        print(f"{metric:<11} max |after - before|, |cached - before| = {difference:.2e}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metrics", nargs="+", default=list(DEFAULT_PAIRS), choices=list(DEFAULT_PAIRS))
    parser.add_argument("--pairs", type=int, default=None, help="pairs per metric (default: per metric)")
    parser.add_argument("--size", type=int, default=256, help="frame width and height")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on 2 shared cores)")
    parser.add_argument("--batch-size", type=int, default=1, help="pairs per network call")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    parser.add_argument("--mode", choices=("pairs", "compare"), default="pairs",
                        help="pairs: pairs/s per metric; compare: before/after/cached (network metrics, CPU)")
    parser.add_argument("--versions", type=int, default=4,
                        help="compare: decoded versions scored against one source")
    args = parser.parse_args(argv)
    if args.mode == "compare":
        return main_compare(args)

    context = mp.get_context("spawn")  # a fresh process per metric: its own peak memory
    print(f"IFVC metrics benchmark: {args.size}x{args.size} RGB pairs, torch threads {args.threads}, "
          f"batch {args.batch_size}")
    header = f"{'metric':<12} {'device':<7} {'pairs':>5} {'pairs/s':>9} {'ms/pair':>9} {'peak RSS MiB':>13} {'+RSS MiB':>9} {'GPU MiB':>8}"
    print(header)
    print("-" * len(header))
    for metric in args.metrics:
        pairs = args.pairs or DEFAULT_PAIRS[metric]
        result = _in_child(context, measure, (metric, pairs, args.size, args.threads,
                                              args.batch_size, args.device), f"{metric:<12}")
        if result is None:
            continue
        rate, ms, rss, rss_added, gpu, dev = result
        print(f"{metric:<12} {dev:<7} {pairs:>5} {rate:>9.2f} {ms:>9.1f} {rss:>13.0f} {rss_added:>9.0f} {gpu:>8.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
