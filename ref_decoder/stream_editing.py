"""Rewriting the semantics of a stream without re-encoding the video (the bitstream editor).

The decoder's edits (ref_decoder/edits.py, spec 8.6.1) are applied to the reconstructed
values of semantic frames, quantised again at the stream's precisions, and a new conforming
stream is written: the sequence header (same parameters, except that every element group is
coded in every frame: an edited level between two anchors is not the interpolated one), every
key-frame unit's payload byte for byte, semantic units with the same grouping, and hash units recomputed. Key frames and
inferred frames are not rewritten. Used by ``ifvc-edit`` (tools/bitstream_editor.py) and by
the conformance suite's edited streams.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from bitstream.errors import BitstreamError
from bitstream.semantic_elements import CORRECTION_ELEMENT_IDS, ELEMENT_BY_NAME, SEMANTIC_ELEMENTS
from bitstream.semantic_reconstruction import quantize
from bitstream.stream import (ParsedEndOfSequence, ParsedHash, ParsedKeyframe, ParsedSemanticUnit,
                              ParsedSequenceHeader, StreamParser, StreamWriter)
from bitstream.structures import SequenceHeader
from ref_decoder.decoder import values_from_levels
from ref_decoder.edits import EditApplier, EditError


def _levels(sh: SequenceHeader, values: np.ndarray, original: list[int]) -> list[int]:
    """An edited frame's levels: the face's quantised again; the background's kept; the
    correction elements 0, since their grid was measured on the unedited picture (a decoder
    does not apply it to an edited frame either, spec 8.6.2)."""
    out = []
    for i, (eid, p) in enumerate(zip(sh.sh_sem_element_id, sh.sh_sem_precision)):
        lo, hi = sh.level_bounds(i)
        if eid in CORRECTION_ELEMENT_IDS:
            out.append(0)
        else:
            out.append(original[i] if eid >= 14 else min(max(quantize(float(values[eid]), p), lo), hi))
    return out


def edit_stream(data: bytes, edits: EditApplier) -> tuple[bytes, int]:
    """Returns (the new stream, the number of frames whose levels changed)."""
    writer: StreamWriter | None = None
    sh: SequenceHeader | None = None
    changed = 0
    for unit in StreamParser().parse(data):
        if isinstance(unit, ParsedSequenceHeader):
            sh = unit.sh
            _check_signalled(sh, edits)
            writer = StreamWriter(_every_frame_coded(sh))
        elif isinstance(unit, ParsedKeyframe):
            assert writer is not None
            kf = unit.kf
            writer.keyframe(kf.kf_picture_payload, kf.kf_ref_sem_level, codec_id=kf.kf_codec_id,
                            geometry_version=kf.kf_geometry_version, geometry_payload=kf.kf_geometry_payload,
                            frame_idx_delta=kf.kf_frame_idx_delta, extension_data=kf.kf_extension_data)
        elif isinstance(unit, ParsedSemanticUnit):
            assert writer is not None and sh is not None
            frames = [f for f in unit.frames if not f.inferred]
            new = []
            for f in frames:
                lv = _levels(sh, edits.apply(f.frame_idx, values_from_levels(sh, f.levels)), f.levels) \
                    if edits.touches(f.frame_idx) else f.levels
                changed += lv != f.levels
                new.append(lv)
            writer.semantic_unit(new, frame_idx_delta=unit.su.su_frame_idx_delta,
                                 extension_data=unit.su.su_extension_data)   # carried, not read
        elif isinstance(unit, ParsedHash):
            assert writer is not None
            # Key-frame picture hashes are unchanged by edits: carry them over.
            key_md5 = {c.entry.hu_first_frame_idx: c.entry.hu_md5 for c in unit.checks if c.matches is None}
            writer.hash_unit(keyframe_md5=key_md5)
        elif isinstance(unit, ParsedEndOfSequence):
            assert writer is not None
            writer.end_of_sequence()
    if writer is None:
        raise BitstreamError("no sequence header")
    edits.check_stream_length(writer.next_frame_idx)    # the whole stream is read: edits outside it fail
    for k, e in enumerate(edits.edits):
        if k not in edits.applied and e.first < writer.next_frame_idx:
            edits.warn(f"edit {e} covers only key frames or inferred frames, which the editor "
                       "does not rewrite; it changed nothing")
    return writer.getvalue(), changed


def _every_frame_coded(sh: SequenceHeader) -> SequenceHeader:
    """The header of the edited stream: as the input's, but with every element group coded in
    every frame (sh_sem_temporal_flag 0, spec 7.4.2), since an edited level between two anchors
    is generally not the interpolated one (8.3.4)."""
    if not sh.sh_sem_temporal_flag:
        return sh
    return replace(sh, sh_sem_temporal_flag=0, sh_sem_group_period_minus1=[0] * len(sh.sh_sem_group_period_minus1))


def _check_signalled(sh: SequenceHeader, edits: EditApplier) -> None:
    """An edit can only rewrite elements the stream carries; head_loc moves head_tx / head_ty."""
    signalled = set(sh.sh_sem_element_id)
    for e in edits.edits:
        el = ELEMENT_BY_NAME[e.element]
        needs = {el.element_id} if e.element != "head_loc" else {ELEMENT_BY_NAME["head_tx"].element_id,
                                                                  ELEMENT_BY_NAME["head_ty"].element_id}
        missing = needs - signalled
        if missing:
            names = ", ".join(x.name for x in SEMANTIC_ELEMENTS if x.element_id in missing)
            raise EditError(f"edit {e}: the stream does not signal {names}, so the editor cannot "
                            "rewrite it (the decoder's --edit can)")
