"""The seed corpus: the conformance streams (always there) and, when they have been built,
real encoder output at several frames-per-unit values in both entropy modes, cached under
a key that changes whenever the encoder or the syntax code changes."""
from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Sequence

import numpy as np

from bitstream.structures import ENTROPY_CABAC, ENTROPY_EXP_GOLOMB

from .model import StreamModel, read_model

REPO = Path(__file__).resolve().parents[2]
CONFORMANCE_STREAMS = REPO / "conformance" / "streams"
DEFAULT_SEED_CACHE = REPO / "work" / "fuzz" / "seeds"


@dataclass(frozen=True)
class EncoderSeedSpec:
    """One real-encoder seed: entropy mode, frames per unit and key-frame refresh."""
    name: str
    entropy_coding_mode: int
    frames_per_unit: int
    keyframe_period: int = 0
    keyframe_pose_threshold: float = 0.0


# Key-frame refresh at 1 and 8 frames per unit (by period and by pose), both entropy modes.
ENCODER_SEEDS: tuple[EncoderSeedSpec, ...] = tuple(
    EncoderSeedSpec(f"{mode}_fpu{fpu}", entropy, fpu)
    for mode, entropy in (("cabac", ENTROPY_CABAC), ("eg", ENTROPY_EXP_GOLOMB))
    for fpu in (1, 8, 16)) + (
    EncoderSeedSpec("cabac_fpu1_period10", ENTROPY_CABAC, 1, keyframe_period=10),
    EncoderSeedSpec("eg_fpu1_pose5", ENTROPY_EXP_GOLOMB, 1, keyframe_pose_threshold=5.0),
    EncoderSeedSpec("cabac_fpu8_period10", ENTROPY_CABAC, 8, keyframe_period=10),
    EncoderSeedSpec("eg_fpu8_pose5", ENTROPY_EXP_GOLOMB, 8, keyframe_pose_threshold=5.0),
)
ENCODER_SEED_FRAMES = 24
ENCODER_SEED_QP = 47
ENCODER_SEED_CLIP = "fomm_demo_old_08.mp4"     # test split, a tight face crop


@dataclass
class Seed:
    name: str
    data: bytes
    model: StreamModel


class Corpus:
    """Seeds in a fixed order (by name), so that a seed and a stream number give one stream."""

    def __init__(self, seeds: Sequence[tuple[str, bytes]]) -> None:
        if not seeds:
            raise ValueError("the seed corpus is empty")
        self.seeds = [Seed(name, data, read_model(data)) for name, data in sorted(seeds)]

    def pick(self, rng: random.Random) -> Seed:
        return self.seeds[rng.randrange(len(self.seeds))]

    def __len__(self) -> int:
        return len(self.seeds)

    @property
    def digest(self) -> str:
        """Identifies the corpus in a report: same digest + same seed = same streams."""
        h = hashlib.sha256()
        for s in self.seeds:
            h.update(s.name.encode() + b"\0" + hashlib.sha256(s.data).digest())
        return h.hexdigest()[:16]


def fuzzer_version() -> str:
    """Hash of the fuzzer's own code: with the seed and the corpus digest, it fixes the streams."""
    h = hashlib.sha256()
    for p in sorted(Path(__file__).resolve().parent.glob("*.py")):
        h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:16]


def conformance_seeds(folder: Path = CONFORMANCE_STREAMS) -> list[tuple[str, bytes]]:
    """Every stream of the conformance suite, positive and negative."""
    return [(f"conformance/{p.stem}", p.read_bytes()) for p in sorted(folder.glob("*.ifvc"))]


def encoder_key(specs: Sequence[EncoderSeedSpec] = ENCODER_SEEDS) -> str:
    """Hash of the encoder and syntax code, the seed list and the clip: cached seeds are
    reused only while all of these stay the same."""
    h = hashlib.sha256()
    for pkg in ("bitstream", "ref_encoder"):
        for p in sorted((REPO / pkg).rglob("*.py")):
            h.update(str(p.relative_to(REPO)).encode() + b"\0" + p.read_bytes())
    h.update(repr((specs, ENCODER_SEED_FRAMES, ENCODER_SEED_QP, ENCODER_SEED_CLIP)).encode())
    return h.hexdigest()[:16]


def encoder_seed_dir(cache: Path = DEFAULT_SEED_CACHE) -> Path:
    return cache / encoder_key()


def load_encoder_seeds(cache: Path = DEFAULT_SEED_CACHE) -> list[tuple[str, bytes]]:
    """The cached real-encoder seeds of the current encoder, or [] when not built yet."""
    folder = encoder_seed_dir(cache)
    if not all((folder / f"{s.name}.ifvc").is_file() for s in ENCODER_SEEDS):
        return []
    return [(f"encoder/{s.name}", (folder / f"{s.name}.ifvc").read_bytes()) for s in ENCODER_SEEDS]


def build_encoder_seeds(frames: Sequence[np.ndarray], cache: Path = DEFAULT_SEED_CACHE,
                        specs: Sequence[EncoderSeedSpec] = ENCODER_SEEDS) -> list[Path]:
    """Encodes face-cropped 256x256 frames (H x W x 3 uint8 RGB, 25 fps) with the reference
    encoder once per spec and caches the streams (VVC key frames: needs VVenC)."""
    from ref_encoder.encoder import Encoder, EncoderConfig
    folder = encoder_seed_dir(cache)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for spec in specs:
        cfg = EncoderConfig(keyframe_qp=ENCODER_SEED_QP, entropy_coding_mode=spec.entropy_coding_mode,
                            frames_per_unit=spec.frames_per_unit, keyframe_period=spec.keyframe_period,
                            keyframe_pose_threshold=spec.keyframe_pose_threshold, keyframe_filters="vvenc")
        h, w = frames[0].shape[:2]
        stream = Encoder(cfg, w, h, Fraction(25), num_frames=len(frames)).encode(frames).stream
        path = folder / f"{spec.name}.ifvc"
        tmp = path.with_name(path.name + ".part")
        tmp.write_bytes(stream)
        tmp.replace(path)
        out.append(path)
    return out


def load_corpus(seed_cache: Path | None = DEFAULT_SEED_CACHE, *, conformance: bool = True,
                extra: Sequence[Path] = ()) -> Corpus:
    """Conformance streams, cached encoder seeds (when seed_cache has them) and extra files."""
    seeds: list[tuple[str, bytes]] = conformance_seeds() if conformance else []
    if seed_cache is not None:
        seeds += load_encoder_seeds(seed_cache)
    seeds += [(f"extra/{p.name}", p.read_bytes()) for p in extra]
    return Corpus(seeds)
