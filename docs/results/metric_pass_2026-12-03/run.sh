#!/bin/bash
# Metric-pass timing: 1) sequence pass (codes + measures), 2) results removed, per-cell pass
# (coding reused), 3) results removed, sequence pass again (coding reused).
cd "$(dirname "$0")/../../.."   # the repository root
C="nice -n 10 .venv/bin/python -m conformance.campaign run --config work/eval-pass/quick_eval_seqs.json --out work/eval-pass/out --sequences pcavs_Pose_Source_620900105 sadtalker_RD_Radio34_000 --frames 30 --jobs 1 --codecs vvc,hevc"
clean() { find work/eval-pass/out/cells -name '*.result.json' -delete; find work/eval-pass/out/cells -name '*.frames.csv' -delete; }
date -u; /usr/bin/time -v $C --metric-pass sequence > work/eval-pass/run1.out 2> work/eval-pass/run1.err; echo rc1 $?
(cd work/eval-pass/out && find cells -name "*.result.json" -o -name "*.frames.csv" | tar -cf work/eval-pass/results_run1.tar -T -)
clean; date -u; /usr/bin/time -v $C --metric-pass cell > work/eval-pass/run2.out 2> work/eval-pass/run2.err; echo rc2 $?
(cd work/eval-pass/out && find cells -name "*.result.json" -o -name "*.frames.csv" | tar -cf work/eval-pass/results_run2.tar -T -)
clean; date -u; /usr/bin/time -v $C --metric-pass sequence > work/eval-pass/run3.out 2> work/eval-pass/run3.err; echo rc3 $?
(cd work/eval-pass/out && find cells -name "*.result.json" -o -name "*.frames.csv" | tar -cf work/eval-pass/results_run3.tar -T -)
date -u
