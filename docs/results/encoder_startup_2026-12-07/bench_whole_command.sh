#!/bin/bash
# The whole ifvc-encode command (start-up included), 100 frames at key-frame QP 32 with the
# options of issue 14's encoder (--pose-fit --refresh auto --correction-grid auto; 2 threads by
# default), on each given tree in turn, clip by clip, ROUNDS times: frames/s, bytes and the
# stream's SHA-256 prefix per run. Each TREE is a checkout with its .venv.
#
#   bash docs/results/encoder_startup_2026-12-07/bench_whole_command.sh ROUNDS OUT.txt SEQUENCES CLIPS TREE...
#   (CLIPS: comma-separated clip names, e.g. pcavs_Pose_Source_620900105,sadtalker_RD_Radio34_000)
set -eu
ROUNDS=$1; OUT=$(realpath "$2"); SEQ=$(realpath "$3"); CLIPS=$4; shift 4
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
for r in $(seq 1 "$ROUNDS"); do
  for clip in ${CLIPS//,/ }; do
    for tree in "$@"; do
      name=$(basename "$tree")
      o="$SCRATCH/${name}_${clip}.ifvc"
      t0=$(date +%s.%N)
      (cd "$tree" && PYTHONPATH=. .venv/bin/python -m ref_encoder.cli "$SEQ/${clip}_256x256_25_8bit_444.rgb" \
        --width 256 --height 256 --frames 100 --qp 32 --pose-fit --refresh auto --correction-grid auto \
        -o "$o" --quiet >/dev/null 2>&1)
      t1=$(date +%s.%N)
      echo "round $r $clip $name: $(python3 -c "print(f'{100/($t1-$t0):.1f}')") frames/s wall (whole command)" \
        "$(stat -c %s "$o") bytes $(sha256sum "$o" | cut -c1-12)" >> "$OUT"
    done
  done
done
