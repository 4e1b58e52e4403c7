"""Temporal-resolution study (issue 13): does coding some semantic element groups at a lower
frame rate beat RDOQ alone at equal semantic distortion? Results in
docs/results/temporal_resolution_<date>/.

    python -m tools.temporal_resolution_study rate    [--factors 2 3] [--lambda-scales ...] [--bounds ...]
    python -m tools.temporal_resolution_study tables  [--out R]     (rate.md again from R/rate.json)
    python -m tools.temporal_resolution_study errors  --variant LABEL=METHOD:GROUPS:FACTOR:LAMBDA_SCALE:BOUND ...
    python -m tools.temporal_resolution_study quality --variant LABEL=METHOD:GROUPS:FACTOR:LAMBDA_SCALE:BOUND ...
                                                      [--names ...] [--frames N]

Three ways of coding the semantic frames of a clip (Compact profile, semantic-unit syntax 2,
CABAC, 8 frames per unit, RDOQ of ref_encoder/semantic_rdoq.py, analysed semantics from the
cache of tools/semantics_cache.py smoothed as the encoder does; frame 0 is the key frame):

- full: every frame coded (today's encoder), over a sweep of lambda and the error bound;
- hold: the elements of a group set (head, eyes, mouth or all) change only at anchor frames
  and repeat their levels in between. Legal today: the group is coded with sf_group_flag 0
  (or, for all groups, sf_skip_flag 1) in the frames between; bits from the real syntax;
- interp: the same anchor frames, but the frames between are not coded for that group at
  all and the decoder interpolates its levels linearly between the anchors with the integer
  rule of interpolate_level( ) (a spec change; see the assumptions below).

Anchor frames (anchor_mask( )): within a semantic unit of NumFrames frames, frame f is an
anchor when (f + 1) % factor == 0 or f == NumFrames - 1. The last frame of a unit is always an
anchor, so interpolation never reaches into the next unit and adds no delay beyond the unit's.

Bit accounting of interp (the proposed syntax, simulated here with the shared syntax-2 code):
the factor of each group set is a sequence-level parameter (counted as 8 bits per stream);
in a frame that is not an anchor the sub-sampled groups are absent from GroupList (no
sf_group_flag, no residuals; PrevGroup of an absent group becomes 0); a frame whose present
groups are all unchanged is skipped (sf_skip_flag 1). Residuals of a sub-sampled group at an
anchor are predicted from its previous anchor (PrevLevel is not updated by interpolated
levels, so decoding stays closed loop and causal within the unit). The unit framing is syntax
2's, coded by _code_unit( ), which reproduces bitstream.StreamWriter byte for byte when no
group is absent (checked by tests/test_temporal_resolution_study.py). The encoder's RDOQ at an
anchor sees only the anchor's own distortion (the interpolated frames' error is measured, not
optimised), and the error bound is not enforced on interpolated frames (their largest error is
reported).

Distortion: RDOQ's D = sum_i (w_i (level_i 2^-p_i - v_i))^2 (milli-LPIPS-Alex squared, visual
weights of ref_encoder/semantic_visual_weights.py) on the decoded levels of every semantic
frame, per frame; per group also the mean squared level error (unweighted, in levels) and the
largest level error. BD-rate (conformance/campaign/bd_rate.py, PCHIP) of each sub-sampled
configuration against full, on the Pareto fronts of (bits/frame, -10 log10 D).

quality: for the best configuration, the reference encoder (VVC key frame, Compact defaults)
codes the first --frames frames of a few clips once; the semantic levels of each variant are
derived from the encoder's own analysed values with the same coding loop and written into the
stream in place of the encoder's (key-frame units byte for byte, StreamWriter), so the
reference decoder (geometric generator) shows exactly the levels the variant decodes; LPIPS-Alex
and PSNR-RGB on every frame against the source, and strips (source | RDOQ | sub-sampled) of the
fastest head turn (yaw speed), the deepest blink and the frame where the last
variant's mouth_open differs most from the first's, with the frames before and after.
"""
from __future__ import annotations

import argparse
import copy
import datetime
import json
import math
import sys
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from bitstream.cabac_contexts import SemanticContextState
from bitstream.profiles import PROFILE_COMPACT
from bitstream.semantic_elements import DEFAULT_ELEMENT_IDS, ELEMENT_BY_ID, SEMANTIC_ELEMENTS
from bitstream.semantic_temporal import interpolate_level  # the rule adopted in spec 8.3.4
from bitstream.semantic_unit_compact import (GROUP_EYES, GROUP_HEAD, GROUP_MOUTH, GROUP_NAMES, GroupLayout,
                                             code_semantic_frame_compact, group_layout)
from bitstream.structures import (ENTROPY_CABAC, MAX_FRAMES_PER_UNIT, Coder, SemanticFrame, SequenceHeader,
                                  residual_bound)
from bitstream.syntax_coder import SyntaxWriter
from bitstream.units import UnitType, frame_unit
from ifvc_common.outputs import OutputTransaction
from tools.study_output import write_study
from ref_encoder.rate_estimation import SemanticRateModel
from ref_encoder.semantic_rdoq import SemanticQuantiser, default_max_level_error, lambda_for_qp
from ref_encoder.semantic_visual_weights import VISUAL_WEIGHTS

NAMES = [e.name for e in SEMANTIC_ELEMENTS]
GROUP_SETS: dict[str, tuple[int, ...]] = {"head": (GROUP_HEAD,), "eyes": (GROUP_EYES,), "mouth": (GROUP_MOUTH,),
                                          "all": (GROUP_HEAD, GROUP_EYES, GROUP_MOUTH),
                                          "head+mouth": (GROUP_HEAD, GROUP_MOUTH)}
DEFAULT_GROUP_SETS = ("head", "eyes", "mouth", "all")
METHODS = ("full", "hold", "interp")
HEADER_BITS_INTERP = 8      # the sequence-level factors of the proposal (a generous guess)
DEFAULT_QP = 42
DEFAULT_FPU = 8


# ---------------------------------------------------------------------------------------
# The decoder rules studied (pure functions; tests/test_temporal_resolution_study.py)
# ---------------------------------------------------------------------------------------
def anchor_mask(num_frames: int, factor: int) -> list[bool]:
    """Anchor frames of a unit of num_frames frames at this factor: (f + 1) % factor == 0, and the
    unit's last frame. factor 1: every frame."""
    if factor < 1 or num_frames < 1:
        raise ValueError("factor and num_frames must be at least 1")
    return [(f + 1) % factor == 0 or f == num_frames - 1 for f in range(num_frames)]


def sequence_anchor_mask(num_semantic: int, fpu: int, factor: int) -> list[bool]:
    """anchor_mask( ) of each unit of fpu frames (the last one shorter) over num_semantic frames."""
    out: list[bool] = []
    for start in range(0, num_semantic, fpu):
        out += anchor_mask(min(fpu, num_semantic - start), factor)
    return out


def fill_track(track: Sequence[int], is_anchor: Sequence[bool], mode: str) -> list[int]:
    """One element's levels with the frames that are not anchors rebuilt from the anchors:
    "hold" repeats the previous anchor, "interp" interpolates (interpolate_level) between the
    previous and the next anchor (hold after the last one). track[0] must be an anchor (the key
    frame); values of non-anchor frames in track are ignored."""
    if mode not in ("hold", "interp"):
        raise ValueError(f"mode must be hold or interp, not {mode!r}")
    if len(track) != len(is_anchor) or not is_anchor[0]:
        raise ValueError("track and is_anchor must have the same length and start with an anchor")
    out = list(track)
    anchors = [n for n, a in enumerate(is_anchor) if a]
    for a, b in zip(anchors, anchors[1:] + [len(track)]):
        for n in range(a + 1, b):
            if mode == "interp" and b < len(track):
                out[n] = interpolate_level(track[a], track[b], n - a, b - a)
            else:
                out[n] = track[a]
    return out


# ---------------------------------------------------------------------------------------
# Coding (the real syntax 2, with groups made absent for the proposal)
# ---------------------------------------------------------------------------------------
def reduced_layout(sh: SequenceHeader, absent: tuple[int, ...]) -> GroupLayout | None:
    """The header's GroupLayout with the groups in absent removed from GroupList (their elements
    keep their group: code_semantic_frame_compact then codes nothing for them); None when no
    group is left (the frame is not coded at all, not even its sf_skip_flag)."""
    layout = copy.copy(group_layout(sh))
    layout.groups = [g for g in layout.groups if g not in absent]
    return layout if layout.groups else None


def code_unit_subsampled(c: Coder, res: list[list[int]], layouts_for: Callable[[int], list[GroupLayout | None]],
                         sh: SequenceHeader, ctx: SemanticContextState) -> list[list[int]]:
    """The payload of a semantic unit of the proposal in CABAC mode (syntax 2 of spec 7.3.5a, no
    frame index delta, no extension data), written or read: NumFrames counts every frame, and
    frame f is coded with layouts_for(NumFrames)[ f ] (None: nothing coded for the frame).
    Returns the residuals (those of absent groups 0). With the header's own layout for every
    frame this is code_semantic_unit_compact's CABAC branch (the test checks the bytes against
    StreamWriter); advances ctx as the parser would."""
    bounds = [residual_bound(sh, i) for i in range(sh.num_sem_elements)]
    n = sh.num_sem_elements
    if not c.reading and not 1 <= len(res) <= MAX_FRAMES_PER_UNIT:
        raise ValueError(f"1..{MAX_FRAMES_PER_UNIT} frames per unit, not {len(res)}")
    cc = ctx.compact
    c.start_ae_padded()
    if c.ae_decision("su_frame_idx_delta_flag", cc.frame_idx_delta_flag, 0):
        raise ValueError("the study's units carry no frame index delta")
    num = len(res)
    pred = 0
    if cc.prev_num_frames > 0:
        pred = c.ae_decision("su_num_frames_pred_flag", cc.num_frames_pred_flag, int(num == cc.prev_num_frames))
    if pred:
        num = cc.prev_num_frames
    else:
        num = 1 + c.ae_bypass_egk("su_num_frames_minus1", num - 1, 0, hi=MAX_FRAMES_PER_UNIT - 1)
    cc.prev_num_frames = num
    out = []
    for f, layout in enumerate(layouts_for(num)):
        r = [0] * n if c.reading else list(res[f])
        frame = SemanticFrame(int(not any(r)), r)
        if layout is not None:
            code_semantic_frame_compact(c, frame, f, sh, bounds, ctx, layout)
        out.append(list(frame.sem_res) if frame.sem_res else [0] * n)
    c.ae_end_padded()
    return out


def _code_unit(res: list[list[int]], layouts: list[GroupLayout | None], sh: SequenceHeader,
               ctx: SemanticContextState) -> bytes:
    """A whole semantic unit (header + payload) of the proposal, written (see code_unit_subsampled)."""
    c = SyntaxWriter()
    code_unit_subsampled(c, res, lambda num: layouts, sh, ctx)
    return frame_unit(UnitType.SEMANTIC, c.getvalue())


class _FreezingQuantiser(SemanticQuantiser):
    """RDOQ in which the elements of `frozen` keep their predicted level (a group between anchors)."""
    frozen: frozenset[int] = frozenset()

    def candidates(self, i: int, value: float, pred: int) -> list[int]:
        if i in self.frozen:
            return [pred]
        return super().candidates(i, value, pred)


def study_header(num_frames: int) -> SequenceHeader:
    """The encoder's default element set (DEFAULT_ELEMENT_IDS: no head_loc) at the default
    precisions, CABAC, Compact profile."""
    from conformance.synthetic_semantics import baseline_header
    sh = baseline_header(ENTROPY_CABAC, num_frames)
    sh.sh_sem_element_id = list(DEFAULT_ELEMENT_IDS)
    sh.sh_sem_precision = [ELEMENT_BY_ID[e].default_precision for e in DEFAULT_ELEMENT_IDS]
    sh.sh_profile_idc = PROFILE_COMPACT
    return sh


@dataclass
class CodedClip:
    """One clip coded one way: the decoded levels of every frame (key frame first), the
    semantic units' bytes and the bits spent."""
    levels: list[list[int]]
    units: list[bytes]
    bits: int
    anchors: list[bool] = field(default_factory=list)


@dataclass
class Variant:
    """One coding setting of the errors and quality parts (--variant LABEL=METHOD:GROUPS:FACTOR:
    LAMBDA_SCALE:BOUND)."""
    label: str
    method: str
    groups: str          # a GROUP_SETS key, or "-" for full
    factor: int
    lambda_scale: float
    bound: float

    def code(self, values: np.ndarray, sh: SequenceHeader, key_levels: list[int] | None = None,
             qp: int = DEFAULT_QP) -> "CodedClip":
        return code_clip(values, self.method, GROUP_SETS.get(self.groups, ()), self.factor,
                         lambda_for_qp(qp) * self.lambda_scale, self.bound, key_levels=key_levels, sh=sh)


def code_clip(values: np.ndarray, method: str, groups: tuple[int, ...], factor: int, lam: float | None,
              bound: float, fpu: int = DEFAULT_FPU, key_levels: list[int] | None = None,
              sh: SequenceHeader | None = None) -> CodedClip:
    """Codes a smoothed trajectory (values[0]: the key frame; key_levels: its levels, default the
    rounded values) as the encoder does (RDOQ closed loop, CABAC state of the writer), with the
    elements of groups sub-sampled by factor (method hold or interp; full ignores them)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}")
    sh = sh or study_header(len(values))
    q = _FreezingQuantiser(sh, lam, VISUAL_WEIGHTS, max_level_error=bound)
    full_layout = group_layout(sh)
    sub = method != "full" and factor > 1
    members = [i for i, g in enumerate(full_layout.group) if sub and g in groups]
    absent_layout = reduced_layout(sh, groups) if sub and method == "interp" else full_layout
    anchors = [True] + (sequence_anchor_mask(len(values) - 1, fpu, factor) if sub else [True] * (len(values) - 1))
    scale = [float(1 << p) for p in sh.sh_sem_precision]
    coded = list(key_levels) if key_levels is not None else q.round_levels(values[0])
    ctx = sh.new_context_state()        # initialised at the first unit after the key frame (9.3.1)
    coded_track = [list(coded)]
    units: list[bytes] = []
    for start in range(1, len(values), fpu):
        rate = SemanticRateModel(sh, copy.deepcopy(ctx))
        res, layouts = [], []
        for n in range(start, min(start + fpu, len(values))):
            anchor = anchors[n]
            q.frozen = frozenset() if anchor else frozenset(members)
            v = [coded[i] / scale[i] if i in q.frozen else float(x) for i, x in enumerate(values[n])]
            layout = full_layout if anchor else absent_layout
            if layout is None:           # nothing of this frame is coded
                r = [0] * len(coded)
            else:
                rate.layout = layout
                decision = q.choose(v, coded, rate)
                r = [a - b for a, b in zip(decision.levels, coded)]
                rate.commit(r)
                coded = decision.levels
            res.append(r)
            layouts.append(layout)
            coded_track.append(list(coded))
        units.append(_code_unit(res, layouts, sh, ctx))
    levels = coded_track
    if sub and method == "interp":
        arr = np.array(coded_track)
        for i in members:
            arr[:, i] = fill_track(arr[:, i].tolist(), anchors, "interp")
        levels = arr.tolist()
    bits = 8 * sum(len(u) for u in units) + (HEADER_BITS_INTERP if sub and method == "interp" else 0)
    return CodedClip(levels, units, bits, anchors)


def distortion_terms(levels: np.ndarray, values: np.ndarray, sh: SequenceHeader) -> dict[str, object]:
    """Per-frame sums over the semantic frames (row 0, the key frame, excluded): weighted D (RDOQ's),
    and per group weighted D, squared level error and the largest level error (head_loc excluded:
    derived, no weight)."""
    layout = group_layout(sh)
    scale = np.array([float(1 << p) for p in sh.sh_sem_precision])
    w = np.array([VISUAL_WEIGHTS.get(NAMES[e], 0.0) for e in sh.sh_sem_element_id])
    err_levels = levels[1:] - values[1:] * scale
    dw = (w * (err_levels / scale)) ** 2
    keep = np.array([NAMES[e] != "head_loc" for e in sh.sh_sem_element_id])
    out: dict[str, object] = {"d_weighted": float(dw.sum())}
    for g in (GROUP_HEAD, GROUP_EYES, GROUP_MOUTH):
        idx = [i for i in layout.members.get(g, []) if keep[i]]
        name = GROUP_NAMES[g]
        out[f"d_weighted_{name}"] = float(dw[:, idx].sum())
        out[f"sse_levels_{name}"] = float((err_levels[:, idx] ** 2).sum())
        out[f"max_err_{name}"] = float(np.abs(err_levels[:, idx]).max()) if len(err_levels) else 0.0
    return out


# ---------------------------------------------------------------------------------------
# Rate study: the sweep, Pareto fronts and BD-rates
# ---------------------------------------------------------------------------------------
def _configs(factors: list[int], group_sets: Sequence[str] = DEFAULT_GROUP_SETS) -> list[tuple[str, str, int]]:
    out = [("full", "-", 1)]
    for method in ("hold", "interp"):
        for gs in group_sets:
            for f in factors:
                out.append((method, gs, f))
    return out


def config_label(method: str, gs: str, factor: int) -> str:
    return "full (RDOQ, every frame)" if method == "full" else f"{method} {gs} /{factor}"


def pareto(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The (rate, distortion) points no other point beats in both (lower is better in both),
    sorted by rate; equal distortions keep the cheapest."""
    front: list[tuple[float, float]] = []
    for r, d in sorted(points):
        if not front or d < front[-1][1]:
            front.append((r, d))
    return front


def bd_on_fronts(anchor: list[tuple[float, float]], test: list[tuple[float, float]]) -> tuple[float, float, list[str]]:
    """BD-rate (%) of test against anchor with quality -10 log10(D) (higher is better), on their
    Pareto fronts; also the share of the anchor's quality range they share."""
    from conformance.campaign.bd_rate import bd_rate
    fa, ft = pareto(anchor), pareto(test)
    if any(d <= 0 for _, d in fa + ft):
        return math.nan, 0.0, ["a distortion of 0"]
    res = bd_rate([r for r, _ in fa], [-10 * math.log10(d) for _, d in fa],
                  [r for r, _ in ft], [-10 * math.log10(d) for _, d in ft], min_overlap=0.3)
    return res.value, res.quality_overlap, res.warnings


def rate_study(names: list[str], factors: list[int], lambda_scales: list[float], bounds: list[float],
               group_sets: Sequence[str] = DEFAULT_GROUP_SETS, qp: int = DEFAULT_QP) -> dict[str, object]:
    from ref_encoder.analysis import apply_smoothing
    from tools.semantics_cache import raw_semantics
    # values in header order (the signalled elements of study_header)
    series = {n: apply_smoothing(raw_semantics(n)[0], "one_euro")[:, list(DEFAULT_ELEMENT_IDS)] for n in names}
    frames = sum(len(v) - 1 for v in series.values())
    base_lam = lambda_for_qp(qp)
    points: list[dict[str, object]] = []
    for method, gs, factor in _configs(factors, group_sets):
        for bound in bounds:
            for s in lambda_scales:
                acc: dict[str, float] = {}
                for v in series.values():
                    sh = study_header(len(v))
                    clip = code_clip(v, method, GROUP_SETS.get(gs, ()), factor, base_lam * s, bound, sh=sh)
                    terms = distortion_terms(np.array(clip.levels, dtype=np.float64), v, sh)
                    for k, x in {"bits": clip.bits, **terms}.items():
                        if k.startswith("max_err"):      # largest over the clips, the rest summed
                            acc[k] = max(acc.get(k, 0.0), float(x))
                        else:
                            acc[k] = acc.get(k, 0.0) + float(x)
                row = {"method": method, "groups": gs, "factor": factor, "bound": bound, "lambda_scale": s,
                       "lambda": base_lam * s, **{k: (x if k.startswith("max_err") else x / frames)
                                                  for k, x in acc.items()}}
                points.append(row)
                print(f"rate: {config_label(method, gs, factor)} bound {bound:g} lambda x{s:g}: "
                      f"{row['bits']:.2f} bits/frame, D {row['d_weighted']:.4g}", file=sys.stderr, flush=True)
    return {"names": names, "frames": frames, "qp": qp, "base_lambda": base_lam, "factors": factors,
            "group_sets": list(group_sets),
            "lambda_scales": lambda_scales, "bounds": bounds, "points": points}


MEASURES = (("d_weighted", "weighted D, all elements"),
            ("d_weighted_head", "weighted D, head"),
            ("sse_levels_eyes", "level MSE, eyes"),
            ("sse_levels_mouth", "level MSE, mouth"),
            ("sse_levels_head", "level MSE, head"))


def _group_measures(gs: str) -> list[str]:
    """The distortion measures a configuration must not lose on: the overall weighted D and the
    level MSE of the sub-sampled groups (the weights hardly see the eyes)."""
    own = {"head": ["sse_levels_head"], "eyes": ["sse_levels_eyes"], "mouth": ["sse_levels_mouth"],
           "all": ["sse_levels_head", "sse_levels_eyes", "sse_levels_mouth"]}
    return ["d_weighted", *own.get(gs, [])]


def rate_markdown(data: dict[str, object]) -> tuple[str, list[dict[str, object]]]:
    points: list[dict] = data["points"]  # type: ignore[assignment]
    factors: list[int] = data["factors"]  # type: ignore[assignment]
    group_sets: list[str] = data.get("group_sets", list(DEFAULT_GROUP_SETS))  # type: ignore[attr-defined]
    bounds: list[float] = data["bounds"]  # type: ignore[assignment]
    default_bound = default_max_level_error(PROFILE_COMPACT)
    full = [p for p in points if p["method"] == "full"]
    out = [f"Test split: {len(data['names'])} clips, {data['frames']} semantic frames; Compact profile, syntax 2, "
           f"CABAC, 8 frames per unit; lambda = scale x {data['base_lambda']:.4g} (QP {data['qp']}); "
           f"error bounds {', '.join(f'{b:g}' for b in bounds)} levels. Bits: semantic units with framing, "
           "per semantic frame. D: RDOQ's weighted distortion (milli-LPIPS-Alex squared) per frame; level MSE: "
           "mean over frames of the sum of squared level errors of the group's elements; max: largest level error.",
           ""]
    out += ["### At the default (lambda scale 1, error bound %g)" % default_bound, "",
            "| configuration | bits/frame | change | D weighted | head MSE | eyes MSE | mouth MSE | max err head | "
            "max err eyes | max err mouth |", "|---|---|---|---|---|---|---|---|---|---|"]
    ref = next(p for p in full if p["lambda_scale"] == 1 and p["bound"] == default_bound)
    for method, gs, factor in _configs(factors, group_sets):
        p = next((x for x in points if (x["method"], x["groups"], x["factor"]) == (method, gs, factor)
                  and x["lambda_scale"] == 1 and x["bound"] == default_bound), None)
        if p is None:
            continue
        change = 100 * (p["bits"] / ref["bits"] - 1)
        out.append(f"| {config_label(method, gs, factor)} | {p['bits']:.2f} | {change:+.1f} % | "
                   f"{p['d_weighted']:.3f} | {p['sse_levels_head']:.3f} | {p['sse_levels_eyes']:.3f} | "
                   f"{p['sse_levels_mouth']:.3f} | {p['max_err_head']:.2f} | {p['max_err_eyes']:.2f} | "
                   f"{p['max_err_mouth']:.2f} |")
    summary = []
    for sel in [[default_bound], *[[b] for b in bounds if b != default_bound], list(bounds)]:
        what = f"error bound {sel[0]:g}, lambda sweep" if len(sel) == 1 else "every bound and lambda"
        out += ["", f"### BD-rate of the semantic bits against full: {what} (Pareto fronts; negative: fewer bits "
                "at equal distortion)", "",
                "| configuration | " + " | ".join(t for _, t in MEASURES) + " |", "|---|" + "---|" * len(MEASURES)]
        full_sel = [p for p in full if p["bound"] in sel]
        for method, gs, factor in _configs(factors, group_sets)[1:]:
            mine = [p for p in points if (p["method"], p["groups"], p["factor"]) == (method, gs, factor)
                    and p["bound"] in sel]
            cells = []
            row: dict[str, object] = {"method": method, "groups": gs, "factor": factor, "bounds": sel}
            for key, _ in MEASURES:
                bd, overlap, notes = bd_on_fronts([(p["bits"], p[key]) for p in full_sel],
                                                  [(p["bits"], p[key]) for p in mine])
                row[key] = bd
                row[f"{key}_overlap"] = overlap
                cells.append("-" if math.isnan(bd) else f"{bd:+.1f} %" + (" *" if overlap < 0.5 else ""))
            summary.append(row)
            out.append(f"| {config_label(method, gs, factor)} | " + " | ".join(cells) + " |")
    out += ["", "\\* the curves share less than half of the anchor's quality range.", "",
            "### Pareto front of full (RDOQ every frame)", "", "| bound | lambda scale | bits/frame | D weighted |",
            "|---|---|---|---|"]
    front = pareto([(p["bits"], p["d_weighted"]) for p in full])
    for r, d in front:
        p = next(x for x in full if x["bits"] == r and x["d_weighted"] == d)
        out.append(f"| {p['bound']:g} | {p['lambda_scale']:g} | {r:.2f} | {d:.4g} |")
    out += ["", "### Every point", "", "| configuration | bound | lambda scale | bits/frame | D weighted | head MSE | "
            "eyes MSE | mouth MSE |", "|---|---|---|---|---|---|---|---|"]
    for p in points:
        out.append(f"| {config_label(p['method'], p['groups'], p['factor'])} | {p['bound']:g} | "
                   f"{p['lambda_scale']:g} | {p['bits']:.2f} | {p['d_weighted']:.4g} | {p['sse_levels_head']:.3f} | "
                   f"{p['sse_levels_eyes']:.3f} | {p['sse_levels_mouth']:.3f} |")
    return "\n".join(out) + "\n", summary


def error_study(names: list[str], variants: list[Variant], qp: int = DEFAULT_QP) -> dict[str, object]:
    """Per element: largest level error, its 99th percentile and the share of semantic frames
    beyond the variant's error bound, over the clips (the interpolated frames are not bound)."""
    from ref_encoder.analysis import apply_smoothing
    from tools.semantics_cache import raw_semantics
    series = [apply_smoothing(raw_semantics(n)[0], "one_euro")[:, list(DEFAULT_ELEMENT_IDS)] for n in names]
    rows = []
    for var in variants:
        errs = []
        for v in series:
            sh = study_header(len(v))
            clip = var.code(v, sh, qp=qp)
            scale = np.array([float(1 << p) for p in sh.sh_sem_precision])
            errs.append(np.abs(np.array(clip.levels[1:]) - v[1:] * scale))
        e = np.vstack(errs)
        bound = var.bound
        rows.append({"label": var.label, "max": e.max(0).tolist(), "p99": np.percentile(e, 99, axis=0).tolist(),
                     "beyond_bound": (e > bound + 1e-9).mean(0).tolist()})
    return {"elements": [NAMES[e] for e in DEFAULT_ELEMENT_IDS], "rows": rows,
            "variants": [asdict(v) for v in variants], "frames": sum(len(v) - 1 for v in series)}


def error_markdown(data: dict[str, object]) -> str:
    elements: list[str] = data["elements"]  # type: ignore[assignment]
    out = [f"Test split, {data['frames']} semantic frames: level error |level - v 2^p| of the decoded levels per "
           "element: largest / 99th percentile / share of frames beyond the variant's error bound.", "",
           "| element | " + " | ".join(str(r["label"]) for r in data["rows"]) + " |",  # type: ignore[attr-defined]
           "|---|" + "---|" * len(data["rows"])]  # type: ignore[arg-type]
    for k, name in enumerate(elements):
        cells = [f"{r['max'][k]:.2f} / {r['p99'][k]:.2f} / {100 * r['beyond_bound'][k]:.1f} %"
                 for r in data["rows"]]  # type: ignore[attr-defined]
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------
# Quality, end to end
# ---------------------------------------------------------------------------------------
def _rewrite_stream(stream: bytes, levels: list[list[int]], fpu: int) -> bytes:
    """The stream with its semantic frames replaced by levels[1:] (units of fpu frames); the
    sequence header and the key-frame unit byte for byte; hash units recomputed."""
    from bitstream.stream import ParsedKeyframe, ParsedSequenceHeader, StreamParser, StreamWriter
    writer: StreamWriter | None = None
    for unit in StreamParser().parse(stream):
        if isinstance(unit, ParsedSequenceHeader):
            writer = StreamWriter(unit.sh)
        elif isinstance(unit, ParsedKeyframe):
            assert writer is not None
            kf = unit.kf
            if kf.kf_ref_sem_level != levels[0]:
                raise RuntimeError("the variant's key-frame levels differ from the stream's")
            writer.keyframe(kf.kf_picture_payload, kf.kf_ref_sem_level, codec_id=kf.kf_codec_id,
                            geometry_version=kf.kf_geometry_version, geometry_payload=kf.kf_geometry_payload,
                            frame_idx_delta=kf.kf_frame_idx_delta, extension_data=kf.kf_extension_data)
            if writer.next_frame_idx != 1:
                raise RuntimeError("the study expects one key frame, first")
    assert writer is not None
    for start in range(1, len(levels), fpu):
        writer.semantic_unit(levels[start:start + fpu])
    writer.end_of_sequence()
    return writer.getvalue()


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    d = a.astype(np.float64) - b.astype(np.float64)
    mse = float(np.mean(d * d))
    return 100.0 if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


def quality_study(names: list[str], limit: int, variants: list[Variant], out_dir: Path,
                  strip_labels: list[str] | None = None, qp: int = DEFAULT_QP) -> dict[str, object]:
    """strip_labels: the variants shown in the strips (default all)."""
    unknown = set(strip_labels or []) - {v.label for v in variants}
    if unknown:
        raise ValueError(f"--strip-labels names no variant: {', '.join(sorted(unknown))}")
    import cv2

    from bitstream.raw_video import read_rgb444
    from conformance.metrics import lpips_frames
    from ref_decoder.decoder import Decoder
    from ref_encoder.encoder import Encoder, EncoderConfig
    from tools.semantics_cache import sequence_path
    rows: list[dict[str, object]] = []
    strips: list[tuple[str, np.ndarray]] = []
    order = [NAMES[e] for e in DEFAULT_ELEMENT_IDS]
    yaw, blink = order.index("head_yaw"), (order.index("eye_blink_left"), order.index("eye_blink_right"))
    mouth = order.index("mouth_open")
    for name in names:
        src = read_rgb444(sequence_path(name), max_frames=limit)
        enc = Encoder(EncoderConfig(keyframe_qp=qp), 256, 256, Fraction(25), num_frames=len(src)).encode(iter(src))
        if any(f.kind == "key" for f in enc.frames[1:]) or any(not f.face_found for f in enc.frames):
            print(f"quality: {name}: skipped (a second key frame or a frame without a face)", file=sys.stderr)
            continue
        values = np.array([enc.frames[0].values] + [f.analysed for f in enc.frames[1:]], dtype=np.float64)
        if values.shape[1] != len(DEFAULT_ELEMENT_IDS):      # table order -> header order
            values = values[:, list(DEFAULT_ELEMENT_IDS)]
        key = list(enc.frames[0].levels)
        sh = study_header(len(src))
        decoded: dict[str, np.ndarray] = {}
        coded_levels: dict[str, np.ndarray] = {}
        for var in variants:
            clip = var.code(values, sh, key_levels=key, qp=qp)
            if (var.method, var.lambda_scale, var.bound) == ("full", 1, default_max_level_error(PROFILE_COMPACT)):
                same = clip.levels == [list(f.levels) for f in enc.frames]
                print(f"quality: {name}: study loop reproduces the encoder's levels: {same}", file=sys.stderr)
            dec = np.stack([f.rgb for f in Decoder().decode(_rewrite_stream(enc.stream, clip.levels, DEFAULT_FPU))])
            if len(dec) != len(src):
                raise RuntimeError(f"{name}: {len(dec)} decoded frames for {len(src)}")
            alex = lpips_frames(src, dec, "alex", batch_size=8)
            psnr = [_psnr(s, d) for s, d in zip(src, dec)]
            terms = distortion_terms(np.array(clip.levels, dtype=np.float64), values, sh)
            rows.append({"sequence": name, "label": var.label, "frames": len(src),
                         "sem_bits_per_frame": clip.bits / (len(src) - 1), "lpips_alex": float(np.mean(alex)),
                         "psnr_rgb": float(np.mean(psnr)),
                         "d_weighted": float(terms["d_weighted"]) / (len(src) - 1),  # type: ignore[arg-type]
                         "per_frame_lpips_alex": [round(float(a), 5) for a in alex]})
            decoded[var.label] = dec
            coded_levels[var.label] = np.array(clip.levels)
            print(f"quality: {name} {var.label}: {rows[-1]['sem_bits_per_frame']:.2f} bits/frame, LPIPS-Alex "
                  f"{rows[-1]['lpips_alex']:.4f}, PSNR {rows[-1]['psnr_rgb']:.2f}", file=sys.stderr, flush=True)
        labels = strip_labels or [v.label for v in variants]
        # degrees per frame between semantic frames (row 0 holds the key frame's decoded-picture values)
        speed = np.abs(np.diff(values[:, yaw], n=1, prepend=values[0, yaw]))
        speed[:2] = 0
        picks = {"head_turn": int(np.argmax(speed)),
                 "blink": int(np.argmin(values[:, blink[0]] + values[:, blink[1]])),
                 # where the last strip variant's mouth opening differs most from the first's
                 "mouth": int(np.argmax(np.abs(coded_levels[labels[-1]][:, mouth]
                                               - coded_levels[labels[0]][:, mouth])))}
        for kind, k in picks.items():
            if k == 0:
                continue
            lo, hi = max(1, k - 1), min(len(src), k + 2)     # the event and its neighbours
            grid = np.concatenate([np.concatenate([src[n]] + [decoded[lb][n] for lb in labels], axis=1)
                                   for n in range(lo, hi)], axis=0)
            strips.append((f"{name}_{kind}_frames{lo:03d}-{hi - 1:03d}.png", grid))
    (out_dir / "strips").mkdir(parents=True, exist_ok=True)
    with OutputTransaction() as outputs:
        for fname, img in strips:
            ok, png = cv2.imencode(".png", cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
            if not ok:
                raise RuntimeError(f"cannot encode {fname}")
            outputs.write_bytes(out_dir / "strips" / fname, png.tobytes())
    return {"rows": rows, "variants": [asdict(v) for v in variants], "strips": [s for s, _ in strips],
            "frames": limit, "qp": qp, "strip_labels": strip_labels or [v.label for v in variants]}


def quality_markdown(data: dict[str, object]) -> str:
    rows: list[dict] = data["rows"]  # type: ignore[assignment]
    labels = [str(v["label"]) for v in data["variants"]]  # type: ignore[attr-defined]
    names = sorted({r["sequence"] for r in rows})
    out = [f"Reference encoder (VVC key frame at QP {data['qp']}, Compact defaults), first {data['frames']} frames; "
           "semantic levels of each variant written into the stream; reference decoder (geometric generator). "
           "LPIPS-Alex and PSNR-RGB on every frame, mean per clip then over clips. Strips: columns source | "
           + " | ".join(data.get("strip_labels", labels))  # type: ignore[attr-defined]
           + ", rows the event frame and its neighbours.", "",
           "| variant | semantic bits/frame | D weighted | LPIPS-Alex | PSNR-RGB |", "|---|---|---|---|---|"]
    for lb in labels:
        sel = [r for r in rows if r["label"] == lb]
        out.append(f"| {lb} | {np.mean([r['sem_bits_per_frame'] for r in sel]):.2f} | "
                   f"{np.mean([r['d_weighted'] for r in sel]):.3f} | {np.mean([r['lpips_alex'] for r in sel]):.4f} | "
                   f"{np.mean([r['psnr_rgb'] for r in sel]):.2f} |")
    out += ["", "| clip | " + " | ".join(f"{lb} bits / LPIPS-Alex" for lb in labels) + " |",
            "|---|" + "---|" * len(labels)]
    for n in names:
        cells = []
        for lb in labels:
            r = next(x for x in rows if x["sequence"] == n and x["label"] == lb)
            cells.append(f"{r['sem_bits_per_frame']:.2f} / {r['lpips_alex']:.4f}")
        out.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def _parse_variant(text: str) -> Variant:
    """label=method:groups:factor:lambda_scale:bound, e.g. interp=interp:head:2:1:3."""
    label, _, spec = text.partition("=")
    parts = spec.split(":")
    if not label or len(parts) != 5 or parts[0] not in METHODS or (parts[1] not in GROUP_SETS and parts[1] != "-"):
        raise argparse.ArgumentTypeError(f"variant {text!r}: expected LABEL=METHOD:GROUPS:FACTOR:LAMBDA_SCALE:BOUND")
    try:
        return Variant(label, parts[0], parts[1], int(parts[2]), float(parts[3]), float(parts[4]))
    except ValueError:
        raise argparse.ArgumentTypeError(f"variant {text!r}: FACTOR must be an integer, LAMBDA_SCALE and BOUND "
                                         "numbers") from None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="temporal_resolution_study", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("part", choices=["rate", "tables", "errors", "quality"],
                    help="tables: rate.md again from the rate.json in --out (no coding); errors: per-element "
                         "level errors of the --variant settings")
    ap.add_argument("--split", default="test", choices=["train", "validation", "test"])
    ap.add_argument("--factors", type=int, nargs="+", default=[2, 3])
    ap.add_argument("--lambda-scales", type=float, nargs="+", default=[0.125, 0.25, 0.5, 1, 2, 4, 8])
    ap.add_argument("--bounds", type=float, nargs="+", default=[2, 3, 4, 6])
    ap.add_argument("--group-sets", nargs="+", choices=list(GROUP_SETS), default=list(DEFAULT_GROUP_SETS),
                    help="rate: the group sets sub-sampled")
    ap.add_argument("--names", nargs="+", help="quality: clips (default: the split)")
    ap.add_argument("--frames", type=int, default=60, help="quality: first frames of each clip")
    ap.add_argument("--variant", type=_parse_variant, action="append",
                    help="quality: LABEL=METHOD:GROUPS:FACTOR:LAMBDA_SCALE:BOUND (repeatable, in column order)")
    ap.add_argument("--strip-labels", nargs="+", help="quality: the variants shown in the strips (default all)")
    ap.add_argument("--out", type=Path, help="folder (default docs/results/temporal_resolution_<UTC date>)")
    args = ap.parse_args(argv)
    from tools.semantics_cache import load_split, sequence_path
    names = args.names or load_split()[args.split]
    missing = [n for n in names if not sequence_path(n).is_file()]
    if missing:
        print(f"error: sequences missing ({', '.join(missing)}): run python -m tools.prepare_sequences "
              "--raw ../shared/data/faces/raw --out work/sequences", file=sys.stderr)
        return 2
    today = datetime.datetime.now(datetime.UTC)
    out_dir = args.out or Path("docs") / "results" / f"temporal_resolution_{today:%Y-%m-%d}"
    command = "python -m tools.temporal_resolution_study " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.part in ("rate", "tables"):
        if args.part == "rate":
            data = rate_study(names, args.factors, args.lambda_scales, args.bounds, args.group_sets)
            data["command"] = command.strip()
        else:
            data = json.loads((out_dir / "rate.json").read_text())
            command = str(data.get("command", command))
        text, summary = rate_markdown(data)
        data["bd"] = summary
        args.part = "rate"
    elif not args.variant:
        print(f"error: {args.part} needs --variant (at least one)", file=sys.stderr)
        return 2
    elif args.part == "errors":
        data = error_study(names, args.variant)
        text = error_markdown(data)
    else:
        try:
            data = quality_study(names, args.frames, args.variant, out_dir, args.strip_labels)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        text = quality_markdown(data)
    text = write_study(out_dir, args.part, "Temporal-resolution study", command, text, data)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
