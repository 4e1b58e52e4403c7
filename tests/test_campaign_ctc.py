"""The GFVC CTC alignment of the campaign: the quick and gfvc_ctc configs (and the deprecated
ctc.json name), the payload-only rate of IFVC and anchor streams on hand-built streams, VVenC
presets per codec entry, and the JVET-style summary on synthetic results (no coding)."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anchors.commands import ffmpeg_encode_command
from anchors.configs import load_config as load_anchor_config
from anchors.errors import AnchorError
from anchors.rawio import Geometry
from bitstream.units import UnitType, frame_unit
from conformance.campaign.__main__ import main
from conformance.campaign.campaign import select_codecs
from conformance.campaign.config import (CONFIG_DIR, DEFAULT_CONFIG, GFVC_CTC_CONFIG, load_config,
                                         parse_config)
from conformance.campaign.errors import CampaignError
from conformance.campaign.jvet_summary import jvet_markdown, jvet_table
from conformance.campaign.rates import anchor_rate, annexb_spans, ifvc_rate
from conformance.campaign.report import write_report
from conformance.campaign.tables import results_table

QUICK = load_config(DEFAULT_CONFIG)
CTC = load_config(GFVC_CTC_CONFIG)


# --- configs ------------------------------------------------------------------------------

def test_quick_config_is_the_old_ctc_json_and_says_it_is_not_the_ctc() -> None:
    assert DEFAULT_CONFIG.name == "quick.json" and QUICK.config_id == "quick"
    assert "not the GFVC CTC" in QUICK.name
    assert QUICK.codecs["vvc"].preset == "faster" and QUICK.vgg_stride == 10
    assert QUICK.rate_primary == "all_bits"
    assert not (CONFIG_DIR / "ctc.json").exists()


def test_ctc_json_is_a_deprecated_alias_of_quick(capsys: pytest.CaptureFixture[str],
                                                 tmp_path: Path) -> None:
    old = load_config(CONFIG_DIR / "ctc.json")
    assert old.data == QUICK.data and old.path == DEFAULT_CONFIG
    assert old.deprecation is not None and "quick.json" in old.deprecation
    assert old.with_overrides(frames=3).deprecation == old.deprecation
    # The CLI says so in one warning line, then goes on (here: to a one-line error).
    code = main(["run", "--config", str(CONFIG_DIR / "ctc.json"), "--out", str(tmp_path),
                 "--sequences", "no_such_sequence"])
    err = capsys.readouterr().err.splitlines()
    assert code == 2 and len(err) == 2
    assert err[0].startswith("warning: ctc.json is deprecated") and "gfvc_ctc.json" in err[0]
    # Only the packaged name is an alias: a missing ctc.json elsewhere is missing.
    with pytest.raises(CampaignError, match="config not found"):
        load_config(tmp_path / "ctc.json")


def test_gfvc_ctc_config_follows_the_test_conditions() -> None:
    assert CTC.config_id == "gfvc_ctc" and CTC.frames is None        # every prepared frame
    assert CTC.vgg_stride == 1 and CTC.strided_metrics == ()           # VGG metrics on every frame
    assert {"psnr_gfvc", "ssim_rgb", "lpips_vgg", "dists"} <= set(CTC.metrics)
    assert "psnr_rgb" in CTC.metrics                                    # ours, kept beside it
    assert set(CTC.bd_metrics) == set(CTC.metrics)
    for name in ("ifvc", "ifvc_refine"):
        assert CTC.codecs[name].points == (22, 32, 42, 52)
    for name in ("vvc", "vvc_faster", "vtm"):
        assert CTC.codecs[name].points == (37, 42, 47, 52)
    assert CTC.anchor == "vvc" and CTC.codecs["vvc"].preset == "slower"
    assert CTC.codecs["vvc_faster"].preset == "faster"
    assert CTC.anchors == ("vvc", "vvc_faster", "vtm")
    assert CTC.rate_primary == "payload" and CTC.payload_hash_units is False
    assert CTC.codecs["vtm"].on_request and "vtm" not in select_codecs(CTC, None)
    assert select_codecs(CTC, ["vtm", "ifvc"]) == ["ifvc", "vtm"]
    assert CTC.ctc_differences and any("VTM" in d for d in CTC.ctc_differences)
    split = json.loads((CONFIG_DIR.parents[2] / "tools" / "test_split.json").read_text())
    classified = [s for _name, members in CTC.classes for s in members]
    assert sorted(classified) == sorted(split["test"])                 # every test clip, once


def _with(config_data: dict[str, Any], **changes: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(config_data))
    for dotted, value in changes.items():
        *parents, key = dotted.split("__")
        target = data
        for parent in parents:
            target = target[parent]
        target[key] = value
    return data


@pytest.mark.parametrize("changes, message", [
    ({"codecs__vvc__preset": "fastest"}, "unknown preset 'fastest'"),
    ({"codecs__ifvc__preset": "slow"}, "preset is for anchors"),
    ({"codecs__vvc_faster__anchor_codec": "hevc"}, "has no encoder presets"),
    ({"rate__primary": "nal_payload"}, "rate.primary must be one of"),
    ({"rate__payload_hash_units": "no"}, "payload_hash_units must be true or false"),
    ({"bd_rate__anchors": ["ifvc"]}, "bd_rate.anchors must be a list of anchor codecs"),
    ({"classes__HDTF": ["fomm_demo_old_08"]}, "is in classes VoxCeleb and HDTF"),
    ({"codecs__vvc__vtm_encoder": "/x/EncoderApp"}, "for anchor_codec vtm only"),
])
def test_bad_ctc_settings_are_one_line_errors(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(CampaignError, match=message) as error:
        parse_config(_with(CTC.data, **changes), Path("bad.json"))
    assert "\n" not in str(error.value)


def test_vtm_binaries_come_from_the_entry_or_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IFVC_VTM_ENCODER", raising=False)
    assert CTC.codecs["vtm"].vtm_path("vtm_encoder") is None
    monkeypatch.setenv("IFVC_VTM_ENCODER", "/opt/vtm/bin/EncoderAppStatic")
    assert CTC.codecs["vtm"].vtm_path("vtm_encoder") == Path("/opt/vtm/bin/EncoderAppStatic")
    assert CTC.codecs["vvc"].vtm_path("vtm_encoder") is None
    entry = parse_config(_with(CTC.data, codecs__vtm__vtm_encoder="vtm/Enc"), Path("c.json"))
    assert entry.codecs["vtm"].vtm_path("vtm_encoder") == Path("vtm/Enc")


# --- anchor presets -----------------------------------------------------------------------

def test_vvenc_preset_per_job() -> None:
    vvc = load_anchor_config("vvc")
    assert vvc.default_preset == "faster" and "slower" in vvc.presets
    assert vvc.preset(None) == "faster" and vvc.preset("slower") == "slower"

    def command(preset: str | None) -> str:
        return " ".join(ffmpeg_encode_command(Path("ffmpeg"), vvc, 42, Geometry(256, 256), 25.0,
                                              10, Path("in.yuv"), Path("out.266"), preset))
    assert "-c:v libvvenc -preset faster -qp 42" in command(None)
    assert "-c:v libvvenc -preset slower -qp 42" in command("slower")
    with pytest.raises(AnchorError, match="unknown preset"):
        vvc.preset("placebo")
    with pytest.raises(AnchorError, match="no encoder presets"):
        load_anchor_config("hevc").preset("slow")
    assert load_anchor_config("hevc").preset(None) is None


# --- payload-only rate: IFVC --------------------------------------------------------------

def test_ifvc_payload_counts_unit_payloads_without_framing_header_and_end() -> None:
    units = [(UnitType.SEQUENCE_HEADER, 20), (UnitType.KEYFRAME, 300), (UnitType.SEMANTIC, 7),
             (UnitType.HASH, 33), (UnitType.SEMANTIC, 200), (17, 5),        # 17: reserved
             (UnitType.END_OF_SEQUENCE, 1)]
    stream = b"".join(frame_unit(kind, bytes([kind | 0x80]) * size) for kind, size in units)
    count = ifvc_rate(stream)
    assert count.all_bits == 8 * len(stream)
    assert count.payload_bits == 8 * (300 + 7 + 200 + 5)       # KEYFRAME, SEMANTIC, reserved
    assert count.hash_bits == 8 * 33
    # Framing: 1 header byte + leb128 size (2 bytes for 300 and 200, 1 otherwise), per unit.
    framing = 7 + 2 + 2 + 5
    assert count.overhead_bits == 8 * (framing + 20 + 1)
    assert count.payload(include_hash=True) == count.payload_bits + 8 * 33
    assert count.payload_bits + count.hash_bits + count.overhead_bits == count.all_bits
    assert count.hash_unit_bits == 8 * (2 + 33)                  # the whole HASH unit
    assert count.all_bits_without_hash() == 8 * (len(stream) - 35)


def test_compact_sequence_header_counts_as_the_sequence_header() -> None:
    stream = frame_unit(UnitType.COMPACT_SEQUENCE_HEADER, b"\x01" * 12) + frame_unit(UnitType.SEMANTIC, b"\x02" * 4)
    count = ifvc_rate(stream)
    assert count.overhead_bits == 8 * (14 + 2) and count.payload_bits == 8 * 4


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.sampled_from([1, 2, 3, 5, 30]), st.integers(1, 400)),
                min_size=1, max_size=12))
def test_ifvc_counts_partition_the_stream(units: list[tuple[int, int]]) -> None:
    body = b"".join(frame_unit(kind, b"\x55" * size) for kind, size in units)
    stream = frame_unit(UnitType.SEQUENCE_HEADER, b"\x01" * 9) + body
    count = ifvc_rate(stream)
    assert count.payload_bits == 8 * sum(size for kind, size in units if kind != UnitType.HASH)
    assert count.hash_bits == 8 * sum(size for kind, size in units if kind == UnitType.HASH)
    assert count.payload_bits + count.hash_bits + count.overhead_bits == 8 * len(stream)
    hash_units = b"".join(frame_unit(kind, b"\x55" * size) for kind, size in units if kind == UnitType.HASH)
    assert count.hash_unit_bits == 8 * len(hash_units)


# --- payload-only rate: anchors -----------------------------------------------------------

def _vvc_nal(nal_type: int, body: bytes) -> bytes:
    return bytes([0x00, (nal_type << 3) | 1]) + body         # layer 0, temporal id 0


def _hevc_nal(nal_type: int, body: bytes) -> bytes:
    return bytes([nal_type << 1, 0x01]) + body


def test_vvc_payload_is_the_whole_stream_but_decoded_picture_hash_sei() -> None:
    sps, pps = _vvc_nal(15, b"\x11" * 12), _vvc_nal(16, b"\x22" * 6)
    idr, trail = _vvc_nal(8, b"\x80" + b"\x33" * 40), _vvc_nal(0, b"\x80" + b"\x44" * 9)
    hash_sei = _vvc_nal(24, bytes([132, 17]) + b"\x66" * 17 + b"\x80")     # suffix SEI, DPH
    user_sei = _vvc_nal(23, bytes([5, 4]) + b"\x77" * 4 + b"\x80")         # user data: not hash
    long4, short3 = b"\x00\x00\x00\x01", b"\x00\x00\x01"
    stream = (long4 + sps + long4 + pps + long4 + user_sei + long4 + idr + short3 + hash_sei
              + short3 + trail + b"\x00\x00" + short3 + hash_sei)
    spans = annexb_spans(stream)
    assert [s[2] for s in spans] == [sps, pps, user_sei, idr, hash_sei, trail, hash_sei]
    assert spans[0][0] == 0 and spans[-1][1] == len(stream)
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))       # the spans tile the stream
    count = anchor_rate(stream, "vvc")
    # The second hash SEI's span takes one zero byte (its zero_byte), the trail NAL the other.
    hashed = 8 * (len(short3 + hash_sei) + len(b"\x00" + short3 + hash_sei))
    assert count.all_bits == 8 * len(stream) and count.hash_bits == hashed
    assert count.payload_bits == count.all_bits - hashed and count.overhead_bits == 0
    plain = long4 + sps + long4 + pps + long4 + idr + short3 + trail   # what our anchors write
    assert anchor_rate(plain, "vvc").payload_bits == 8 * len(plain)


def test_hevc_hash_sei_and_long_payload_type() -> None:
    vps, slice_ = _hevc_nal(32, b"\x0c" * 20), _hevc_nal(19, b"\xaf" * 30)
    hash_sei = _hevc_nal(40, bytes([132, 16]) + b"\x01" * 16 + b"\x80")
    # payloadType 255 + 132 = 387 (0xFF then 132): not a decoded picture hash.
    other = _hevc_nal(39, bytes([0xFF, 132, 1, 0]) + b"\x80")
    stream = b"".join(b"\x00\x00\x00\x01" + n for n in (vps, other, slice_, hash_sei))
    count = anchor_rate(stream, "hevc")
    assert count.hash_bits == 8 * (4 + len(hash_sei))
    assert count.payload(include_hash=True) == 8 * len(stream)
    with pytest.raises(ValueError, match="unknown standard"):
        anchor_rate(stream, "av1")


# --- tables and the JVET-style summary ----------------------------------------------------

def fake_result(codec: str, sequence: str, point: int, index: int, factor: float) -> dict[str, Any]:
    """Quality depends on the rate index only; the rate scales per codec (so BD = factor - 1),
    the payload is 90 % of all bits and 2 % more are hash data."""
    kbps = 10.0 * 2 ** (3 - index) * factor * (1.5 if sequence.endswith("b") else 1.0)
    bits = int(round(kbps * 1000 * 10 / 25))
    metrics = {"psnr_rgb": 28.0 + 2 * (3 - index), "psnr_gfvc": 28.5 + 2 * (3 - index),
               "ssim_rgb": 0.6 + 0.05 * (3 - index),
               "lpips_vgg": 0.2 + 0.05 * index, "dists": 0.1 + 0.04 * index,
               "psnr_y": 29.0 + 2 * (3 - index), "lpips_alex": 0.1 + 0.05 * index}
    return {"codec": codec, "sequence": sequence, "point": point, "frames": 10, "fps": 25.0,
            "bits": bits, "kbps": kbps, "metrics": metrics,
            "rate": {"all_bits": bits, "payload_bits": round(0.9 * bits),
                     "hash_bits": round(0.02 * bits), "overhead_bits": bits - round(0.92 * bits)},
            "metric_frames": {m: 10 for m in metrics}, "vgg_stride": 1, "strided_metrics": [],
            "encoder": codec, "encoder_version": "1", "generator_name": None,
            "generator_sha256": None, "cell_hash": f"{codec}{sequence}{point}",
            "details": {"anchor_preset": CTC.codecs[codec].preset}}


SEQUENCES = {"VoxCeleb": ["vox_a", "vox_b"], "HDTF": ["hdtf_a"]}
FACTORS = {"ifvc": 0.5, "ifvc_refine": 0.4, "vvc": 1.0, "vvc_faster": 1.25}


def fake_results() -> list[dict[str, Any]]:
    return [fake_result(codec, sequence, point, index, factor)
            for members in SEQUENCES.values() for sequence in members
            for codec, factor in FACTORS.items()
            for index, point in enumerate(CTC.codecs[codec].points)]


def synthetic_config() -> Any:
    return parse_config(_with(CTC.data, classes=SEQUENCES), GFVC_CTC_CONFIG)


def test_results_carry_both_rates_and_the_hash_switch() -> None:
    config = synthetic_config()
    table = results_table(fake_results(), config)
    row = table[(table["codec"] == "vvc") & (table["point"] == 37)
                & (table["sequence"] == "vox_a")].iloc[0]
    assert row["kbps_payload"] == pytest.approx(row["payload_bits"] / 1000 / (10 / 25))
    assert row["payload_bits"] == round(0.9 * row["bits"]) and row["class"] == "VoxCeleb"
    assert row["preset"] == "slower"
    with_hash = parse_config(_with(config.data, rate__payload_hash_units=True), GFVC_CTC_CONFIG)
    row2 = results_table(fake_results(), with_hash).iloc[0]
    assert row2["payload_bits"] == round(0.9 * row2["bits"]) + round(0.02 * row2["bits"])
    # the rate without hash units, and whether the payload count includes them, in every row
    assert not row["payload_counts_hash"] and row2["payload_counts_hash"]
    assert row["hash_unit_bytes"] == round(0.02 * row["bits"]) / 8       # older results: hash_bits
    assert row["kbps_no_hash"] == pytest.approx((row["bits"] - round(0.02 * row["bits"])) / 1000 / (10 / 25))


def test_conditions_state_the_hash_units_per_codec() -> None:
    from conformance.campaign.jvet_summary import hash_unit_line
    config = synthetic_config()
    results = fake_results()
    for result in results:
        if result["codec"].startswith("vvc"):
            result["rate"].update(hash_bits=0, hash_unit_bits=0)
        else:
            result["rate"]["hash_unit_bits"] = 8 * 52
    line = hash_unit_line(results_table(results, config), config)
    assert "ifvc 52.0 bytes per stream" in line
    assert "vvc 0 bytes (this anchor writes no decoded picture hash SEI)" in line


def test_jvet_summary_rows_classes_overall(tmp_path: Path) -> None:
    config = synthetic_config()
    report = write_report(fake_results(), config, tmp_path, {"git": {"revision": None}})
    jvet = report.jvet
    block = jvet[(jvet["test"] == "ifvc") & (jvet["anchor"] == "vvc") & (jvet["rate"] == "kbps_payload")]
    assert list(block["sequence"]) == ["vox_a", "vox_b", "VoxCeleb average", "hdtf_a",
                                       "HDTF average", "Overall"]
    assert list(block["row"]) == ["sequence", "sequence", "class", "sequence", "class", "overall"]
    for metric in config.bd_metrics:
        # Rates scale by 0.5 at equal quality: -50 % everywhere (payload is 90 % of both).
        assert block[metric].to_numpy() == pytest.approx(-50.0, abs=0.2)
    faster = jvet[(jvet["test"] == "vvc_faster") & (jvet["anchor"] == "vvc")
                  & (jvet["row"] == "overall") & (jvet["rate"] == "kbps")]
    assert faster["psnr_rgb"].to_numpy() == pytest.approx([25.0], abs=0.2)
    # Against the second anchor too, for every codec and both rates.
    against_faster = jvet[jvet["anchor"] == "vvc_faster"]
    assert set(against_faster["test"]) == {"ifvc", "ifvc_refine", "vvc"}
    assert set(jvet["rate"]) == {"kbps", "kbps_payload"}
    text = report.files["jvet_summary_md"].read_text()
    assert "Config: `gfvc_ctc`" in text and "decoded picture hash SEI) excluded" in text
    assert "psnr (psnr_gfvc)" in text and "| psnr_rgb |" not in text.split("psnr (psnr_gfvc)")[0]
    assert "VVenC preset slower" in text or "vvc preset slower" in text
    assert "Differences from the GFVC CTC" in text and "lpips (lpips_vgg)" in text
    assert "| VoxCeleb | **VoxCeleb average** |" in text and "|  | **Overall** |" in text
    assert "not run (on request" in text                                  # the vtm entry
    csv = pd.read_csv(report.files["jvet_summary_csv"])
    assert len(csv) == len(jvet) and set(csv["config"]) == {"gfvc_ctc"}
    summary = report.files["summary_md"].read_text()
    assert "Config: `gfvc_ctc`" in summary and "rate `kbps_payload`" in summary
    bd = pd.read_csv(report.files["bd_rate"])
    assert set(bd["anchor"]) == {"vvc", "vvc_faster"} and set(bd["rate"]) == {"kbps", "kbps_payload"}


def test_jvet_class_average_skips_undefined_sequences() -> None:
    config = synthetic_config()
    per_sequence = pd.DataFrame([
        {"codec": "ifvc", "anchor": "vvc", "rate": "kbps", "metric": "dists", "class": "VoxCeleb",
         "sequence": "vox_a", "bd_rate_percent": -40.0},
        {"codec": "ifvc", "anchor": "vvc", "rate": "kbps", "metric": "dists", "class": "VoxCeleb",
         "sequence": "vox_b", "bd_rate_percent": math.nan},
        {"codec": "ifvc", "anchor": "vvc", "rate": "kbps", "metric": "dists", "class": "HDTF",
         "sequence": "hdtf_a", "bd_rate_percent": -20.0}])
    table = jvet_table(per_sequence, config)
    vox = table[table["sequence"] == "VoxCeleb average"].iloc[0]
    overall = table[table["row"] == "overall"].iloc[0]
    assert vox["dists"] == -40.0 and vox["dists_n"] == "1/2"
    assert overall["dists"] == pytest.approx(-30.0) and overall["dists_n"] == "2/3"
    text = jvet_markdown(table, config, ["- conditions"])
    assert "-30.0% (2/3)" in text and "| VoxCeleb | vox_b | - |" in text
