"""Fuzz the IFVC parser and decoder with structure-aware mutations of a seed corpus.

Stream N of a run is made from the seed and N alone (with the same corpus), so a run is
reproducible and can be continued with --first-index. Every stream goes through the parse
path (parse + semantic reconstruction); an evenly spaced sample (--full-count) through the
full decoder (all frames, geometric generator). Outcomes: accepted, rejected (the project's
own error with a message), crash, hang, memory (per-stream limits), accepted_invalid (a
stream made non-conforming on purpose was decoded). Each new signature gets its stream and
a minimised reproducer under OUT/signatures/, and OUT/report_seed<SEED>.json sums up.

Exit codes: 0 no failure, 1 failures found, 2 usage error or missing input.
"""
from __future__ import annotations

import argparse
import fnmatch
import os
import signal
import sys
from pathlib import Path

from ifvc_common.errors import print_error
from ifvc_common.exit_codes import EXIT_USAGE

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CLIP = REPO.parent / "shared" / "data" / "faces" / "raw"


def _fail(msg: str) -> int:
    """A one-line usage error (the campaign has no outputs to roll back: no @command wrapper)."""
    print_error("fuzz_streams", msg)
    return EXIT_USAGE


def _positive(kind):  # type: ignore[no-untyped-def]
    def parse(text: str):  # type: ignore[no-untyped-def]
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value
    return parse


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def build_seeds(raw_dir: Path, cache: Path) -> int:
    """Face-crops the seed clip (as the test sequences are made) and encodes the seeds."""
    import numpy as np

    from conformance.fuzzing.corpus import (ENCODER_SEED_CLIP, ENCODER_SEED_FRAMES, build_encoder_seeds,
                                            encoder_seed_dir)
    from conformance.sequence_preparation import prepare_clip
    from ifvc_common.files import sha256_file
    clip = raw_dir / ENCODER_SEED_CLIP
    if not clip.is_file():
        print(f"fuzz_streams: no real-encoder seeds: {clip} not found (the corpus is the "
              "conformance streams alone)", file=sys.stderr)
        return 0
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        prepare_clip(clip, Path(tmp), ENCODER_SEED_FRAMES, "[fuzz]", sha256_file(clip))
        data = (Path(tmp) / f"{clip.stem}_256x256_25_8bit_444.rgb").read_bytes()
    size = 3 * 256 * 256
    frames = [np.frombuffer(data[i:i + size], np.uint8).reshape(3, 256, 256).transpose(1, 2, 0).copy()
              for i in range(0, len(data), size)]
    paths = build_encoder_seeds(frames, cache)
    print(f"{len(paths)} encoder seeds in {encoder_seed_dir(cache)}", file=sys.stderr)
    return len(paths)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.fuzz_streams", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    d = " (default: %(default)s)"
    ap.add_argument("--seed", type=int, default=1, help="run seed" + d)
    ap.add_argument("--count", type=_non_negative, default=10000, help="streams on the parse path" + d)
    ap.add_argument("--full-count", type=_non_negative, default=100,
                    help="of these, streams also fully decoded" + d)
    ap.add_argument("--first-index", type=_non_negative, default=0,
                    help="number of the first stream (continue a run)" + d)
    ap.add_argument("--out", type=Path, default=REPO / "work" / "fuzz", help="output folder" + d)
    ap.add_argument("--workers", type=_positive(int), default=os.cpu_count() or 1, help="worker processes" + d)
    ap.add_argument("--time-limit", type=_positive(float), default=5.0,
                    help="CPU seconds per stream, parse path" + d)
    ap.add_argument("--full-time-limit", type=_positive(float), default=60.0,
                    help="CPU seconds per stream, full decode" + d)
    ap.add_argument("--memory-limit", type=_positive(int), default=1024,
                    help="MB a stream may add to its worker, parse path" + d)
    ap.add_argument("--full-memory-limit", type=_positive(int), default=2048,
                    help="MB a stream may add to its worker, full decode" + d)
    ap.add_argument("--max-amplify", type=_positive(int), default=20000,
                    help="most copies of a maximal-delta semantic unit in one stream" + d)
    ap.add_argument("--minimise-tests", type=_non_negative, default=200,
                    help="decodes spent minimising each new signature (0: no minimising)" + d)
    ap.add_argument("--seed-cache", type=Path, default=REPO / "work" / "fuzz" / "seeds",
                    help="cached real-encoder seeds" + d)
    ap.add_argument("--no-encoder-seeds", action="store_true",
                    help="the conformance streams alone (as the CI test)")
    ap.add_argument("--build-seeds", action="store_true",
                    help="encode the real-encoder seeds now if the cache lacks them (needs "
                    "../shared/data and VVenC)")
    ap.add_argument("--raw-dir", type=Path, default=DEFAULT_CLIP, help="face clips for the seeds" + d)
    ap.add_argument("--extra-seed", type=Path, action="append", default=[], metavar="FILE",
                    help="another seed stream (repeatable)")
    ap.add_argument("--only-seeds", metavar="PATTERN",
                    help="focus: only the seeds whose name matches this glob, e.g. '*raw420*'")
    ap.add_argument("--write-stream", type=_non_negative, metavar="N",
                    help="write stream N of the run to OUT/stream_<seed>_<N>.ifvc and exit")
    args = ap.parse_args(argv)

    from conformance.fuzzing.campaign import run_campaign
    from conformance.fuzzing.corpus import Corpus, load_corpus, load_encoder_seeds
    from conformance.fuzzing.mutators import MutationConfig, mutate
    from conformance.fuzzing.runner import PATH_FULL, PATH_PARSE, Limits

    for p in args.extra_seed:
        if not p.is_file():
            return _fail(f"seed stream not found: {p}")
    cache = None if args.no_encoder_seeds else args.seed_cache
    if cache is not None and not load_encoder_seeds(cache):
        if args.build_seeds:
            try:
                build_seeds(args.raw_dir, cache)
            except Exception as exc:  # noqa: BLE001 - the encoder's reason, on one line
                return _fail(f"cannot build the encoder seeds: {exc}")
        else:
            print("fuzz_streams: note: no cached real-encoder seeds for this encoder version "
                  "(--build-seeds makes them); using the conformance streams", file=sys.stderr)
    corpus = load_corpus(cache, extra=args.extra_seed)
    if args.only_seeds:
        kept = [(s.name, s.data) for s in corpus.seeds if fnmatch.fnmatch(s.name, args.only_seeds)]
        if not kept:
            return _fail(f"no seed matches {args.only_seeds!r} (names: {corpus.seeds[0].name}, ...)")
        corpus = Corpus(kept)
    mutation = MutationConfig(max_amplify_units=args.max_amplify)
    if args.write_stream is not None:
        mutant = mutate(corpus, args.seed, args.write_stream, mutation)
        args.out.mkdir(parents=True, exist_ok=True)
        path = args.out / f"stream_{args.seed}_{args.write_stream}.ifvc"
        path.write_bytes(mutant.data)
        print(f"{path}: {len(mutant.data)} bytes from {mutant.seed_name}: {'; '.join(mutant.ops)}")
        return 0
    limits = {PATH_PARSE: Limits(args.time_limit, args.memory_limit),
              PATH_FULL: Limits(args.full_time_limit, args.full_memory_limit)}
    print(f"corpus: {len(corpus)} seed streams (digest {corpus.digest}); seed {args.seed}, streams "
          f"{args.first_index}..{args.first_index + args.count - 1}", file=sys.stderr)
    def terminate(signum, frame):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt     # SIGTERM as Ctrl-C: the workers are stopped on the way out
    signal.signal(signal.SIGTERM, terminate)
    try:
        report = run_campaign(corpus, seed=args.seed, count=args.count, full_count=args.full_count,
                              first_index=args.first_index, out_dir=args.out, workers=args.workers,
                              limits=limits, mutation=mutation, minimise_tests=args.minimise_tests,
                              progress=lambda m: print(m, file=sys.stderr))
    except KeyboardInterrupt:
        print("fuzz_streams: interrupted", file=sys.stderr)
        return 130
    for path, st in report.paths.items():
        rate = f"{st.streams / st.seconds:.1f}" if st.seconds else "-"
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(st.outcomes.items()))
        print(f"{path}: {st.streams} streams in {st.seconds:.1f} s ({rate}/s): {outcomes}")
    for f in report.failures:
        print(f"{f.kind} x{f.count} (first: stream {f.first_index}): {f.signature}"
              f"{'  -> ' + f.minimised if f.minimised else ''}")
    for f in report.late_rejections.values():
        print(f"rejected after parsing x{f.count} (first: stream {f.first_index}): {f.signature}")
    print(f"report: {args.out / f'report_seed{args.seed}.json'}")
    if report.interrupted:
        print("fuzz_streams: interrupted (the report covers the streams run so far)", file=sys.stderr)
        return 130
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
