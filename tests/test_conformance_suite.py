"""The conformance suite (conformance/streams) and its checker: the index and the files agree,
descriptions are complete, the reference decoder passes, broken decoders fail the right
checks, and the synthetic streams regenerate byte for byte."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from conformance import (checker, make_streams, streams_compact_sem, streams_compact_temporal, streams_negative,
                         streams_positive)
from conformance.suite_format import (
    ERROR,
    HASH_MISMATCH,
    TOLERANCES,
    dump_json,
    load_index,
    md5_hex,
    tolerance_for,
    unrle,
)

REPO = Path(__file__).resolve().parents[1]
SUITE = REPO / "conformance" / "streams"
INDEX = SUITE / "index.json"
REFERENCE = checker.REFERENCE_TEMPLATE
# A representative subset: both entropy modes, deltas, reserved units, 4:2:0, VVC with a real
# face, and the negative kinds (the full run: python -m conformance.checker --decoder ...).
SUBSET = ["eg_all_fpu4_hashrange", "cabac_frame_idx_delta", "cabac_reserved_units", "cabac_raw420",
          "face_real_cabac", "face_synthetic_motion_refine_cabac", "face_synthetic_motion_flow_cabac",
          "face_synthetic_motion_flow2_cabac", "neg_hash_mismatch", "neg_truncated_mid_semantic", "neg_unknown_profile"]


@pytest.fixture(scope="module")
def index() -> dict:
    return load_index(INDEX)


@pytest.fixture(scope="module")
def descriptions(index: dict) -> dict[str, dict]:
    return {e["name"]: json.loads((SUITE / e["description"]).read_text()) for e in index["test_vectors"]}


def run_checker(tmp_path: Path, decoder: str, names: list[str], *extra: str) -> tuple[int, dict]:
    rc, results, _ = run_checker_with_classes(tmp_path, decoder, names, *extra)
    return rc, results


def run_checker_with_classes(tmp_path: Path, decoder: str, names: list[str], *extra: str
                             ) -> tuple[int, dict, dict]:
    """The checker's exit code, per-stream results and its conformance classes (Annex C.2)."""
    report = tmp_path / "report.json"
    rc = checker.main(["--decoder", decoder, "--only", *names, "--report", str(report), "--jobs", "2", *extra])
    data = json.loads(report.read_text())
    return rc, {r["name"]: r for r in data["results"]}, data["summary"]["classes"]


def wrapper(tmp_path: Path, name: str, body: str) -> str:
    """A third-party 'decoder': a Python script around the reference decoder's CLI."""
    script = tmp_path / f"{name}.py"
    script.write_text("import sys\nfrom ref_decoder.cli import main\n"
                      "stream, output, levels = sys.argv[1:4]\n" + body)
    return f"{sys.executable} {script} {{stream}} {{output}} {{levels}}"


RUN_REFERENCE = "rc = main([stream, '-o', output, '--levels', levels, '--quiet'])\n"


# ---------------------------------------------------------------------------------------
def test_index_and_files_agree(index: dict) -> None:
    listed = {e["stream"] for e in index["test_vectors"]} | {e["description"] for e in index["test_vectors"]}
    on_disk = {p.name for p in SUITE.iterdir()} - {"index.json"}
    assert listed == on_disk
    assert len(index["test_vectors"]) >= 70
    total = sum(p.stat().st_size for p in SUITE.iterdir())
    # small enough to live in the repository: 1.5 MB since version 1.2 added real Compact-profile
    # streams (VVC 256x256 key frames) and the six-key-frame reference-store stream
    assert total < 1_500_000, f"the suite is {total} bytes"


def test_descriptions_are_complete(index: dict, descriptions: dict[str, dict]) -> None:
    common = {"purpose", "exercises", "how_made", "made_by", "profile_idc", "level_idc", "picture",
              "frame_rate", "entropy_coding_mode", "keyframe_codec", "generator", "expected",
              "stream_md5", "needs_shared", "needs_vvenc"}
    for entry in index["test_vectors"]:
        d = descriptions[entry["name"]]
        assert common <= d.keys(), (d["name"], common - d.keys())
        assert d["purpose"] and d["exercises"] and d["how_made"]
        assert md5_hex((SUITE / d["stream"]).read_bytes()) == d["stream_md5"] == entry["stream_md5"]
        if d["expected"]["outcome"] == ERROR:
            assert d["expected"]["error_substring"] in d["expected"]["reference_error"]
            continue
        frames = d["frames"]
        assert len(unrle(d["output_frame_md5_runs"])) == frames["num_output_frames"]
        assert len(d["keyframes"]) == frames["num_keyframes"] >= 1
        assert len(d["semantics_md5"]) == 32 and d["tolerance"] == tolerance_for(d["generator"]["name"])
        assert d["tolerance"]["min_db_per_frame"] >= 40.0
        if d["picture"]["chroma_format_idc"] == 3:
            assert all(k["md5_rgb"] == k["md5_output_format"] for k in d["keyframes"])
    kinds = {d["expected"]["outcome"] for d in descriptions.values()}
    assert kinds == {"decode", "decode_skipping_units", "decode_hash_mismatch", "error"}
    modes = {(d["entropy_coding_mode"], d["keyframe_codec"], d["picture"]["chroma_format_idc"])
             for d in descriptions.values() if d["kind"] == "positive"}
    assert {("cabac", "raw", 3), ("exp-golomb", "raw", 3), ("cabac", "raw", 1), ("cabac", "vvc", 3),
            ("exp-golomb", "vvc", 1)} <= modes
    needs_shared = {n for n, d in descriptions.items() if d["needs_shared"]}
    assert needs_shared == {"face_real_cabac", "face_synthetic_motion_eg", "face_real_cabac_edited",
                            "face_synthetic_motion_refine_cabac", "face_synthetic_motion_flow_cabac",
                            "face_synthetic_motion_flow2_cabac", "face_synthetic_motion_flow3_cabac",
                            "face_synthetic_motion_flow4_cabac", "face_synthetic_motion_flow5_cabac",
                            "face_refresh_period_cabac",
                            "face_refresh_pose_eg", "face_geometry2_compact_cabac",
                            "face_background_motion_geometric3_cabac", "face_head_move_geometric4_cabac",
                            "face_head_down_geometric5_cabac", "face_blink_geometric6_cabac",
                            "face_mouth_geometric7_cabac", "face_correction_geometric7_cabac",
                            "face_head_move_geometric8_cabac", "face_head_move_geometric9_cabac",
                            "face_head_move_geometric10_cabac", *streams_compact_sem.REAL_STREAMS}
    for name in ("face_refresh_period_cabac", "face_refresh_pose_eg"):   # refresh at 8 frames per unit
        assert descriptions[name]["frames"]["num_keyframes"] >= 3
    assert descriptions["face_synthetic_motion_refine_cabac"]["generator"]["name"] == "ifvc-refine-1"
    assert descriptions["face_synthetic_motion_flow_cabac"]["generator"]["name"] == "ifvc-flow-1"
    assert descriptions["face_synthetic_motion_flow2_cabac"]["generator"]["name"] == "ifvc-flow-2"
    assert descriptions["face_synthetic_motion_flow3_cabac"]["generator"]["name"] == "ifvc-flow-3"
    assert descriptions["face_synthetic_motion_flow4_cabac"]["generator"]["name"] == "ifvc-flow-4"
    assert descriptions["face_synthetic_motion_flow5_cabac"]["generator"]["name"] == "ifvc-flow-5"
    assert descriptions["face_background_motion_geometric3_cabac"]["generator"]["name"] == "ifvc-geometric-3"
    assert descriptions["face_head_move_geometric4_cabac"]["generator"]["name"] == "ifvc-geometric-4"
    assert descriptions["face_head_down_geometric5_cabac"]["generator"]["name"] == "ifvc-geometric-5"
    assert descriptions["face_blink_geometric6_cabac"]["generator"]["name"] == "ifvc-geometric-6"
    assert descriptions["face_mouth_geometric7_cabac"]["generator"]["name"] == "ifvc-geometric-7"
    assert descriptions["face_head_move_geometric8_cabac"]["generator"]["name"] == "ifvc-geometric-8"
    assert descriptions["face_head_move_geometric9_cabac"]["generator"]["name"] == "ifvc-geometric-9"
    assert descriptions["face_head_move_geometric10_cabac"]["generator"]["name"] == "ifvc-geometric-10"
    for name, eid in (("element_14_bg_tx", 14), ("element_15_bg_ty", 15)):
        assert f"sh_sem_element_id={eid}" in descriptions[name]["exercises"]
    assert index["tolerances"] == TOLERANCES


def test_tolerance_is_per_generator() -> None:
    assert tolerance_for("ifvc-geometric-1")["metric"] == "psnr_rgb"
    assert set(TOLERANCES) == {"ifvc-geometric-1", "ifvc-refine-1", "ifvc-geometric-2", "ifvc-geometric-3",
                               "ifvc-flow-1", "ifvc-flow-2", "ifvc-flow-3", "ifvc-flow-4",
                               "ifvc-flow-5", "ifvc-geometric-4", "ifvc-geometric-5", "ifvc-geometric-6",
                               "ifvc-geometric-7", "ifvc-geometric-8", "ifvc-geometric-9", "ifvc-geometric-10"}
    with pytest.raises(ValueError, match="no output tolerance.*'other-gen'"):
        tolerance_for("other-gen")


def test_reference_decoder_passes_a_representative_subset(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    rc, results, classes = run_checker_with_classes(tmp_path, REFERENCE, SUBSET)
    assert rc == 0, {n: r for n, r in results.items() if not r["passed"]}
    decoding = [n for n in SUBSET if not n.startswith("neg_") or n == "neg_hash_mismatch"]
    geometric_1 = len(decoding) - 3                     # the refine, flow and flow-2 streams name another
    assert classes == {
        "normative decoding": {"passed": len(SUBSET), "streams": len(SUBSET), "result": "pass"},
        "generator output (ifvc-geometric-1)": {"passed": geometric_1, "streams": geometric_1,
                                                "result": "pass"},
        "generator output (ifvc-refine-1)": {"passed": 1, "streams": 1, "result": "pass"},
        "generator output (ifvc-flow-1)": {"passed": 1, "streams": 1, "result": "pass"},
        "generator output (ifvc-flow-2)": {"passed": 1, "streams": 1, "result": "pass"}}
    out = capsys.readouterr().out
    assert f"normative decoding: pass ({len(SUBSET)}/{len(SUBSET)} streams)" in out
    assert "generator output (ifvc-refine-1): pass (1/1 streams)" in out
    assert all(results[n]["generator_output"] == "n/a" for n in SUBSET if n not in decoding)
    assert all(results[n]["semantics"] == "yes" for n in SUBSET if not n.startswith("neg_"))
    assert results["neg_hash_mismatch"]["exit_code"] == 2
    assert results["neg_unknown_profile"]["decode"] == "rejected"
    assert results["face_real_cabac"]["reference_reproduced"] == "yes"


def test_decoder_with_a_wrong_level_fails_semantics_only(tmp_path: Path) -> None:
    body = RUN_REFERENCE + (
        "if rc in (0, 2):\n"
        "    rows = open(levels).read().splitlines()\n"
        "    cells = rows[2].split(',')\n"
        "    cells[2] = str(int(cells[2]) + 1)\n"
        "    rows[2] = ','.join(cells)\n"
        "    open(levels, 'w').write('\\n'.join(rows) + '\\n')\n"
        "sys.exit(rc)\n")
    names = ["eg_all_fpu4_hashrange", "cabac_raw420", "neg_unknown_profile"]
    rc, results, classes = run_checker_with_classes(tmp_path, wrapper(tmp_path, "flip_level", body), names)
    assert rc == 1
    for n in names[:2]:
        r = results[n]
        assert not r["passed"] and r["semantics"] == "no"
        assert r["keyframes"] == "yes" and r["output"] == "exact" and r["decode"] == "ok"
        assert r["normative"] == "fail" and r["generator_output"] == "pass"
    assert results["neg_unknown_profile"]["passed"]
    assert classes["normative decoding"] == {"passed": 1, "streams": 3, "result": "fail"}
    assert classes["generator output (ifvc-geometric-1)"]["result"] == "pass"


def test_decoder_that_clamps_the_cabac_init_qp_fails_the_low_init_qp_streams(tmp_path: Path) -> None:
    """With the default tables (slope 0) sh_cabac_init_qp has no effect; the streams with
    explicit tables at init QPs 0 and 8 catch a decoder that clamps it to at least 16."""
    body = ("import bitstream.cabac_engine as engine\n"
            "exact = engine.init_context_state\n"
            "engine.init_context_state = lambda value, qp: exact(value, max(qp, 16))\n"
            + RUN_REFERENCE + "sys.exit(rc)\n")
    names = ["cabac_explicit_init_qp0", "cabac_explicit_init_qp8", "cabac_init_qp0", "cabac_explicit_init"]
    rc, results = run_checker(tmp_path, wrapper(tmp_path, "clamp_init_qp", body), names)
    assert rc == 1
    for n in names[:2]:
        assert not results[n]["passed"], results[n]
    for n in names[2:]:           # the default tables and init QP 63 do not notice the clamp
        assert results[n]["passed"], results[n]


def test_decoder_that_accepts_everything_fails_the_negative_streams(tmp_path: Path) -> None:
    body = RUN_REFERENCE + "sys.exit(0)\n"    # decodes what it can, always reports success
    names = ["neg_truncated_mid_semantic", "neg_level10_frame_idx_delta", "neg_hash_mismatch",
             "eg_all_fpu4_hashrange"]
    rc, results = run_checker(tmp_path, wrapper(tmp_path, "accept_all", body), names)
    assert rc == 1
    assert results["neg_truncated_mid_semantic"]["decode"].startswith("not rejected")
    assert not results["neg_level10_frame_idx_delta"]["passed"]
    assert not results["neg_hash_mismatch"]["passed"]          # the mismatch was not reported
    assert results["eg_all_fpu4_hashrange"]["passed"]
    rc, results = run_checker(tmp_path, wrapper(tmp_path, "accept_all", body), ["neg_hash_mismatch"],
                              "--hashes-not-verified")
    assert rc == 0 and results["neg_hash_mismatch"]["passed"]


def test_decoder_with_wrong_pixels_fails_keyframes_or_output(tmp_path: Path) -> None:
    body = RUN_REFERENCE + (
        "import numpy as np\n"
        "if rc in (0, 2):\n"
        "    a = np.fromfile(output, np.uint8)\n"
        "    a[5] ^= 0xFF            # one sample of the first frame (a key frame)\n"
        "    a[-3 * 32 * 32:] = 0     # the last frame black\n"
        "    a.tofile(output)\n"
        "sys.exit(rc)\n")
    rc, results = run_checker(tmp_path, wrapper(tmp_path, "bad_pixels", body), ["cabac_skip_frames"])
    r = results["cabac_skip_frames"]
    assert rc == 1 and r["semantics"] == "yes" and r["keyframes"] == "no"
    assert "below 40 dB" in r["output"]
    assert r["normative"] == "fail" and r["generator_output"] == "fail"


def test_normative_decoding_passes_while_generator_output_fails(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """A decoder whose levels and key frames are exact but whose synthesised frames are not
    conforms to the normative decoding process and fails the generator output class only."""
    body = RUN_REFERENCE + (
        "import numpy as np\n"
        "if rc in (0, 2):\n"
        "    a = np.fromfile(output, np.uint8)\n"
        "    a[-3 * 32 * 32:] = 0     # the last frame (synthesised) black\n"
        "    a.tofile(output)\n"
        "sys.exit(rc)\n")
    rc, results, classes = run_checker_with_classes(tmp_path, wrapper(tmp_path, "bad_synthesis", body),
                                                    ["cabac_skip_frames", "neg_unknown_profile"])
    r = results["cabac_skip_frames"]
    assert rc == 1 and not r["passed"]
    assert r["normative"] == "pass" and r["generator_output"] == "fail" and r["generator"] == "ifvc-geometric-1"
    assert classes == {"normative decoding": {"passed": 2, "streams": 2, "result": "pass"},
                       "generator output (ifvc-geometric-1)": {"passed": 0, "streams": 1, "result": "fail"}}
    out = capsys.readouterr().out
    assert "normative decoding: pass (2/2 streams)" in out
    assert "generator output (ifvc-geometric-1): fail (0/1 streams)" in out


def test_crash_and_hang_are_detected(tmp_path: Path) -> None:
    crash = wrapper(tmp_path, "crash", "raise RuntimeError('boom')\n")
    rc, results = run_checker(tmp_path, crash, ["neg_unknown_level", "eg_fpu1_hashframe"])
    assert rc == 1
    assert all(r["decode"].startswith("crash") and not r["passed"] for r in results.values())
    hang = wrapper(tmp_path, "hang", "import time\ntime.sleep(30)\n")
    rc, results = run_checker(tmp_path, hang, ["neg_unknown_level"], "--timeout", "2")
    assert rc == 1 and results["neg_unknown_level"]["decode"].startswith("timeout")


@pytest.mark.parametrize("template, needle", [
    ("ifvc-decode {stream} -o {output} --quiet", "lacks {levels}"),
    ("no-such-decoder-xyz {stream} {output} {levels}", "command not found"),
    ("ifvc-decode {stream} -o {output} --levels {levels} {frames}", "unknown placeholder"),
])
def test_bad_decoder_template(template: str, needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert checker.main(["--decoder", template, "--only", "neg_empty_stream"]) == 2
    assert needle in capsys.readouterr().err


def test_synthetic_streams_regenerate_exactly(descriptions: dict[str, dict]) -> None:
    """make_streams --check for the streams that need neither ../shared nor VVenC: same bytes
    for every stream, and the same description for a sample (all are checked by --check)."""
    built = (streams_positive.all_streams() + streams_negative.all_streams()
             + streams_compact_sem.synthetic_streams() + streams_compact_sem.negative_streams()
             + streams_compact_temporal.synthetic_streams() + streams_compact_temporal.negative_streams())
    assert {b.name for b in built} == {n for n, d in descriptions.items()
                                       if not (d["needs_shared"] or d["needs_vvenc"])}
    for b in built:
        assert b.data == (SUITE / f"{b.name}.ifvc").read_bytes(), b.name
    sample = {"cabac_explicit_init", "eg_frame_idx_delta", "cabac_reserved_units", "neg_hash_mismatch",
              "neg_corrupt_payload_cabac", "element_05_head_tz", "eg_raw420", "compact_sem_eg_edges",
              "neg_compact_sem_data_after_ae"}
    for b in built:
        if b.name in sample:
            assert dump_json(make_streams.describe(b)) == (SUITE / f"{b.name}.json").read_text(), b.name


def test_negative_streams_are_rejected_by_the_reference_parser(descriptions: dict[str, dict]) -> None:
    for b in streams_negative.all_streams() + streams_compact_sem.negative_streams():
        err = streams_negative._reference_error(b.data)
        if b.outcome == HASH_MISMATCH:
            assert err is None
        else:
            assert err is not None and descriptions[b.name]["expected"]["error_substring"] in err


def test_what_each_positive_stream_says_it_exercises_is_in_its_parse(index: dict,
                                                                     descriptions: dict[str, dict]) -> None:
    """Every "element=value" that a positive stream's description lists under "exercises", for a
    syntax element its parse trace has, is a value that element takes in that stream (a default
    set that grew or shrank once moved three compact headers to another branch unnoticed)."""
    import re

    from bitstream.stream import StreamParser
    checked = 0
    for entry in index["test_vectors"]:
        if entry["kind"] != "positive":
            continue
        trace: list = []
        list(StreamParser(trace=trace).parse((SUITE / entry["stream"]).read_bytes()))
        values: dict[str, set[int]] = {}
        for t in trace:
            values.setdefault(t.name.split("[")[0], set()).add(t.value)
        for claim in descriptions[entry["name"]]["exercises"]:
            m = re.match(r"([a-z_0-9]+)=(-?\d+)\b", claim)
            if m and m.group(1) in values:
                checked += 1
                assert int(m.group(2)) in values[m.group(1)], (entry["name"], claim, sorted(values[m.group(1)]))
    assert checked >= 200
