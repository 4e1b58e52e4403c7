"""Anchor configurations: JSON files in anchors/configs, one per codec."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from anchors.errors import AnchorError

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
CODEC_CONFIGS = {
    "vvc": "vvc_vvenc_lowdelay.json",
    "hevc": "hevc_x265_lowdelay.json",
    "vtm": "vtm_lowdelay.json",
}
CODECS = tuple(CODEC_CONFIGS)
GFVC_QPS = (37, 42, 47, 52)
_REQUIRED = ("name", "codec", "standard", "tool", "encoder", "coded_bit_depth",
             "stream_extension")


@dataclass(frozen=True)
class AnchorConfig:
    """One anchor configuration as loaded from its JSON file."""

    path: Path
    data: dict[str, Any]
    sha256: str

    @property
    def name(self) -> str:
        return str(self.data["name"])

    @property
    def codec(self) -> str:
        return str(self.data["codec"])

    @property
    def standard(self) -> str:
        return str(self.data["standard"])

    @property
    def tool(self) -> str:
        return str(self.data["tool"])

    @property
    def qps(self) -> tuple[int, ...]:
        return tuple(int(qp) for qp in self.data.get("qps", GFVC_QPS))

    @property
    def qp_range(self) -> tuple[int, int]:
        low, high = self.data.get("qp_range", (0, 63))
        return int(low), int(high)

    @property
    def coded_bit_depth(self) -> int:
        return int(self.data["coded_bit_depth"])

    @property
    def stream_extension(self) -> str:
        return str(self.data["stream_extension"])

    def args(self, key: str, **values: object) -> list[str]:
        """The argument list under ``key`` with {placeholders} filled in."""
        try:
            return [str(arg).format(**values) for arg in self.data[key]]
        except KeyError as missing:
            raise AnchorError(f"config {self.path} lacks {missing} (in {key!r})") from None


def load_config(codec: str, path: Path | None = None) -> AnchorConfig:
    """The config of ``codec``: the packaged file, or ``path`` if given."""
    if codec not in CODEC_CONFIGS:
        raise AnchorError(f"unknown codec {codec!r}; choose one of {', '.join(CODECS)}")
    path = path or CONFIG_DIR / CODEC_CONFIGS[codec]
    try:
        raw = path.read_bytes()
        data = json.loads(raw)
    except OSError as error:
        raise AnchorError(f"cannot read config {path}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise AnchorError(f"config {path} is not valid JSON: {error}") from None
    missing = [key for key in _REQUIRED if key not in data]
    if missing:
        raise AnchorError(f"config {path} lacks {', '.join(missing)}")
    if data["codec"] != codec:
        raise AnchorError(f"config {path} is for codec {data['codec']!r}, not {codec!r}")
    return AnchorConfig(path, data, hashlib.sha256(raw).hexdigest())
