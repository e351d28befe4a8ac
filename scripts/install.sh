#!/usr/bin/env bash
# Install modelscan-vicious into ./.venv (idempotent). Used by the README's two commands and by CI.
#   torch: the CPU wheel, pinned, so pip never pulls a multi-GB CUDA build.
#   onnx2torch: --no-deps, because its metadata requires torchvision, which would pull such a build
#   (the converter never needs torchvision for classifiers; see modelscan_vicious/loading/onnx_to_torch.py).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
export PIP_DISABLE_PIP_VERSION_CHECK=1
.venv/bin/python -m pip install --quiet --upgrade pip 2>&1 | grep -v -i "warning: location" || true
.venv/bin/python -m pip install --quiet "torch==2.13.0" 2>&1 | grep -v -i "warning: location" || true
.venv/bin/python -m pip install --quiet --no-deps "onnx2torch==1.5.15" 2>&1 | grep -v -i "warning: location" || true
.venv/bin/python -m pip install --quiet -e ".[test]" 2>&1 | grep -v -i "warning: location" || true
.venv/bin/python -c "import torch, onnxruntime, modelscan_vicious; print('installed modelscan-vicious', modelscan_vicious.__version__, '(torch', torch.__version__ + ')')"
