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
    """One anchor configuration as loaded from its JSON file: ``data`` is the file's content
    (command templates are read from it by ``args``), the other fields its typed values."""

    path: Path
    data: dict[str, Any]
    sha256: str
    name: str
    codec: str
    standard: str
    tool: str
    qps: tuple[int, ...]
    qp_range: tuple[int, int]
    coded_bit_depth: int
    stream_extension: str
    presets: tuple[str, ...] = ()      # encoder speed presets a job may name (VVenC); () = none
    default_preset: str | None = None  # the preset of a job that names none

    @classmethod
    def from_json(cls, path: Path, data: dict[str, Any], sha256: str) -> AnchorConfig:
        low, high = data.get("qp_range", (0, 63))
        return cls(path=path, data=data, sha256=sha256, name=str(data["name"]), codec=str(data["codec"]),
                   standard=str(data["standard"]), tool=str(data["tool"]),
                   qps=tuple(int(qp) for qp in data.get("qps", GFVC_QPS)), qp_range=(int(low), int(high)),
                   coded_bit_depth=int(data["coded_bit_depth"]), stream_extension=str(data["stream_extension"]),
                   presets=tuple(str(p) for p in data.get("presets", ())),
                   default_preset=None if data.get("default_preset") is None else str(data["default_preset"]))

    def preset(self, requested: str | None) -> str | None:
        """The preset a job runs with: ``requested``, else the config's default; an
        AnchorError when the codec has no presets or does not know this one."""
        if requested is None:
            return self.default_preset
        if not self.presets:
            raise AnchorError(f"codec {self.codec} ({self.name}) has no encoder presets; "
                              f"drop the preset {requested!r}")
        if requested not in self.presets:
            raise AnchorError(f"unknown preset {requested!r} for {self.codec}; choose one of "
                              f"{', '.join(self.presets)}")
        return requested

    def args(self, key: str, **values: object) -> list[str]:
        """The argument list under ``key`` with {placeholders} filled in ({preset}: the
        default preset unless given)."""
        values = {"preset": self.default_preset, **values}
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
    return AnchorConfig.from_json(path, data, hashlib.sha256(raw).hexdigest())
