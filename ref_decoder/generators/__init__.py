"""Generators of the reference decoder (spec 8.6, Annex E) and their registry.

    gen = get_generator("ifvc-geometric-1")
    gen.set_keyframe(key_rgb, key_values, geometry_bytes, geometry_version)
    frame = gen.synthesize(target_values)
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from bitstream.generator_registry import GENERATOR_BY_NAME

from .base import Generator
from .geometric import GeometricGenerator

_REGISTRY: dict[str, Callable[[], Generator]] = {
    GeometricGenerator.name: GeometricGenerator,
}
# the weights file of each shipped learned generator (its SHA-256 goes into the stream)
_WEIGHTS: dict[str, Path] = {
    "ifvc-refine-1": Path(__file__).resolve().parent / "weights" / "ifvc_refine_1.safetensors",
}


def _register_learned() -> None:
    """"ifvc-refine-1" exists only when its trained weights are shipped (learned.py checks
    their SHA-256 on construction). Imported lazily: torch loads only when it is used."""
    if not _WEIGHTS["ifvc-refine-1"].is_file():
        return

    def factory() -> Generator:
        from .learned import LearnedGenerator
        return LearnedGenerator()
    _REGISTRY["ifvc-refine-1"] = factory  # learned.NAME (not imported here: torch)


_register_learned()


def _check_against_the_registry_table() -> None:
    """Every built-in generator is in the table in bitstream/ that the encoder checks names
    against (their digests come from that table: geometric.py, learned.py)."""
    for name in _REGISTRY:
        if name not in GENERATOR_BY_NAME:
            raise RuntimeError(f"built-in generator {name} is not in bitstream/generator_registry.py")


_check_against_the_registry_table()


def register_generator(name: str, factory: Callable[[], Generator]) -> None:
    """Add a generator (e.g. a learned one) under its sh_generator_name."""
    _REGISTRY[name] = factory


def shipped_weights(name: str) -> Path:
    """The weights file of the shipped learned generator ``name`` (KeyError when it has none)."""
    return _WEIGHTS[name]


def known_generators() -> tuple[str, ...]:
    return tuple(sorted(_REGISTRY))


def get_generator(name: str) -> Generator:
    """A new instance of the generator named ``name``; ValueError names the known ones."""
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown generator {name!r}; known generators: "
                         f"{', '.join(known_generators())}") from None
    return factory()


__all__ = ["GeometricGenerator", "Generator", "get_generator", "known_generators", "register_generator"]
