"""tools/dists_budget.py: the definitions its measures rest on (the four regions, the feathered
source region, the key-picture rewrite that keeps every level)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ref_decoder.decoder import Decoder
from tests.test_generator_error_budget import _face_landmarks
from tools.dists_budget import (REGION_NAMES, drift_profile, frames_since_key, parsed_levels, region_masks,
                                 replace_key_pictures, with_source_region)

STREAMS = Path(__file__).resolve().parents[1] / "conformance" / "streams"


@settings(derandomize=True, max_examples=20, deadline=None)
@given(st.floats(-20, 20), st.floats(-20, 20))
def test_regions_are_disjoint_and_cover_the_picture(dx: float, dy: float) -> None:
    masks = region_masks(_face_landmarks((dx, dy)), 128)
    assert set(masks) == set(REGION_NAMES)
    assert (sum(m.astype(int) for m in masks.values()) == 1).all()
    assert all(m.any() for m in masks.values())


def test_source_region_blend() -> None:
    rng = np.random.default_rng(3)
    decoded = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    source = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    none, whole = np.zeros((32, 32), bool), np.ones((32, 32), bool)
    assert np.array_equal(with_source_region(decoded, source, none), decoded)
    assert np.array_equal(with_source_region(decoded, source, whole), source)
    half = none.copy()
    half[:, :16] = True
    mixed = with_source_region(decoded, source, half)
    # far from the edge each side is one picture; next to it, a blend of both
    assert np.array_equal(mixed[:, :10], source[:, :10]) and np.array_equal(mixed[:, 22:], decoded[:, 22:])


def test_key_picture_rewrite_keeps_levels_and_hashes() -> None:
    pytest.importorskip("imageio_ffmpeg")                   # VVC key pictures
    data = (STREAMS / "face_real_cabac.ifvc").read_bytes()
    before = list(Decoder().decode(data))
    keys_before = [f.frame_idx for f in before if f.kind == "key"]
    assert len(keys_before) == 2

    same, keys = replace_key_pictures(data, lambda i: _payload(data, i))
    assert keys == keys_before
    assert same == data            # the original payloads give the original stream, byte for byte

    # another picture: the first key frame's payload at the second key frame too
    other, _ = replace_key_pictures(data, lambda i: _payload(data, keys_before[0]))
    dec = Decoder()
    after = list(dec.decode(other))
    assert [f.levels for f in after] == [f.levels for f in before]
    assert np.array_equal(after[keys_before[1]].rgb, before[keys_before[0]].rgb)
    assert not np.array_equal(after[keys_before[1]].rgb, before[keys_before[1]].rgb)
    assert dec.hashes.ok and dec.hashes.keyframes_checked == 2


def _payload(data: bytes, frame_idx: int) -> bytes:
    from bitstream.stream import ParsedKeyframe, StreamParser
    for unit in StreamParser().parse(data):
        if isinstance(unit, ParsedKeyframe) and unit.frame_idx == frame_idx:
            return unit.kf.kf_picture_payload
    raise KeyError(frame_idx)


def test_drift_profile_bins_frames_by_distance_from_the_key_frame() -> None:
    kinds = ["key"] + ["semantic"] * 11 + ["key"] + ["inferred"] * 2
    since = frames_since_key(kinds)
    assert since.tolist() == [0, *range(1, 12), 0, 1, 2]
    scores = np.arange(len(kinds), dtype=float)
    profile = drift_profile(scores, since)
    assert profile == {"0-0": 6.0, "1-9": float(np.mean([*range(1, 10), 13, 14])), "10-29": 10.5}


@pytest.mark.parametrize("name", ["face_real_cabac", "cabac_correction_elements_extreme"])
def test_parsed_levels_are_what_the_decoder_reports(name: str) -> None:
    if name == "face_real_cabac":
        pytest.importorskip("imageio_ffmpeg")
    data = (STREAMS / f"{name}.ifvc").read_bytes()
    frames = list(Decoder().decode(data))
    levels, kinds = parsed_levels(data)
    assert levels == [list(f.levels) for f in frames]
    assert kinds == [f.kind for f in frames]
    if name == "cabac_correction_elements_extreme":
        assert kinds.count("inferred") == 2          # the stream carries two inferred frames
