#!/bin/bash
# After run 1 coded every cell (coded records in place): results removed, then the per-cell
# pass (run 2) and the sequence pass (run 3), both reusing the coding, same machine, back to back.
cd "$(dirname "$0")/../../.."   # the repository root
C=".venv/bin/python -m conformance.campaign run --config work/eval-pass/quick_eval_seqs.json --out work/eval-pass/out --sequences pcavs_Pose_Source_620900105 sadtalker_RD_Radio34_000 --frames 30 --jobs 1 --codecs vvc,hevc"
clean() { find work/eval-pass/out/cells -name '*.result.json' -delete; find work/eval-pass/out/cells -name '*.frames.csv' -delete; }
for run in 2 3; do
  mode=cell; [ $run = 3 ] && mode=sequence
  clean; date -u
  /usr/bin/time -v $C --metric-pass $mode > work/eval-pass/run$run.out 2> work/eval-pass/run$run.err; echo rc$run $?
  (cd work/eval-pass/out && find cells -name "*.result.json" -o -name "*.frames.csv" | tar -cf work/eval-pass/results_run$run.tar -T -)
done
date -u
