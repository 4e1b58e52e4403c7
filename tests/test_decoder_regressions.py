"""Decoder bugs found by the conformance work, kept fixed."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest

from bitstream.stream import StreamWriter
from bitstream.structures import KEYFRAME_CODEC_RAW, SequenceHeader, raw_picture_size
from ref_decoder.decoder import Decoder


def _stream(sh: SequenceHeader, key_level: list[int], picture: bytes, key_md5: bool) -> bytes:
    w = StreamWriter(sh)
    w.keyframe(picture, key_level)
    w.semantic_unit([[v - 1 if v else v + 1 for v in key_level]])
    w.hash_unit(keyframe_md5={0: hashlib.md5(picture).digest()} if key_md5 else None)
    w.end_of_sequence()
    return w.getvalue()


def test_keyframe_hash_of_a_420_stream_covers_the_decoded_planes() -> None:
    # Spec 7.4.6: for 4:2:0 output the MD5 is over the decoded Y, Cb, Cr planes, not over a
    # conversion to RGB and back (which changes samples).
    sh = SequenceHeader(sh_pic_width=64, sh_pic_height=64, sh_chroma_format_idc=1,
                        sh_keyframe_codec_id=KEYFRAME_CODEC_RAW, sh_sem_element_id=[0],
                        sh_sem_precision=[1], sh_generator_name="ifvc-geometric-1")
    picture = np.random.default_rng(1).integers(0, 256, raw_picture_size(sh), dtype=np.uint8).tobytes()
    dec = Decoder()
    assert len(list(dec.decode(_stream(sh, [0], picture, key_md5=True)))) == 2
    assert dec.hashes.keyframes_checked == 1 and dec.hashes.ok


@pytest.mark.parametrize("width,height,tz_level", [(256, 256, 512), (256, 16, 0), (256, 32, 0)])
def test_far_heads_and_wide_pictures_decode(width: int, height: int, tz_level: int) -> None:
    # head_tz = 4 (a face 16 times the reference size) and 16:1 pictures put mesh points far
    # outside the picture; the generator must still synthesise (it used to raise cv2.error).
    sh = SequenceHeader(sh_pic_width=width, sh_pic_height=height, sh_keyframe_codec_id=KEYFRAME_CODEC_RAW,
                        sh_sem_element_id=[5], sh_sem_precision=[7], sh_generator_name="ifvc-geometric-1")
    frames = list(Decoder().decode(_stream(sh, [tz_level], bytes(raw_picture_size(sh)), key_md5=False)))
    assert [f.rgb.shape for f in frames] == [(height, width, 3)] * 2
