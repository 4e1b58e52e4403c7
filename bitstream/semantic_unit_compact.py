"""Semantic-unit syntax 2: the semantic unit of the Compact profile (spec 1.2 draft: syntax
7.3.5a, semantics 7.4.4a, CABAC 9.3.6, Tables 3d, 10a, 10b, 12a, 13a). Used instead of syntax 1
(structures.code_semantic_unit) when compact_tools(sh) is true; written once for the writer,
the parser and the encoder's rate estimation.

What it changes, and why (docs/results/semantic_coding_2026-12-03/ has the measurements):
- framing: su_frame_idx_delta is a context-coded flag (plus a remainder when not 0); the
  frame count is predicted from the previous unit's (su_num_frames_pred_flag) in CABAC mode and
  implied by the end of the payload in Exp-Golomb mode; the arithmetic-coded data ends with the
  shortest flush (at most 2 bits) instead of a terminate bin, and the decoder reads zeros past
  the payload, so no stop bit and no trailing zero byte is sent;
- significance: a frame that is not skipped says which element groups (head, eyes, mouth,
  other; Table 3d) changed (sf_group_flag; context: the group's flag in the previous frame and
  whether an earlier group of the frame changed), and an element's sem_res_sig_flag context
  also looks at the preceding element of its group in the same frame; a flag that must be 1
  (the last group when no earlier one changed, the last element of a changed group when no
  earlier one is significant) is inferred;
- magnitudes: gt1 as in syntax 1, then H.266's parity and gt3 flags (contexts from the
  magnitude of the element's last non-zero residual) and a halved remainder, so that steps of
  2 to 4 levels (most of those the error-bounded RDOQ takes) need no bypass bin; the sign's
  context is the sign of the element's last non-zero residual;
- every context has a trained initValue and shiftIdx (Tables 10a, 10b; tools/train_cabac_init.py).
"""
from __future__ import annotations

from .cabac_contexts import NUM_SEM_GROUPS, SemanticContextState
from .profiles import LEVELS
from .semantic_groups import (ELEMENT_GROUP, GROUP_EYES, GROUP_HEAD, GROUP_MOUTH,  # noqa: F401 (re-exported)
                              GROUP_NAMES, GROUP_OTHER, element_group)
from .semantic_temporal import frame_group_list, sem_periods
from .structures import (ENTROPY_CABAC, MAX_FRAME_IDX_DELTA, MAX_FRAMES_PER_UNIT, Coder,
                         SemanticFrame, SemanticUnit, SequenceHeader, _code_su_extension,
                         raise_or_fail, residual_bound)


class GroupLayout:
    """The groups of the signalled elements (spec 7.2a): SemGroup[ i ], the groups present in
    header order, and for each element the preceding element of its group (-1: none)."""
    __slots__ = ("group", "groups", "members", "prev_in_group")

    def __init__(self, sh: SequenceHeader) -> None:
        self.group = [element_group(e) for e in sh.sh_sem_element_id]
        self.groups = sorted(set(self.group))
        self.members = {g: [i for i, gi in enumerate(self.group) if gi == g] for g in self.groups}
        last: dict[int, int] = {}
        self.prev_in_group = []
        for i, g in enumerate(self.group):
            self.prev_in_group.append(last.get(g, -1))
            last[g] = i


_LAYOUTS: dict[tuple[int, ...], GroupLayout] = {}


def group_layout(sh: SequenceHeader) -> GroupLayout:
    """GroupLayout of the header's element set (cached: headers of a stream share it)."""
    key = tuple(sh.sh_sem_element_id)
    layout = _LAYOUTS.get(key)
    if layout is None:
        layout = _LAYOUTS[key] = GroupLayout(sh)
    return layout


def max_frames_per_unit(sh: SequenceHeader) -> int:
    """The level's bound on NumFrames (Annex A), checked while parsing: the arithmetic decoder of
    syntax 2 reads zeros past the payload, so the payload size alone does not bound the work of
    a unit (7.4.4a). An undefined level (parsed without the profile checks) gets the largest."""
    limits = LEVELS.get(sh.sh_level_idc)
    return limits.max_frames_per_unit if limits else max(x.max_frames_per_unit for x in LEVELS.values())


def _check_num_frames(c: Coder, num: int, bound: int) -> None:
    if num > bound:
        raise_or_fail(c, f"{num} frames in one semantic unit exceed level limit {bound}", "su_num_frames_minus1")


def code_semantic_unit_compact(c: Coder, su: SemanticUnit, sh: SequenceHeader,
                               ctx: SemanticContextState | None) -> SemanticUnit:
    """semantic_unit( ) syntax 2 (spec 7.3.5a; semantics 7.4.4a). ctx: the CABAC parsing state
    as clause 9.3.1 says (None in Exp-Golomb mode)."""
    cabac = sh.sh_entropy_coding_mode == ENTROPY_CABAC
    layout = group_layout(sh)
    periods = sem_periods(sh)
    bounds = [residual_bound(sh, i) for i in range(sh.num_sem_elements)]
    if sh.sh_su_extension_flag:
        su.su_extension_data = _code_su_extension(c, su.su_extension_data)
    elif not c.reading and su.su_extension_data:
        raise ValueError("su_extension_data needs sh_su_extension_flag equal to 1")
    if not c.reading and not 1 <= len(su.frames) <= MAX_FRAMES_PER_UNIT:
        raise ValueError(f"a semantic unit carries 1..{MAX_FRAMES_PER_UNIT} frames, not {len(su.frames)}")
    if cabac:
        assert ctx is not None
        cc = ctx.compact
        c.start_ae_padded()
        delta_flag = c.ae_decision("su_frame_idx_delta_flag", cc.frame_idx_delta_flag,
                                   int(su.su_frame_idx_delta > 0))
        delta = 0
        if delta_flag:
            delta = 1 + c.ae_bypass_egk("su_frame_idx_delta_minus1", su.su_frame_idx_delta - 1, 0,
                                        hi=MAX_FRAME_IDX_DELTA - 1)
        su.su_frame_idx_delta = delta
        num = len(su.frames)
        pred = 0
        if cc.prev_num_frames > 0:
            pred = c.ae_decision("su_num_frames_pred_flag", cc.num_frames_pred_flag,
                                 int(num == cc.prev_num_frames))
        if pred:
            num = cc.prev_num_frames
        else:
            num = 1 + c.ae_bypass_egk("su_num_frames_minus1", num - 1, 0, hi=MAX_FRAMES_PER_UNIT - 1)
        if c.reading:    # the writer's caller checks the level (it may write a negative stream)
            _check_num_frames(c, num, max_frames_per_unit(sh))
        cc.prev_num_frames = num
        _code_frames(c, su, num, sh, bounds, ctx, layout, periods)
        c.ae_end_padded()
        return su
    su.su_frame_idx_delta = c.ue("su_frame_idx_delta", su.su_frame_idx_delta, hi=MAX_FRAME_IDX_DELTA)
    if sh.sh_sem_temporal_flag:
        # A frame that codes nothing cannot be told from the end of the payload: the count is
        # coded (7.3.5a).
        num = 1 + c.ue("su_num_frames_minus1", len(su.frames) - 1, hi=MAX_FRAMES_PER_UNIT - 1)
        if c.reading:
            _check_num_frames(c, num, max_frames_per_unit(sh))
        _code_frames(c, su, num, sh, bounds, None, layout, periods)
        c.trailing_bits()
        return su
    if c.reading:
        su.frames = []
    f = 0
    bound = max_frames_per_unit(sh)
    while True:    # frames up to the unit_trailing_bits( ) (7.4.4a)
        if c.reading:
            _check_num_frames(c, f + 1, bound)
            su.frames.append(SemanticFrame())
        code_semantic_frame_compact(c, su.frames[f], f, sh, bounds, None, layout)
        f += 1
        if not c.more_payload_data(f < len(su.frames)):
            break
    c.trailing_bits()
    return su


def _code_frames(c: Coder, su: SemanticUnit, num: int, sh: SequenceHeader, bounds: list[int],
                 ctx: SemanticContextState | None, layout: GroupLayout, periods: list[int]) -> None:
    """The NumFrames semantic_frame_2( f ) of a unit whose frame count is known (7.3.5a), each
    with its FrameGroupList( f ) (7.2a)."""
    if c.reading:
        su.frames = [SemanticFrame() for _ in range(num)]
    for f, frame in enumerate(su.frames):
        code_semantic_frame_compact(c, frame, f, sh, bounds, ctx, layout,
                                    frame_group_list(layout.groups, periods, f, num))


def code_semantic_frame_compact(c: Coder, frame: SemanticFrame, f: int, sh: SequenceHeader,
                                bounds: list[int], ctx: SemanticContextState | None,
                                layout: GroupLayout, groups: list[int] | None = None) -> SemanticFrame:
    """One frame of semantic-unit syntax 2 (spec 7.3.5a): sf_skip_flag, sf_group_flag of each
    group of FrameGroupList( f ) (groups; default GroupList, every group), then the residuals of
    the elements of the changed groups. A frame whose FrameGroupList is empty codes nothing and
    changes no parsing state (7.4.4a, 9.3.6). ctx None: Exp-Golomb mode. Also what the
    encoder's rate estimation codes on the side."""
    n = sh.num_sem_elements
    cabac = ctx is not None
    if groups is None:
        groups = layout.groups
    if not c.reading and frame.sem_res and any(frame.sem_res[i] for i in range(n)
                                               if layout.group[i] not in groups):
        raise ValueError(f"frame {f}: a group not coded in this frame (not an anchor, 7.2a) "
                         "has a non-zero residual")
    if not groups:
        frame.sf_skip_flag, frame.sem_res = 1, [0] * n
        return frame
    if not c.reading and not frame.sf_skip_flag and len(frame.sem_res) != n:
        raise ValueError(f"frame {f} has {len(frame.sem_res)} residuals, expected {n}")
    if not c.reading and frame.sf_skip_flag != int(not any(frame.sem_res)) and frame.sem_res:
        # Syntax 2 has no "coded frame of zero residuals": a frame is skipped exactly when all
        # its residuals are 0 (the inferred flags below need it).
        raise ValueError(f"frame {f}: sf_skip_flag must be 1 exactly when all residuals are 0")
    if cabac:
        assert ctx is not None
        skip = c.ae_decision(f"sf_skip_flag[{f}]", ctx.skip[ctx.prev_skip], frame.sf_skip_flag)
        ctx.prev_skip = skip
    else:
        skip = c.u(f"sf_skip_flag[{f}]", 1, frame.sf_skip_flag)
    frame.sf_skip_flag = skip
    if c.reading or skip:
        frame.sem_res = [0] * n
    prev_group = ctx.compact.prev_group if cabac else None
    coded = [0] * NUM_SEM_GROUPS
    if not skip:
        any_coded = False
        last = groups[-1]
        for g in groups:
            value = int(any(frame.sem_res[i] for i in layout.members[g])) if not c.reading else 0
            if g == last and not any_coded:
                flag = 1     # inferred: a frame that is not skipped changes some group (7.4.4a)
            elif cabac:
                assert prev_group is not None and ctx is not None
                inc = prev_group[g] + 2 * int(any_coded)
                flag = c.ae_decision(f"sf_group_flag[{f}][{g}]", ctx.compact.group_flag[g][inc], value)
            else:
                flag = c.u(f"sf_group_flag[{f}][{g}]", 1, value)
            coded[g] = flag
            any_coded = any_coded or bool(flag)
        sig_so_far = {g: 0 for g in layout.groups}      # significant elements of g so far
        left = {g: len(layout.members[g]) for g in layout.groups}
        for i in range(n):
            g = layout.group[i]
            if not coded[g]:     # (before counting: a layout may leave a group out of GroupList)
                frame.sem_res[i] = 0
                continue
            left[g] -= 1
            must = left[g] == 0 and sig_so_far[g] == 0    # last chance of a changed group
            if cabac:
                assert ctx is not None
                j = layout.prev_in_group[i]
                neighbour = int(j >= 0 and frame.sem_res[j] != 0)
                value = code_sem_res_compact_cabac(c, f, i, frame.sem_res[i], bounds[i], ctx,
                                                   neighbour, must)
            else:
                value = code_sem_res_compact_eg(c, f, i, frame.sem_res[i], bounds[i], must)
            frame.sem_res[i] = value
            sig_so_far[g] += value != 0
    if cabac:
        assert ctx is not None and prev_group is not None
        prev = ctx.prev_res
        for i in range(n):
            prev[i] = frame.sem_res[i]
        for g in range(NUM_SEM_GROUPS):
            prev_group[g] = coded[g]
    return frame


def code_sem_res_compact_eg(c: Coder, f: int, i: int, value: int, bound: int, must: bool) -> int:
    """sem_res[ f ][ i ] of syntax 2 in Exp-Golomb mode (7.3.5a): se(v), or, when it cannot be 0
    (the last element of a changed group with no significant element before it), se(v) of
    sem_res_nz, the value with the 0 removed (7.4.4a)."""
    if not must:
        return c.se(f"sem_res[{f}][{i}]", value, lo=-bound, hi=bound)
    if not c.reading and value == 0:
        raise ValueError(f"sem_res[{f}][{i}] cannot be 0 here (its group changed)")
    coded = value - 1 if value > 0 else value
    coded = c.se(f"sem_res_nz[{f}][{i}]", coded, lo=-bound, hi=bound - 1)
    return coded + 1 if coded >= 0 else coded


def code_sem_res_compact_cabac(c: Coder, f: int, i: int, value: int, bound: int,
                               ctx: SemanticContextState, neighbour: int, must: bool) -> int:
    """sem_res[ f ][ i ] of syntax 2 in CABAC mode (7.3.5a, 9.3.6.2): sem_res_sig_flag (ctxInc
    ( PrevRes[ i ] != 0 ) + 2 * neighbour), inferred 1 when must; sem_res_gt1_flag (ctxInc
    Abs( PrevRes[ i ] ) > 1); then, as in H.266's residual coding, the parity
    sem_res_par_flag and sem_res_gt3_flag (contexts from LastAbs[ i ], the magnitude of the
    element's last non-zero residual) and the remainder sem_res_abs_rem = ( Abs - 4 ) >> 1 in
    bypass EGk, so Abs = 2 + par + 2 * ( gt3 + rem ); the sign with ctxInc LastSign[ i ]."""
    ec = ctx.elements[i]
    cc = ctx.compact
    p = ctx.prev_res[i]
    a = abs(value)
    if must:
        sig = 1
        if not c.reading and a == 0:
            raise ValueError(f"sem_res[{f}][{i}] cannot be 0 here (its group changed)")
    else:
        sig = c.ae_decision(f"sem_res_sig_flag[{f}][{i}]", cc.sig[i][int(p != 0) + 2 * neighbour],
                            int(a > 0))
    if not sig:
        return 0
    a_dec = 1
    if c.ae_decision(f"sem_res_gt1_flag[{f}][{i}]", ec.gt1[abs(p) > 1], int(a > 1)):
        last = cc.last_abs[i]
        par = c.ae_decision(f"sem_res_par_flag[{f}][{i}]",
                            cc.par[i][0 if last == 0 else 1 + (last & 1)], a & 1)
        a_dec = 2 + par
        if c.ae_decision(f"sem_res_gt3_flag[{f}][{i}]",
                         cc.gt3[i][0 if last == 0 else 1 if last <= 3 else 2], int(a > 3)):
            rem = c.ae_bypass_egk(f"sem_res_abs_rem[{f}][{i}]", (a - 4) >> 1, ec.rice_stat >> 2,
                                  hi=(bound - 4 - par) >> 1)
            ec.update_rice_stat(rem)
            a_dec = 4 + par + 2 * rem
    cc.last_abs[i] = a_dec
    last_sign = cc.last_sign
    neg = c.ae_decision(f"sem_res_sign_flag[{f}][{i}]", ec.sign[last_sign[i]], int(value < 0))
    last_sign[i] = 2 if neg else 1
    return -a_dec if neg else a_dec
