"""Which sequences a campaign codes, where their prepared .rgb files are, how many frames."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ifvc_common.files import sha256_file

from .config import CampaignConfig
from .errors import CampaignError

REPO_ROOT = Path(__file__).resolve().parents[2]
# The split that ships with the repository: used when a config's split_file is null.
SHIPPED_SPLIT_FILE = REPO_ROOT / "tools" / "test_split.json"
PREPARE_HINT = ("prepare the sequences with: python -m tools.prepare_sequences "
                "--raw ../shared/data/faces/raw --out work/sequences")


@dataclass(frozen=True)
class Sequence:
    name: str
    path: Path
    available_frames: int
    frames: int                        # frames the campaign codes (the first ones)


def rgb_file_name(name: str, config: CampaignConfig) -> str:
    return f"{name}_{config.width}x{config.height}_{config.fps:g}_8bit_444.rgb"


def split_names(config: CampaignConfig) -> list[str]:
    # Relative paths in a config are relative to the working directory, as on the command line.
    split_path = SHIPPED_SPLIT_FILE if config.split_file is None else config.split_file
    try:
        split = json.loads(split_path.read_text())
    except FileNotFoundError:
        raise CampaignError(f"split file not found: {split_path}") from None
    except (OSError, json.JSONDecodeError) as error:
        raise CampaignError(f"cannot read split file {split_path}: {error}") from None
    names = split.get(config.split) if isinstance(split, dict) else None
    if not isinstance(names, list) or not names:
        raise CampaignError(f"split file {split_path} has no list {config.split!r}")
    return [str(name) for name in names]


def resolve_sequences(config: CampaignConfig, names: list[str] | None = None) -> list[Sequence]:
    """The campaign's sequences (the config's split unless names are given), checked."""
    wanted = names if names else split_names(config)
    if len(set(wanted)) != len(wanted):
        raise CampaignError(f"a sequence is named twice: {wanted}")
    folder = config.sequences_dir
    if not folder.is_dir():
        raise CampaignError(f"sequence folder {folder} not found; {PREPARE_HINT}")
    frame_bytes = 3 * config.width * config.height
    sequences = []
    for name in wanted:
        path = folder / rgb_file_name(name, config)
        if not path.is_file():
            raise CampaignError(f"sequence {name!r} not found in {folder} (no {path.name}); "
                                f"{PREPARE_HINT}")
        size = path.stat().st_size
        if size == 0 or size % frame_bytes:
            raise CampaignError(f"{path}: size {size} is not a whole number of "
                                f"{config.width}x{config.height} RGB frames")
        available = size // frame_bytes
        frames = available if config.frames is None else config.frames
        if frames > available:
            raise CampaignError(f"{frames} frames asked, but sequence {name} has only "
                                f"{available} ({path})")
        sequences.append(Sequence(name, path, available, frames))
    return sequences


def input_sha256(sequence: Sequence, frame_bytes: int) -> str:
    """SHA-256 of the frames coded (the first `frames` frames), as anchors.runner hashes them."""
    return sha256_file(sequence.path, sequence.frames * frame_bytes)
