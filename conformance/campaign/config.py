"""The campaign configuration: codecs and their rate points, sequences, metrics, BD-rate.

A config is a JSON file (configs/ctc.json is the IFVC common test conditions). Command-line
overrides (--frames, --vgg-stride) are folded in before anything is hashed, so a result
always records the conditions it was made under.
"""
from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from anchors.configs import CODECS as ANCHOR_CODECS
from conformance.metrics import METRICS

from .errors import CampaignError

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
DEFAULT_CONFIG = CONFIG_DIR / "ctc.json"
CODEC_KINDS = ("ifvc", "anchor")
BD_METHODS = ("pchip", "akima", "cubic")
# Metrics where lower is better: BD-rate uses 1 - value so that every curve rises with rate.
LOWER_IS_BETTER = frozenset({"lpips_alex", "lpips_vgg", "dists"})


@dataclass(frozen=True)
class CodecSpec:
    """One codec of the campaign: its name in the tables, how it is run, its rate points."""

    name: str
    kind: str                          # "ifvc" or "anchor"
    points: tuple[int, ...]            # key-frame QPs (IFVC) or QPs (anchors)
    anchor_codec: str | None = None    # anchors.runner codec name ("vvc", "hevc", "vtm")
    encoder_args: tuple[str, ...] = ()  # extra ref_encoder.cli arguments (IFVC)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "points": list(self.points)}
        if self.anchor_codec is not None:
            data["anchor_codec"] = self.anchor_codec
        if self.kind == "ifvc":
            data["encoder_args"] = list(self.encoder_args)
        return data


@dataclass(frozen=True)
class CampaignConfig:
    """A checked campaign config: ``data`` is the effective JSON (overrides applied, what is
    hashed); the other fields are its typed values (parse_config fills them)."""

    path: Path
    data: dict[str, Any]               # the effective config (overrides applied)
    codecs: dict[str, CodecSpec]
    name: str
    sequences_dir: Path
    split_file: Path | None            # None (JSON null): the repository's split, tools/test_split.json
    split: str
    width: int
    height: int
    fps: float
    frames: int | None                 # None: every frame of each sequence
    anchor: str
    metrics: tuple[str, ...]
    strided_metrics: tuple[str, ...]
    vgg_stride: int
    bd_method: str
    bd_metrics: tuple[str, ...]
    bd_min_overlap: float

    def sha256(self) -> str:
        """Hash of the effective config (the file's content with the overrides applied)."""
        return hashlib.sha256(canonical_json(self.data).encode()).hexdigest()

    def with_overrides(self, *, frames: int | None = None,
                       vgg_stride: int | None = None) -> CampaignConfig:
        data = copy.deepcopy(self.data)
        if frames is not None:
            if frames < 1:
                raise CampaignError(f"--frames must be at least 1, got {frames}")
            data["frames"] = frames
        if vgg_stride is not None:
            if vgg_stride < 1:
                raise CampaignError(f"--vgg-stride must be at least 1, got {vgg_stride}")
            data["vgg_stride"] = vgg_stride
        return parse_config(data, self.path)


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def load_config(path: Path) -> CampaignConfig:
    """Read and check a campaign config; any problem is a one-line CampaignError."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise CampaignError(f"config not found: {path}") from None
    except OSError as error:
        raise CampaignError(f"cannot read config {path}: {error.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise CampaignError(f"config {path} is not valid JSON: {error.msg} at line "
                            f"{error.lineno} column {error.colno}") from None
    return parse_config(data, path)


def parse_config(data: Any, path: Path) -> CampaignConfig:
    where = f"config {path}"
    if not isinstance(data, dict):
        raise CampaignError(f"{where}: the top level must be a JSON object")
    for key in ("sequences_dir", "split_file", "split", "width", "height", "fps", "codecs",
                "anchor", "metrics", "bd_rate"):
        if key not in data:
            raise CampaignError(f"{where}: missing key {key!r}")
    if not isinstance(data["sequences_dir"], str) or not data["sequences_dir"]:
        raise CampaignError(f"{where}: sequences_dir must be a folder path (relative to the working directory)")
    if data["split_file"] is not None and (not isinstance(data["split_file"], str) or not data["split_file"]):
        raise CampaignError(f"{where}: split_file must be a file path (relative to the working directory) "
                            "or null for the repository's tools/test_split.json")
    for key in ("width", "height"):
        if not isinstance(data[key], int) or data[key] <= 0 or data[key] % 2:
            raise CampaignError(f"{where}: {key} must be a positive even integer")
    if not isinstance(data["fps"], (int, float)) or data["fps"] <= 0:
        raise CampaignError(f"{where}: fps must be a positive number")
    frames = data.get("frames")
    if frames is not None and (not isinstance(frames, int) or frames < 1):
        raise CampaignError(f"{where}: frames must be null (all) or a positive integer")
    codecs = _parse_codecs(data["codecs"], where)
    if data["anchor"] not in codecs:
        raise CampaignError(f"{where}: anchor {data['anchor']!r} is not one of the codecs "
                            f"{sorted(codecs)}")
    metrics = data["metrics"]
    if not isinstance(metrics, list) or not metrics:
        raise CampaignError(f"{where}: metrics must be a non-empty list")
    unknown = [name for name in metrics if name not in METRICS]
    if unknown:
        raise CampaignError(f"{where}: unknown metrics {unknown}; known: {sorted(METRICS)}")
    strided = data.get("strided_metrics", [])
    if not isinstance(strided, list) or any(name not in metrics for name in strided):
        raise CampaignError(f"{where}: strided_metrics must be a list of names from metrics")
    stride = data.get("vgg_stride", 1)
    if not isinstance(stride, int) or stride < 1:
        raise CampaignError(f"{where}: vgg_stride must be a positive integer")
    bd = data["bd_rate"]
    if not isinstance(bd, dict) or bd.get("method") not in BD_METHODS:
        raise CampaignError(f"{where}: bd_rate.method must be one of {list(BD_METHODS)}")
    bd_metrics = bd.get("metrics", [])
    if not isinstance(bd_metrics, list) or any(name not in metrics for name in bd_metrics):
        raise CampaignError(f"{where}: bd_rate.metrics must be a list of names from metrics")
    overlap = bd.get("min_overlap", 0.5)
    if not isinstance(overlap, (int, float)) or not 0 <= overlap <= 1:
        raise CampaignError(f"{where}: bd_rate.min_overlap must be between 0 and 1")
    return CampaignConfig(
        path=Path(path), data=data, codecs=codecs, name=str(data.get("name", Path(path).stem)),
        sequences_dir=Path(data["sequences_dir"]),
        split_file=None if data["split_file"] is None else Path(data["split_file"]),
        split=str(data["split"]), width=data["width"], height=data["height"], fps=float(data["fps"]),
        frames=frames, anchor=str(data["anchor"]), metrics=tuple(metrics), strided_metrics=tuple(strided),
        vgg_stride=stride, bd_method=str(bd["method"]), bd_metrics=tuple(bd_metrics),
        bd_min_overlap=float(overlap))


def _parse_codecs(raw: Any, where: str) -> dict[str, CodecSpec]:
    if not isinstance(raw, dict) or not raw:
        raise CampaignError(f"{where}: codecs must be a non-empty object name -> codec")
    codecs = {}
    for name, entry in raw.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise CampaignError(f"{where}: codec name {name!r} must be a simple identifier")
        if not isinstance(entry, dict):
            raise CampaignError(f"{where}: codec {name} must be an object")
        kind = entry.get("kind")
        if kind not in CODEC_KINDS:
            raise CampaignError(f"{where}: codec {name}: kind must be one of {list(CODEC_KINDS)}")
        points = entry.get("points")
        if (not isinstance(points, list) or not points
                or not all(isinstance(p, int) and not isinstance(p, bool) for p in points)
                or len(set(points)) != len(points)):
            raise CampaignError(f"{where}: codec {name}: points must be a list of distinct "
                                f"integer QPs")
        anchor_codec = entry.get("anchor_codec")
        if kind == "anchor" and anchor_codec not in ANCHOR_CODECS:
            raise CampaignError(f"{where}: codec {name}: anchor_codec must be one of "
                                f"{list(ANCHOR_CODECS)}")
        args = entry.get("encoder_args", [])
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise CampaignError(f"{where}: codec {name}: encoder_args must be a list of strings")
        codecs[name] = CodecSpec(name=name, kind=kind, points=tuple(points),
                                 anchor_codec=anchor_codec if kind == "anchor" else None,
                                 encoder_args=tuple(args))
    return codecs
