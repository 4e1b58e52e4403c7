"""Train, evaluate and export the learned generator "ifvc-refine-1" (RefineNet on the geometric warp).

    python -m tools.train_generator train --run work/train_generator/run1 --minutes 30 [--device cuda]
    python -m tools.train_generator evaluate --run work/train_generator/run1     # LPIPS/DISTS/PSNR, frames/s
    python -m tools.train_generator export --run work/train_generator/run1      # -> shipped weights + SHA-256

Self-supervised pairs: a source frame (the key frame: its picture, its analysed values and the
geometry payload made from its landmarks, as the encoder makes them) and a driving frame of
the same clip (its analysed semantics from tools/semantics_cache.py; the target is the
driving picture). Train split for training, validation split for validation (LPIPS-alex of
the learned and the geometric generator on a fixed set of full-size pairs).

Losses: a perceptual loss with the ImageNet VGG16 that the metrics load, frozen (default: the
metrics' own LPIPS-VGG; or unit-normalised features at relu1_2, relu2_2, relu3_3) + a weighted
L1. The defaults are the recipe of the shipped weights; they came from step 1145 of

    python -m tools.train_generator train --run work/train_generator/run2 --steps 1145

``--base ifvc-geometric-2`` (train and evaluate) makes the network refine the layered
generator's pass (Annex G, one reference) instead of geometric-1's: a study of issue 14
item 5; the shipped ifvc-refine-1 refines geometric-1.

``--model flow-occlusion`` trains the flow-and-occlusion network instead of RefineNet
(ifvc_synthesis/generators/flow_occlusion_net.py: a corrected motion field, an occlusion map
and inpainting, the paper's design), on full frames (``--crop 256``); ``export --generator
ifvc-flow-1 --half`` writes its float16 shipped file (Annex I).
``--pack DIR`` reads the clips from a pack (tools/generator_pack.py) instead of the prepared
sequences and the face analysis, so a machine without MediaPipe can train: that is how the
GPU machine runs it (scripts/prepare_device_training.sh here, scripts/device_train_flow.sh
there). ``compare-devices`` runs one weights file on the CPU and on CUDA over the validation
pairs and reports how far the outputs differ.

``--key-qps 22 32 42 52`` codes the training pairs' key frames with VVC intra (VVenC, as the
reference encoder does; the QPs in turn over the key frames) so the network learns from the
key frames a decoder has, not the source pictures; ``--val-key-qp`` does the same for the
validation pairs and ``evaluate --key-qp`` for an evaluation. That trained "ifvc-flow-3"
(Annex I.9); ``export --generator ifvc-flow-3 --half`` writes its shipped file. Trained further
from those weights with ``--perceptual-loss lpips-vgg --val-metric lpips-vgg`` (the
checkpoint kept by validation LPIPS-vgg), it became "ifvc-flow-4" (Annex I.10).

``--feature-weight W`` adds W x the L1 over the eyes and mouth (feature_region: the target's
eye openings and mouth interior, the masks among the network's inputs, grown by FEATURE_RADIUS
pixels; normalised by their area), so that a blink or an opening mouth, a few hundred pixels,
is not lost in the whole picture's L1 (W weighs the region's mean error as --l1 weighs the
picture's); the validation then also reports the PSNR over that
region (tools/feature_fidelity.py measures it on whole clips).

Augmentations: random crops, horizontal flip, colour jitter. Seeds fixed; RNG states go into
the checkpoint, so a resumed run draws the same batches as an uninterrupted one.

Checkpoints in the run folder: model.safetensors, optim.safetensors, best.safetensors (best
validation LPIPS-alex, or LPIPS-vgg with ``--val-metric lpips-vgg``) and state.json; ``train``
resumes from them when present.
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch.nn import functional as F

from ifvc_common.outputs import OutputTransaction
from ifvc_synthesis.generators.geometric import GeometricGenerator
from ifvc_synthesis.generators.layered import LayeredGenerator
from bitstream.generator_registry import GENERATOR_BY_NAME
from ifvc_synthesis.generators.learned import (FLOW_1, FLOW_2, LEARNED_NETWORKS, REFINE_1, LearnedGenerator,
                                               LearnedNetwork)
from ifvc_synthesis.generators.flow_occlusion_net import FlowOcclusionConfig
from ifvc_synthesis.generators.geometric_3 import MeshGenerator
from ifvc_synthesis.generators.refine_net import MASK_CHANNELS, RefineConfig, parameter_count, to_uint8
from ref_encoder.keyframe_coding import KEYFRAME_PRESETS
from tools.generator_pack import validation_drive_frames

WORK = Path("work") / "train_generator"     # relative to the working directory
# The networks it trains: "refine" is ifvc-refine-1's RefineNet, the flow-and-occlusion network
# (issue 14 item 5) ifvc-flow-1's (both on geometric-1's warp: 10 input channels), and
# "flow-occlusion-layered" ifvc-flow-2's (on geometric-3's layers: 11 channels, Annex I.8); each
# exports only to its own generator's shipped file.
MODELS: dict[str, LearnedNetwork] = {"refine": REFINE_1, "flow-occlusion": FLOW_1,
                                     "flow-occlusion-layered": FLOW_2}


def model_kind(model: torch.nn.Module) -> str:
    return next(k for k, network in MODELS.items() if type(model) is network.network)
# The geometric pass the network refines: geometric-1 (Annex E, the shipped ifvc-refine-1) or
# the layered geometric-2 (Annex G, one reference: its picture, motion field and target geometry
# have the same form).
BASES: dict[str, type[GeometricGenerator]] = {"ifvc-geometric-1": GeometricGenerator,
                                              "ifvc-geometric-2": LayeredGenerator,
                                              "ifvc-geometric-3": MeshGenerator}
# the pass a layered network needs (LearnedNetwork.layered): its composite map and coverage
LAYERED_BASE = "ifvc-geometric-3"


def base_refused(network: LearnedNetwork, base: str) -> bool:
    """Log and say so when ``network`` cannot read the ``base`` pass (a layered network reads
    only LAYERED_BASE's layers); every command that builds inputs checks this first."""
    if network.layered and base != LAYERED_BASE:
        log(f"error: {network.name}'s network reads the {LAYERED_BASE} pass: give --base {LAYERED_BASE}")
        return True
    return False
KEY_FRACTIONS = (0.1, 0.5, 0.9)      # key frames per training clip, as fractions of its length
DRIVE_STRIDE = 2                     # every other frame is a driving frame
VAL_DRIVES = 8                       # driving frames per validation clip (key frame 0)
LPIPS_SHIFT = torch.tensor((-0.030, -0.088, -0.188)).view(1, 3, 1, 1)
LPIPS_SCALE = torch.tensor((0.458, 0.448, 0.450)).view(1, 3, 1, 1)


def key_qp(text: str) -> int:
    """argparse type of a VVC key-frame QP (0..63)."""
    try:
        qp = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a QP: {text!r}") from None
    if not 0 <= qp <= 63:
        raise argparse.ArgumentTypeError(f"key-frame QP {qp} out of range 0..63")
    return qp


def log(msg: str) -> None:
    print(f"[train_generator {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# == data =======================================================================================
@dataclass
class KeyFrame:
    frame: int
    values: np.ndarray      # (14,) analysed values of the key frame
    payload: bytes          # geometry payload v1
    qp: int | None = None   # the VVC key-frame QP of ``picture`` (None: the source picture)
    picture: np.ndarray | None = None     # H x W x 3 uint8 decoded key frame (None: the source frame)


def key_frames(name: str, frames: np.ndarray, indices: Iterable[int]) -> list[KeyFrame]:
    """Key frames of a clip (values + geometry payload from the landmarks), cached under WORK.

    The cache key is the clip's file hash and the analysis hash, as in semantics_cache.
    """
    from tools.semantics_cache import analysis_hash, file_hash, sequence_path

    indices = sorted(set(int(i) for i in indices))
    key = f"{file_hash(sequence_path(name))}_{analysis_hash()}_{','.join(map(str, indices))}"
    cache = WORK / "keys" / f"{name}.json"
    if cache.is_file():
        data = json.loads(cache.read_text())
        if data.get("key") == key:
            return [KeyFrame(k["frame"], np.array(k["values"]), bytes.fromhex(k["payload"])) for k in data["keys"]]
    from ref_encoder.analysis import FaceAnalyzer
    from ref_encoder.keyframe_geometry import geometry_from_landmarks

    out = []
    with FaceAnalyzer(tracking=False) as fa:
        for i in indices:
            a = fa.analyze_frame(np.ascontiguousarray(frames[i]))
            if not a.face_found:
                continue                       # a key frame without a face teaches nothing here
            h, w = frames.shape[1:3]
            out.append(KeyFrame(i, a.semantics.copy(), geometry_from_landmarks(a.landmarks, a.semantics, w, h)))
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({"key": key, "keys": [
        {"frame": k.frame, "values": k.values.tolist(), "payload": k.payload.hex()} for k in out]}))
    return out


@dataclass
class Clip:
    name: str
    frames: np.ndarray                  # N x H x W x 3 uint8
    values: np.ndarray                  # N x 14 analysed semantics
    keys: list[KeyFrame]
    base: type[GeometricGenerator] = GeometricGenerator     # the geometric pass (BASES)
    generators: dict[int, GeometricGenerator] = field(default_factory=dict)
    drive_stride: int = DRIVE_STRIDE    # every n-th frame drives (1 for a pack's already sparse frames)
    validation_drives: list[int] | None = None    # positions of the validation drives (a pack's)
    network: LearnedNetwork = REFINE_1  # whose inputs the samples are (LearnedNetwork.inputs)

    def key_picture(self, k: int) -> np.ndarray:
        """Key frame k's picture as the decoder sees it: VVC-decoded when coded, else the source."""
        kf = self.keys[k]
        return kf.picture if kf.picture is not None else self.frames[kf.frame]

    def generator(self, k: int) -> GeometricGenerator:
        """A geometric generator set to key frame k (built once: the mesh takes a while)."""
        if k not in self.generators:
            kf = self.keys[k]
            g = self.base()
            g.set_keyframe(self.key_picture(k), kf.values, kf.payload, 1)
            self.generators[k] = g
        return self.generators[k]


def coded_key_cache_path(picture: np.ndarray, qp: int, preset: str) -> Path:
    """Where coded_key_picture keeps ``picture`` coded at ``qp`` with ``preset`` (under WORK)."""
    digest = hashlib.sha256(np.ascontiguousarray(picture).tobytes()).hexdigest()[:20]
    return WORK / "coded_keys" / f"{digest}_{picture.shape[1]}x{picture.shape[0]}_qp{qp}_{preset}.rgb"


def coded_key_picture(picture: np.ndarray, qp: int, preset: str) -> np.ndarray:
    """``picture`` coded as a VVC intra key frame at ``qp`` and decoded, as the encoder codes
    key frames (ref_encoder.keyframe_coding); cached under WORK by picture hash, QP and preset."""
    cache = coded_key_cache_path(picture, qp, preset)
    if cache.is_file():
        decoded = np.frombuffer(cache.read_bytes(), np.uint8)
        if decoded.size == picture.size:            # else a stale or damaged file: code again
            return decoded.reshape(picture.shape)
    from ref_encoder.keyframe_coding import encode_vvc_intra
    decoded = encode_vvc_intra(np.ascontiguousarray(picture), qp, preset).decoded
    cache.parent.mkdir(parents=True, exist_ok=True)
    with OutputTransaction() as outputs:            # written whole or not at all
        outputs.write_bytes(cache, decoded.tobytes())
    return decoded


def code_key_frames(clips: list["Clip"], qps: tuple[int, ...], preset: str) -> None:
    """Replace every key frame's picture by its VVC-decoded version, the key frames taking the
    QPs in turn (clip by clip, key by key): the network then learns from the key frames that a
    decoder has, at every point of the rate range, without multiplying the pairs. The values and
    the geometry payload stay those of the source frame (the landmarks barely move by coding)."""
    i = 0
    for clip in clips:
        for k, kf in enumerate(clip.keys):
            qp = qps[i % len(qps)]
            i += 1
            clip.keys[k] = KeyFrame(kf.frame, kf.values, kf.payload, qp,
                                    coded_key_picture(clip.frames[kf.frame], qp, preset))
        clip.generators.clear()


def load_clip(name: str, key_indices: Callable[[int], Iterable[int]],
              base: type[GeometricGenerator] = GeometricGenerator, network: LearnedNetwork = REFINE_1) -> Clip:
    from tools.semantics_cache import raw_semantics, sequence_path
    from bitstream.raw_video import read_rgb444

    frames = read_rgb444(sequence_path(name))
    values, _ = raw_semantics(name)
    n = min(len(frames), len(values))
    return Clip(name, frames[:n], values[:n], key_frames(name, frames, key_indices(n)), base, network=network)


@dataclass
class Sample:
    """One pair, stored compactly (uint8 pictures, float16 flow): a training pool holds thousands."""
    warp: np.ndarray        # H x W x 3 uint8 (the geometric output)
    key: np.ndarray         # H x W x 3 uint8
    flow: np.ndarray        # 2 x H x W float16 (already divided by FLOW_SCALE)
    masks: np.ndarray       # 2 (3 for a layered network: the coverage) x H x W uint8 (x 255)
    target: np.ndarray      # H x W x 3 uint8

    @classmethod
    def from_inputs(cls, x: np.ndarray, warp: np.ndarray, key: np.ndarray, target: np.ndarray) -> "Sample":
        return cls(warp, key, x[6:8].astype(np.float16), np.round(x[8:] * 255).astype(np.uint8), target)

    def inputs(self) -> np.ndarray:
        x = np.empty((8 + len(self.masks),) + self.warp.shape[:2], np.float32)
        x[0:3] = self.warp.transpose(2, 0, 1) / 127.5 - 1.0
        x[3:6] = self.key.transpose(2, 0, 1) / 127.5 - 1.0
        x[6:8] = self.flow
        x[8:] = self.masks / 255.0
        return x


def make_sample(clip: Clip, k: int, drive: int) -> Sample:
    g = clip.generator(k)
    x, warp = clip.network.inputs(g, clip.values[drive])
    return Sample.from_inputs(x, warp, clip.key_picture(k), clip.frames[drive])


class PairPool:
    """All (clip, key, driving frame) pairs of the training clips; samples computed on first use."""

    def __init__(self, clips: list[Clip]) -> None:
        self.clips = clips
        self.pairs = [(c, k, d) for c, clip in enumerate(clips) for k, kf in enumerate(clip.keys)
                      for d in range(0, len(clip.frames), clip.drive_stride) if d != kf.frame]
        self.cache: dict[int, Sample] = {}

    def __len__(self) -> int:
        return len(self.pairs)

    def get(self, i: int) -> Sample:
        if i not in self.cache:
            c, k, d = self.pairs[i]
            self.cache[i] = make_sample(self.clips[c], k, d)
        return self.cache[i]

    def prefill(self, workers: int) -> None:
        """Compute every pair's sample now, in ``workers`` processes: on a GPU machine the first
        pass over the pairs (one geometric pass each, tens of ms on one core) would otherwise
        take a good part of a short training call. The samples are the ones ``get`` computes
        (same function, same inputs), so training draws the same batches either way. The
        workers are spawned, not forked: a fork of a process whose libraries run threads
        (MediaPipe's, OpenCV's) can deadlock."""
        todo = [i for i in range(len(self.pairs)) if i not in self.cache]
        if workers <= 1 or not todo:
            for i in todo:
                self.get(i)
            return
        import dataclasses
        import multiprocessing
        # contiguous chunks: pairs are ordered by clip and key, so a worker sets up few key frames
        n = max(1, min(len(todo), workers * 4))
        chunks = [todo[j * len(todo) // n:(j + 1) * len(todo) // n] for j in range(n)]
        clips = [dataclasses.replace(c, generators={}) for c in self.clips]    # built in the workers
        with multiprocessing.get_context("spawn").Pool(workers, initializer=_prefill_worker_init,
                                                       initargs=(clips,)) as procs:
            for done in procs.imap(_prefill_chunk, chunks):
                self.cache.update(done)


_PREFILL_POOL: PairPool | None = None        # a prefill worker's pool (its own cache)


def _prefill_worker_init(clips: list[Clip]) -> None:
    global _PREFILL_POOL
    torch.set_num_threads(1)                 # one core per worker; numpy and OpenCV work per pair
    import cv2
    cv2.setNumThreads(1)
    _PREFILL_POOL = PairPool(clips)          # the same clips give the parent's pairs, in its order


def _prefill_chunk(indices: list[int]) -> dict[int, Sample]:
    assert _PREFILL_POOL is not None
    done = {i: _PREFILL_POOL.get(i) for i in indices}
    _PREFILL_POOL.cache.clear()              # the parent keeps them
    return done


def augment(sample: Sample, crop: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(10 x crop x crop inputs, 3 x crop x crop target), both float32, target in [-1, 1].

    Horizontal flip mirrors the whole pair after IDI: pictures and masks flip, the flow's x
    component changes sign. The network sees the semantics only through these rendered
    channels, so this is the mirrored scene with its mirrored semantics, without re-running
    the analysis on flipped pictures. Colour jitter applies one per-channel gain and offset
    to the key, the warp and the target alike (the warp is made of key-frame colours).
    """
    x = sample.inputs()
    y = sample.target.transpose(2, 0, 1).astype(np.float32) / 127.5 - 1.0
    h, w = y.shape[1:]
    crop = min(crop, h, w)
    top = int(rng.integers(0, h - crop + 1))
    left = int(rng.integers(0, w - crop + 1))
    x = x[:, top:top + crop, left:left + crop]
    y = y[:, top:top + crop, left:left + crop]
    if rng.random() < 0.5:
        x = x[:, :, ::-1].copy()
        y = y[:, :, ::-1].copy()
        x[6] = -x[6]
    gain = rng.uniform(0.85, 1.15, size=(3, 1, 1)).astype(np.float32)
    offset = rng.uniform(-0.08, 0.08, size=(3, 1, 1)).astype(np.float32)
    x = np.ascontiguousarray(x)
    for s in (slice(0, 3), slice(3, 6)):
        x[s] = np.clip((x[s] + 1) * gain - 1 + offset, -1, 1)
    y = np.clip((y + 1) * gain - 1 + offset, -1, 1)
    return x, np.ascontiguousarray(y)


def validation_pairs(clips: list[Clip]) -> list[Sample]:
    """Fixed validation pairs: key frame = frame 0 (as in a stream), VAL_DRIVES driving frames."""
    out = []
    for clip in clips:
        if not clip.keys:
            continue
        drives = clip.validation_drives
        if drives is None:
            drives = validation_drive_frames(len(clip.frames), VAL_DRIVES)
        for d in drives:
            out.append(make_sample(clip, 0, d))
    return out


# == losses =====================================================================================
class PerceptualLoss(torch.nn.Module):
    """Unit-normalised VGG16 feature distance at relu1_2, relu2_2, relu3_3 (LPIPS without its
    learned heads), on the metrics' ImageNet VGG16 weights, frozen."""

    def __init__(self, pretrained: bool = True) -> None:
        super().__init__()
        from conformance.metrics.backbones import VGG16Features

        vgg = VGG16Features("max", pretrained=pretrained)
        vgg.stages = vgg.stages[:3]            # stages 4 and 5 cost a lot and add little here
        vgg.pools = vgg.pools[:2]
        self.vgg = vgg.eval().requires_grad_(False)
        self.register_buffer("shift", LPIPS_SHIFT.clone())
        self.register_buffer("scale", LPIPS_SCALE.clone())

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The VGG16 taps of pictures in [0, 1]."""
        return self.vgg((x - self.shift) / self.scale)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        fx = self.features(x)
        with torch.no_grad():
            fy = self.features(y)
        return self.distance(fx, fy)

    @staticmethod
    def distance(fx: list[torch.Tensor], fy: list[torch.Tensor]) -> torch.Tensor:
        """The unit-normalised feature distance of two pictures' taps."""
        total = fx[0].new_zeros(())
        for a, b in zip(fx, fy):
            a = a / (a.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
            b = b / (b.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
            total = total + (a - b).pow(2).sum(1).mean()
        return total


class LPIPSLoss(torch.nn.Module):
    """The metrics' LPIPS (v0.1 linear heads on its backbone, all five taps), frozen, as a loss:
    mean over the batch. ``net='vgg'`` is the loss closest to what LPIPS and DISTS reward."""

    def __init__(self, net: str = "vgg", pretrained: bool = True) -> None:
        super().__init__()
        from conformance.metrics.lpips import LPIPS
        self.lpips = LPIPS(net, pretrained=pretrained).eval().requires_grad_(False)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.lpips(x, y.detach()).mean()


def make_perceptual(kind: str) -> torch.nn.Module:
    """'vgg3': PerceptualLoss (relu1_2..relu3_3, no heads); 'lpips-vgg' / 'lpips-alex': LPIPSLoss."""
    if kind == "vgg3":
        return PerceptualLoss()
    if kind in ("lpips-vgg", "lpips-alex"):
        return LPIPSLoss(kind.split("-")[1])
    raise ValueError(f"unknown perceptual loss {kind!r}")


# == checkpoints ================================================================================
def save_weights(model: torch.nn.Module, path: Path, extra_meta: dict[str, str] | None = None,
                 name: str | None = None, half: bool = False) -> None:
    """The weights with their metadata (format, name, model, config); ``half``: float16 tensors
    (the decoder computes in float32 from them; ifvc-flow-1 ships so, Annex I.1)."""
    kind = model_kind(model)
    network = MODELS[kind]
    meta = {"format": network.weights_format, "name": name or network.name, "model": kind,
            "config": json.dumps(model.config.to_json_dict())}
    meta.update(extra_meta or {})
    dtype = torch.float16 if half else torch.float32
    tensors = {k: v.detach().cpu().to(dtype).contiguous() for k, v in model.state_dict().items()}
    with OutputTransaction() as outputs:
        reserved = outputs.reserve(path)
        save_file(tensors, str(reserved), metadata=meta)
        canonical_header(reserved)


def canonical_header(path: Path) -> None:
    """Rewrite a safetensors file's JSON header with sorted keys: safetensors writes its
    metadata in hash-map order, which changes from run to run, so the same weights would get
    another SHA-256 each time they are exported. The tensor data and offsets are unchanged."""
    data = Path(path).read_bytes()
    n = int.from_bytes(data[:8], "little")
    header = json.dumps(json.loads(data[8:8 + n]), sort_keys=True, separators=(",", ":")).encode()
    header += b" " * (-len(header) % 8)            # safetensors pads the header to 8 bytes
    Path(path).write_bytes(len(header).to_bytes(8, "little") + header + data[8 + n:])


def load_model_file(path: Path, as_model: str | None = None) -> torch.nn.Module:
    """A weights file's network (its metadata names the kind); ``as_model``: load the same
    tensors into that kind of network instead (--init: ifvc-flow-1's weights start ifvc-flow-2,
    whose network has the same tensors)."""
    from ifvc_synthesis.generators.learned import _metadata
    meta = _metadata(Path(path).read_bytes())
    network = MODELS[as_model or meta.get("model", "refine")]
    model = network.network(network.config.from_json_dict(json.loads(meta["config"])))
    model.load_state_dict({k: t.float() for k, t in load_file(str(path)).items()}, strict=True)
    return model


def _optim_tensors(opt: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    out = {}
    for pid, st in opt.state_dict()["state"].items():
        for k, v in st.items():
            out[f"{pid}.{k}"] = (v if torch.is_tensor(v) else torch.tensor(v)).detach().cpu().contiguous()
    return out


def _load_optim(opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor]) -> None:
    sd = opt.state_dict()
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, t in tensors.items():
        pid, k = name.split(".", 1)
        state.setdefault(int(pid), {})[k] = t
    sd["state"] = state
    opt.load_state_dict(sd)


@dataclass
class TrainConfig:
    crop: int = 128
    batch: int = 4
    lr: float = 3e-4
    l1_weight: float = 1.0
    perceptual_weight: float = 1.0
    seed: int = 1234
    val_every: int = 200
    perceptual_loss: str = "vgg3"     # vgg3 | lpips-vgg | lpips-alex
    patience: int = 0                 # stop after this many validations without a new best (0: never)
    base: str = "ifvc-geometric-1"    # the geometric pass refined (BASES)
    model: str = "refine"             # MODELS
    key_qps: tuple[int, ...] = ()     # VVC QPs of the training key frames, in turn (empty: source pictures)
    val_key_qp: int | None = None     # VVC QP of the validation key frames (None: source pictures)
    key_preset: str = "medium"        # VVenC preset of the coded key frames
    val_metric: str = "lpips-alex"    # VAL_METRICS: what picks the best checkpoint
    feature_weight: float = 0.0       # weight of the L1 over the eyes and mouth (feature_region)


# The eye and mouth masks of the network inputs (MASK_CHANNELS: the target's mouth interior and
# eye openings) grown by this many pixels: a closing eye's ring shrinks to a line, but its lid
# covers the whole opening the key frame shows, and an opening mouth moves its lips.
FEATURE_RADIUS = 5


def feature_region(masks: torch.Tensor) -> torch.Tensor:
    """N x 1 x H x W weight in [0, 1] of the face features (eyes, mouth) from the N x 2 x H x W
    mouth-interior and eye masks of the network inputs, grown by FEATURE_RADIUS pixels."""
    k = 2 * FEATURE_RADIUS + 1
    return F.max_pool2d(masks.amax(dim=1, keepdim=True), k, stride=1, padding=FEATURE_RADIUS)


def feature_l1(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Mean absolute error inside the feature region (weighted by it); 0 when a batch has none.
    Normalised by the region's area, so --feature-weight weighs the region's mean error as --l1
    weighs the whole picture's, whatever the region's share of the pixels."""
    return ((pred - target).abs() * weight).sum() / (3.0 * weight.sum()).clamp_min(1.0)


# --val-metric -> the validation key it minimises (the geometric pass's is "geo_" + key)
VAL_METRICS = {"lpips-alex": "lpips_alex", "lpips-vgg": "lpips_vgg"}


class Trainer:
    """Optimisation, checkpoints and resume; the data come in through ``next_batch``."""

    def __init__(self, run_dir: Path, cfg: TrainConfig, device: str = "cpu",
                 model_config: RefineConfig | FlowOcclusionConfig = RefineConfig(),
                 perceptual: torch.nn.Module | None = None) -> None:
        self.run_dir, self.cfg = Path(run_dir), cfg
        self.device = torch.device(device)
        torch.manual_seed(cfg.seed)
        self.model = MODELS[cfg.model].network(model_config).to(self.device)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr, betas=(0.9, 0.99))
        self.perceptual = (perceptual or PerceptualLoss()).to(self.device)
        self.rng = np.random.default_rng(cfg.seed)
        self.step = 0
        self.elapsed_s = 0.0
        self.best_val: float | None = None      # of cfg.val_metric (state.json: "best_val_lpips", kept
                                                # under its first name so that older runs resume)
        self.history: list[dict] = []

    # -- checkpoints --
    def save(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        save_weights(self.model, self.run_dir / "model.safetensors")
        opt_t = _optim_tensors(self.opt)
        opt_t["torch_rng"] = torch.get_rng_state()
        save_file(opt_t, str(self.run_dir / "optim.safetensors"))
        state = {"step": self.step, "elapsed_s": self.elapsed_s, "best_val_lpips": self.best_val,
                 "numpy_rng": self.rng.bit_generator.state, "config": self.cfg.__dict__,
                 "model_config": self.model.config.to_json_dict(), "history": self.history}
        with OutputTransaction() as outputs:
            outputs.write_text(self.run_dir / "state.json", json.dumps(state, indent=1))

    def resume(self) -> bool:
        """Load the run folder's checkpoint if there is one; True when resumed."""
        sp = self.run_dir / "state.json"
        if not sp.is_file():
            return False
        state = json.loads(sp.read_text())
        base = state["config"].get("base", "ifvc-geometric-1")      # runs before --base: geometric-1
        if base != self.cfg.base:
            raise ValueError(f"{self.run_dir} refines {base}, not {self.cfg.base}: use another --run or --base {base}")
        kind = state["config"].get("model", "refine")
        if kind != self.cfg.model:
            raise ValueError(f"{self.run_dir} trains the {kind} network, not {self.cfg.model}: use another --run")
        keys = (list(state["config"].get("key_qps", ())), state["config"].get("val_key_qp"),
                state["config"].get("key_preset", "medium"))
        if keys != (list(self.cfg.key_qps), self.cfg.val_key_qp, self.cfg.key_preset):
            raise ValueError(f"{self.run_dir} was trained with --key-qps {keys[0] or 'none'}, --val-key-qp "
                             f"{keys[1]} and --key-preset {keys[2]}: resume it with the same, or use another --run")
        metric = state["config"].get("val_metric", "lpips-alex")     # runs before --val-metric: LPIPS-alex
        if metric != self.cfg.val_metric:
            raise ValueError(f"{self.run_dir} keeps its best checkpoint by {metric}: resume it with --val-metric "
                             f"{metric}, or use another --run")
        self.model.load_state_dict(load_file(str(self.run_dir / "model.safetensors")), strict=True)
        opt_t = load_file(str(self.run_dir / "optim.safetensors"))
        torch.set_rng_state(opt_t.pop("torch_rng"))
        _load_optim(self.opt, {k: v.to(self.device) if v.ndim else v for k, v in opt_t.items()})
        self.rng.bit_generator.state = state["numpy_rng"]
        self.step, self.elapsed_s = int(state["step"]), float(state["elapsed_s"])
        self.best_val, self.history = state["best_val_lpips"], state["history"]
        return True

    # -- optimisation --
    def train_step(self, x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor) -> dict[str, float]:
        self.model.train()
        xt = (x if torch.is_tensor(x) else torch.from_numpy(x)).to(self.device)
        yt = (y if torch.is_tensor(y) else torch.from_numpy(y)).to(self.device)
        pred = self.model(xt)
        l1 = F.l1_loss(pred, yt)
        perc = self.perceptual(pred, yt)
        loss = self.cfg.l1_weight * l1 + self.cfg.perceptual_weight * perc
        parts = {"l1": l1.item(), "perceptual": perc.item()}
        if self.cfg.feature_weight > 0:
            feat = feature_l1(pred, yt, feature_region(xt[:, MASK_CHANNELS]))
            loss = loss + self.cfg.feature_weight * feat
            parts["feature"] = feat.item()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.opt.step()
        self.step += 1
        return {"loss": loss.item(), **parts}


def augment_on_device(samples: list[Sample], crop: int, rng: np.random.Generator,
                      device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """augment() for a batch, with the same random draws in the same order, the arithmetic in
    torch on ``device``: on a GPU the per-sample numpy work would otherwise hold the GPU back.
    The result equals augment()'s within float32 rounding (tests/test_flow_occlusion.py)."""
    h, w = samples[0].warp.shape[:2]
    c = min(crop, h, w)
    draws = []
    for _ in samples:
        top, left = int(rng.integers(0, h - c + 1)), int(rng.integers(0, w - c + 1))
        flip = bool(rng.random() < 0.5)
        gain = rng.uniform(0.85, 1.15, size=(3, 1, 1)).astype(np.float32)
        offset = rng.uniform(-0.08, 0.08, size=(3, 1, 1)).astype(np.float32)
        draws.append((top, left, flip, gain, offset))
    pics = torch.from_numpy(np.stack([np.concatenate([s.warp, s.key, s.target], axis=2) for s in samples]))
    pics = pics.to(device).permute(0, 3, 1, 2).float() / 127.5 - 1.0             # N x 9 x H x W
    flow = torch.from_numpy(np.stack([s.flow for s in samples])).to(device).float()
    masks = torch.from_numpy(np.stack([s.masks for s in samples])).to(device).float() / 255.0
    full = torch.cat([pics[:, 0:6], flow, masks, pics[:, 6:9]], dim=1)            # x (10 or 11) + target (3)
    nx = full.shape[1] - 3
    full = torch.stack([full[i, :, t:t + c, l:l + c] for i, (t, l, _, _, _) in enumerate(draws)])
    flips = torch.tensor([d[2] for d in draws], device=device)
    full = torch.where(flips.view(-1, 1, 1, 1), full.flip(-1), full)
    full[:, 6] = torch.where(flips.view(-1, 1, 1), -full[:, 6], full[:, 6])
    gain = torch.from_numpy(np.stack([d[3] for d in draws])).to(device)
    offset = torch.from_numpy(np.stack([d[4] for d in draws])).to(device)
    for sl in (slice(0, 3), slice(3, 6), slice(nx, nx + 3)):
        full[:, sl] = ((full[:, sl] + 1) * gain - 1 + offset).clamp(-1, 1)
    return full[:, :nx].contiguous(), full[:, nx:].contiguous()


def batch_on_device(pool: PairPool, cfg: TrainConfig, rng: np.random.Generator,
                    device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """batch_from_pool's batch (same draws), made on ``device`` (augment_on_device)."""
    samples = [pool.get(int(i)) for i in rng.integers(0, len(pool), size=cfg.batch)]
    return augment_on_device(samples, cfg.crop, rng, device)


def batch_from_pool(pool: PairPool, cfg: TrainConfig, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for i in rng.integers(0, len(pool), size=cfg.batch):
        x, y = augment(pool.get(int(i)), cfg.crop, rng)
        xs.append(x)
        ys.append(y)
    return np.stack(xs), np.stack(ys)


# == evaluation =================================================================================
def refine_frames(model: torch.nn.Module, samples: list[Sample], device: torch.device, batch: int = 4) -> np.ndarray:
    model.eval()
    out = []
    with torch.inference_mode():
        for s in range(0, len(samples), batch):
            x = torch.from_numpy(np.stack([p.inputs() for p in samples[s:s + batch]])).to(device)
            out.extend(to_uint8(t) for t in model(x))
    return np.stack(out)


def validate(model: torch.nn.Module, samples: list[Sample], device: torch.device, full: bool = False,
             vgg: bool = False) -> dict[str, float]:
    """Mean LPIPS-alex (with ``vgg`` or ``full`` also LPIPS-vgg; with ``full`` also DISTS and
    PSNR-RGB) of the learned and the geometric outputs against the driving frames, and the
    PSNR-RGB over the eyes and mouth (``feature_psnr``: feature_region_psnr)."""
    from conformance.metrics.lpips import lpips_frames
    from conformance.metrics.psnr import psnr_rgb_frames

    ref = np.stack([s.target for s in samples])
    geo = np.stack([s.warp for s in samples])
    learned = refine_frames(model, samples, device)
    dev = str(device)
    res = {"lpips_alex": float(lpips_frames(ref, learned, "alex", batch_size=8, device=dev).mean()),
           "geo_lpips_alex": float(lpips_frames(ref, geo, "alex", batch_size=8, device=dev).mean())}
    region = feature_region(torch.from_numpy(np.stack([s.masks[:2] for s in samples])).float() / 255.0)
    res["feature_psnr"] = feature_region_psnr(ref, learned, region)
    res["geo_feature_psnr"] = feature_region_psnr(ref, geo, region)
    if vgg or full:
        res.update({
            "lpips_vgg": float(lpips_frames(ref, learned, "vgg", batch_size=4, device=dev).mean()),
            "geo_lpips_vgg": float(lpips_frames(ref, geo, "vgg", batch_size=4, device=dev).mean())})
    if full:
        from conformance.metrics.dists import dists_frames
        res.update({
            "dists": float(dists_frames(ref, learned, batch_size=4, device=dev).mean()),
            "geo_dists": float(dists_frames(ref, geo, batch_size=4, device=dev).mean()),
            "psnr_rgb": float(psnr_rgb_frames(ref, learned).mean()),
            "geo_psnr_rgb": float(psnr_rgb_frames(ref, geo).mean())})
    return res


def feature_region_psnr(ref: np.ndarray, out: np.ndarray, region: torch.Tensor) -> float:
    """PSNR-RGB over the feature regions of a set of frames (N x H x W x 3 uint8; region
    N x 1 x H x W), their squared errors weighted by the region and pooled over all frames
    (capped at the metrics' 100 dB)."""
    from conformance.metrics.psnr import psnr_from_mse
    w = region[:, 0].numpy().astype(np.float64)[..., None]
    se = (ref.astype(np.float64) - out.astype(np.float64)) ** 2
    return float(psnr_from_mse(float((se * w).sum() / max(3.0 * w.sum(), 1.0))))


def _key_indices_train(n: int) -> list[int]:
    return [int(round(f * (n - 1))) for f in KEY_FRACTIONS]


def load_pack_clips(pack: Path, split: str, limit: int | None = None,
                    base: type[GeometricGenerator] = GeometricGenerator,
                    network: LearnedNetwork = REFINE_1) -> list[Clip]:
    """The clips of a split from a pack (tools/generator_pack.py): no analysis, no sequences."""
    from tools.generator_pack import read_clip, read_manifest
    entries = [e for e in read_manifest(pack)["clips"] if e["split"] == split][:limit]
    clips = []
    for e in entries:
        c = read_clip(pack, e)
        keys = [KeyFrame(pos, np.asarray(v, np.float64), payload) for pos, v, payload in c["keys"]]
        clips.append(Clip(e["name"], c["frames"], c["values"], keys, base, drive_stride=1,
                          validation_drives=c["validation_drives"], network=network))
        log(f"{split} (pack): {e['name']}: {len(c['frames'])} frames, {len(keys)} key frames")
    if not clips:
        raise ValueError(f"{pack}: no {split} clips in the pack")
    return clips


def load_split_clips(split: str, limit: int | None = None,
                     base: type[GeometricGenerator] = GeometricGenerator, pack: Path | None = None,
                     network: LearnedNetwork = REFINE_1) -> list[Clip]:
    if pack is not None:
        return load_pack_clips(pack, split, limit, base, network)
    from tools.semantics_cache import load_split
    names = load_split()[split][:limit]
    picks = _key_indices_train if split == "train" else (lambda n: [0])
    clips = []
    for name in names:
        clips.append(load_clip(name, picks, base, network))
        log(f"{split}: {name}: {len(clips[-1].frames)} frames, {len(clips[-1].keys)} key frames")
    return clips


# == commands ===================================================================================
def cmd_train(args: argparse.Namespace) -> int:
    if base_refused(MODELS[args.model], args.base):
        return 2
    torch.set_num_threads(args.threads)
    cfg = TrainConfig(crop=args.crop, batch=args.batch, lr=args.lr, seed=args.seed, val_every=args.val_every,
                      l1_weight=args.l1, perceptual_weight=args.perceptual, perceptual_loss=args.perceptual_loss,
                      patience=args.patience, base=args.base, model=args.model,
                      key_qps=tuple(args.key_qps or ()), val_key_qp=args.val_key_qp, key_preset=args.key_preset,
                      val_metric=args.val_metric, feature_weight=args.feature_weight)
    model_config: RefineConfig | FlowOcclusionConfig = (
        RefineConfig(zero_mean_residual=args.zero_mean_residual) if args.model == "refine" else FlowOcclusionConfig())
    if args.device == "cuda":
        torch.backends.cudnn.benchmark = True          # fixed input sizes: let cuDNN pick its kernels
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    trainer = Trainer(Path(args.run), cfg, args.device, model_config=model_config,
                      perceptual=make_perceptual(cfg.perceptual_loss))
    trainer.run_dir.mkdir(parents=True, exist_ok=True)
    try:
        resumed = trainer.resume()
    except ValueError as exc:
        log(str(exc))
        return 2
    if resumed:
        log(f"resumed {args.run} at step {trainer.step} ({trainer.elapsed_s / 60:.1f} min trained)"
            + (f"; --init {args.init} not used: the run's checkpoint continues" if args.init is not None else ""))
    elif args.init is not None:
        try:
            trainer.model.load_state_dict(load_model_file(args.init, args.model).state_dict(), strict=True)
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            log(f"error: --init {args.init}: {exc}")
            return 2
        log(f"started from the weights of {args.init}")
    log(f"{type(trainer.model).__name__}: {parameter_count(trainer.model)} parameters; device {args.device}, "
        f"{torch.get_num_threads()} threads; crop {cfg.crop}, batch {cfg.batch}")
    base = BASES[args.base]
    network = MODELS[args.model]
    log(f"geometric pass: {args.base}")
    try:
        train_clips = load_split_clips("train", args.limit_clips, base, args.pack, network)
        val_clips = load_split_clips("validation", base=base, pack=args.pack, network=network)
        if cfg.key_qps:
            code_key_frames(train_clips, cfg.key_qps, cfg.key_preset)
            log(f"training key frames VVC-coded ({cfg.key_preset}) at QPs {', '.join(map(str, cfg.key_qps))} in turn")
        if cfg.val_key_qp is not None:
            code_key_frames(val_clips, (cfg.val_key_qp,), cfg.key_preset)
            log(f"validation key frames VVC-coded ({cfg.key_preset}) at QP {cfg.val_key_qp}")
        pool = PairPool(train_clips)
        if args.prefill_workers > 0:
            t0 = time.perf_counter()
            pool.prefill(args.prefill_workers)
            log(f"{len(pool.cache)} training pairs computed in {time.perf_counter() - t0:.1f} s "
                f"({args.prefill_workers} processes)")
        val = validation_pairs(val_clips)
    except (ValueError, RuntimeError) as exc:       # a pack that is missing, incomplete or altered
        log(f"error: {exc}")
        return 2
    log(f"{len(pool)} training pairs, {len(val)} validation pairs")
    budget = args.minutes * 60.0
    t_start = time.perf_counter()
    t_log = t_start
    run_losses: list[dict[str, float]] = []

    key = VAL_METRICS[cfg.val_metric]

    def run_validation() -> bool:
        """Validate, keep the best (by --val-metric); False when early stopping asks to stop."""
        v = validate(trainer.model, val, trainer.device, vgg=key == "lpips_vgg")
        better = trainer.best_val is None or v[key] < trainer.best_val
        if better:
            trainer.best_val = v[key]
            save_weights(trainer.model, trainer.run_dir / "best.safetensors",
                         {"step": str(trainer.step), f"val_{key}": f"{v[key]:.5f}"})
        trainer.history.append({"step": trainer.step, "minutes": trainer.elapsed_s / 60, **v})
        extra = (f"; LPIPS-vgg {v['lpips_vgg']:.4f} vs {v['geo_lpips_vgg']:.4f}" if "lpips_vgg" in v else "")
        log(f"step {trainer.step}: validation LPIPS-alex learned {v['lpips_alex']:.4f} vs geometric "
            f"{v['geo_lpips_alex']:.4f}{extra}; eyes and mouth PSNR {v['feature_psnr']:.2f} vs "
            f"{v['geo_feature_psnr']:.2f} dB{' (best)' if better else ''}")
        if cfg.patience <= 0:
            return True
        best_i = min(range(len(trainer.history)), key=lambda i: trainer.history[i][key])
        return len(trainer.history) - 1 - best_i < cfg.patience

    session_start_elapsed = trainer.elapsed_s
    if trainer.step == 0:
        run_validation()          # step 0 is the geometric generator (zero last layer)
    stopped_early = False
    while time.perf_counter() - t_start < budget and (args.steps is None or trainer.step < args.steps):
        if trainer.device.type == "cuda":
            x, y = batch_on_device(pool, cfg, trainer.rng, trainer.device)
        else:
            x, y = batch_from_pool(pool, cfg, trainer.rng)
        run_losses.append(trainer.train_step(x, y))
        trainer.elapsed_s = session_start_elapsed + time.perf_counter() - t_start
        if time.perf_counter() - t_log > 30:
            m = {k: float(np.mean([r[k] for r in run_losses])) for k in run_losses[0]}
            feat = f", eyes and mouth {m['feature']:.4f}" if "feature" in m else ""
            log(f"step {trainer.step}: loss {m['loss']:.4f} (L1 {m['l1']:.4f}, perceptual {m['perceptual']:.4f}{feat}); "
                f"{len(pool.cache)} pairs cached; {trainer.elapsed_s / 60:.1f} min")
            with open(trainer.run_dir / "losses.jsonl", "a") as f:
                f.write(json.dumps({"step": trainer.step, **m}) + "\n")
            run_losses.clear()
            t_log = time.perf_counter()
        if trainer.step % cfg.val_every == 0:
            keep_going = run_validation()
            trainer.save()
            if not keep_going:
                stopped_early = True
                log(f"early stop: no new best validation {cfg.val_metric} in {cfg.patience} validations")
                break
    if not stopped_early:
        run_validation()
        trainer.save()
    log(f"stopped at step {trainer.step} after {trainer.elapsed_s / 60:.1f} min; best validation "
        f"{cfg.val_metric} {trainer.best_val:.4f}; checkpoint in {args.run}")
    return 0


def _time_decoding(gen_factory: Callable[[], object], clip: Clip, frames: int) -> float:
    gen = gen_factory()
    kf = clip.keys[0]
    gen.set_keyframe(clip.key_picture(0), kf.values, kf.payload, 1)
    gen.synthesize(clip.values[1])
    t0 = time.perf_counter()
    for d in range(1, frames + 1):
        gen.synthesize(clip.values[d % len(clip.values)])
    return frames / (time.perf_counter() - t0)


def cmd_evaluate(args: argparse.Namespace) -> int:
    torch.set_num_threads(args.threads)
    model = load_model_file(Path(args.weights) if args.weights else Path(args.run) / "best.safetensors")
    network = MODELS[model_kind(model)]
    if base_refused(network, args.base):
        return 2
    base = BASES[args.base]
    clips = load_split_clips(args.split, base=base, pack=args.pack, network=network)
    if args.key_qp is not None:
        try:
            code_key_frames(clips, (args.key_qp,), args.key_preset)
        except RuntimeError as exc:          # VVenC missing or failing
            log(f"error: {exc}")
            return 2
    samples = validation_pairs(clips)
    res = validate(model, samples, torch.device(args.device), full=True)
    res["pairs"] = len(samples)
    res["parameters"] = parameter_count(model)
    res["base"] = args.base
    res["key_frames"] = "source" if args.key_qp is None else f"VVC QP {args.key_qp} ({args.key_preset})"
    res["fps_learned"] = _time_decoding(lambda: LearnedGenerator(model=model, device=args.device, network=network,
                                                                 num_threads=args.threads, geometric=base()),
                                        clips[0], args.frames)
    res["fps_geometric"] = _time_decoding(base, clips[0], args.frames)
    print(json.dumps(res, indent=1))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    run = Path(args.run)
    state = json.loads((run / "state.json").read_text())
    metric = state.get("config", {}).get("val_metric", "lpips-alex")     # runs before --val-metric: LPIPS-alex
    key = VAL_METRICS[metric]
    hist = [h for h in state["history"] if h[key] == state["best_val_lpips"]]
    best = hist[-1] if hist else None
    if best is None or (best[key] >= best["geo_" + key] and not args.force):
        log(f"not exported: the best validation {metric} {best and best[key]} does not beat "
            f"the geometric generator's {best and best['geo_' + key]} (use --force to export anyway)")
        return 1
    model = load_model_file(run / "best.safetensors")
    kind = model_kind(model)
    network = LEARNED_NETWORKS[args.generator] if args.generator else (REFINE_1 if kind == "refine" else None)
    if network is not None and network.network is not type(model):
        log(f"not exported: {network.name} is a {network.network.__name__}, the run trained a {kind} network")
        return 2
    out = Path(args.out) if args.out else (network.weights_file if network is not None else None)
    if out is None:
        log("not exported: give --generator ifvc-flow-1 or an --out for flow-occlusion weights")
        return 2
    shipped = {n.weights_file.resolve(): n for n in LEARNED_NETWORKS.values()}
    if out.resolve() in shipped and shipped[out.resolve()] is not network:
        log(f"not exported: {out} is {shipped[out.resolve()].name}'s shipped file; give the {kind} weights another --out")
        return 2
    out.parent.mkdir(parents=True, exist_ok=True)
    save_weights(model, out, {"step": str(best["step"]), f"val_{key}": f"{best[key]:.5f}",
                              f"val_geo_{key}": f"{best['geo_' + key]:.5f}"},
                 name=network.name if network is not None else None, half=args.half)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    print(f"{out} ({out.stat().st_size} bytes), SHA-256 {digest}")
    if network is not None:
        gid = GENERATOR_BY_NAME[network.name].generator_id
        print(f'pin it in bitstream/generator_registry.py: RegisteredGenerator({gid}, "{network.name}", '
              f'bytes.fromhex("{digest}"), ...)')
    return 0


def cmd_compare_devices(args: argparse.Namespace) -> int:
    """The same weights on the CPU and on CUDA over the validation pairs: how far the outputs
    differ (Annex F.6 allows device differences within the output tolerance of Annex C.3)."""
    torch.set_num_threads(args.threads)
    # float32 products on CUDA as the decoder runs them (Annex F.6: TF32 off)
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    model = load_model_file(Path(args.weights) if args.weights else Path(args.run) / "best.safetensors")
    network = MODELS[model_kind(model)]
    if base_refused(network, args.base):
        return 2
    samples = validation_pairs(load_split_clips("validation", base=BASES[args.base], pack=args.pack,
                                                network=network))
    first, second = args.devices
    outputs = [refine_frames(copy.deepcopy(model).to(d), samples, torch.device(d)).astype(np.int16)
               for d in (first, second)]
    diff = np.abs(outputs[0] - outputs[1])
    res = {"pairs": len(samples), "max_abs_diff": int(diff.max()), "mean_abs_diff": float(diff.mean()),
           "samples_differing": float((diff > 0).mean()), "samples_over_1": float((diff > 1).mean()),
           "per_pair_max": [int(d.max()) for d in diff], "torch": torch.__version__,
           "devices": [first, second],
           "cuda_device": torch.cuda.get_device_name(0) if "cuda" in args.devices else None}
    text = json.dumps(res, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train (resumes from the run folder's checkpoint)")
    t.add_argument("--run", default=str(WORK / "run1"))
    t.add_argument("--minutes", type=float, default=30.0, help="training time budget of this call")
    t.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    t.add_argument("--threads", type=int, default=max(1, min(os.cpu_count() or 1, 16)))
    t.add_argument("--crop", type=int, default=128)
    t.add_argument("--batch", type=int, default=4)
    # Defaults: the recipe of the shipped weights (Annex F.4); step 1145 of it is ifvc-refine-1.
    t.add_argument("--steps", type=int, default=None,
                   help="stop at this total step (the same stopping point on any machine; --minutes still caps the call)")
    t.add_argument("--lr", type=float, default=1e-4)
    t.add_argument("--l1", type=float, default=0.05)
    t.add_argument("--perceptual", type=float, default=1.0)
    t.add_argument("--feature-weight", type=float, default=0.0, metavar="W",
                   help="add W x the L1 over the eyes and mouth (the target's eye and mouth-interior masks "
                        f"grown by {FEATURE_RADIUS} px, normalised by their area): blinks and mouth openings "
                        "weigh more than their share of the pixels (default 0: off)")
    t.add_argument("--seed", type=int, default=1234)
    t.add_argument("--val-every", type=int, default=200)
    t.add_argument("--perceptual-loss", choices=("vgg3", "lpips-vgg", "lpips-alex"), default="lpips-vgg",
                   help="vgg3: VGG16 relu1_2..relu3_3 without heads; lpips-*: the metrics' LPIPS, frozen")
    t.add_argument("--val-metric", choices=tuple(VAL_METRICS), default="lpips-alex",
                   help="the validation metric that picks best.safetensors (and --patience counts)")
    t.add_argument("--zero-mean-residual", action=argparse.BooleanOptionalAction, default=True,
                   help="subtract the residual's per-channel spatial mean (no global colour cast)")
    t.add_argument("--patience", type=int, default=0,
                   help="stop after this many validations without a new best (0: never)")
    t.add_argument("--limit-clips", type=int, default=None, help="first N training clips only")
    t.add_argument("--base", choices=tuple(BASES), default="ifvc-geometric-1",
                   help="the geometric pass the network refines (a run keeps the one it started with)")
    t.add_argument("--model", choices=tuple(MODELS), default="refine",
                   help="refine: RefineNet (ifvc-refine-1); flow-occlusion: the flow-and-occlusion network "
                        "(ifvc-flow-1; train it on full frames: --crop 256); flow-occlusion-layered: the same "
                        f"network on the layers of {LAYERED_BASE} (ifvc-flow-2; give --base {LAYERED_BASE})")
    t.add_argument("--init", type=Path, default=None,
                   help="a new run starts from these weights (same tensors), e.g. ifvc-flow-1's for ifvc-flow-2")
    t.add_argument("--key-qps", type=key_qp, nargs="+", default=None, metavar="QP",
                   help="train on key frames VVC-coded at these QPs, taken in turn (default: source pictures)")
    t.add_argument("--val-key-qp", type=key_qp, default=None, metavar="QP",
                   help="validate on key frames VVC-coded at this QP (default: source pictures)")
    t.add_argument("--key-preset", choices=KEYFRAME_PRESETS, default="medium", help="VVenC preset of coded key frames")
    t.add_argument("--pack", type=Path, default=None,
                   help="read the clips from a pack (tools/generator_pack.py) instead of work/sequences")
    t.add_argument("--prefill-workers", type=int, default=0, metavar="N",
                   help="compute every training pair before the first step, in N processes (0: as drawn)")
    e = sub.add_parser("evaluate", help="LPIPS/DISTS/PSNR of learned vs geometric, frames/s")
    e.add_argument("--run", default=str(WORK / "run1"))
    e.add_argument("--weights", default=None, help="a weights file instead of the run's best")
    e.add_argument("--split", default="validation", choices=("validation", "test"))
    e.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    e.add_argument("--threads", type=int, default=2)
    e.add_argument("--frames", type=int, default=50, help="frames timed for frames/s")
    e.add_argument("--base", choices=tuple(BASES), default="ifvc-geometric-1",
                   help="the geometric pass the weights refine")
    e.add_argument("--pack", type=Path, default=None, help="read the clips from a pack (validation only)")
    e.add_argument("--key-qp", type=key_qp, default=None, metavar="QP",
                   help="key frames VVC-coded at this QP, as a decoder has them (default: source pictures)")
    e.add_argument("--key-preset", choices=KEYFRAME_PRESETS, default="medium", help="VVenC preset of coded key frames")
    d = sub.add_parser("compare-devices", help="outputs of the same weights on the CPU and on CUDA (needs CUDA)")
    d.add_argument("--run", default=str(WORK / "run1"))
    d.add_argument("--weights", default=None, help="a weights file instead of the run's best")
    d.add_argument("--pack", type=Path, default=None, help="read the validation clips from a pack")
    d.add_argument("--base", choices=tuple(BASES), default="ifvc-geometric-1")
    d.add_argument("--threads", type=int, default=max(1, min(os.cpu_count() or 1, 16)))
    d.add_argument("--out", default=None, help="also write the JSON here")
    d.add_argument("--devices", nargs=2, choices=("cpu", "cuda"), default=["cpu", "cuda"],
                   help="the two devices compared (cpu cpu: a run-to-run check)")
    x = sub.add_parser("export", help="write the best weights as a generator's shipped file, print the SHA-256")
    x.add_argument("--run", default=str(WORK / "run1"))
    x.add_argument("--generator", choices=tuple(LEARNED_NETWORKS), default=None,
                   help="the registered generator the weights are for (default: ifvc-refine-1 for RefineNet "
                        "weights); its shipped file is the default --out")
    x.add_argument("--out", default=None, help="where to write (default: the generator's shipped file)")
    x.add_argument("--half", action="store_true", help="store float16 tensors (ifvc-flow-1 ships so)")
    x.add_argument("--force", action="store_true")
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    if getattr(args, "steps", None) is not None and args.steps < 1:
        ap.error(f"--steps must be at least 1, got {args.steps}")
    if getattr(args, "prefill_workers", 0) < 0:
        ap.error(f"--prefill-workers must be 0 or more, got {args.prefill_workers}")
    if not np.isfinite(getattr(args, "feature_weight", 0.0)) or getattr(args, "feature_weight", 0.0) < 0:
        ap.error(f"--feature-weight must be a finite number, 0 or more, got {args.feature_weight}")
    wants_cuda = getattr(args, "device", "cpu") == "cuda" or "cuda" in getattr(args, "devices", [])
    if wants_cuda and not torch.cuda.is_available():
        ap.error(f"{args.cmd}: no CUDA device available")
    return {"train": cmd_train, "evaluate": cmd_evaluate, "export": cmd_export,
            "compare-devices": cmd_compare_devices}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
