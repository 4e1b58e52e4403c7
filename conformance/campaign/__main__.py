"""Command line of the evaluation campaign: ``run``, ``compare`` and ``merge``.

Errors a user can fix (bad config, missing sequence, unreadable table) are one line on
stderr and exit status 2, without a traceback. ``run`` exits 1 when a cell failed (the
tables still cover the finished cells); ``compare`` exits 1 when a cell differs beyond
tolerance or is missing on one side; ``merge`` exits 2, writing nothing, when its inputs
cannot be merged (cells from different inputs, code or conditions).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ifvc_common.argtypes import int_range
from ifvc_common.parser import CommandParser, command

if TYPE_CHECKING:
    from .config import CampaignConfig
    from .executors import Executor
    from .report import Report

EXIT_ERROR = 2
PROG = "python -m conformance.campaign"


def build_parser() -> CommandParser:
    from .config import DEFAULT_CONFIG
    parser = CommandParser(prog=PROG, command_name="ifvc-campaign", description="IFVC evaluation campaign: codecs x "
                           "rate points x sequences, metrics, BD-rate, RD plots.",
                           exit_codes_note="ifvc-campaign exits 2 on an error a user can fix (config, "
                                           "sequence, table) and 1 when a cell failed (run) or differs (compare).")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run (or resume) a campaign and write its report")
    run.add_argument("--config", type=Path, default=DEFAULT_CONFIG,
                     help="campaign config JSON (default: configs/quick.json, the quick "
                          "development config; the GFVC CTC is configs/gfvc_ctc.json)")
    run.add_argument("--out", type=Path, required=True, help="output folder (created if missing)")
    run.add_argument("--sequences", nargs="+", metavar="NAME",
                     help="sequence names (default: the config's split, the test split)")
    run.add_argument("--frames", type=int_range(1), help="code the first N frames (default: config)")
    run.add_argument("--codecs", help="comma-separated subset of the config's codecs, e.g. "
                     "ifvc,vvc,hevc (default: all)")
    run.add_argument("--jobs", type=int_range(1, 256), default=1,
                     help="cells run in parallel (local executor), or the workers of the local "
                          "Dask cluster (--executor dask)")
    run.add_argument("--executor", choices=("local", "dask"), default="local",
                     help="local: this process or a pool of --jobs processes; dask: a Dask "
                          "cluster (--scheduler, or a local one of --jobs workers)")
    run.add_argument("--scheduler", metavar="ADDRESS",
                     help="send the cells to the existing Dask cluster of this scheduler, e.g. "
                          "tcp://10.0.0.5:8786 (implies --executor dask; its workers must see "
                          "--out and the sequences under the same paths)")
    run.add_argument("--connect-timeout", type=int_range(1, 3600), default=30, metavar="S",
                     help="seconds to wait for the Dask scheduler")
    run.add_argument("--threads", type=int_range(1, 256), default=1,
                     help="torch threads per job (1 is the fastest on a small CPU)")
    run.add_argument("--vgg-stride", type=int_range(1), metavar="K",
                     help="evaluate LPIPS-vgg and DISTS on every K-th frame (default: config, "
                          "10 in the CTC); PSNR and LPIPS-alex use every frame")
    run.add_argument("--metric-pass", choices=("sequence", "cell"), default="sequence",
                     help="sequence: code every cell, then measure all cells of a sequence in "
                          "one pass (source features computed once); cell: code and measure "
                          "one cell at a time. Same results within 1e-6")
    run.add_argument("--force", action="store_true", help="redo finished cells")
    run.add_argument("--quiet", action="store_true", help="no progress messages")
    compare = commands.add_parser("compare", help="compare two results.csv tables")
    compare.add_argument("a", type=Path, help="first results.csv")
    compare.add_argument("b", type=Path, help="second results.csv")
    compare.add_argument("--tolerance", action="append", default=[], metavar="NAME=VALUE",
                         help="override a tolerance (repeatable): kbps relative (0.001 or "
                              "0.1%%), metrics absolute (psnr_rgb=0.01, lpips_alex=0.001, ...)")
    merge = commands.add_parser("merge", help="merge the results of several campaign output "
                                "folders (machines, labs) into one set of tables")
    merge.add_argument("inputs", nargs="+", type=Path, metavar="DIR",
                       help="campaign output folders (each with results.csv, provenance.json, cells/)")
    merge.add_argument("--out", type=Path, required=True,
                       help="folder for the merged tables (not one of the inputs)")
    return parser


@command(PROG, interrupted="finished cells are kept, re-run to resume")
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .errors import CampaignError
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "merge":
            return _merge(args)
        return _compare(args)
    except CampaignError as error:
        print(f"{PROG} {args.command}: error: {error}", file=sys.stderr)
        return EXIT_ERROR


def _run(args: argparse.Namespace) -> int:
    from .campaign import run_campaign
    from .config import load_config
    from .runner import print_progress
    config = load_config(args.config)
    if config.deprecation:
        print(f"warning: {config.deprecation}", file=sys.stderr)
    config = config.with_overrides(frames=args.frames, vgg_stride=args.vgg_stride)
    codecs = [c.strip() for c in args.codecs.split(",") if c.strip()] if args.codecs else None
    outcome = run_campaign(config, args.out, sequences=args.sequences, codecs=codecs,
                           jobs=args.jobs, threads=args.threads, force=args.force,
                           progress=None if args.quiet else print_progress,
                           executor=_executor(args), metric_pass=args.metric_pass)
    _print_tables(config, outcome.report)
    run = outcome.run
    print(f"{run.ran} cells run, {run.skipped} up to date, {len(run.failures)} failed; "
          f"wall time {outcome.wall_seconds:.0f} s")
    for label, error in run.failures:
        print(f"failed: {label}: {error}", file=sys.stderr)
    return 1 if run.failures else 0


def _executor(args: argparse.Namespace) -> Executor:
    from .executors import DaskExecutor, LocalExecutor
    if args.scheduler or args.executor == "dask":
        return DaskExecutor(scheduler=args.scheduler, workers=args.jobs, threads=args.threads,
                            connect_timeout_s=args.connect_timeout)
    return LocalExecutor(jobs=args.jobs, threads=args.threads)


def _print_tables(config: CampaignConfig, report: Report) -> None:
    if not report.summary.empty:
        from .tables import bd_matrix, markdown_table
        print(markdown_table(report.summary.drop(columns=["bits"])))
        if not report.bd_overall.empty:
            print(f"BD-rate against {config.anchor}, rate {report.bd_overall['rate'].iloc[0]} "
                  f"(config {config.config_id}; mean of per-sequence BD-rates):")
            print(markdown_table(bd_matrix(report.bd_overall, "bd_rate_mean_of_sequences")))
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for name, path in report.files.items():
        print(f"{name}: {path}")


def _merge(args: argparse.Namespace) -> int:
    from .merge import merge_campaigns
    merged = merge_campaigns(args.inputs, args.out)
    _print_tables(merged.config, merged.report)
    print(f"merged {merged.cells} cells from {len(args.inputs)} folders "
          f"({merged.duplicates} present in more than one, identical)")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from .compare import compare_tables, format_comparison, parse_tolerances, read_table
    tolerances = parse_tolerances(args.tolerance)
    comparison = compare_tables(read_table(args.a), read_table(args.b), tolerances)
    print(format_comparison(comparison, str(args.a), str(args.b)))
    return 0 if comparison.ok else 1


if __name__ == "__main__":
    sys.exit(main())
