"""Element groups (spec 1.2 draft: Table 3d, derivation of GroupList in 7.2a): which group
(head, eyes, mouth, other, correction) each semantic element belongs to, and the groups present in a
sequence header. Used by semantic-unit syntax 2 (sf_group_flag) and by the temporal resolution
of the semantics (SemPeriod per group, sequence header 7.3.3 and 7.3.8)."""
from __future__ import annotations

from .semantic_elements import CORRECTION_ELEMENT_IDS

# Table 3d: the element group of each element id (ids not listed: GROUP_OTHER). The correction
# elements of Table 3e form their own group, so that sf_group_flag 0 holds the whole grid.
GROUP_HEAD, GROUP_EYES, GROUP_MOUTH, GROUP_OTHER, GROUP_CORRECTION = 0, 1, 2, 3, 4
GROUP_NAMES = ("head", "eyes", "mouth", "other", "correction")
NUM_SEM_GROUPS = len(GROUP_NAMES)
ELEMENT_GROUP: dict[int, int] = {**{e: GROUP_HEAD for e in range(0, 7)},
                                 **{e: GROUP_EYES for e in (7, 8)},
                                 **{e: GROUP_MOUTH for e in range(9, 14)},
                                 **{e: GROUP_CORRECTION for e in CORRECTION_ELEMENT_IDS}}


def element_group(element_id: int) -> int:
    """SemGroup of an element id (Table 3d)."""
    return ELEMENT_GROUP.get(element_id, GROUP_OTHER)


def group_list(element_ids: list[int]) -> list[int]:
    """GroupList (7.2a): the groups of the signalled elements, in increasing group number."""
    return sorted({element_group(e) for e in element_ids})
