"""Values from levels (spec 8.3.5) and the neutral values of Table 3, in one place
(bitstream) for encoder, decoder and the conformance suite."""
from __future__ import annotations

import numpy as np
from hypothesis import given, strategies as st

from bitstream.head_location import head_loc_cell
from bitstream.semantic_elements import ELEMENT_BY_NAME, NEUTRAL_VALUES, SEMANTIC_ELEMENTS
from bitstream.semantic_reconstruction import values_from_levels
from bitstream.structures import SequenceHeader


def test_neutral_values_are_open_eyes_and_zero_elsewhere() -> None:
    open_eyes = {"eye_blink_left", "eye_blink_right"}
    assert NEUTRAL_VALUES == tuple(1 if e.name in open_eyes else 0 for e in SEMANTIC_ELEMENTS)
    for e in SEMANTIC_ELEMENTS:
        assert e.min_value <= e.neutral_value <= e.max_value, e.name


@given(st.data())
def test_signalled_elements_are_dequantised_the_others_neutral(data: st.DataObject) -> None:
    ids = data.draw(st.lists(st.sampled_from([e.element_id for e in SEMANTIC_ELEMENTS]),
                             min_size=1, unique=True))
    precisions = [data.draw(st.integers(0, SEMANTIC_ELEMENTS[i].max_precision)) for i in ids]
    levels = [data.draw(st.integers(*SEMANTIC_ELEMENTS[i].level_range(p)))
              for i, p in zip(ids, precisions)]
    sh = SequenceHeader(sh_sem_element_id=ids, sh_sem_precision=precisions)
    values = values_from_levels(sh, levels)
    expected = np.array(NEUTRAL_VALUES, dtype=np.float64)
    for i, p, lv in zip(ids, precisions, levels):
        expected[i] = lv / 2 ** p
    # spec 1.2 (7.4.2, 8.3.5): an unsignalled head_loc is derived from head_tx and head_ty
    derived = 6 not in ids and 3 in ids and 4 in ids
    if derived:
        expected[6] = head_loc_cell(expected[3], expected[4])
    assert values.tolist() == expected.tolist()
    base = np.arange(len(SEMANTIC_ELEMENTS), dtype=np.float64)
    with_base = values_from_levels(sh, levels, base)
    unsignalled = [e.element_id for e in SEMANTIC_ELEMENTS if e.element_id not in ids and not (derived and e.element_id == 6)]
    assert with_base[unsignalled].tolist() == base[unsignalled].tolist()
    if derived:
        assert with_base[6] == expected[6]
    assert base.tolist() == list(range(len(SEMANTIC_ELEMENTS)))   # base is not changed


def test_ids_beyond_table_3_are_ignored() -> None:
    sh = SequenceHeader(sh_sem_element_id=[ELEMENT_BY_NAME["head_yaw"].element_id, 40],
                        sh_sem_precision=[1, 3])
    values = values_from_levels(sh, [-7, 5])
    assert values[0] == -3.5 and len(values) == len(SEMANTIC_ELEMENTS)
