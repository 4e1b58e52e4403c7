#!/usr/bin/env bash
# What the device tool sends to the GPU machine: the tracked files, the untracked files that git
# does not ignore and the carried paths, 64 MiB at most together. The tracked files alone are
# over 50 MiB (docs/results holds most of them), so a training call with its carry
# (scripts/prepare_device_training.sh: about 36 MiB) does not fit as the tree stands.
#
#   bash scripts/device_tree.sh check      # the sizes; exit 1 when the call would not fit
#   bash scripts/device_tree.sh slim       # docs/results leaves the index (the files stay on disk)
#                                          # and .git/info/exclude ignores it: it no longer travels
#   bash scripts/device_tree.sh restore    # the index and .git/info/exclude as before
#
# Make the device call between slim and restore, and commit nothing in between: a commit made
# while slim would delete docs/results from the history's next tree.
set -euo pipefail
cd "$(dirname "$0")/.."
CARRY=${CARRY:-work/device_carry}
EXCLUDE=.git/info/exclude
LINE=/docs/results/
LIMIT_MIB=64

sizes() {
  local tracked untracked carry
  tracked=$(git ls-files -z | xargs -0 cat 2>/dev/null | wc -c)
  untracked=$(git ls-files -z --others --exclude-standard | xargs -0 -r cat 2>/dev/null | wc -c)
  carry=$( [ -d "$CARRY" ] && du -sbL "$CARRY" | cut -f1 || echo 0)
  echo $(( tracked / 1048576 )) $(( untracked / 1048576 )) $(( carry / 1048576 )) \
       $(( (tracked + untracked + carry) / 1048576 ))
}

case "${1:-check}" in
  check)
    read -r t u c total < <(sizes)
    echo "[device_tree] tracked $t MiB + untracked $u MiB + $CARRY $c MiB = $total MiB (limit $LIMIT_MIB MiB)"
    [ "$total" -lt "$LIMIT_MIB" ] || { echo "[device_tree] too large: bash scripts/device_tree.sh slim" >&2; exit 1; } ;;
  slim)
    if ! git diff --cached --quiet; then
      echo "[device_tree] error: the index has staged changes; commit or unstage them first" >&2; exit 1
    fi
    git rm -r -q --cached docs/results
    grep -qxF "$LINE" "$EXCLUDE" || echo "$LINE" >> "$EXCLUDE"
    bash "$0" check ;;
  restore)
    git reset -q -- docs/results
    if [ -f "$EXCLUDE" ]; then
      grep -vxF "$LINE" "$EXCLUDE" > "$EXCLUDE.tmp" || true
      mv "$EXCLUDE.tmp" "$EXCLUDE"
    fi
    git diff --quiet -- docs/results && git diff --cached --quiet -- docs/results \
      && echo "[device_tree] docs/results tracked again" ;;
  *) echo "usage: bash scripts/device_tree.sh check|slim|restore" >&2; exit 2 ;;
esac
