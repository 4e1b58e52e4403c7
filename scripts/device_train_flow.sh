#!/usr/bin/env bash
# Train the flow-and-occlusion generator network on the GPU machine (issue 14 item 5), in one
# call of the device tool, from the repository root, with work/device_carry carried
# (scripts/prepare_device_training.sh made it):
#
#   bash scripts/device_train_flow.sh                       # RECIPE=flow-3; results in $OUT
# The tree and the carry together exceed what the device tool sends: scripts/device_tree.sh slim
# before the call, restore after (docs/results/gpu_call_2026-12-04).
#   DEVICE=cpu PHASES=1:1e-4 BATCH=2 RUNS=a bash scripts/device_train_flow.sh   # a CPU smoke run
#
# Recipes:
#   flow-3  the layered network of ifvc-flow-2/-3 (Annex I.8) on ifvc-geometric-3's pass,
#           started from ifvc-flow-3's shipped weights, training key frames VVC-coded at QPs
#           22/32/42/52 in turn and validation key frames at QP 32 (the coded pictures come
#           from the carry: the GPU machine has no VVenC). Its CPU training was 60 minutes.
#   flow-1  the paper's network on ifvc-geometric-1's warp from scratch, source key frames
#           (the recipe of docs/results/flow_occlusion_2026-12-03; MINUTES and LR as then).
# PHASES is a list of MINUTES:LR; each phase resumes the run at that learning rate (a step
# schedule). RUNS names runs that train at once on the one GPU (the batch and learning-rate
# scale of each: a = BATCH at the phase rates, b = 2 x BATCH at half the rates), so one call
# compares two settings; every run keeps its best validation weights.
# Steps: check the pack, train every run, then run each run's best weights on the CPU and on
# CUDA over the validation pairs and report how far the outputs differ. $OUT receives
# run_<name>.tar (best.safetensors, state.json, losses.jsonl, train.log, cpu_vs_gpu.json) and
# env.txt. Back on the CPU machine: tools/train_generator.py evaluate --weights best.safetensors.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-work/device_out}
CARRY=work/device_carry
PY=${PY:-python3}
DEVICE=${DEVICE:-cuda}
RECIPE=${RECIPE:-flow-3}
BATCH=${BATCH:-16}
RUNS=${RUNS:-a b}
THREADS=${THREADS:-4}
WORKERS=${WORKERS:-8}
mkdir -p "$OUT"
export PYTHONPATH="$PWD:$PWD/$CARRY/site${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
  nproc
  $PY -c "import sys, torch, numpy, cv2; print(sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.version.cuda, 'numpy', numpy.__version__, 'cv2', cv2.__version__)"
  git rev-parse HEAD 2>/dev/null || true; } > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"
$PY -m tools.generator_pack check --pack "$CARRY/pack"
case "$RECIPE" in
  flow-3)
    PHASES=${PHASES:-4:2e-4 1.5:5e-5}
    # the carried VVC-decoded key frames, where coded_key_picture looks them up
    mkdir -p work/train_generator/coded_keys
    cp "$CARRY"/coded_keys/*.rgb work/train_generator/coded_keys/
    ARGS=(--model flow-occlusion-layered --base ifvc-geometric-3
          --init ifvc_synthesis/generators/weights/ifvc_flow_3.safetensors
          --key-qps 22 32 42 52 --val-key-qp 32)
    BASE=ifvc-geometric-3 ;;
  flow-1)
    PHASES=${PHASES:-${MINUTES:-6}:${LR:-2e-4}}
    ARGS=(--model flow-occlusion --base ifvc-geometric-1)
    BASE=ifvc-geometric-1 ;;
  *) echo "error: RECIPE must be flow-3 or flow-1, not '$RECIPE'" >&2; exit 2 ;;
esac

train_run() {   # name batch lr-scale: every phase of one run, in order
  local name=$1 batch=$2 scale=$3 run=work/train_generator/gpu_$1 phase minutes lr
  for phase in $PHASES; do
    minutes=${phase%%:*}
    lr=$(awk "BEGIN { print ${phase#*:} * $scale }")
    $PY -m tools.train_generator train "${ARGS[@]}" --pack "$CARRY/pack" --run "$run" --device "$DEVICE" \
        --crop 256 --batch "$batch" --lr "$lr" --l1 0.5 --perceptual 1.0 --perceptual-loss lpips-alex \
        --val-every "${VAL_EVERY:-250}" --minutes "$minutes" --threads "$THREADS" \
        --prefill-workers "$WORKERS" || return $?
  done
}

declare -A PIDS
for name in $RUNS; do
  case "$name" in
    a) batch=$BATCH; scale=1 ;;
    b) batch=$((2 * BATCH)); scale=0.5 ;;
    *) echo "error: RUNS names a and b only, not '$name'" >&2; exit 2 ;;
  esac
  mkdir -p "work/train_generator/gpu_$name"
  train_run "$name" "$batch" "$scale" > "work/train_generator/gpu_$name/train.log" 2>&1 &
  PIDS[$name]=$!
done
status=0
for name in $RUNS; do
  if wait "${PIDS[$name]}"; then echo "run $name: done"; else echo "run $name: failed"; status=1; fi
  tail -n 5 "work/train_generator/gpu_$name/train.log"
done

for name in $RUNS; do
  run=work/train_generator/gpu_$name
  if [ "$DEVICE" = cuda ] && [ -f "$run/best.safetensors" ]; then
    $PY -m tools.train_generator compare-devices --run "$run" --pack "$CARRY/pack" --base "$BASE" \
        --threads 8 --out "$run/cpu_vs_gpu.json" > /dev/null 2>> "$run/train.log" || status=1
  fi
  files=()
  for f in best.safetensors state.json losses.jsonl train.log cpu_vs_gpu.json; do
    [ -f "$run/$f" ] && files+=("$f")
  done
  tar -cf "$OUT/run_$name.tar" -C "$run" "${files[@]}"
done
exit $status
