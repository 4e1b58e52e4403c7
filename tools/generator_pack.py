"""A self-contained pack of generator-training data: what tools/train_generator.py needs to
train on a machine without the face analysis (MediaPipe), the prepared sequences or ../shared,
e.g. the GPU machine that is sometimes lent (scripts/device_train_flow.sh).

    python -m tools.generator_pack write --out work/device_carry/pack [--stride 8] [--quality 95]
    python -m tools.generator_pack check --pack work/device_carry/pack

Per clip of the train and validation splits (tools/test_split.json) one NAME.npz holds:

- ``frames``: the selected frames as JPEG (quality --quality; about 46 dB PSNR at 95), one
  uint8 buffer ``jpeg`` with ``offsets`` (no pickled objects: np.load with allow_pickle=False);
- ``indices``: their frame numbers in the prepared sequence, ``values`` their analysed
  semantics (N x 14 float64, tools/semantics_cache.py);
- the key frames (``key_frames``: frame numbers; ``key_values``; ``key_payloads`` buffer +
  ``key_offsets``: geometry payloads v1), made as train_generator makes them;
- training clips: every --stride-th frame plus the key frames (KEY_FRACTIONS); validation clips:
  frame 0 (the key frame) and the VAL_DRIVES driving frames of train_generator's validation.

manifest.json lists the clips, the settings, each file's SHA-256 and the sequences' hashes;
``load_pack`` checks every SHA-256 before it parses a file.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path

import cv2
import numpy as np

PACK_FORMAT = "ifvc-generator-pack-1"


class PackError(RuntimeError):
    """A pack is missing, incomplete, or a file is not the one its manifest names."""


def _encode_jpeg(rgb: np.ndarray, quality: int) -> bytes:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise PackError("JPEG encoding failed")
    return buf.tobytes()


def _join(parts: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.cumsum([0] + [len(p) for p in parts]).astype(np.int64)
    return np.frombuffer(b"".join(parts), np.uint8).copy(), offsets


def _split(buffer: np.ndarray, offsets: np.ndarray) -> list[bytes]:
    return [buffer[offsets[i]:offsets[i + 1]].tobytes() for i in range(len(offsets) - 1)]


def validation_drive_frames(n: int, drives: int) -> list[int]:
    """The driving frames of a validation clip of n frames (train_generator.validation_pairs)."""
    return [int(d) for d in np.linspace(1, n - 1, drives).round().astype(int)]


def write_clip(path: Path, frames: np.ndarray, values: np.ndarray, keys: list, selected: list[int],
               quality: int) -> None:
    """One clip's file: the selected frames (sorted, key frames included) and the key frames."""
    jpeg, offsets = _join([_encode_jpeg(np.ascontiguousarray(frames[i]), quality) for i in selected])
    payloads, key_offsets = _join([k.payload for k in keys])
    np.savez(path, jpeg=jpeg, offsets=offsets, indices=np.asarray(selected, np.int64),
             values=np.asarray(values[selected], np.float64),
             key_frames=np.asarray([k.frame for k in keys], np.int64),
             key_values=np.asarray([k.values for k in keys], np.float64).reshape(len(keys), -1),
             key_payloads=payloads, key_offsets=key_offsets)


def write_pack(out: Path, stride: int, quality: int, splits: tuple[str, ...] = ("train", "validation"),
               limit: int | None = None) -> dict:
    """Write the pack (needs the prepared sequences, the semantics cache and the analysis).
    It is written beside ``out`` and moved there when complete: an interrupted or failed write
    leaves no partial pack, and an existing ``out`` is replaced only then."""
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        manifest = _write_pack(staging, stride, quality, splits, limit)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)
    return manifest


def _write_pack(out: Path, stride: int, quality: int, splits: tuple[str, ...], limit: int | None) -> dict:
    from tools.semantics_cache import file_hash, load_split, raw_semantics, sequence_path
    from tools.train_generator import KEY_FRACTIONS, VAL_DRIVES, key_frames, log
    from bitstream.raw_video import read_rgb444

    out.mkdir(parents=True)
    manifest: dict = {"format": PACK_FORMAT, "stride": stride, "quality": quality, "clips": []}
    split_names = load_split()
    for split in splits:
        for name in split_names[split][:limit]:
            frames = read_rgb444(sequence_path(name))
            values, _ = raw_semantics(name)
            n = min(len(frames), len(values))
            if split == "train":
                keys = key_frames(name, frames, [int(round(f * (n - 1))) for f in KEY_FRACTIONS])
                selected = sorted(set(range(0, n, stride)) | {k.frame for k in keys})
                drives = None
            else:
                keys = key_frames(name, frames, [0])
                drives = validation_drive_frames(n, VAL_DRIVES)
                selected = sorted({0, *drives})
            path = out / f"{name}.npz"
            write_clip(path, frames[:n], values[:n], keys, selected, quality)
            manifest["clips"].append({
                "name": name, "split": split, "frames_in_sequence": n, "frames": len(selected),
                "key_frames": [k.frame for k in keys], "validation_drives": drives,
                "file": path.name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                "sequence_sha256": file_hash(sequence_path(name))})
            log(f"pack {split}: {name}: {len(selected)} of {n} frames, {len(keys)} key frames, "
                f"{path.stat().st_size / 1e6:.2f} MB")
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def read_manifest(pack: Path) -> dict:
    path = pack / "manifest.json"
    if not path.is_file():
        raise PackError(f"{pack}: no manifest.json (write a pack with python -m tools.generator_pack write)")
    manifest = json.loads(path.read_text())
    if manifest.get("format") != PACK_FORMAT:
        raise PackError(f"{pack}: format {manifest.get('format')!r}, expected {PACK_FORMAT}")
    return manifest


def read_clip(pack: Path, entry: dict) -> dict:
    """One clip's arrays after its SHA-256 check: frames (N x H x W x 3 uint8), indices,
    values, key frames as (position in frames, values, payload), validation drives as positions."""
    path = pack / entry["file"]
    if not path.is_file():
        raise PackError(f"{path}: missing")
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise PackError(f"{path}: SHA-256 differs from the manifest's")
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    frames = np.stack([cv2.cvtColor(cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
                       for b in _split(arrays["jpeg"], arrays["offsets"])])
    position = {int(f): i for i, f in enumerate(arrays["indices"])}
    keys = [(position[int(f)], v, p) for f, v, p in
            zip(arrays["key_frames"], arrays["key_values"], _split(arrays["key_payloads"], arrays["key_offsets"]))]
    drives = entry.get("validation_drives")
    return {"frames": frames, "indices": arrays["indices"], "values": arrays["values"], "keys": keys,
            "validation_drives": None if drives is None else [position[int(d)] for d in drives]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write", help="write a pack from work/sequences and the semantics cache")
    w.add_argument("--out", type=Path, required=True)
    w.add_argument("--stride", type=int, default=8, help="every N-th frame of a training clip")
    w.add_argument("--quality", type=int, default=95, help="JPEG quality")
    w.add_argument("--limit-clips", type=int, default=None, help="first N clips of each split (tests)")
    c = sub.add_parser("check", help="check every file of a pack against its manifest and decode it")
    c.add_argument("--pack", type=Path, required=True)
    args = ap.parse_args(argv)
    try:
        if args.cmd == "write":
            if not 1 <= args.stride <= 250 or not 1 <= args.quality <= 100:
                print("error: --stride must be 1..250 and --quality 1..100", file=sys.stderr)
                return 2
            manifest = write_pack(args.out, args.stride, args.quality, limit=args.limit_clips)
        else:
            manifest = read_manifest(args.pack)
            for entry in manifest["clips"]:
                read_clip(args.pack, entry)
    except (PackError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    size = sum((Path(args.out if args.cmd == "write" else args.pack) / e["file"]).stat().st_size
               for e in manifest["clips"])
    print(f"{len(manifest['clips'])} clips, {sum(e['frames'] for e in manifest['clips'])} frames, "
          f"{size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
