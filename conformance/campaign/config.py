"""The campaign configuration: codecs and their rate points, sequences, metrics, rates,
BD-rate anchors, sequence classes.

A config is a JSON file. configs/gfvc_ctc.json follows the GFVC common test conditions
(JVET AhG16: whole sequences, LPIPS-VGG and DISTS on every frame, payload-only rate beside
all bits, the strongest affordable VVenC preset as the anchor); configs/quick.json is the
quick development config (a stride of frames for the slow metrics), not the CTC. The old
name configs/ctc.json is a deprecated alias of quick.json for one release. Command-line
overrides (--frames, --vgg-stride) are folded in before anything is hashed, so a result
always records the conditions it was made under.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from anchors.configs import CODECS as ANCHOR_CODECS
from anchors.configs import load_config as load_anchor_config
from anchors.errors import AnchorError
from conformance.metrics import METRICS

from .errors import CampaignError

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
DEFAULT_CONFIG = CONFIG_DIR / "quick.json"
GFVC_CTC_CONFIG = CONFIG_DIR / "gfvc_ctc.json"
# Old file name -> new one: loaded with a deprecation note (CampaignConfig.deprecation).
DEPRECATED_CONFIGS = {"ctc.json": "quick.json"}
CODEC_KINDS = ("ifvc", "anchor")
RATE_DEFINITIONS = ("all_bits", "payload")
# The rate column of the tables for each definition (rates.py says what each counts).
RATE_COLUMNS = {"all_bits": "kbps", "payload": "kbps_payload"}
# VTM binaries of a codec entry with anchor_codec "vtm": the entry's key, else this variable.
VTM_ENVIRONMENT = {"vtm_encoder": "IFVC_VTM_ENCODER", "vtm_decoder": "IFVC_VTM_DECODER",
                   "vtm_cfg": "IFVC_VTM_CFG"}
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
    preset: str | None = None          # anchor encoder preset (VVenC); None: anchors' default
    on_request: bool = False           # run only when named in --codecs (e.g. VTM)
    vtm: tuple[tuple[str, str], ...] = ()   # vtm_encoder / vtm_decoder / vtm_cfg given in the entry

    def as_dict(self) -> dict[str, Any]:
        """What the cell hash covers (the VTM binaries are hashed by anchors/ itself)."""
        data: dict[str, Any] = {"kind": self.kind, "points": list(self.points)}
        if self.anchor_codec is not None:
            data["anchor_codec"] = self.anchor_codec
        if self.kind == "ifvc":
            data["encoder_args"] = list(self.encoder_args)
        if self.preset is not None:
            data["preset"] = self.preset
        return data

    def vtm_path(self, key: str) -> Path | None:
        """A VTM path of this entry (relative to the working directory), else $IFVC_VTM_*."""
        if self.anchor_codec != "vtm":
            return None
        value = dict(self.vtm).get(key) or os.environ.get(VTM_ENVIRONMENT[key])
        return Path(value) if value else None


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
    bd_anchors: tuple[str, ...] = ()   # further anchors every codec gets BD-rates against
    rate_primary: str = "all_bits"     # the rate of the summary, the plots, the first BD table
    payload_hash_units: bool = False   # does the payload-only rate count hash units
    classes: tuple[tuple[str, tuple[str, ...]], ...] = ()   # class name -> its sequences
    ctc_differences: tuple[str, ...] = ()   # how this config differs from the GFVC CTC
    deprecation: str | None = None     # set when loaded under a deprecated file name

    @property
    def config_id(self) -> str:
        """The config's short name in tables and file listings: its file name's stem."""
        return self.path.stem

    @property
    def anchors(self) -> tuple[str, ...]:
        """Every anchor with BD-rates: the main one first."""
        return (self.anchor, *[a for a in self.bd_anchors if a != self.anchor])

    def class_of(self, sequence: str) -> str:
        for name, members in self.classes:
            if sequence in members:
                return name
        return "unclassified"

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
        return replace(parse_config(data, self.path), deprecation=self.deprecation)


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def load_config(path: Path) -> CampaignConfig:
    """Read and check a campaign config; any problem is a one-line CampaignError. The old
    name configs/ctc.json loads configs/quick.json with a deprecation note."""
    path = Path(path)
    deprecation = None
    if path.name in DEPRECATED_CONFIGS and not path.is_file() \
            and path.parent.resolve() == CONFIG_DIR:
        new = CONFIG_DIR / DEPRECATED_CONFIGS[path.name]
        deprecation = (f"{path.name} is deprecated: it is now {new.name}, the quick development "
                       f"config (not the GFVC CTC; that is {GFVC_CTC_CONFIG.name})")
        path = new
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
    config = parse_config(data, path)
    return replace(config, deprecation=deprecation) if deprecation else config


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
    bd_anchors = bd.get("anchors", [])
    if not isinstance(bd_anchors, list) or any(
            a not in codecs or codecs[a].kind != "anchor" for a in bd_anchors):
        raise CampaignError(f"{where}: bd_rate.anchors must be a list of anchor codecs of "
                            f"this config")
    rate = data.get("rate", {})
    if not isinstance(rate, dict) or rate.get("primary", "all_bits") not in RATE_DEFINITIONS:
        raise CampaignError(f"{where}: rate.primary must be one of {list(RATE_DEFINITIONS)}")
    if not isinstance(rate.get("payload_hash_units", False), bool):
        raise CampaignError(f"{where}: rate.payload_hash_units must be true or false")
    classes = _parse_classes(data.get("classes", {}), where)
    differences = data.get("ctc_differences", [])
    if not isinstance(differences, list) or not all(isinstance(d, str) for d in differences):
        raise CampaignError(f"{where}: ctc_differences must be a list of strings")
    return CampaignConfig(
        path=Path(path), data=data, codecs=codecs, name=str(data.get("name", Path(path).stem)),
        sequences_dir=Path(data["sequences_dir"]),
        split_file=None if data["split_file"] is None else Path(data["split_file"]),
        split=str(data["split"]), width=data["width"], height=data["height"], fps=float(data["fps"]),
        frames=frames, anchor=str(data["anchor"]), metrics=tuple(metrics), strided_metrics=tuple(strided),
        vgg_stride=stride, bd_method=str(bd["method"]), bd_metrics=tuple(bd_metrics),
        bd_min_overlap=float(overlap), bd_anchors=tuple(bd_anchors),
        rate_primary=str(rate.get("primary", "all_bits")),
        payload_hash_units=bool(rate.get("payload_hash_units", False)),
        classes=classes, ctc_differences=tuple(differences))


def _parse_classes(raw: Any, where: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Sequence classes (JVET tables average per class): name -> list of sequence names."""
    if not isinstance(raw, dict) or not all(
            isinstance(members, list) and all(isinstance(s, str) for s in members)
            for members in raw.values()):
        raise CampaignError(f"{where}: classes must be an object class name -> list of sequences")
    seen: dict[str, str] = {}
    for name, members in raw.items():
        for sequence in members:
            if sequence in seen:
                raise CampaignError(f"{where}: sequence {sequence} is in classes {seen[sequence]} "
                                    f"and {name}")
            seen[sequence] = name
    return tuple((str(name), tuple(members)) for name, members in raw.items())


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
        preset = entry.get("preset")
        if preset is not None:
            if kind != "anchor":
                raise CampaignError(f"{where}: codec {name}: preset is for anchors")
            try:     # the anchor config knows its presets: a typo fails here, not in a cell
                load_anchor_config(anchor_codec).preset(preset)
            except AnchorError as error:
                raise CampaignError(f"{where}: codec {name}: {error}") from None
        on_request = entry.get("on_request", False)
        if not isinstance(on_request, bool):
            raise CampaignError(f"{where}: codec {name}: on_request must be true or false")
        vtm = tuple((key, entry[key]) for key in VTM_ENVIRONMENT if entry.get(key) is not None)
        if any(not isinstance(value, str) for _key, value in vtm) or (vtm and anchor_codec != "vtm"):
            raise CampaignError(f"{where}: codec {name}: vtm_encoder/vtm_decoder/vtm_cfg are "
                                f"paths, for anchor_codec vtm only")
        codecs[name] = CodecSpec(name=name, kind=kind, points=tuple(points),
                                 anchor_codec=anchor_codec if kind == "anchor" else None,
                                 encoder_args=tuple(args), preset=preset,
                                 on_request=on_request, vtm=vtm)
    return codecs
