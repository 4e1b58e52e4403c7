"""The decoder's generator registry (spec 8.6): each generator registers itself, under its
sh_generator_name, with the weights file it owns, as CompressAI's model registry does.

The names and weight digests a conforming stream may carry are the table in
bitstream/generator_registry.py (the encoder reads it too); a built-in generator registers
only a name of that table, so the two cannot disagree.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TypeVar

from bitstream.generator_registry import GENERATOR_BY_NAME

from .base import Generator

F = TypeVar("F", bound=Callable[[], Generator])


@dataclass(frozen=True)
class GeneratorEntry:
    """One registered generator: how to make it, and the weights file it ships (None: none)."""

    name: str
    factory: Callable[[], Generator]
    weights: Path | None = None


_REGISTRY: dict[str, GeneratorEntry] = {}


def builtin_generator(name: str, *, weights: Path | None = None) -> Callable[[F], F]:
    """Class or factory decorator of a built-in generator: ``name`` must be in the table of
    bitstream/generator_registry.py. A generator with weights registers only when its shipped
    weights file exists (its digest is checked when it is made)."""
    if name not in GENERATOR_BY_NAME:
        raise RuntimeError(f"built-in generator {name} is not in bitstream/generator_registry.py")

    def register(factory: F) -> F:
        if weights is None or weights.is_file():
            register_generator(name, factory, weights)
        return factory
    return register


def register_generator(name: str, factory: Callable[[], Generator], weights: Path | None = None) -> None:
    """Add a generator (e.g. a learned one of the user's own) under its sh_generator_name."""
    _REGISTRY[name] = GeneratorEntry(name, factory, weights)


def shipped_weights(name: str) -> Path:
    """The weights file of the registered generator ``name`` (KeyError when it ships none)."""
    weights = _REGISTRY[name].weights
    if weights is None:
        raise KeyError(name)
    return weights


def known_generators() -> tuple[str, ...]:
    return tuple(sorted(_REGISTRY))


def get_generator(name: str) -> Generator:
    """A new instance of the generator named ``name``; ValueError names the known ones."""
    try:
        entry = _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown generator {name!r}; known generators: "
                         f"{', '.join(known_generators())}") from None
    return entry.factory()
