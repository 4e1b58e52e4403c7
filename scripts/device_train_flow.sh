#!/usr/bin/env bash
# Train the flow-and-occlusion generator network on the GPU machine (issue 14 item 5), in one
# call of the device tool, from the repository root, with work/device_carry carried
# (scripts/prepare_device_training.sh made it):
#
#   bash scripts/device_train_flow.sh          # MINUTES=6 by default; results in $OUT
#   DEVICE=cpu MINUTES=1 BATCH=2 bash scripts/device_train_flow.sh   # the same on a CPU (a smoke run)
#
# Steps: check the pack, train (LPIPS-Alex + L1 on full 256x256 frames, validation LPIPS-Alex
# of the network and of geometric-1 on the validation pairs, best weights kept), then run the
# best weights on the CPU and on CUDA over the validation pairs and report how far the outputs
# differ. $OUT receives best.safetensors, state.json, losses.jsonl, train.log, cpu_vs_gpu.json
# and env.txt. Back on the CPU machine: tools/train_generator.py evaluate --weights
# OUT/best.safetensors (LPIPS-VGG, DISTS, PSNR against geometric-1 and ifvc-refine-1).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-work/device_out}
RUN=${RUN:-work/train_generator/flow_gpu}
CARRY=work/device_carry
PY=${PY:-python3}
mkdir -p "$OUT"
export PYTHONPATH="$PWD:$PWD/$CARRY/site${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
  $PY -c "import torch, numpy, cv2; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'numpy', numpy.__version__, 'cv2', cv2.__version__)"
  git rev-parse HEAD 2>/dev/null || true; } > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"
$PY -m tools.generator_pack check --pack "$CARRY/pack"
set +e
$PY -m tools.train_generator train --model flow-occlusion --pack "$CARRY/pack" --run "$RUN" --device "${DEVICE:-cuda}" \
    --crop 256 --batch "${BATCH:-16}" --lr "${LR:-2e-4}" --l1 "${L1:-0.5}" --perceptual 1.0 \
    --perceptual-loss lpips-alex --val-every "${VAL_EVERY:-250}" --minutes "${MINUTES:-6}" \
    --threads "${THREADS:-8}" 2>&1 | tee "$OUT/train.log"
rc=${PIPESTATUS[0]}
set -e
cp "$RUN"/state.json "$RUN"/best.safetensors "$OUT"/ 2>/dev/null || true
cp "$RUN"/losses.jsonl "$OUT"/ 2>/dev/null || true
[ "$rc" -eq 0 ] || { echo "training exited with $rc"; exit "$rc"; }
if [ "${DEVICE:-cuda}" = cuda ]; then
  $PY -m tools.train_generator compare-devices --run "$RUN" --pack "$CARRY/pack" --out "$OUT/cpu_vs_gpu.json"
fi
