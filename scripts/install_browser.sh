#!/usr/bin/env bash
# Debian's chromium + chromium-driver for the studio's browser tests (tests/test_studio_browser.py)
# and its benchmark. Idempotent and quiet: nothing happens when both are there. Needs root and
# apt-get (CI runs as root); otherwise it says how to install them and the tests skip.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "[browser] installing chromium and chromium-driver (Debian packages)"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
else
  echo "[browser] chromium or chromedriver missing: the studio's browser tests will be skipped" \
       "(install: sudo apt-get install chromium chromium-driver)" >&2
fi
