"""A fuzzing run: mutated streams through the parse path (all of them) and the full decode
path (an evenly spaced sample), failures grouped by signature, each new signature saved
with its stream and a minimised reproducer, and a JSON report."""
from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .corpus import Corpus, fuzzer_version
from .minimise import minimise
from .mutators import MutationConfig, mutate
from .runner import (CRASH, DEFAULT_LIMITS, FAILURES, HANG, MEMORY, PATH_FULL, PATH_PARSE, REJECTED, Limits,
                     Outcome, WorkerPool, WorkerSpec, run_items)
from .signatures import normalise_message, signature_id


@dataclass
class Finding:
    signature: str
    kind: str
    path: str
    count: int
    first_index: int
    seed_stream: str
    ops: list[str]
    message: str
    reproducer: str | None = None
    minimised: str | None = None
    minimised_bytes: int | None = None


@dataclass
class PathStats:
    streams: int = 0
    seconds: float = 0.0
    outcomes: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict[str, object]:
        return {"streams": self.streams, "seconds": round(self.seconds, 2),
                "streams_per_s": round(self.streams / self.seconds, 1) if self.seconds else None,
                "outcomes": dict(sorted(self.outcomes.items()))}


@dataclass
class Report:
    seed: int
    corpus: Corpus
    mutation: MutationConfig
    limits: dict[str, Limits]
    first_index: int = 0
    paths: dict[str, PathStats] = field(default_factory=dict)
    findings: dict[str, Finding] = field(default_factory=dict)
    late_rejections: dict[str, Finding] = field(default_factory=dict)
    interrupted: bool = False

    @property
    def failures(self) -> list[Finding]:
        return list(self.findings.values())

    def as_dict(self) -> dict[str, object]:
        return {
            "seed": self.seed, "first_index": self.first_index, "interrupted": self.interrupted,
            "fuzzer_version": fuzzer_version(),
            "corpus": {"digest": self.corpus.digest, "seeds": [s.name for s in self.corpus.seeds]},
            "mutation": self.mutation.__dict__,
            "limits": {p: {"cpu_seconds": lim.seconds, "memory_mb": lim.memory_mb}
                       for p, lim in self.limits.items()},
            "paths": {p: st.as_dict() for p, st in self.paths.items()},
            "signatures": [f.__dict__ for f in self.findings.values()],
            "late_rejections": [f.__dict__ for f in self.late_rejections.values()],
        }


def _record(book: dict[str, Finding], sig: str, out: Outcome, corpus: Corpus, seed: int,
            mutation: MutationConfig) -> Finding | None:
    """Counts the outcome under its signature; returns the Finding when it is new."""
    if sig in book:
        book[sig].count += 1
        if 0 <= out.index < book[sig].first_index:
            book[sig].first_index = out.index
        return None
    mutant = mutate(corpus, seed, out.index, mutation) if out.index >= 0 else None
    book[sig] = Finding(sig, out.kind, out.path, 1, out.index, mutant.seed_name if mutant else "?",
                        mutant.ops if mutant else [], out.message[:300])
    return book[sig]


def run_campaign(corpus: Corpus, *, seed: int, count: int, full_count: int = 0, first_index: int = 0,
                 out_dir: Path | None = None, workers: int = 1,
                 limits: dict[str, Limits] | None = None, mutation: MutationConfig = MutationConfig(),
                 minimise_tests: int = 200, batch: int = 64,
                 progress: Callable[[str], None] | None = None) -> Report:
    """count streams (numbers first_index .. first_index + count - 1) through the parse path,
    full_count of them (evenly spaced) through the full decode path."""
    limits = {**DEFAULT_LIMITS, **(limits or {})}
    report = Report(seed, corpus, mutation, limits, first_index)
    plan = [(PATH_PARSE, list(range(first_index, first_index + count)), batch)]
    if full_count:
        step = max(1, count // full_count)
        plan.append((PATH_FULL, list(range(first_index, first_index + count, step))[:full_count],
                     max(1, batch // 16)))
    to_save: list[tuple[Finding, Outcome, WorkerSpec]] = []
    try:
        _run_paths(report, plan, to_save, corpus, seed, mutation, limits, workers, progress)
    except KeyboardInterrupt:        # Ctrl-C / SIGTERM: report what was run, no minimising
        report.interrupted = True
        minimise_tests = 0
    if out_dir is not None:      # after the run, so that minimising does not count in streams/s
        for finding, out, spec in to_save:
            if progress and minimise_tests:
                progress(f"minimising: {finding.signature}")
            _save_reproducer(finding, out, corpus, seed, mutation, spec, out_dir, minimise_tests)
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"report_seed{seed}.json"
        tmp = path.with_name(path.name + ".part")
        tmp.write_text(json.dumps(report.as_dict(), indent=1) + "\n")
        tmp.replace(path)
    return report


def _run_paths(report: Report, plan: list[tuple[str, list[int], int]],
               to_save: list[tuple[Finding, Outcome, WorkerSpec]], corpus: Corpus, seed: int,
               mutation: MutationConfig, limits: dict[str, Limits], workers: int,
               progress: Callable[[str], None] | None) -> None:
    for path, items, size in plan:
        spec = WorkerSpec(path, limits[path], corpus, seed, mutation)
        stats = report.paths.setdefault(path, PathStats())
        t0 = time.monotonic()
        pool = WorkerPool(spec, workers)
        batches = [items[i:i + size] for i in range(0, len(items), size)]
        next_note = t0 + 30
        try:
            for out in pool.run(batches):
                stats.streams += 1
                stats.outcomes[out.kind] += 1
                if out.late:
                    stats.outcomes["rejected_after_parse"] += 1
                    new = _record(report.late_rejections, _late_signature(out), out, corpus, seed, mutation)
                    if new is not None:
                        to_save.append((new, out, spec))
                if out.kind in FAILURES and out.signature:
                    new = _record(report.findings, out.signature, out, corpus, seed, mutation)
                    if new is not None:
                        to_save.append((new, out, spec))
                    if new is not None and progress:
                        progress(f"new signature ({path}, stream {out.index}): {new.signature}")
                if progress and time.monotonic() > next_note:
                    next_note = time.monotonic() + 30
                    rate = stats.streams / (time.monotonic() - t0)
                    progress(f"{path}: {stats.streams}/{len(items)} streams, {rate:.0f}/s, "
                             f"{len(report.findings)} signature(s)")
        finally:
            stats.seconds = time.monotonic() - t0


def _late_signature(out: Outcome) -> str:
    return f"rejected by the picture decoder after the parser accepted it: {normalise_message(out.message)}"


def _save_reproducer(finding: Finding, out: Outcome, corpus: Corpus, seed: int,
                     mutation: MutationConfig, spec: WorkerSpec, out_dir: Path, max_tests: int) -> None:
    """stream.ifvc, min.ifvc (as small as the budget allows, with the same signature; for a
    hang or memory exhaustion, the same kind) and info.json."""
    data = mutate(corpus, seed, out.index, mutation).data if out.index >= 0 else b""
    folder = out_dir / ("signatures" if out.kind in FAILURES else "late_rejections") / signature_id(finding.signature)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "stream.ifvc").write_bytes(data)
    finding.reproducer = str(folder / "stream.ifvc")
    single = WorkerSpec(spec.path, spec.limits, target=spec.target)
    # a hang costs its whole time limit per test: fewer tests
    tests = max_tests if out.kind not in (HANG, MEMORY) else min(max_tests, 12)
    if out.kind in (CRASH, HANG, MEMORY) and data:
        def same(candidate: bytes) -> bool:
            (res,) = run_items(single, [candidate], workers=1, batch=1)
            if out.kind in (HANG, MEMORY):   # where the timer hits moves as the stream shrinks
                return res.kind == out.kind
            return res.signature == finding.signature
        small = minimise(data, same, tests)
        (folder / "min.ifvc").write_bytes(small)
        finding.minimised = str(folder / "min.ifvc")
        finding.minimised_bytes = len(small)
    (folder / "info.json").write_text(json.dumps(finding.__dict__, indent=1) + "\n")


__all__ = ["run_campaign", "Report", "Finding", "PathStats", "REJECTED"]
