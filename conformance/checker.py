"""ifvc-conformance: runs any IFVC decoder over the conformance suite and reports, per stream,
whether it meets spec Annex C (protocol: spec/annex_c_conformance_suite.md).

    python -m conformance.checker --decoder "ifvc-decode {stream} -o {output} --levels {levels} --quiet"

The decoder is a command template: {stream} is the .ifvc file, {output} the planar RGB 4:4:4
8-bit .rgb file it must write (every output frame, in order), {levels} the CSV of the
reconstructed integer levels (frame_idx, kind, one column per signalled element). Exit code
protocol of the decoder: 0 decoded, 2 decoded but a hash unit mismatched, anything else an
error. A signal, or a Python traceback on stderr, is a crash.

Two conformance classes (spec Annex C.2), reported separately:
- normative decoding: positive streams decode (exit 0; 2 for the hash-mismatch stream) with
  semantics bit-exact (spec 7.4.6 MD5 over the levels CSV) and key frames bit-exact (MD5 of the
  output frames at key-frame indices); negative streams are rejected with a non-zero exit code
  (not 2); never a crash, never past the time limit;
- generator output (per generator the stream names, e.g. ifvc-geometric-1): every output frame
  within the generator's tolerance (PSNR-RGB) of the reference decoder's output, which the
  checker produces by running --reference-decoder (the suite stores only per-frame MD5s of it).
A stream passes when it passes both. Exit code of the checker: 0 all pass, 1 a stream failed,
2 usage error (bad template, unknown stream, missing suite).
"""
from __future__ import annotations

import json
import math
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ifvc_common.argtypes import float_range, int_range
from ifvc_common.errors import UsageError
from ifvc_common.outputs import OutputTransaction
from ifvc_common.parser import CommandParser, command
from ifvc_common.paths import check_outputs

from .suite_format import (
    DECODE,
    DECODE_SKIPPING,
    ERROR,
    HASH_MISMATCH,
    LevelsFormatError,
    frame_md5s,
    load_index,
    md5_hex,
    read_levels_csv,
    semantics_md5_hex,
    unrle,
)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SUITE = REPO / "conformance" / "streams" / "index.json"
REFERENCE_TEMPLATE = "ifvc-decode {stream} -o {output} --levels {levels} --quiet"
PLACEHOLDERS = ("{stream}", "{output}", "{levels}")
DEFAULT_TIMEOUT_S = 120.0



# ---------------------------------------------------------------------------------------
# Running a decoder
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DecoderCommand:
    template: str
    argv0: str          # the resolved executable

    @classmethod
    def parse(cls, template: str, what: str = "--decoder") -> DecoderCommand:
        missing = [p for p in PLACEHOLDERS if p not in template]
        if missing:
            raise UsageError(f"{what} template lacks {', '.join(missing)}: it must contain "
                             f"{', '.join(PLACEHOLDERS)}, e.g. \"{REFERENCE_TEMPLATE}\"")
        try:
            words = shlex.split(template)
        except ValueError as exc:
            raise UsageError(f"{what} template cannot be split into words: {exc}") from None
        leftover = " ".join(words)
        for p in PLACEHOLDERS:
            leftover = leftover.replace(p, "")
        if "{" in leftover and "}" in leftover.split("{", 1)[1]:
            raise UsageError(f"{what} template has an unknown placeholder; only {', '.join(PLACEHOLDERS)} exist")
        if not words or words[0] in PLACEHOLDERS:
            raise UsageError(f"{what} template must start with the decoder's command")
        return cls(template, _resolve(words[0], what))

    def argv(self, stream: Path, output: Path, levels: Path) -> list[str]:
        out = []
        for word in shlex.split(self.template):
            out.append(word.replace("{stream}", str(stream)).replace("{output}", str(output))
                       .replace("{levels}", str(levels)))
        out[0] = self.argv0
        return out


def _resolve(cmd: str, what: str) -> str:
    """The executable: a path, a name on PATH, or a console script beside this Python (the
    project's venv, so that 'ifvc-decode' works without activating it)."""
    if os.sep in cmd:
        if os.path.isfile(cmd) and os.access(cmd, os.X_OK):
            return cmd
        raise UsageError(f"{what}: command not found or not executable: {cmd}")
    found = shutil.which(cmd) or shutil.which(cmd, path=str(Path(sys.executable).parent))
    if not found:
        raise UsageError(f"{what}: command not found: {cmd} (not on PATH nor in {Path(sys.executable).parent})")
    return found


@dataclass
class Run:
    exit_code: int | None
    seconds: float
    timed_out: bool
    crash: str | None             # why the run counts as a crash, or None
    stderr_tail: str
    output: Path
    levels: Path


def run_decoder(cmd: DecoderCommand, stream: Path, work: Path, timeout: float) -> Run:
    work.mkdir(parents=True, exist_ok=True)
    output, levels = work / f"{stream.stem}.rgb", work / f"{stream.stem}.levels.csv"
    for p in (output, levels):
        p.unlink(missing_ok=True)
    t0 = time.monotonic()
    try:
        proc = subprocess.run(cmd.argv(stream, output, levels), capture_output=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired as exc:
        tail = (exc.stderr or b"").decode(errors="replace")[-600:]
        return Run(None, time.monotonic() - t0, True, None, tail, output, levels)
    stderr = proc.stderr.decode(errors="replace")
    rc = proc.returncode
    crash = None
    if rc < 0:
        crash = f"killed by signal {-rc}"
    elif 128 < rc < 160:
        crash = f"exit code {rc} (a signal, through a shell)"
    elif "Traceback (most recent call last)" in stderr:
        crash = "Python traceback on stderr"
    return Run(rc, time.monotonic() - t0, False, crash, stderr[-600:], output, levels)


# ---------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------
@dataclass
class StreamResult:
    name: str
    kind: str
    outcome: str
    passed: bool = False
    exit_code: int | None = None
    seconds: float = 0.0
    decode: str = "-"           # ok / crash / timeout / wrong exit code
    semantics: str = "-"        # yes / no / n/a
    keyframes: str = "-"
    output: str = "-"           # "min 43.2 dB" / "exact" / "no ..."
    reference_reproduced: str = "-"
    generator: str = ""         # sh_generator_name of the stream (positive streams)
    normative: str = "-"        # class "normative decoding": pass / fail
    generator_output: str = "-"  # class "generator output (<generator>)": pass / fail / n/a
    notes: list[str] = field(default_factory=list)


def _frames(path: Path, w: int, h: int) -> np.ndarray | None:
    if not path.is_file():
        return None
    data = np.fromfile(path, np.uint8)
    size = 3 * w * h
    if data.size % size:
        return None
    return data.reshape(-1, 3, h, w)


def _psnr_rgb(ref: np.ndarray, dis: np.ndarray) -> float:
    """PSNR-RGB of planar frames: one MSE over all R, G and B samples (GFVC convention)."""
    d = ref.astype(np.float64) - dis.astype(np.float64)
    mse = float(np.mean(d * d))
    return math.inf if mse == 0 else 10.0 * math.log10(255.0 ** 2 / mse)


def check_semantics(desc: dict, run: Run) -> tuple[bool, str]:
    if not run.levels.is_file():
        return False, "no levels CSV written"
    try:
        table = read_levels_csv(run.levels.read_text())
    except (LevelsFormatError, UnicodeDecodeError) as exc:
        return False, f"levels CSV unreadable: {exc}"
    first, n = desc["frames"]["first_output_frame_idx"], desc["frames"]["num_output_frames"]
    if table.frame_idx != list(range(first, first + n)):
        return False, f"levels CSV frames {table.frame_idx[:1]}..(+{len(table.frame_idx)}), expected {first}..(+{n})"
    if any(len(lv) != len(desc["semantic_elements"]) for lv in table.levels):
        return False, "levels CSV has the wrong number of element columns"
    got = semantics_md5_hex(table.levels)
    return got == desc["semantics_md5"], f"semantics MD5 {got}" + ("" if got == desc["semantics_md5"] else
                                                                    f" != {desc['semantics_md5']}")


def check_keyframes(desc: dict, frames: np.ndarray | None) -> tuple[bool, str]:
    n = desc["frames"]["num_output_frames"]
    if frames is None or len(frames) != n:
        return False, f"output has {'no' if frames is None else len(frames)} whole frames, expected {n}"
    first = desc["frames"]["first_output_frame_idx"]
    bad = [k["frame_idx"] for k in desc["keyframes"]
           if md5_hex(frames[k["frame_idx"] - first].tobytes()) != k["md5_rgb"]]
    return not bad, "key frames differ: " + ", ".join(map(str, bad)) if bad else "all key frames bit-exact"


def check_output(desc: dict, frames: np.ndarray | None, ref: np.ndarray | None,
                 min_db: float) -> tuple[bool, str, float]:
    if frames is None or ref is None or len(frames) != len(ref):
        return False, "no comparable output" if ref is not None else "no reference output", -math.inf
    psnr = [_psnr_rgb(r, f) for r, f in zip(ref, frames)]
    worst = min(psnr) if psnr else math.inf
    below = [i for i, p in enumerate(psnr) if p < min_db]
    text = "exact" if worst == math.inf else f"min {worst:.2f} dB"
    if below:
        text += f"; {len(below)} frame(s) below {min_db:g} dB (first: output frame {below[0]})"
    return not below, text, worst


@dataclass
class Checker:
    suite_dir: Path
    index: dict
    decoder: DecoderCommand
    reference: DecoderCommand
    work: Path
    timeout: float = DEFAULT_TIMEOUT_S
    hashes_not_verified: bool = False

    def check_stream(self, entry: dict) -> StreamResult:
        desc = json.loads((self.suite_dir / entry["description"]).read_text())
        stream = self.suite_dir / desc["stream"]
        outcome = desc["expected"]["outcome"]
        res = StreamResult(desc["name"], desc["kind"], outcome)
        if md5_hex(stream.read_bytes()) != desc["stream_md5"]:
            res.notes.append("the stream file does not match its description's MD5 (suite damaged)")
            return res
        run = run_decoder(self.decoder, stream, self.work / "test", self.timeout)
        res.exit_code, res.seconds = run.exit_code, round(run.seconds, 3)
        if outcome != ERROR:
            res.generator = desc["generator"]["name"]
        res.normative = "fail"
        res.generator_output = "n/a" if outcome == ERROR else "fail"   # until checked
        if run.timed_out:
            res.decode = f"timeout ({self.timeout:g} s)"
            return res
        if run.crash:
            res.decode = f"crash: {run.crash}"
            res.notes.append(run.stderr_tail.strip().splitlines()[-1] if run.stderr_tail.strip() else "")
            return res
        if outcome == ERROR:
            ok = run.exit_code not in (0, 2)
            res.decode = "rejected" if ok else f"not rejected (exit {run.exit_code})"
            needle = desc["expected"].get("error_substring")
            if ok and needle and needle not in run.stderr_tail:
                res.notes.append(f"message differs from the reference's ({needle!r}); informative only")
            res.passed = ok
            res.normative = "pass" if ok else "fail"
            res.generator_output = "n/a"
            return res
        return self._check_decoded(desc, run, res)

    def _check_decoded(self, desc: dict, run: Run, res: StreamResult) -> StreamResult:
        want = {DECODE: {0}, DECODE_SKIPPING: {0}, HASH_MISMATCH: {2, 0} if self.hashes_not_verified else {2}}
        exit_ok = run.exit_code in want[desc["expected"]["outcome"]]
        res.decode = "ok" if exit_ok else f"exit {run.exit_code}, expected {sorted(want[res.outcome])}"
        if not exit_ok and run.stderr_tail.strip():
            res.notes.append(run.stderr_tail.strip().splitlines()[-1])
        sem_ok, sem_note = check_semantics(desc, run)
        res.semantics = "yes" if sem_ok else "no"
        if not sem_ok:
            res.notes.append(sem_note)
        pic = desc["picture"]
        frames = _frames(run.output, pic["width"], pic["height"])
        key_ok, key_note = check_keyframes(desc, frames)
        res.keyframes = "yes" if key_ok else "no"
        if not key_ok:
            res.notes.append(key_note)
        ref = self._reference_frames(desc, res)
        min_db = float(desc["tolerance"]["min_db_per_frame"])
        out_ok, out_note, _ = check_output(desc, frames, ref, min_db)
        res.output = out_note
        res.normative = "pass" if exit_ok and sem_ok and key_ok else "fail"
        res.generator_output = "pass" if out_ok else "fail"
        res.passed = exit_ok and sem_ok and key_ok and out_ok
        return res

    def _reference_frames(self, desc: dict, res: StreamResult) -> np.ndarray | None:
        """The reference decoder's output for the stream (the candidate's own run when the
        candidate is the reference), checked against the MD5s recorded in the suite."""
        stream = self.suite_dir / desc["stream"]
        if self.reference.template == self.decoder.template:
            path = self.work / "test" / f"{stream.stem}.rgb"
        else:
            run = run_decoder(self.reference, stream, self.work / "reference", self.timeout)
            if run.exit_code not in (0, 2) or run.crash or run.timed_out:
                res.notes.append(f"the reference decoder failed on this stream (exit {run.exit_code})")
                return None
            path = run.output
        pic = desc["picture"]
        ref = _frames(path, pic["width"], pic["height"])
        if ref is not None:
            recorded = unrle(desc["output_frame_md5_runs"])
            got = frame_md5s(ref.tobytes(), 3 * pic["width"] * pic["height"])
            same = sum(a == b for a, b in zip(got, recorded))
            res.reference_reproduced = "yes" if got == recorded else f"no ({same}/{len(recorded)} frames)"
        return ref


# ---------------------------------------------------------------------------------------
# Report and CLI
# ---------------------------------------------------------------------------------------
def format_table(results: list[StreamResult]) -> str:
    cols = ("stream", "kind", "result", "normative", "generator output", "exit", "decode", "semantics",
            "keyframes", "output", "ref", "s")
    rows = [[r.name, r.kind, "PASS" if r.passed else "FAIL", r.normative,
             f"{r.generator_output} ({r.generator})" if r.generator else r.generator_output,
             "-" if r.exit_code is None else str(r.exit_code),
             r.decode, r.semantics, r.keyframes, r.output, r.reference_reproduced, f"{r.seconds:.1f}"]
            for r in results]
    widths = [max(len(c), *(len(row[i]) for row in rows)) if rows else len(c) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in rows]
    for r in results:
        for note in r.notes:
            if note:
                lines.append(f"  {r.name}: {note}")
    return "\n".join(lines)


def class_summary(results: list[StreamResult]) -> dict[str, dict]:
    """Annex C.2's conformance classes: "normative decoding" over every stream, and one
    "generator output (<name>)" class per generator over the streams that decode with it."""
    classes: dict[str, list[bool]] = {"normative decoding": [r.normative == "pass" for r in results]}
    for r in results:
        if r.generator_output in ("pass", "fail") and r.generator:
            classes.setdefault(f"generator output ({r.generator})", []).append(r.generator_output == "pass")
    return {name: {"passed": sum(v), "streams": len(v), "result": "pass" if v and all(v) else "fail"}
            for name, v in classes.items()}


def summary(results: list[StreamResult]) -> dict:
    pos = [r for r in results if r.kind == "positive"]
    neg = [r for r in results if r.kind == "negative"]
    return {"streams": len(results), "passed": sum(r.passed for r in results),
            "classes": class_summary(results),
            "failed": [r.name for r in results if not r.passed],
            "positive_passed": f"{sum(r.passed for r in pos)}/{len(pos)}",
            "negative_passed": f"{sum(r.passed for r in neg)}/{len(neg)}",
            "semantics_bit_exact": f"{sum(r.semantics == 'yes' for r in pos)}/{len(pos)}",
            "keyframes_bit_exact": f"{sum(r.keyframes == 'yes' for r in pos)}/{len(pos)}",
            "all_passed": all(r.passed for r in results) and bool(results)}


@command("ifvc-conformance")
def main(argv: list[str] | None = None) -> int:
    ap = CommandParser(prog="ifvc-conformance", description=__doc__,
                       exit_codes_note="ifvc-conformance exits 1 when a stream fails the check.")
    ap.add_argument("--decoder", required=True, help="decoder command template with {stream} {output} {levels}")
    ap.add_argument("--reference-decoder", default=REFERENCE_TEMPLATE,
                    help="the reference decoder's template, run to get the reference output frames")
    ap.add_argument("--suite", type=Path, default=DEFAULT_SUITE, help="the suite's index.json")
    ap.add_argument("--only", nargs="+", metavar="NAME", help="check only these streams")
    ap.add_argument("--report", type=Path, help="write the per-stream results and summary as JSON")
    ap.add_argument("--timeout", type=float_range(0, lo_open=True), default=DEFAULT_TIMEOUT_S,
                    help="seconds per decoder run")
    ap.add_argument("--jobs", type=int_range(1, 256), default=1, help="streams checked in parallel")
    ap.add_argument("--work", type=Path, help="keep decoder outputs here (default: a temporary folder)")
    ap.add_argument("--hashes-not-verified", action="store_true",
                    help="the decoder does not verify hash units: accept exit 0 on the hash-mismatch stream")
    args = ap.parse_args(argv)
    try:
        decoder = DecoderCommand.parse(args.decoder, "--decoder")
        reference = DecoderCommand.parse(args.reference_decoder, "--reference-decoder")
        check_outputs([args.suite], [args.report])
        if not args.suite.is_file():
            raise UsageError(f"suite index not found: {args.suite}")
        index = load_index(args.suite)
        entries = index["test_vectors"]
        if args.only:
            known = {e["name"] for e in entries}
            unknown = [n for n in args.only if n not in known]
            if unknown:
                raise UsageError(f"unknown stream(s): {', '.join(unknown)}")
            entries = [e for e in entries if e["name"] in args.only]
    except (UsageError, ValueError) as exc:
        print(f"ifvc-conformance: error: {exc}", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ifvc-conformance-") as tmp:
        work = args.work or Path(tmp)
        checker = Checker(args.suite.parent, index, decoder, reference, work, args.timeout,
                          args.hashes_not_verified)
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            results = list(pool.map(checker.check_stream, entries))
    summ = summary(results)
    summ["seconds"] = round(time.monotonic() - t0, 1)
    print(format_table(results))
    print(f"\n{summ['passed']}/{summ['streams']} streams passed (positive {summ['positive_passed']}, "
          f"negative {summ['negative_passed']}; semantics bit-exact {summ['semantics_bit_exact']}, "
          f"key frames bit-exact {summ['keyframes_bit_exact']}) in {summ['seconds']} s: "
          f"{'PASS' if summ['all_passed'] else 'FAIL'}")
    for name, c in summ["classes"].items():
        print(f"{name}: {c['result']} ({c['passed']}/{c['streams']} streams)")
    if args.report:
        with OutputTransaction() as outputs:
            outputs.write_text(args.report, json.dumps({
                "decoder": args.decoder, "reference_decoder": args.reference_decoder, "suite": str(args.suite),
                "summary": summ, "results": [asdict(r) for r in results]}, indent=1) + "\n")
    return 0 if summ["all_passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
