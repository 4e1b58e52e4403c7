#!/bin/bash
# Encodes the test clips (and a few other settings) with --threads 1 and 2 and says whether the
# two streams are byte-identical. Run from the repository root:
#     bash docs/results/encoder_threads_2026-12-06/same_streams.sh OUT_DIR
# A tree without --threads (before this change): THREADS_OPTION=no ... OUT_DIR, which codes each
# setting once (as "t0"); compare its files with the other run's by cmp.
set -u
out=${1:?usage: same_streams.sh OUT_DIR}
mkdir -p "$out"
threads=(1 2)
[ "${THREADS_OPTION:-yes}" = no ] && threads=(0)
run() {   # name clip frames encoder-options...
  local name=$1 clip=$2 n=$3; shift 3
  for t in "${threads[@]}"; do
    local opt=(); [ "$t" != 0 ] && opt=(--threads "$t")
    /usr/bin/time -f "%e" -o "$out/$name.t$t.time" .venv/bin/python -m ref_encoder.cli \
        "work/sequences/${clip}_256x256_25_8bit_444.rgb" --width 256 --height 256 --fps 25 --frames "$n" \
        -o "$out/$name.t$t.ifvc" --quiet "${opt[@]}" "$@" > /dev/null 2>&1 || echo "$name: encoder failed"
  done
  if [ "${#threads[@]}" = 2 ]; then
    cmp -s "$out/$name.t1.ifvc" "$out/$name.t2.ifvc" && r=SAME || r=DIFF
    echo "$name $r $(stat -c %s "$out/$name.t1.ifvc") bytes, $(cat "$out/$name.t1.time") s vs $(cat "$out/$name.t2.time") s"
  fi
}
for c in fomm_demo_old_08 liveportrait_driving_d10 liveportrait_driving_d13 liveportrait_driving_d20 \
         pcavs_Pose_Source_620900105 sadtalker_RD_Radio34_000 videoretalking_face_2; do
  run "default_qp32_$c" "$c" 100 --qp 32 --refresh auto
done
run qp22_sadtalker sadtalker_RD_Radio34_000 100 --qp 22 --refresh auto
run qp42_pcavs pcavs_Pose_Source_620900105 100 --qp 42 --refresh auto
run shown_d20 liveportrait_driving_d20 100 --qp 32 --refresh auto --refresh-picture shown
run invented_pcavs pcavs_Pose_Source_620900105 100 --qp 32 --refresh auto --refresh-invented 5 --refresh-failed 15
run nogrid_pcavs pcavs_Pose_Source_620900105 100 --qp 32 --refresh auto --correction-grid off
run norefresh_d20 liveportrait_driving_d20 100 --qp 32 --refresh off
run posefit_pcavs pcavs_Pose_Source_620900105 40 --qp 32 --refresh auto --pose-fit
run flow5_pcavs pcavs_Pose_Source_620900105 40 --qp 32 --refresh auto --generator ifvc-flow-5
run teeth_fomm fomm_demo_old_08 100 --qp 32 --refresh auto --refresh-teeth on
