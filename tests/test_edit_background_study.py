"""tools/edit_background_study.py: the definitions its measures rest on (lifted key frame,
head_loc edit, the person region as the generators draw it)."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bitstream.head_location import head_loc_cell
from bitstream.semantic_elements import SEMANTIC_ELEMENTS
from ifvc_synthesis.generators import get_generator
from tools.edit_background_study import BLACK_LEVEL, edit_for, lift, person_region

I = {e.name: i for i, e in enumerate(SEMANTIC_ELEMENTS)}


def test_lift_leaves_no_black_sample_and_keeps_the_order() -> None:
    ramp = np.arange(256, dtype=np.uint8).reshape(16, 16, 1).repeat(3, axis=2)
    lifted = lift(ramp)
    assert lifted.min() > BLACK_LEVEL and lifted.max() == 255
    assert (np.diff(lifted[..., 0].reshape(-1).astype(int)) >= 0).all()


@settings(derandomize=True, max_examples=40, deadline=None)
@given(st.floats(-0.5, 0.49), st.floats(-0.5, 0.49))
def test_head_loc_edit_is_one_cell_over_in_the_same_row(tx: float, ty: float) -> None:
    v = np.zeros(len(SEMANTIC_ELEMENTS))
    v[I["head_tx"]], v[I["head_ty"]] = tx, ty
    cell = head_loc_cell(tx, ty)
    target = int(edit_for("head_loc", v).split("=")[1])
    assert target // 4 == cell // 4 and abs(target % 4 - cell % 4) == 1
    assert edit_for("head_tx:offset=0.2", v) == "head_tx:offset=0.2"


def _textured(h: int = 128, w: int = 128) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([40 + (x * 3) % 90, 60 + (y * 5) % 70, 90 + ((x + y) // 6 % 2) * 60], axis=-1)
    rgb[(x - w / 2) ** 2 + (y - h * 0.45) ** 2 < (0.3 * w) ** 2] = (220, 170, 140)
    return rgb.astype(np.uint8)


def test_person_region_covers_every_pixel_the_edit_changes_outside_the_key_mask() -> None:
    """Outside K and the unedited and edited person regions an edit changes nothing: the
    regions hold every pixel the person layers draw (geometric-2 and geometric-3)."""
    key = np.zeros(len(SEMANTIC_ELEMENTS))
    key[[I["eye_blink_left"], I["eye_blink_right"], I["mouth_open"], I["mouth_width"], I["head_loc"]]] = \
        (0.8, 0.8, 0.05, 0.4, 5.0)
    frame = key.copy()
    frame[I["head_yaw"]] = 6.0
    edited = frame.copy()
    edited[I["head_tx"]] += 0.2
    for name in ("ifvc-geometric-2", "ifvc-geometric-3"):
        gen = get_generator(name)
        gen.set_keyframe(_textured(), key, b"", 0)
        single = gen.newest if hasattr(gen, "newest") else gen
        outside = ~(single.person_mask.astype(bool) | person_region(gen, frame) | person_region(gen, edited))
        assert outside.sum() > 1000
        diff = np.abs(gen.synthesize(edited).astype(int) - gen.synthesize(frame).astype(int)).max(axis=2)
        assert diff[outside].max() == 0, name


def test_the_studies_hand_the_key_frame_over_as_the_decoder_does() -> None:
    """tools.generator_compare.first_key_frame and hand_over_key (the edit studies' key frame):
    ifvc-geometric-10 then draws each frame of its conformance stream (no correction elements)
    exactly as the decoder does, from the key picture restored for its coded size; handed over
    without the coded size (as generator_compare's edit study did before), it draws another
    picture."""
    from pathlib import Path

    from ref_decoder.decoder import Decoder
    from tools.generator_compare import first_key_frame, hand_over_key
    data = (Path(__file__).resolve().parents[1] / "conformance" / "streams"
            / "face_head_move_geometric10_cabac.ifvc").read_bytes()
    frames = list(Decoder().decode(data))
    payload, version, count, bits = first_key_frame(data)
    assert count == 1 and bits == 8 * 528
    handed, unrestored = get_generator("ifvc-geometric-10"), get_generator("ifvc-geometric-10")
    hand_over_key(handed, frames[0].rgb, frames[0].values, payload, version, bits)
    unrestored.set_keyframe(frames[0].rgb, frames[0].values, payload, version)
    for f in frames[1::6]:
        assert np.array_equal(handed.synthesize(f.values), f.rgb)
    assert not np.array_equal(unrestored.synthesize(frames[6].values), frames[6].rgb)
