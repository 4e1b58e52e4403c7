"""The registered generator identifiers (spec 7.4.2, Table 3a: sh_generator_name and
sh_generator_sha256_byte; clause 8.6): the names a conforming stream may carry without
weights of its own, the SHA-256 of each one's shipped weights file, and the short identifier
(csh_generator_id, spec 7.4.7) by which a compact sequence header names it.

Encoder and decoder both read this table: the encoder refuses a name that no decoder knows
(unless it is given the weights, i.e. a generator of the user's own), and the decoder's
generator registry (ifvc_synthesis/generators) checks at import that it agrees with it.
"""
from __future__ import annotations

from dataclasses import dataclass

NO_WEIGHTS_SHA256 = bytes(32)        # a generator without weights carries all zeros


@dataclass(frozen=True)
class RegisteredGenerator:
    generator_id: int                # csh_generator_id (normative: never reused or renumbered)
    name: str                        # sh_generator_name
    weights_sha256: bytes            # SHA-256 of the shipped weights file; all zero: no weights
    clause: str                      # where the generator is described
    background_plate: bool = False   # moves a background plate by bg_tx, bg_ty (Annex G.5a); the
                                     # others ignore the two elements


REGISTERED_GENERATORS: tuple[RegisteredGenerator, ...] = (
    RegisteredGenerator(0, "ifvc-geometric-1", NO_WEIGHTS_SHA256, "Annex E"),
    RegisteredGenerator(1, "ifvc-refine-1", bytes.fromhex(
        "7125a7ff5e7ec62e2dccba6aaa5ec3b6723c52afc5f51fb3500a20e8f2f3ec2a"), "Annex F"),
    RegisteredGenerator(2, "ifvc-geometric-2", NO_WEIGHTS_SHA256, "Annex G", background_plate=True),
    RegisteredGenerator(3, "ifvc-geometric-3", NO_WEIGHTS_SHA256, "Annex H", background_plate=True),
    RegisteredGenerator(4, "ifvc-flow-1", bytes.fromhex(
        "d57646cd45d76a56f8faf3ef81877eea50c7db02402c092faf14cbcf15249289"), "Annex I"),
    RegisteredGenerator(5, "ifvc-flow-2", bytes.fromhex(
        "ec498ef7afc4cf4083270031ff71ab05934f75c185806d51f6e92b123e0484df"), "Annex I.8", background_plate=True),
    RegisteredGenerator(6, "ifvc-flow-3", bytes.fromhex(
        "013891d58c78db322861f2840324b7a8a33b9653dba13467b4e2acedd51d7c52"), "Annex I.9", background_plate=True),
    RegisteredGenerator(7, "ifvc-flow-4", bytes.fromhex(
        "1da461f7c432599e5d34fccc173e0ee00297c1bfb5d69b31092981964a6a5ff2"), "Annex I.10", background_plate=True),
    # ifvc-flow-4's weights file, with eyelids drawn over the network's output
    RegisteredGenerator(8, "ifvc-flow-5", bytes.fromhex(
        "1da461f7c432599e5d34fccc173e0ee00297c1bfb5d69b31092981964a6a5ff2"), "Annex I.11", background_plate=True),
    RegisteredGenerator(9, "ifvc-geometric-4", NO_WEIGHTS_SHA256, "Annex H.7", background_plate=True),
    RegisteredGenerator(10, "ifvc-geometric-5", NO_WEIGHTS_SHA256, "Annex H.8", background_plate=True),
    RegisteredGenerator(11, "ifvc-geometric-6", NO_WEIGHTS_SHA256, "Annex H.9", background_plate=True),
    RegisteredGenerator(12, "ifvc-geometric-7", NO_WEIGHTS_SHA256, "Annex H.10", background_plate=True),
    RegisteredGenerator(13, "ifvc-geometric-8", NO_WEIGHTS_SHA256, "Annex H.11", background_plate=True),
    # ifvc-geometric-8 drawing from a key picture restored by a small network (its weights file)
    RegisteredGenerator(14, "ifvc-geometric-9", bytes.fromhex(
        "199cbfd21176118e4d0767569d9d4cb2b169621deecb5dc9f7459baecc7f643c"), "Annex H.12", background_plate=True),
    # ifvc-geometric-9 with a half-resolution network trained with a texture loss (its weights file)
    RegisteredGenerator(15, "ifvc-geometric-10", bytes.fromhex(
        "8b76505b74319801113d44269e5f7ea05a32c1931080a778c5fb4db4d39714c3"), "Annex H.13", background_plate=True),
)
GENERATOR_BY_NAME: dict[str, RegisteredGenerator] = {g.name: g for g in REGISTERED_GENERATORS}
GENERATOR_BY_ID: dict[int, RegisteredGenerator] = {g.generator_id: g for g in REGISTERED_GENERATORS}
# What the reference encoder and the demo write unless told otherwise (an encoder choice, not
# normative: every registered generator decodes). The layered mesh generator on the seamless
# plate with clamped bicubic samples and a person that ends at the picture's edge (Annex H.8),
# whose shut eyes are lid skin without an outline (Annex H.9), whose open mouth is toned after
# real ones (Annex H.10), whose person mask learns the background above the chin (Annex H.11)
# and which draws from the key picture as a half-resolution network restores it (Annex H.12,
# H.13): still background, head turned as a solid, no black pixel, ring, jagged fill or edge
# streaks where the head moves, the decoder's speed target met (docs/results/geometric5_edges_2026-12-05,
# decoder_rasteriser_2026-12-06, geometric7_mouth_2026-12-06, geometric8_mask_2026-12-07,
# texture_restore_2026-12-07). ifvc-geometric-1 was the default until
# docs/results/default_generator_2026-12-05, ifvc-geometric-3 until geometric4_plate_2026-12-05,
# ifvc-geometric-4 until geometric5_edges_2026-12-05, ifvc-geometric-5 until
# geometric6_lids_2026-12-06, ifvc-geometric-6 until geometric7_mouth_2026-12-06,
# ifvc-geometric-7 until geometric8_mask_2026-12-07, ifvc-geometric-8 until this one.
# ifvc-geometric-9 (Annex H.12) never was: its full-resolution network costs about 0.3 s a key
# frame, and the head-turn clip's streams (4 and 5 key frames in 100) then decode at 21-25
# frames/s, under the 25 of issue 14 (docs/results/key_restore_2026-12-07).
DEFAULT_GENERATOR_NAME = "ifvc-geometric-10"


class UnknownGeneratorError(ValueError):
    """A generator name that is not registered, with no weights given."""


def resolve_generator_id(name: str, weights_sha256: bytes | None) -> tuple[bytes, list[str]]:
    """The sh_generator_sha256 an encoder writes for ``name``, and warnings for the user.

    weights_sha256 is the SHA-256 of the weights file the user gave (None: none given).
    A registered name without weights gets its shipped SHA-256; an unregistered name needs
    weights (a generator of the user's own), otherwise no decoder could identify it; weights
    that differ from a registered generator's shipped ones are accepted with a warning (the
    reference decoder will refuse the stream unless told which generator to use).
    """
    registered = GENERATOR_BY_NAME.get(name)
    if weights_sha256 is None:
        if registered is None:
            raise UnknownGeneratorError(
                f"unknown generator {name!r}: registered generators are "
                f"{', '.join(g.name for g in REGISTERED_GENERATORS)}; a generator of your own "
                "needs its weights file (--generator-weights), whose SHA-256 identifies it")
        return registered.weights_sha256, []
    if registered is not None and weights_sha256 != registered.weights_sha256:
        shipped = "none" if registered.weights_sha256 == NO_WEIGHTS_SHA256 else registered.weights_sha256.hex()
        return weights_sha256, [
            f"generator {name}: the weights given (SHA-256 {weights_sha256.hex()}) are not its shipped "
            f"ones ({shipped}); decoders with the registered {name} will refuse the stream"]
    return weights_sha256, []


def registered_generator_id(name: str, weights_sha256: bytes) -> int | None:
    """csh_generator_id of a (name, SHA-256) pair that is registered exactly as Table 3a lists
    it; None for any other pair (a compact header then codes the name and digest in full,
    spec 7.3.8)."""
    registered = GENERATOR_BY_NAME.get(name)
    if registered is None or registered.weights_sha256 != weights_sha256:
        return None
    return registered.generator_id
