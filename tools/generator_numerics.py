"""How far the learned generator's output moves with the arithmetic it runs on (spec Annex C.3).

    python -m tools.generator_numerics STREAM [--frames 50] [--json out.json] [--generator NAME]
    python -m tools.generator_numerics conformance/streams/face_synthetic_motion_refine_cabac.ifvc
    python -m tools.generator_numerics conformance/streams/face_synthetic_motion_flow_cabac.ifvc \
        --generator ifvc-flow-1

Decodes STREAM with the reference decoder, synthesising every frame with the learned
generator --generator ("ifvc-refine-1" by default; or "ifvc-flow-1", Annex I), whatever
generator the stream names, on the reference configuration: CPU, float32,
oneDNN convolutions in the channels-last layout, 2 threads (the same bytes on any thread
count, Annex F.6). Then replays the same key frames and semantic values under
other arithmetic and compares each output frame with the reference one (PSNR-RGB, the
metric of the conformance tolerance; the largest absolute difference; the share of
differing samples):

    cpu-1-thread       one thread instead of two (identical since the channels-last layout)
    cpu-nchw-2-threads PyTorch's default layout on 2 threads: the reference before version 1.2
                       (its 1x1 convolutions sum in another order on 2 threads than on 1)
    cpu-no-onednn      PyTorch's own convolution kernels instead of oneDNN's
    cpu-float64        the network in double precision: the closest to exact arithmetic
    cpu-tf32-sim       conv operands rounded to TF32 (10-bit mantissa), as cuDNN does on
                       Ampere and later GPUs when TF32 is left on (PyTorch's default)
    cpu-bfloat16       the network under CPU autocast to bfloat16
    cuda-fp32          the CUDA device with TF32 off (what LearnedGenerator does on CUDA)
    cuda-tf32          the CUDA device with TF32 on (PyTorch's default)

The cuda variants run only where a CUDA device is present. The geometric part (IDI, the
warp) is the same code in every variant; only the network's arithmetic changes, which is
where CPU and GPU decoders differ. Key frames are bit-exact by rule and are left out.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import json
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch

from ifvc_synthesis.generators.learned import (LEARNED_NETWORKS, REFINE_1, LearnedGenerator, LearnedNetwork,
                                            full_fp32_convolutions)

REFERENCE_THREADS = 2


# -- recording the decoder's generator calls ---------------------------------------------------
@dataclass
class Recording:
    """The generator calls of one decode: key frames and target values, in order."""
    events: list[tuple[str, tuple]] = field(default_factory=list)
    reference: list[np.ndarray] = field(default_factory=list)     # outputs of the synthesize calls


class RecordingGenerator(LearnedGenerator):
    """The reference learned generator, keeping every call and output for the replays."""

    def __init__(self, recording: Recording, limit: int, network: LearnedNetwork = REFINE_1) -> None:
        super().__init__(network=network, num_threads=REFERENCE_THREADS)
        self.recording, self.limit = recording, limit

    def set_keyframe(self, key_rgb: np.ndarray, key_values: np.ndarray, geometry: bytes,
                     geometry_version: int) -> None:
        self.recording.events.append(("key", (key_rgb.copy(), key_values.copy(), geometry, geometry_version)))
        super().set_keyframe(key_rgb, key_values, geometry, geometry_version)

    def synthesize(self, target_values: np.ndarray) -> np.ndarray:
        out = super().synthesize(target_values)
        if len(self.recording.reference) < self.limit:
            self.recording.events.append(("frame", (target_values.copy(),)))
            self.recording.reference.append(out)
        return out


def record(stream: Path, frames: int, network: LearnedNetwork = REFINE_1) -> Recording:
    from ref_decoder.decoder import Decoder
    rec = Recording()
    gen = RecordingGenerator(rec, frames, network)
    for _ in Decoder(generator=gen).decode(stream.read_bytes()):
        if len(rec.reference) >= frames:
            break
    if not rec.reference:
        raise ValueError(f"{stream}: no synthesised frame to compare (only key frames?)")
    return rec


# -- arithmetic variants -----------------------------------------------------------------------
def _round_tf32(t: torch.Tensor) -> torch.Tensor:
    """float32 -> nearest TF32 value (10 explicit mantissa bits, ties to even), as float32."""
    bits = t.contiguous().view(torch.int32)
    lsb = (bits >> 13) & 1
    return ((bits + 0xFFF + lsb) & ~0x1FFF).view(torch.float32)


def _tf32_model(net: torch.nn.Module) -> torch.nn.Module:
    """A copy whose convolutions see TF32-rounded weights and inputs, accumulating in float32."""
    sim = copy.deepcopy(net)
    for m in sim.modules():
        if isinstance(m, torch.nn.Conv2d):
            m.weight.data = _round_tf32(m.weight.data)
            m.register_forward_pre_hook(lambda _m, args: (_round_tf32(args[0]),))
    return sim


class VariantGenerator(LearnedGenerator):
    """The learned generator with the network run under other arithmetic (on its own copy of
    the network: Module.to() converts in place)."""

    def __init__(self, net: torch.nn.Module, device: str, threads: int, dtype: torch.dtype = torch.float32,
                 autocast: torch.dtype | None = None, layout: torch.memory_format | None = None) -> None:
        self._layout = layout                   # None: the generator's own (memory_format)
        network = next(n for n in LEARNED_NETWORKS.values() if type(net) is n.network)   # its inputs' pass
        super().__init__(model=copy.deepcopy(net), device=device, num_threads=threads, network=network)
        self.dtype, self.autocast = dtype, autocast
        self.net = self.net.to(dtype)

    @property
    def memory_format(self) -> torch.memory_format:
        return self._layout if self._layout is not None else super().memory_format

    def refine(self, x: np.ndarray) -> torch.Tensor:
        ctx = (torch.autocast(self.device.type, dtype=self.autocast) if self.autocast is not None
               else contextlib.nullcontext())
        with ctx:
            return super().refine(x.astype(np.float64) if self.dtype == torch.float64 else x).float()


@contextlib.contextmanager
def _onednn(enabled: bool) -> Iterator[None]:
    with torch.backends.mkldnn.flags(enabled=enabled):
        yield


@contextlib.contextmanager
def _cuda_tf32(enabled: bool) -> Iterator[None]:
    conv = torch.backends.cudnn.conv  # type: ignore[attr-defined]  # (not in the type stubs)
    before = conv.fp32_precision
    conv.fp32_precision = "tf32" if enabled else "ieee"
    try:
        yield
    finally:
        conv.fp32_precision = before


@dataclass
class Variant:
    name: str
    make: Callable[[torch.nn.Module], LearnedGenerator]
    context: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext
    needs_cuda: bool = False


def variants() -> list[Variant]:
    return [
        Variant("cpu-1-thread", lambda n: VariantGenerator(n, "cpu", 1)),
        Variant("cpu-nchw-2-threads", lambda n: VariantGenerator(n, "cpu", 2, layout=torch.contiguous_format)),
        Variant("cpu-no-onednn", lambda n: VariantGenerator(n, "cpu", REFERENCE_THREADS),
                lambda: _onednn(False)),
        Variant("cpu-float64", lambda n: VariantGenerator(n, "cpu", REFERENCE_THREADS, torch.float64)),
        Variant("cpu-tf32-sim", lambda n: VariantGenerator(_tf32_model(n), "cpu", REFERENCE_THREADS)),
        Variant("cpu-bfloat16", lambda n: VariantGenerator(n, "cpu", REFERENCE_THREADS,
                                                           autocast=torch.bfloat16)),
        Variant("cuda-fp32", lambda n: VariantGenerator(n, "cuda", 0), lambda: _cuda_tf32(False), True),
        Variant("cuda-tf32", lambda n: VariantGenerator(n, "cuda", 0), lambda: _cuda_tf32(True), True),
    ]


def replay(gen: LearnedGenerator, rec: Recording) -> list[np.ndarray]:
    out = []
    for kind, args in rec.events:
        if kind == "key":
            gen.set_keyframe(*args)
        else:
            out.append(gen.synthesize(*args))
    return out


# -- comparison --------------------------------------------------------------------------------
def psnr_rgb(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR-RGB as the conformance checker computes it (mean MSE of the three channels),
    capped at 100 dB for identical frames."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 100.0 if mse == 0 else min(100.0, 10 * np.log10(255.0 ** 2 / mse))


def compare(ref: list[np.ndarray], test: list[np.ndarray]) -> dict[str, float]:
    p = [psnr_rgb(a, b) for a, b in zip(ref, test)]
    diffs = [np.abs(a.astype(np.int16) - b.astype(np.int16)) for a, b in zip(ref, test)]
    return {"frames": len(p), "identical_frames": sum(int(d.max()) == 0 for d in diffs),
            "min_psnr_rgb_db": round(min(p), 2), "mean_psnr_rgb_db": round(float(np.mean(p)), 2),
            "max_abs_diff": int(max(int(d.max()) for d in diffs)),
            "differing_samples": int(sum(int(np.count_nonzero(d)) for d in diffs)),
            "differing_samples_pct": round(100 * float(np.mean([np.mean(d > 0) for d in diffs])), 6)}


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore", category=UserWarning)   # torch's notes on TF32 switches
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stream", type=Path)
    ap.add_argument("--frames", type=int, default=50, help="synthesised frames compared (from the start)")
    ap.add_argument("--only", nargs="*", help="variant names (default: all that this machine can run)")
    ap.add_argument("--json", type=Path, help="write the results here as JSON")
    ap.add_argument("--generator", choices=tuple(LEARNED_NETWORKS), default=REFINE_1.name,
                    help="the learned generator whose network is run under each arithmetic")
    args = ap.parse_args(argv)
    network = LEARNED_NETWORKS[args.generator]
    if not args.stream.is_file():
        print(f"error: {args.stream}: no such stream", file=sys.stderr)
        return 2
    if args.frames < 1:
        print("error: --frames must be at least 1", file=sys.stderr)
        return 2
    cuda = torch.cuda.is_available()
    chosen = [v for v in variants() if (not args.only or v.name in args.only) and (cuda or not v.needs_cuda)]
    unknown = set(args.only or ()) - {v.name for v in variants()}
    if unknown:
        print(f"error: unknown variant(s) {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    try:
        t0 = time.perf_counter()
        rec = record(args.stream, args.frames, network)
    except Exception as exc:  # noqa: BLE001 - a user-facing tool: name the problem, no traceback
        print(f"error: {args.stream}: {exc}", file=sys.stderr)
        return 2
    print(f"{args.stream.name}: {len(rec.reference)} synthesised frames on the reference configuration "
          f"(CPU, float32, oneDNN channels-last, {REFERENCE_THREADS} threads) in {time.perf_counter() - t0:.1f} s")
    net = LearnedGenerator(network=network, num_threads=REFERENCE_THREADS).net
    results: dict[str, dict] = {}
    outputs: dict[str, list[np.ndarray]] = {}
    for v in chosen:
        gen = v.make(net)                  # before the context: construction on CUDA turns TF32 off
        with v.context():
            outputs[v.name] = replay(gen, rec)
        results[v.name] = {"vs_reference": compare(rec.reference, outputs[v.name])}
        if "cpu-float64" in outputs and v.name != "cpu-float64":
            results[v.name]["vs_float64"] = compare(outputs["cpu-float64"], outputs[v.name])
        r = results[v.name]["vs_reference"]
        print(f"  {v.name:14s} vs reference: {r['identical_frames']}/{r['frames']} frames identical; "
              f"PSNR-RGB min {r['min_psnr_rgb_db']:6.2f} dB, mean {r['mean_psnr_rgb_db']:6.2f} dB "
              f"(100: identical); max |diff| {r['max_abs_diff']}; {r['differing_samples']} samples "
              f"({r['differing_samples_pct']:.4f} %) differ")
    if "cpu-float64" in outputs:
        results["reference"] = {"vs_float64": compare(outputs["cpu-float64"], rec.reference)}
    torch.set_num_threads(REFERENCE_THREADS)
    from conformance.campaign.provenance import git_revision, machine
    summary = {"stream": str(args.stream), "generator": network.name, "frames": len(rec.reference),
               "torch": torch.__version__,
               "git": git_revision(), "machine": machine(),
               "cuda_device": torch.cuda.get_device_name(0) if cuda else None,
               "reference": f"cpu float32 oneDNN channels-last {REFERENCE_THREADS} threads", "variants": results}
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1) + "\n")
        print(f"written {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
