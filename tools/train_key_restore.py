"""Train and export the key-picture restoration network of "ifvc-geometric-9" (spec Annex H.12,
ifvc_synthesis/generators/key_restore.py) on the CPU.

Data: every ``--every``-th frame of the train split's clips (tools/test_split.json), each coded
as the encoder codes key frames (VVC intra, preset medium, ref_encoder.keyframe_coding) at one of
``--qps`` in turn, so that one network serves every key-frame QP; it is told the rate each was
coded at (bits per pixel, Annex H.12.2). The coded pictures are cached under
work/train_key_restore/coded. Validation: frame 0 of the
validation and test split's clips (the campaign's first key picture) at ``--val-qps``, scored with
PSNR-RGB, LPIPS-VGG and DISTS every 500 steps.

Loss: L1 + ``--weight`` x the VGG16 feature distance of tools/train_generator.PerceptualLoss
(relu1_2..relu3_3, unit-normalised, no learned heads) + ``--texture-weight`` x texture_distance
(patch Gram matrices of the same features; Annex H.13.4) + ``--phase-weight`` x phase_pattern
(a 2 x 2 checkerboard in the correction): neither the metrics' LPIPS heads nor
DISTS is trained on. Random 64 x 64 crops, horizontal flips, Adam. ``--shuffle 2`` trains the
half-resolution network of Annex H.13 (2 x 2 blocks of samples as 12 planes).

The shipped weights (ifvc-geometric-9, Annex H.12.4) came from a network trained at QP 32 alone
without the rate plane (docs/results/key_restore_2026-12-07/probe_unconditioned.py), continued
here with the rate plane at every QP:

    python docs/results/key_restore_2026-12-07/probe_unconditioned.py --out work/key_filter/run1 --steps 2000
    python -m tools.train_key_restore train --out work/key_restore/run4 --steps 4000 --blocks 4 \\
        --init work/key_filter/run1/net.pt
    python -m tools.train_key_restore export --checkpoint work/key_restore/run4/checkpoint.pt \\
        --out ifvc_synthesis/generators/weights/ifvc_key_restore_1.safetensors

The weights of "ifvc-geometric-10" (Annex H.13) came from a new half-resolution network trained
with the texture loss at QP 32 alone, then at every QP, then at every QP with a falling rate, then
with the penalty on a 2 x 2 pattern (phase_pattern) that the half-resolution layout had learnt:

    python -m tools.train_key_restore train --out work/key_restore/s2a --steps 1500 --blocks 4 --shuffle 2 \
        --qps 32 --val-qps 22 32 42 --texture-weight 0.1
    python -m tools.train_key_restore train --out work/key_restore/s2b --steps 2500 --blocks 4 --shuffle 2 \
        --init work/key_restore/s2a/checkpoint.pt --texture-weight 0.1
    python -m tools.train_key_restore train --out work/key_restore/s2c --steps 1000 --blocks 4 --shuffle 2 \
        --init work/key_restore/s2b/checkpoint.pt --texture-weight 0.1 --cosine
    python -m tools.train_key_restore train --out work/key_restore/s2d --steps 800 --blocks 4 --shuffle 2 \
        --init work/key_restore/s2c/checkpoint.pt --texture-weight 0.1 --phase-weight 0.1 --cosine
    python -m tools.train_key_restore export --checkpoint work/key_restore/s2d/checkpoint.pt \
        --out ifvc_synthesis/generators/weights/ifvc_key_restore_2.safetensors

``--filters texture`` codes the pictures as the default encoder codes key pictures (without
VVenC's adaptive loop filter, ref_encoder.keyframe_coding.KEYFRAME_FILTERS); ``vvenc`` (the
default here) as the shipped weights were trained. ``--init`` also takes a shipped weights file,
and a run from ``--init`` first validates its start (step 0). Continuing ifvc-geometric-10's
network on no-ALF pictures did not improve their DISTS (docs/results/every_frame_targets_2026-12-08).

Training saves a checkpoint (network, optimiser, step, data-order state) every 500 steps and
``--resume`` continues from it. Export writes the safetensors file with sorted metadata (the same
weights always give the same SHA-256) and prints the SHA-256 to pin in
bitstream/generator_registry.py.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

from bitstream.raw_video import read_rgb444
from conformance.metrics.aggregate import frame_scores_many
from ifvc_common.outputs import OutputTransaction
from ifvc_synthesis.generators.key_restore import WEIGHTS_FORMAT, KeyRestoreConfig, build_network, rate_input
from ref_encoder.keyframe_coding import KEYFRAME_FILTERS, encode_vvc_intra
from tools.train_generator import PerceptualLoss, canonical_header

CACHE = Path("work") / "train_key_restore" / "coded"      # relative to the working directory

SPLIT = json.loads((Path(__file__).resolve().parent / "test_split.json").read_text())
CHECK_EVERY = 500


def frames_of(sequences: Path, clip: str, every: int) -> np.ndarray:
    """Every ``every``-th frame of a prepared 256 x 256 clip; SystemExit when it is missing."""
    path = sequences / f"{clip}_256x256_25_8bit_444.rgb"
    if not path.is_file():
        raise SystemExit(f"{path} is missing: prepare the sequences (python -m tools.prepare_sequences)")
    return read_rgb444(path, 256, 256)[::every]


def coded(picture: np.ndarray, qp: int, filters: str = "vvenc") -> tuple[np.ndarray, int]:
    """``picture`` coded as the encoder codes key frames (VVC intra, preset medium, the in-loop
    filters of ref_encoder.keyframe_coding.KEYFRAME_FILTERS[filters]) at ``qp``: (the decoded
    picture, the payload's size in bits); cached under CACHE by picture hash, QP and filters."""
    import hashlib
    digest = hashlib.sha256(np.ascontiguousarray(picture).tobytes()).hexdigest()[:20]
    tag = "" if filters == "vvenc" else f"_{filters}"          # vvenc: the cache names of before
    base = CACHE / f"{digest}_{picture.shape[1]}x{picture.shape[0]}_qp{qp}{tag}"
    rgb, bits = base.with_suffix(".rgb"), base.with_suffix(".bits")
    if rgb.is_file() and bits.is_file() and rgb.stat().st_size == picture.size:
        return np.frombuffer(rgb.read_bytes(), np.uint8).reshape(picture.shape), int(bits.read_text())
    out = encode_vvc_intra(np.ascontiguousarray(picture), qp, "medium", filters)
    CACHE.mkdir(parents=True, exist_ok=True)
    with OutputTransaction() as outputs:                       # written whole or not at all
        outputs.write_bytes(rgb, out.decoded.tobytes())
        outputs.write_text(bits, str(8 * len(out.payload)))
    return out.decoded, 8 * len(out.payload)


def _coded_job(job: tuple[np.ndarray, int, str]) -> tuple[np.ndarray, int]:
    return coded(*job)


def code_all(jobs: list[tuple[np.ndarray, int]], workers: int, filters: str = "vvenc") -> list[tuple[np.ndarray, int]]:
    """coded() of every (picture, QP) with these filters, in ``workers`` processes."""
    if workers <= 1:
        return [coded(p, q, filters) for p, q in jobs]
    from concurrent.futures import ProcessPoolExecutor
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(_coded_job, [(p, q, filters) for p, q in jobs], chunksize=8))


def to_tensor(pictures: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(pictures)).permute(0, 3, 1, 2).float() / 255.0


def random_crops(rng: np.random.Generator, decoded: np.ndarray, sources: np.ndarray, batch: int,
                 crop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One batch: (picture indices, decoded crops, source crops), crop x crop at random places,
    half of them flipped horizontally (the draws in this order: indices, rows, columns, flips)."""
    h, w = decoded.shape[1:3]
    idx = rng.integers(0, len(decoded), batch)
    ys = rng.integers(0, h - crop + 1, batch)
    xs = rng.integers(0, w - crop + 1, batch)
    flip = rng.random(batch) < 0.5
    a = np.stack([decoded[i, y:y + crop, x:x + crop] for i, y, x in zip(idx, ys, xs)])
    b = np.stack([sources[i, y:y + crop, x:x + crop] for i, y, x in zip(idx, ys, xs)])
    a[flip] = a[flip, :, ::-1]
    b[flip] = b[flip, :, ::-1]
    return idx, a, b


def rates(bits: np.ndarray) -> torch.Tensor:
    return torch.tensor([rate_input(int(b), 256, 256) for b in bits], dtype=torch.float32)


def restore_batch(net: torch.nn.Module, pictures: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """The network on uint8 pictures coded in ``bits`` bits each (the decoder's rounding is
    key_restore's)."""
    with torch.inference_mode():
        out = net(to_tensor(pictures), rates(bits))
    return (out.clamp(0, 1) * 255.0).round().byte().permute(0, 2, 3, 1).numpy()


def score(source: np.ndarray, versions: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    scored = frame_scores_many(source, list(versions.values()), ["psnr_rgb", "lpips_vgg", "dists"])
    return {n: {m: float(v.mean()) for m, v in s.items()} for n, s in zip(versions, scored)}


def train(args: argparse.Namespace) -> int:
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    # every input checked before anything is coded or written
    if args.init is not None and not args.init.is_file():
        raise SystemExit(f"--init {args.init}: not found")
    missing = [args.sequences / f"{c}_256x256_25_8bit_444.rgb" for c in SPLIT["train"] + SPLIT["validation"]
               + SPLIT["test"] if not (args.sequences / f"{c}_256x256_25_8bit_444.rgb").is_file()]
    if missing:
        raise SystemExit(f"{missing[0]} is missing: prepare the sequences (python -m tools.prepare_sequences)")
    t0 = time.time()
    jobs = []
    for clip in SPLIT["train"]:
        jobs += [(f, args.qps[i % len(args.qps)]) for i, f in enumerate(frames_of(args.sequences, clip, args.every))]
    done = code_all(jobs, args.workers, args.filters)
    src_a, dec_a = np.stack([f for f, _ in jobs]), np.stack([d for d, _ in done])
    bits_a = np.array([b for _, b in done])
    print(f"{len(src_a)} train pictures coded in {time.time() - t0:.0f} s", flush=True)
    vsrc = np.stack([frames_of(args.sequences, c, 1000)[0] for c in SPLIT["validation"] + SPLIT["test"]])
    vdec = {}
    for qp in args.val_qps:
        vdone = code_all([(f, qp) for f in vsrc], args.workers, args.filters)
        vdec[qp] = (np.stack([d for d, _ in vdone]), np.array([b for _, b in vdone]))

    config = KeyRestoreConfig(args.channels, args.blocks, args.shuffle)
    net = build_network(config)
    loss_p = PerceptualLoss()
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    if args.init is not None:
        net.load_state_dict(initial_weights(args.init, net.state_dict()))
        print(f"started from {args.init}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    checkpoint = args.out / "checkpoint.pt"
    log: list[dict] = []
    start = 1
    if args.resume and checkpoint.is_file():
        state = torch.load(checkpoint, weights_only=True)       # restricted unpickler
        net.load_state_dict(state["net"])
        opt.load_state_dict(state["opt"])
        rng.bit_generator.state = json.loads(state["rng"])
        log = json.loads(state["log"])
        start = int(state["step"]) + 1
        print(f"resumed at step {start}", flush=True)
    def validate(step: int) -> None:
        for qp, (pictures, bits) in vdec.items():
            s = score(vsrc, {"decoded": pictures, "restored": restore_batch(net, pictures, bits)})
            log.append({"step": step, "qp": qp, **s})
            print(f"val step {step} qp {qp}: " + " | ".join(
                f"{n} " + " ".join(f"{m} {v:.4f}" for m, v in r.items()) for n, r in s.items()), flush=True)

    if args.init is not None and start == 1:
        validate(0)                 # the start's own scores: what the run has to beat
    t0 = time.time()
    for step in range(start, args.steps + 1):
        if args.cosine:             # the rate falls from --lr to 0 over the run (settles the last steps)
            for group in opt.param_groups:
                group["lr"] = args.lr * 0.5 * (1.0 + math.cos(math.pi * (step - 1) / args.steps))
        idx, a, b = random_crops(rng, dec_a, src_a, args.batch, args.crop)
        x, y = to_tensor(a), to_tensor(b)
        out = net(x, rates(bits_a[idx]))
        l1 = (out - y).abs().mean()
        if args.texture_weight:
            fx = loss_p.features(out)
            with torch.no_grad():
                fy = loss_p.features(y)
            lp, lt = loss_p.distance(fx, fy), texture_distance(fx, fy)
        else:                       # the shipped run's path (the same float sums)
            lp, lt = loss_p(out, y), out.new_zeros(())
        loss = l1 + args.weight * lp + args.texture_weight * lt
        if args.phase_weight:
            lg = phase_pattern(out - x)
            loss = loss + args.phase_weight * lg
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0:
            print(f"step {step} l1 {l1.item():.4f} perc {lp.item():.4f} "
                  + (f"texture {lt.item():.4f} " if args.texture_weight else "")
                  + (f"phase {lg.item():.4f} " if args.phase_weight else "")
                  + f"{time.time() - t0:.0f} s", flush=True)
        if step % CHECK_EVERY == 0 or step == args.steps:
            validate(step)
            with OutputTransaction() as outputs:
                torch.save({"net": net.state_dict(), "opt": opt.state_dict(), "step": step,
                            "rng": json.dumps(rng.bit_generator.state), "log": json.dumps(log),
                            "config": config.to_json()}, outputs.reserve(checkpoint))
                outputs.write_text(args.out / "log.json", json.dumps(
                    {"args": {k: str(v) for k, v in vars(args).items() if k != "func"}, "log": log}, indent=1) + "\n")
    return 0


TEXTURE_PATCH = 16    # input pixels a side of the patches whose feature statistics are compared


def texture_distance(fx: list[torch.Tensor], fy: list[torch.Tensor]) -> torch.Tensor:
    """Texture loss (Gatys et al.'s Gram matrices, per patch as in EnhanceNet): at each VGG16
    tap, the Gram matrix of the features over every TEXTURE_PATCH x TEXTURE_PATCH patch of the
    input, mean squared difference. It asks for the source's local texture statistics, not for
    its samples in place: what VVC smoothed away may come back as texture of the right kind."""
    total = fx[0].new_zeros(())
    for level, (a, b) in enumerate(zip(fx, fy)):
        p = TEXTURE_PATCH >> level
        n, c, h, w = a.shape

        def gram(f: torch.Tensor) -> torch.Tensor:
            f = f.reshape(n, c, h // p, p, w // p, p).permute(0, 2, 4, 1, 3, 5).reshape(-1, c, p * p)
            return f @ f.transpose(1, 2) / (p * p)

        total = total + (gram(a) - gram(b)).pow(2).mean()
    return total


PHASE_TILE = 8        # samples a side of the tiles over which a 2 x 2 pattern is measured


def phase_pattern(residual: torch.Tensor) -> torch.Tensor:
    """The 2 x 2-periodic part of a correction, in levels squared: over every PHASE_TILE x
    PHASE_TILE tile, the mean of each of the four sample phases (even or odd row and column)
    less their average, squared and averaged. A network that writes 2 x 2 blocks (shuffle 2)
    otherwise learns a faint fixed checkerboard (about +-1 level; docs/results/texture_restore_2026-12-07)."""
    n, c, h, w = residual.shape
    t, k = PHASE_TILE, PHASE_TILE // 2
    tiles = (residual * 255.0).reshape(n, c, h // t, k, 2, w // t, k, 2).mean(dim=(3, 6))
    return (tiles - tiles.mean(dim=(3, 5), keepdim=True)).pow(2).mean()


def initial_weights(path: Path, target: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A start for --init: a state dict (or a checkpoint's "net") of the same network, or of one
    without the rate plane (a 3-channel head, docs/results/key_restore_2026-12-07's
    probe_unconditioned.py), whose head then gets a zero weight for the plane: the start is that
    network at every rate."""
    if not path.is_file():
        raise SystemExit(f"--init {path}: not found")
    if path.suffix == ".safetensors":          # a shipped weights file (e.g. ifvc_key_restore_2)
        from safetensors.torch import load_file
        state = load_file(str(path))
    else:
        state = torch.load(path, weights_only=True)
    state = state.get("net", state)
    head = state.get("head.weight")
    if head is not None and head.shape[1] == 3:
        state = dict(state)
        state["head.weight"] = torch.cat([head, torch.zeros_like(head[:, :1])], dim=1)
    if set(state) != set(target) or any(state[k].shape != target[k].shape for k in target):
        raise SystemExit(f"--init {path}: its tensors do not fit a network of --channels and --blocks")
    return state


def export(args: argparse.Namespace) -> int:
    import hashlib

    from safetensors.torch import save_file
    if not args.checkpoint.is_file():
        raise SystemExit(f"{args.checkpoint} not found")
    state = torch.load(args.checkpoint, weights_only=True)
    tensors = {k: v.detach().to(torch.float32).contiguous() for k, v in state["net"].items()}
    meta = {"format": WEIGHTS_FORMAT, "config": state["config"], "step": str(state["step"])}
    with OutputTransaction() as outputs:
        reserved = outputs.reserve(args.out)
        save_file(tensors, str(reserved), metadata=meta)
        canonical_header(reserved)
    print(f"{args.out}: SHA-256 {hashlib.sha256(args.out.read_bytes()).hexdigest()}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train (and resume) the network")
    t.add_argument("--out", type=Path, required=True)
    t.add_argument("--sequences", type=Path, default=Path("work/sequences"))
    t.add_argument("--steps", type=int, default=6000)
    t.add_argument("--qps", type=int, nargs="+", default=[22, 27, 32, 37, 42, 47, 52])
    t.add_argument("--every", type=int, default=10)
    t.add_argument("--crop", type=int, default=64)
    t.add_argument("--batch", type=int, default=8)
    t.add_argument("--weight", type=float, default=1.0, help="perceptual loss weight (L1's is 1)")
    t.add_argument("--texture-weight", type=float, default=0.0,
                   help="weight of the texture loss (patch Gram matrices of the VGG16 features; 0: off)")
    t.add_argument("--phase-weight", type=float, default=0.0,
                   help="weight of the 2 x 2 pattern penalty on the correction (levels squared; 0: off)")
    t.add_argument("--channels", type=int, default=32)
    t.add_argument("--blocks", type=int, default=5)
    t.add_argument("--shuffle", type=int, choices=(1, 2), default=1,
                   help="side of the space-to-depth blocks the network works on (2: half resolution, "
                        "a quarter of the cost; Annex H.13)")
    t.add_argument("--lr", type=float, default=2e-4)
    t.add_argument("--cosine", action="store_true",
                   help="learning rate from --lr down to 0 over the steps (cosine; otherwise constant)")
    t.add_argument("--val-qps", type=int, nargs="+", default=[22, 32, 42, 52])
    t.add_argument("--filters", choices=sorted(KEYFRAME_FILTERS), default="vvenc",
                   help="the key pictures' in-loop filters (ref_encoder.keyframe_coding.KEYFRAME_FILTERS); "
                        "vvenc: as the shipped weights were trained")
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--workers", type=int, default=2, help="processes that code the pictures")
    t.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    t.add_argument("--init", type=Path, help="start from these weights (state dict or checkpoint)")
    t.set_defaults(func=train)
    e = sub.add_parser("export", help="write a checkpoint's network as the shipped safetensors file")
    e.add_argument("--checkpoint", type=Path, required=True)
    e.add_argument("--out", type=Path, required=True)
    e.set_defaults(func=export)
    args = ap.parse_args(argv)
    for name in ("weight", "texture_weight", "phase_weight"):
        if getattr(args, name, 0.0) < 0:
            raise SystemExit(f"--{name.replace('_', '-')} {getattr(args, name)}: a loss weight must not be negative")
    if getattr(args, "crop", 0) % getattr(args, "shuffle", 1):
        raise SystemExit(f"--crop {args.crop}: not a multiple of --shuffle {args.shuffle}")
    for qp in getattr(args, "qps", []) + getattr(args, "val_qps", []):
        if not 0 <= qp <= 63:
            raise SystemExit(f"key-frame QP {qp} out of range 0..63")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
