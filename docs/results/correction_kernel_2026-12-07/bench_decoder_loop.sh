#!/bin/bash
# usage: OLD_TREE=DIR NEW_TREE=DIR bench_decoder_loop.sh OUT ROUNDS STREAM...
# Each stream decoded by the old tree's decoder, then by the new one's (tools.bench_decoder, 2
# threads), ROUNDS times, alternating stream by stream. Streams are absolute paths.
OUT=$1; ROUNDS=$2; shift 2
: > $OUT
for r in $(seq 1 $ROUNDS); do
for s in "$@"; do
  for tree in old new; do
    if [ $tree = old ]; then T=$OLD_TREE; else T=$NEW_TREE; fi
    (cd $T && PYTHONPATH=. .venv/bin/python -m tools.bench_decoder "$s" --threads 2 2>&1 | tail -2 | head -1 | sed "s|^|[$tree] $(basename $s) |" >> $OUT)
  done
done
done
