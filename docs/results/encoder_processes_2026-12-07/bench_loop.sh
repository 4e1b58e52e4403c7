#!/bin/bash
# usage: OLD_TREE=DIR NEW_TREE=DIR bench_loop.sh OUT ROUNDS [--pose-fit]
# Each test clip with the encoder of the old tree, then of the new one, ROUNDS times (the trees
# alternate clip by clip, so that a machine that speeds up or slows down affects both alike).
# Each tree needs .venv and work/sequences.
OUT=$1; ROUNDS=$2; shift 2
: > $OUT
for r in $(seq 1 $ROUNDS); do
for c in fomm_demo_old_08 liveportrait_driving_d10 liveportrait_driving_d13 liveportrait_driving_d20 pcavs_Pose_Source_620900105 sadtalker_RD_Radio34_000 videoretalking_face_2; do
  for tree in old new; do
    if [ $tree = old ]; then T=$OLD_TREE; else T=$NEW_TREE; fi
    (cd $T && PYTHONPATH=. .venv/bin/python -m tools.bench_encoder_refresh work/sequences/${c}_256x256_25_8bit_444.rgb --frames 100 --qp 32 --generator ifvc-geometric-7 --settings auto --correction-grid on --threads 2 "$@" 2>&1 | grep "frames/s" | sed "s/^/[$tree] /" >> $OUT)
  done
done
done
