"""Trainable PyTorch copies of ONNX graphs, through the maintained onnx2torch converter.

onnx2torch imports torchvision at import time for three detection operators (NMS, RoiAlign,
box conversion) that no classifier uses; PyPI's torchvision does not import beside the CPU torch
wheel this project installs. We therefore import onnx2torch with a placeholder torchvision module
whose operators raise, and remove the placeholder again so nothing else sees it.
"""

from __future__ import annotations

import sys
import types

from modelscan_vicious.errors import ModelNotTrainableError

INSTALL_HINT = "install it with: pip install --no-deps onnx2torch==1.5.15"


def _placeholder_torchvision() -> dict[str, types.ModuleType]:
    def unsupported(*_args, **_kwargs):
        raise ModelNotTrainableError("the ONNX graph uses a torchvision-only operator (NMS/RoiAlign)")

    vision = types.ModuleType("torchvision")
    ops = types.ModuleType("torchvision.ops")
    ops.roi_align = ops.nms = ops.box_convert = unsupported  # type: ignore[attr-defined]
    vision.ops = ops  # type: ignore[attr-defined]
    return {"torchvision": vision, "torchvision.ops": ops}


def import_onnx2torch():
    if "onnx2torch" in sys.modules:
        return sys.modules["onnx2torch"]
    placeholders = {} if "torchvision" in sys.modules else _placeholder_torchvision()
    sys.modules.update(placeholders)
    try:
        import onnx2torch
    except ImportError as err:
        raise ModelNotTrainableError(f"onnx2torch is not installed ({INSTALL_HINT})") from err
    finally:
        for name in placeholders:
            sys.modules.pop(name, None)
    return onnx2torch


def onnx_to_torch(onnx_model):
    """Convert an in-memory onnx.ModelProto into a trainable torch.fx.GraphModule."""
    onnx2torch = import_onnx2torch()
    try:
        module = onnx2torch.convert(onnx_model)
    except Exception as err:  # the converter raises bare NotImplementedError/KeyError for unknown ops
        raise ModelNotTrainableError(f"cannot convert the ONNX graph to PyTorch ({type(err).__name__}: {err})") from err
    parameters = list(module.parameters())
    if not parameters:  # e.g. weights written as constants feeding MatMul + Add: nothing an optimiser can move
        raise ModelNotTrainableError("the converted graph holds its weights as constants, not trainable parameters")
    for param in parameters:
        param.requires_grad_(True)
    return module.float()
