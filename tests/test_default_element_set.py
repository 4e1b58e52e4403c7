"""The default element set without head_loc (spec 1.2; issue 13 part C): the encoder signals
DEFAULT_ELEMENT_IDS, a stream without head_loc decodes to the same values and pictures as the
same stream with it, and a head_loc edit still moves the head."""
from __future__ import annotations

import dataclasses
from fractions import Fraction

import numpy as np
import pytest

from bitstream.head_location import head_loc_cell
from bitstream.semantic_elements import (BASELINE_ELEMENT_IDS, DEFAULT_BACKGROUND_ELEMENT_IDS, DEFAULT_ELEMENT_IDS,
                                         ELEMENT_BY_ID, ELEMENT_BY_NAME)
from bitstream.semantic_reconstruction import quantize, values_from_levels
from bitstream.stream import StreamWriter
from conformance.synthetic_semantics import baseline_header, demo_keyframe
from ref_decoder.decoder import Decoder
from ref_decoder.edits import EditApplier, parse_edit

TX, TY, LOC = (ELEMENT_BY_NAME[n].element_id for n in ("head_tx", "head_ty", "head_loc"))


def test_default_set_is_the_baseline_without_head_loc() -> None:
    assert LOC not in DEFAULT_ELEMENT_IDS
    assert list(DEFAULT_ELEMENT_IDS) == [i for i in BASELINE_ELEMENT_IDS if i != LOC]


def test_encoder_signals_the_default_set() -> None:
    from ref_encoder.encoder import Encoder, EncoderConfig
    enc = Encoder(EncoderConfig(keyframe_codec="raw", generator_name="ifvc-geometric-1"), 64, 64, Fraction(25))
    assert enc.sh.sh_sem_element_id == list(DEFAULT_ELEMENT_IDS)
    assert enc.sh.sh_sem_precision == [ELEMENT_BY_ID[i].default_precision for i in DEFAULT_ELEMENT_IDS]
    # the default generator (ifvc-geometric-8) moves its background plate: the default set plus
    # bg_tx and bg_ty (--background-motion auto)
    default = Encoder(EncoderConfig(keyframe_codec="raw"), 64, 64, Fraction(25))
    assert default.sh.sh_sem_element_id == list(DEFAULT_BACKGROUND_ELEMENT_IDS)
    assert default.sh.sh_sem_precision == [ELEMENT_BY_ID[i].default_precision for i in DEFAULT_BACKGROUND_ELEMENT_IDS]
    full = Encoder(EncoderConfig(keyframe_codec="raw", element_ids=list(BASELINE_ELEMENT_IDS)), 64, 64, Fraction(25))
    assert full.sh.sh_sem_element_id == list(BASELINE_ELEMENT_IDS)
    with pytest.raises(ValueError, match="not in the element set"):
        Encoder(EncoderConfig(keyframe_codec="raw", precisions={"head_loc": 0}), 64, 64, Fraction(25))
    with pytest.raises(ValueError, match="distinct ids"):
        Encoder(EncoderConfig(keyframe_codec="raw", element_ids=[0, 0]), 64, 64, Fraction(25))


def _trajectory(n: int) -> np.ndarray:
    """Values (table order) of a head drifting right and down across cell boundaries."""
    t = np.arange(n) / max(n - 1, 1)
    values = np.zeros((n, len(BASELINE_ELEMENT_IDS)))
    values[:, 0] = 10 * np.sin(3 * t)
    values[:, TX] = -0.2 + 0.5 * t
    values[:, TY] = 0.1 - 0.3 * t
    values[:, 5] = 0.1
    values[:, 7] = values[:, 8] = 1.0
    values[:, 9] = 0.1 * t
    values[:, 10] = 0.4
    values[:, LOC] = [head_loc_cell(x, y) for x, y in zip(values[:, TX], values[:, TY])]
    return values


def _stream(ids: list[int], values: np.ndarray) -> bytes:
    base = baseline_header(1, len(values))
    sh = dataclasses.replace(base, sh_sem_element_id=ids, sh_generator_name="ifvc-geometric-1",
                             sh_sem_precision=[ELEMENT_BY_ID[i].default_precision for i in ids])
    levels = [[quantize(float(v[i]), ELEMENT_BY_ID[i].default_precision) for i in ids] for v in values]
    w = StreamWriter(sh)
    w.keyframe(demo_keyframe(), levels[0])
    w.semantic_unit(levels[1:])
    w.end_of_sequence()
    return w.getvalue()


def test_head_loc_is_derived_when_not_signalled() -> None:
    sh = dataclasses.replace(baseline_header(1, 1), sh_sem_element_id=[TX, TY],
                             sh_sem_precision=[7, 7])
    values = values_from_levels(sh, [quantize(0.3, 7), quantize(-0.4, 7)])
    assert values[LOC] == head_loc_cell(0.3, -0.4) == 3
    only_tx = dataclasses.replace(sh, sh_sem_element_id=[TX], sh_sem_precision=[7])
    assert values_from_levels(only_tx, [quantize(0.3, 7)])[LOC] == 0      # neutral: no head_ty


def test_stream_without_head_loc_decodes_like_the_stream_with_it() -> None:
    values = _trajectory(9)
    with_loc = list(Decoder().decode(_stream(list(BASELINE_ELEMENT_IDS), values)))
    without = list(Decoder().decode(_stream(list(DEFAULT_ELEMENT_IDS), values)))
    assert len(with_loc) == len(without) == 9
    for a, b in zip(with_loc, without):
        assert np.array_equal(a.values, b.values)
        assert np.array_equal(a.rgb, b.rgb)
    assert len({int(f.values[LOC]) for f in without}) > 1        # the head crosses cells


def test_head_loc_edit_moves_the_head_without_head_loc_in_the_stream() -> None:
    data = _stream(list(DEFAULT_ELEMENT_IDS), _trajectory(9))
    plain = list(Decoder().decode(data))
    moved = list(Decoder(edits=EditApplier([parse_edit("head_loc:set=5@0-")])).decode(data))
    for a, b in zip(plain, moved):
        assert b.values[LOC] == 5 == head_loc_cell(b.values[TX], b.values[TY])
        shift = (b.values[TX] - a.values[TX]) * 4
        assert shift == round(shift)                                  # whole cells
    assert any(not np.array_equal(a.rgb, b.rgb) for a, b in zip(plain, moved))
