"""Shared checks for the ONNX -> torch converter: tiny eager nets, their ONNX exports, and comparisons
of a converted module with onnxruntime and with training."""

from __future__ import annotations

import copy
import io
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn.functional as F
from torch import nn

from modelscan_vicious.loading.folded_batch_norm import fold_batch_norm, insert_batch_norm
from modelscan_vicious.training.classifier import reinitialise

TOLERANCE = 1e-5


class Mlp(nn.Module):
    """Flatten by view, Linear + BatchNorm1d (kept by exporters: no conv to fold it into)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.norm, self.fc2 = nn.Linear(16, 12), nn.BatchNorm1d(12), nn.Linear(12, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.norm(self.fc1(x.view(x.size(0), -1)))))


class Cnn(nn.Module):
    """Input normalisation by constants, conv + BN, max and average pooling, view, softmax inside."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor([0.5, 0.4]).view(1, 2, 1, 1))
        self.register_buffer("std", torch.tensor([0.25, 0.3]).view(1, 2, 1, 1))
        self.conv1, self.bn1 = nn.Conv2d(2, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 6, 3)
        self.fc = nn.Linear(6 * 2 * 2, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - self.mean) / self.std
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.avg_pool2d(F.relu(self.conv2(x)), 1)
        return F.softmax(self.fc(x.view(x.size(0), -1)), dim=1)


class ResNetish(nn.Module):
    """A strided stem, one residual block, global average pooling and a head written `x @ W + b`."""

    def __init__(self) -> None:
        super().__init__()
        self.stem, self.bn = nn.Conv2d(1, 4, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(4)
        self.conv1, self.bn1 = nn.Conv2d(4, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4)
        self.conv2, self.bn2 = nn.Conv2d(4, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4)
        self.weight = nn.Parameter(torch.randn(4, 3) * 0.5)
        self.bias = nn.Parameter(torch.randn(3) * 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn(self.stem(x)))
        x = F.relu(x + self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))
        return F.adaptive_avg_pool2d(x, 1).flatten(1) @ self.weight + self.bias


class TinyVit(nn.Module):
    """Patches, a class token expanded to the batch, position embedding, LayerNorm, attention, GELU."""

    def __init__(self) -> None:
        super().__init__()
        self.patch = nn.Conv2d(1, 8, 4, stride=4)
        self.cls = nn.Parameter(torch.randn(1, 1, 8))
        self.pos = nn.Parameter(torch.randn(1, 5, 8) * 0.1)
        self.norm = nn.LayerNorm(8)
        self.qkv = nn.Linear(8, 24)
        self.mlp = nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.Linear(16, 8))
        self.head = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.pos
        q, k, v = self.qkv(self.norm(x)).chunk(3, dim=-1)
        x = x + torch.softmax(q @ k.transpose(1, 2) / 8**0.5, dim=-1) @ v
        x = x + self.mlp(self.norm(x))
        return self.head(x[:, 0])


class TinyMobile(nn.Module):
    """ReLU6, depthwise conv, instance norm, PReLU, hard-swish, upsampling, ceil-mode average pooling,
    squeeze-excitation, SiLU, dropout."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, stride=2, padding=1)
        self.depthwise = nn.Conv2d(4, 4, 3, padding=1, groups=4)
        self.norm = nn.InstanceNorm2d(4, affine=True)
        self.prelu = nn.PReLU(4)
        self.excite = nn.Linear(4, 4)
        self.fc = nn.Sequential(nn.Dropout(0.2), nn.Linear(4, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.hardswish(self.prelu(self.norm(self.depthwise(F.relu6(self.conv(x))))))
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        x = F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)
        x = F.silu(x * torch.sigmoid(self.excite(x.mean((2, 3))))[:, :, None, None])
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


NETS = {
    "mlp": (Mlp, (1, 4, 4)),
    "cnn": (Cnn, (2, 8, 8)),
    "resnet": (ResNetish, (1, 8, 8)),
    "vit": (TinyVit, (1, 8, 8)),
    "mobile": (TinyMobile, (1, 8, 8)),
}
BASIC_NETS = ("mlp", "cnn", "resnet")


def build(name: str) -> nn.Module:
    """A seeded net in eval mode, its batch norms given statistics other than the defaults."""
    torch.manual_seed(0)
    net = NETS[name][0]()
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 1.5)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.5, 0.5)
    return net.eval()


def export(net: nn.Module, shape: tuple[int, ...], opset: int, *, dynamic: bool, dynamo: bool) -> onnx.ModelProto:
    """`net` as ONNX: batch 1 fixed in the graph, or a dynamic batch axis."""
    example = torch.rand(2 if dynamic else 1, *shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if dynamo:
            dims = {"dynamic_shapes": ({0: torch.export.Dim("batch")},)} if dynamic else {}
            return torch.onnx.export(net, (example,), dynamo=True, opset_version=opset, **dims).model_proto
        axes = {"dynamic_axes": {"input": {0: "batch"}, "output": {0: "batch"}}} if dynamic else {}
        buffer = io.BytesIO()
        names = {"input_names": ["input"], "output_names": ["output"]}
        torch.onnx.export(net, (example,), buffer, dynamo=False, opset_version=opset, **names, **axes)
    return onnx.load_from_string(buffer.getvalue())


def onnxruntime_outputs(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    """onnxruntime's outputs; a graph with a fixed batch runs one input at a time."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    graph_input = session.get_inputs()[0]
    fixed = isinstance(graph_input.shape[0], int) and graph_input.shape[0] == 1
    if fixed and len(x) > 1:
        return np.concatenate([session.run(None, {graph_input.name: x[i : i + 1]})[0] for i in range(len(x))])
    return session.run(None, {graph_input.name: x})[0]


def squeeze_trailing(outputs: np.ndarray) -> np.ndarray:
    """As loading/base.py::classifier_outputs: (N, classes, 1, 1) heads become (N, classes)."""
    while outputs.ndim > 2 and outputs.shape[-1] == 1:
        outputs = outputs[..., 0]
    return outputs


def assert_matches_onnxruntime(
    module: nn.Module,
    model: onnx.ModelProto,
    shape: tuple[int, ...],
    batches: tuple[int, ...] = (1, 5),
    tolerance: float = TOLERANCE,
) -> None:
    module.eval()
    for n in batches:
        x = np.random.default_rng(n).random((n, *shape), dtype=np.float32)
        expected = squeeze_trailing(onnxruntime_outputs(model, x))
        with torch.no_grad():
            got = squeeze_trailing(module(torch.from_numpy(x)).numpy())
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, atol=tolerance, rtol=tolerance)


def assert_trains(module: nn.Module, shape: tuple[int, ...]) -> None:
    """Every weight is a float32 parameter that one Adam step on a classification loss moves."""
    params = dict(module.named_parameters())
    assert params
    assert all(p.dtype == torch.float32 and p.requires_grad for p in params.values())
    before = {name: p.detach().clone() for name, p in params.items()}
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-2)
    module.train()
    x = torch.rand(8, *shape, generator=torch.Generator().manual_seed(0))
    outputs = module(x).reshape(8, -1)
    loss = F.cross_entropy(outputs, torch.arange(8) % outputs.shape[1])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    unchanged = [name for name, p in params.items() if torch.equal(p.detach(), before[name])]
    assert not unchanged, f"parameters Adam did not move: {unchanged}"


def assert_retrainable(module: nn.Module, shape: tuple[int, ...]) -> None:
    """`reinitialise` and the folded-batch-norm round trip work on the converted module."""
    fresh = reinitialise(copy.deepcopy(module), seed=0)
    x = torch.rand(4, *shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.isfinite(fresh.eval()(x)).all()
    inserted = insert_batch_norm(fresh)
    fresh.train()(x)
    fold_batch_norm(inserted)
    with torch.no_grad():
        assert torch.isfinite(fresh.eval()(x)).all()
    assert not any("restored_batch_norm" in name for name, _ in fresh.named_modules())


def weight_count(model: onnx.ModelProto) -> int:
    """Elements of the constant weights feeding the layer operators (Conv, Gemm, MatMul + its bias Add,
    the normalisations, PRelu)."""
    constants = {t.name: t for t in model.graph.initializer}
    constants |= {n.output[0]: a.t for n in model.graph.node if n.op_type == "Constant" for a in n.attribute}
    size = {name: int(np.prod(t.dims)) for name, t in constants.items()}
    for node in model.graph.node:  # weights reshaped or transposed before use (Caffe2 FC layers)
        if node.op_type in ("Reshape", "Transpose", "Identity", "Cast") and node.input[0] in size:
            size[node.output[0]] = size[node.input[0]]
    weight_inputs = {
        "Conv": (1, 2),
        "ConvTranspose": (1, 2),
        "Gemm": (1, 2),
        "MatMul": (1,),
        "BatchNormalization": (1, 2),
        "LayerNormalization": (1, 2),
        "InstanceNormalization": (1, 2),
        "PRelu": (1,),
    }
    total, matmuls = 0, set()
    for node in model.graph.node:
        for index in weight_inputs.get(node.op_type, ()):
            if index < len(node.input) and node.input[index] in size:
                total += size[node.input[index]]
                matmuls |= {node.output[0]} if node.op_type == "MatMul" else set()
    for node in model.graph.node:
        if node.op_type == "Add" and matmuls & set(node.input):
            total += sum(size.get(name, 0) for name in node.input)
    return total
