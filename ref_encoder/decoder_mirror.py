"""The decoder's side, kept by the encoder (informative): the reference store of decoded key
frames (spec A.5, the decoder's eviction) and a generator drawing from it, so that encoder
choices (adaptive_refresh.py, pose_fit.py) see what a decoder will show.

A new key frame's reference set-up (the generator's set_keyframe: the mesh, the person mask,
the background plate; about 0.1 s for the mesh generators) may run on a thread of its own
(``in_background``) while the encoder reads and analyses the next frames, which do not need
it: the first use of ``generator`` waits for it. The generator is set up with the same
references in the same order either way, so the encoder's choices do not change."""
from __future__ import annotations

import threading

from bitstream.reference_store import ReferenceStore
from ifvc_synthesis.generators import Generator, Reference, get_generator, use_references


class DecoderMirror:
    def __init__(self, generator_name: str, max_ref_frames: int, option: str) -> None:
        """option: the encoder option that asks for the mirror (named in the error)."""
        try:
            self._generator = get_generator(generator_name)
        except ValueError as exc:
            raise ValueError(f"{option} needs a generator this encoder can run: {exc}") from None
        self.references: ReferenceStore[Reference] = ReferenceStore(max_ref_frames)
        self.in_background = False          # set up new references on a thread (the encoder's --threads)
        self._setting: tuple[threading.Thread, list[BaseException]] | None = None

    @property
    def generator(self) -> Generator:
        """The generator drawing from the store, once its newest reference is set up (the
        set-up's error, if any, is raised here)."""
        setting = self._setting
        if setting is not None:
            thread, errors = setting
            thread.join()
            self._setting = None
            if errors:
                raise errors[0]
        return self._generator

    def add_keyframe(self, reference: Reference) -> None:
        generator = self.generator           # the previous set-up ends first
        self.references.add(reference.frame_idx, reference)
        references = [ref for _, ref in self.references]
        if not self.in_background:
            use_references(generator, references)
            return
        errors: list[BaseException] = []

        def set_up() -> None:
            try:
                use_references(generator, references)
            except BaseException as exc:      # raised where the generator is next used
                errors.append(exc)

        thread = threading.Thread(target=set_up, name="ifvc-reference", daemon=True)
        thread.start()
        self._setting = (thread, errors)
