"""The decoder's side, kept by the encoder (informative): the reference store of decoded key
frames (spec A.5, the decoder's eviction) and a generator drawing from it, so that encoder
choices (adaptive_refresh.py, pose_fit.py) see what a decoder will show."""
from __future__ import annotations

from bitstream.reference_store import ReferenceStore
from ifvc_synthesis.generators import Reference, get_generator, use_references


class DecoderMirror:
    def __init__(self, generator_name: str, max_ref_frames: int, option: str) -> None:
        """option: the encoder option that asks for the mirror (named in the error)."""
        try:
            self.generator = get_generator(generator_name)
        except ValueError as exc:
            raise ValueError(f"{option} needs a generator this encoder can run: {exc}") from None
        self.references: ReferenceStore[Reference] = ReferenceStore(max_ref_frames)

    def add_keyframe(self, reference: Reference) -> None:
        self.references.add(reference.frame_idx, reference)
        use_references(self.generator, [ref for _, ref in self.references])
