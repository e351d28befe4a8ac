#!/usr/bin/env bash
# Install modelscan-vicious, editable, with its test tools into ./.venv (idempotent). Used by the
# README's two commands and by CI. Every step stops the script with pip's own exit status on failure.
#   bash scripts/install.sh          CPU: onnxruntime (the default dependency)
#   bash scripts/install.sh --gpu    GPU: onnxruntime-gpu instead (the `gpu` extra); see README, "On a GPU"
#   TORCH_INDEX_URL=URL              take torch from that index (PyTorch's CPU index on Linux: README,
#                                    "Which PyTorch"); unset, torch==2.13.0 comes from PyPI as configured
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
GPU=0
case "${1:-}" in
  "") ;;
  --gpu) GPU=1 ;;
  *) echo "usage: bash scripts/install.sh [--gpu]" >&2; exit 2 ;;
esac
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
export PIP_DISABLE_PIP_VERSION_CHECK=1

# pip, quiet; drops only the notices about a configured local package folder that does not hold a package
# (this project's machines configure such folders). The grep never fails the pipeline, pip does (pipefail).
pip_quiet() {
  .venv/bin/python -m pip "$@" --quiet 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }
}
installed() { .venv/bin/python -m pip show --quiet "$1" >/dev/null 2>&1; }

pip_quiet install --upgrade pip
if [ -n "${TORCH_INDEX_URL:-}" ]; then
  pip_quiet install "torch==2.13.0" --index-url "$TORCH_INDEX_URL"
else
  pip_quiet install "torch==2.13.0"
fi
# onnxruntime and onnxruntime-gpu write the same `onnxruntime` folder: with both installed, whichever was
# written last answers the import, and uninstalling either breaks the other. Remove both before switching.
if [ "$GPU" = 0 ] && installed onnxruntime-gpu; then
  if installed onnxruntime; then pip_quiet uninstall -y onnxruntime-gpu onnxruntime; else pip_quiet uninstall -y onnxruntime-gpu; fi
fi
if [ "$GPU" = 1 ]; then
  pip_quiet install -e ".[test,gpu]"
  if installed onnxruntime; then  # the default dependency came in beside the GPU build: keep the GPU one alone
    ORT_GPU_VERSION="$(.venv/bin/python -c "from importlib.metadata import version; print(version('onnxruntime-gpu'))")"
    pip_quiet uninstall -y onnxruntime onnxruntime-gpu
    pip_quiet install --no-deps "onnxruntime-gpu==$ORT_GPU_VERSION"
  fi
else
  pip_quiet install -e ".[test]"
fi
.venv/bin/python -c "import torch, onnxruntime, modelscan_vicious; print('installed modelscan-vicious', modelscan_vicious.__version__, '(torch', torch.__version__ + ', onnxruntime', onnxruntime.__version__, onnxruntime.get_device() + ')')"
