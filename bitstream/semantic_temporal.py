"""Temporal resolution of the semantics (spec 1.2 draft, Compact profile): each element group
may be coded at every SemPeriod[ g ]-th frame of a semantic unit only (derivations 7.2a,
sequence header 7.3.3 / 7.3.8, decoding 8.3.4); the levels of the frames between two coded
frames ("anchors") of a group are interpolated with integers (8.3.4, Equation 8-4a).

Written once, for the stream writer and the stream parser: unit_levels( ) is the decoding
process, unit_residuals( ) what a writer codes for given levels (docs/results/
temporal_resolution_2026-12-03 has the study that chose the rule)."""
from __future__ import annotations

from .errors import BitstreamError
from .head_location import head_loc_cell_from_levels
from .semantic_groups import NUM_SEM_GROUPS, element_group
from .structures import SequenceHeader

MAX_SEM_PERIOD = 4          # sh_sem_group_period_minus1 is u(2)
_TX, _TY, _LOC = 3, 4, 6    # element ids of head_tx, head_ty, head_loc (Table 3)


def sem_periods(sh: SequenceHeader) -> list[int]:
    """SemPeriod[ g ] for g = 0..3 (7.2a): sh_sem_group_period_minus1[ g ] + 1 when
    sh_sem_temporal_flag is 1, otherwise 1."""
    if not sh.sh_sem_temporal_flag:
        return [1] * NUM_SEM_GROUPS
    return [p + 1 for p in sh.sh_sem_group_period_minus1]


def temporal_subsampling(sh: SequenceHeader) -> bool:
    """True when some group of the stream has SemPeriod[ g ] > 1."""
    return any(p > 1 for p in sem_periods(sh))


def is_anchor(f: int, num_frames: int, period: int) -> bool:
    """IsAnchor( f, g ) (7.2a) for a group of SemPeriod period, frame f of a unit of num_frames
    frames: every period-th frame and the unit's last frame."""
    return period == 1 or (f + 1) % period == 0 or f == num_frames - 1


def frame_group_list(groups: list[int], periods: list[int], f: int, num_frames: int) -> list[int]:
    """FrameGroupList( f ) (7.2a): the groups of GroupList coded in frame f of the unit."""
    return [g for g in groups if is_anchor(f, num_frames, periods[g])]


def interpolate_level(a: int, b: int, k: int, d: int) -> int:
    """8.3.4: the level k frames after an anchor of level a, when the next anchor, d
    frames after it, has level b (0 < k < d): q = ( 2 * k * Abs( b - a ) + d ) / ( 2 * d ),
    a + q when b >= a, a - q otherwise. The nearest level to the straight line, halves rounded
    away from a; it lies between a and b, so it needs no range check."""
    if not 0 < k < d:
        raise ValueError(f"need 0 < k < d, got k={k}, d={d}")
    q = (2 * k * abs(b - a) + d) // (2 * d)
    return a + q if b >= a else a - q


def unit_levels(sh: SequenceHeader, prev_levels: list[int], residuals: list[list[int]],
                first_frame_idx: int = 0) -> list[list[int]]:
    """The decoding process of one semantic unit's levels (8.3.4): for element i of group g in
    frame f, an anchor's level is PrevLevel[ i ] + SemRes[ f ][ i ] (within LevelMin..LevelMax,
    checked frame by frame in element order) and becomes PrevLevel[ i ]; the level of a frame
    between anchors is interpolated between the previous anchor of g (or PrevLevel at the start
    of the unit) and the next one. residuals: SemRes of each frame of the unit (those of frames
    that are not anchors of a group are 0). With every SemPeriod 1 every frame is an anchor:
    the frame-by-frame prediction of syntax 1. Returns the levels of every frame; PrevLevel
    after the unit is the last frame's."""
    num = len(residuals)
    periods = sem_periods(sh)
    n = sh.num_sem_elements
    period = [periods[element_group(e)] for e in sh.sh_sem_element_id]
    out = [[0] * n for _ in range(num)]
    prev = list(prev_levels)
    prev_f = [-1] * n                      # the previous anchor of each element in the unit
    for f in range(num):
        for i in range(n):
            if not is_anchor(f, num, period[i]):
                continue
            level = prev[i] + residuals[f][i]
            lo, hi = sh.level_bounds(i)
            if not lo <= level <= hi:
                raise BitstreamError(f"reconstructed level {level} of sem element {i} "
                                     f"(id {sh.sh_sem_element_id[i]}) in frame "
                                     f"{first_frame_idx + f} is outside [{lo}, {hi}]",
                                     element=f"sem_res[{i}]", unit="SEMANTIC")
            for k in range(1, f - prev_f[i]):
                out[prev_f[i] + k][i] = interpolate_level(prev[i], level, k, f - prev_f[i])
            out[f][i] = level
            prev[i], prev_f[i] = level, f
    _derive_head_loc(sh, prev_levels, out, periods)
    return out


def _derive_head_loc(sh: SequenceHeader, prev_levels: list[int], levels: list[list[int]],
                     periods: list[int]) -> None:
    """head_loc is a cell index, not a magnitude: between anchors of its group it is the cell
    of the frame's head_tx and head_ty levels (Annex B.3, with integers) when both are
    signalled, and otherwise the level of its previous anchor (or PrevLevel) (8.3.4)."""
    ids = sh.sh_sem_element_id
    if _LOC not in ids:
        return
    loc = ids.index(_LOC)
    period = periods[element_group(_LOC)]
    num = len(levels)
    tx = ids.index(_TX) if _TX in ids else -1
    ty = ids.index(_TY) if _TY in ids else -1
    p = sh.sh_sem_precision
    held = prev_levels[loc]
    for f in range(num):
        if is_anchor(f, num, period):
            held = levels[f][loc]
        elif tx >= 0 and ty >= 0:
            levels[f][loc] = head_loc_cell_from_levels(levels[f][tx], p[tx], levels[f][ty], p[ty])
        else:
            levels[f][loc] = held


def _anchor_residuals(sh: SequenceHeader, prev_levels: list[int], frames_levels: list[list[int]]
                      ) -> list[list[int]]:
    """The residual of each anchor against the previous anchor of its group, 0 elsewhere."""
    num = len(frames_levels)
    periods = sem_periods(sh)
    n = sh.num_sem_elements
    res = [[0] * n for _ in range(num)]
    prev = list(prev_levels)
    for f, levels in enumerate(frames_levels):
        for i in range(n):
            if is_anchor(f, num, periods[element_group(sh.sh_sem_element_id[i])]):
                res[f][i] = levels[i] - prev[i]
                prev[i] = levels[i]
    return res


def interpolate_unit(sh: SequenceHeader, prev_levels: list[int], frames_levels: list[list[int]]
                     ) -> list[list[int]]:
    """The levels a unit decodes to when its anchors carry the given levels: the levels given
    for frames between anchors are replaced by the interpolated ones (8.3.4). For encoders."""
    return unit_levels(sh, prev_levels, _anchor_residuals(sh, prev_levels, frames_levels))


def unit_residuals(sh: SequenceHeader, prev_levels: list[int], frames_levels: list[list[int]]
                   ) -> list[list[int]]:
    """What a writer codes for the given levels of a unit's frames (8.3.4 inverted): the
    residual of each anchor against the previous anchor of its group, 0 elsewhere. Raises
    BitstreamError when a level of a frame between anchors is not the interpolated one (such
    levels cannot be coded: interpolate_unit( ) gives the levels that can)."""
    res = _anchor_residuals(sh, prev_levels, frames_levels)
    if not temporal_subsampling(sh):
        return res
    periods = sem_periods(sh)
    for f, (want, got) in enumerate(zip(frames_levels, unit_levels(sh, prev_levels, res))):
        if list(want) != got:
            i = next(i for i in range(len(got)) if want[i] != got[i])
            raise BitstreamError(f"cannot write: level {want[i]} of sem element {i} in frame {f} of "
                                 f"the unit is not the interpolated level {got[i]} (spec 8.3.4; "
                                 "SemPeriod of its group is "
                                 f"{periods[element_group(sh.sh_sem_element_id[i])]})",
                                 element=f"sem_level[{i}]")
    return res
