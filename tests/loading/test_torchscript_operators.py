"""The TorchScript operator policy: side-effect-free tensor operators run, everything else is refused with a reason."""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import nn

from modelscan_vicious.loading.torchscript_operators import (
    ALLOWED_NAMESPACES,
    ALLOWED_OPERATORS,
    DENIED_NAMESPACES,
    DENIED_OPERATORS,
    FILES,
    FOREIGN_NAMESPACE,
    HIDDEN_CODE,
    NETWORK,
    NOT_ALLOWED,
    PRINTS,
    RNG_STATE,
    is_custom_class_type,
    refusal_reason,
    scripted_operator_kinds,
)

torch.set_num_threads(1)


# ------------------------------------------------------------------------------------------------ the tables


@pytest.mark.parametrize("kind", sorted(DENIED_OPERATORS))
def test_every_denied_operator_is_refused_with_its_reason(kind: str):
    assert refusal_reason(kind) == DENIED_OPERATORS[kind]
    assert kind not in ALLOWED_OPERATORS


def test_every_operator_of_a_denied_namespace_is_refused_with_its_reason():
    schemas = {schema.name for schema in torch._C._jit_get_all_schemas()}
    for namespace, reason in DENIED_NAMESPACES.items():
        assert refusal_reason(f"{namespace}::added_in_a_later_torch") == reason
        for kind in (name for name in schemas if name.startswith(namespace + "::")):
            assert refusal_reason(kind) == DENIED_OPERATORS.get(kind, reason), kind


@pytest.mark.parametrize("kind", ["aten::not_a_real_operator", "prim::SetAttr", "prim::CallMethod", "aten::empty"])
def test_unknown_or_unlisted_aten_and_prim_kinds_are_refused(kind: str):
    assert refusal_reason(kind) == NOT_ALLOWED


@pytest.mark.parametrize("kind", ["my_ops::exfiltrate", "quantized::conv2d", "mkldnn::_convolution_pointwise", "save"])
def test_custom_namespaces_are_refused(kind: str):
    assert refusal_reason(kind) == FOREIGN_NAMESPACE


def test_allow_list_is_plausible():
    assert {"aten::conv2d", "aten::linear", "aten::batch_norm", "prim::GetAttr", "prim::If"} <= ALLOWED_OPERATORS
    assert all(kind.split("::")[0] in ALLOWED_NAMESPACES for kind in ALLOWED_OPERATORS)
    assert all(refusal_reason(kind) is None for kind in ALLOWED_OPERATORS)


def test_custom_class_types_are_recognised():
    assert is_custom_class_type("__torch__.torch.classes.quantized.Conv2dPackedParamsBase")
    assert is_custom_class_type("Optional[__torch__.torch.classes.my_ns.Leaker]")
    assert not is_custom_class_type("__torch__.torch.nn.modules.conv.Conv2d")
    assert not is_custom_class_type("Tensor")


# ------------------------------------------------------------------------------------------- honest networks


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = (
            nn.Identity()
            if stride == 1 and cin == cout
            else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = cin * expand
        self.use_res_connect = stride == 1 and cin == cout
        self.conv = nn.Sequential(
            nn.Conv2d(cin, hidden, 1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_res_connect:
            return x + self.conv(x)
        return self.conv(x)


def small_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Dropout(0.5),
        nn.Linear(8, 10),
    )


def mlp() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 16 * 16, 16), nn.BatchNorm1d(16), nn.GELU(), nn.Linear(16, 10))


def resnet_style() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, 1, 1, bias=False),
        nn.BatchNorm2d(8),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(3, 2, 1),
        BasicBlock(8, 8, 1),
        BasicBlock(8, 16, 2),
        nn.AdaptiveAvgPool2d((1, 1)),
        nn.Flatten(),
        nn.Linear(16, 10),
    )


def mobilenet_v2_style() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, 2, 1, bias=False),
        nn.BatchNorm2d(8),
        nn.ReLU6(inplace=True),
        InvertedResidual(8, 8, 1, 4),
        InvertedResidual(8, 12, 2, 4),
        InvertedResidual(12, 12, 1, 4),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Dropout(0.2),
        nn.Linear(12, 10),
    )


NETS: dict[str, Callable[[], nn.Module]] = {
    "small CNN": small_cnn,
    "MLP": mlp,
    "ResNet-style": resnet_style,
    "MobileNetV2-style": mobilenet_v2_style,
}


def reloaded(module: torch.jit.ScriptModule) -> torch.jit.ScriptModule:
    """What the scanner sees: the graphs recompiled from a saved archive."""
    buffer = io.BytesIO()
    torch.jit.save(module, buffer)
    buffer.seek(0)
    return torch.jit.load(buffer)


def refused(module: torch.jit.ScriptModule) -> dict[str, str]:
    """Refused kind -> "method: reason" over every method of every submodule."""
    found = {}
    for method, kinds in scripted_operator_kinds(module).items():
        for kind in kinds:
            reason = refusal_reason(kind)
            if reason is not None:
                found[kind] = f"{method}: {reason}"
    return found


@pytest.mark.parametrize("mode", ["script", "trace"])
@pytest.mark.parametrize("name", sorted(NETS))
def test_honest_networks_use_only_allowed_operators(name: str, mode: str):
    torch.manual_seed(0)
    net = NETS[name]().eval()
    x = torch.randn(2, 3, 16, 16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compiled = torch.jit.script(net) if mode == "script" else torch.jit.trace(net, x)
    for module in (compiled, reloaded(compiled)):
        kinds = scripted_operator_kinds(module)
        assert "forward" in kinds and any(key.endswith(".forward") for key in kinds)  # submodules are walked
        assert refused(module) == {}


def test_scripted_softmax_is_allowed_despite_its_warning_branch():
    """nn.Softmax scripts an aten::warn for the implicit-dim case; warnings are allowed (they reach only
    the contained worker's private log), so an honest scripted softmax head scans."""
    scripted = torch.jit.script(nn.Sequential(nn.Linear(4, 3), nn.Softmax(dim=1)))
    assert "aten::warn" in scripted_operator_kinds(scripted)["1.forward"]
    assert refused(scripted) == {}


# ----------------------------------------------------------------------------------------- harmful modules


class Saves(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        torch.ops.aten.save(x, "/tmp/stolen.pt")
        return x


class Reseeds(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        torch.manual_seed(0)
        return x


class Prints(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        print(x)
        return x


class HidesInUnusedMethod(nn.Module):
    """`forward` is clean; another method, callable from Python, is not."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = nn.Sequential(Saves())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x

    @torch.jit.export
    def leak(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x)


class Forks(nn.Module):
    """The forked body lives in a subgraph attribute, not a block."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        future = torch.jit.fork(_save_and_add, x)
        return torch.jit.wait(future)


def _save_and_add(x: torch.Tensor) -> torch.Tensor:
    torch.ops.aten.save(x, "/tmp/stolen.pt")
    return x + 1


@torch.jit.script
class Context:
    def __init__(self) -> None:
        self.entered = False

    def __enter__(self) -> None:
        torch.manual_seed(1)  # invisible in the module's graph: only prim::Enter shows

    def __exit__(self, kind: Any, value: Any, trace: Any) -> None:
        pass


class UsesContext(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with Context():
            x = x + 1
        return x


def _print_hook(module: nn.Module, inputs: tuple[torch.Tensor], output: torch.Tensor) -> torch.Tensor:
    print(output)
    return output


def hooked() -> nn.Module:
    module = nn.Linear(4, 4)
    module.register_forward_hook(_print_hook)
    return module


@pytest.mark.parametrize(
    ("build", "kind", "reason"),
    [
        (Saves, "aten::save", f"forward: {FILES}"),
        (Reseeds, "aten::manual_seed", f"forward: {RNG_STATE}"),
        (Prints, "prim::Print", f"forward: {PRINTS}"),
        (HidesInUnusedMethod, "aten::save", f"inner.0.forward: {FILES}"),
        (Forks, "prim::fork", f"forward: {NETWORK}"),
        (Forks, "aten::save", f"forward: {FILES}"),
        (UsesContext, "prim::Enter", f"forward: {HIDDEN_CODE}"),
        (hooked, "prim::Print", f"<forward hook _print_hook>: {PRINTS}"),
    ],
    ids=["save", "manual_seed", "print", "unused method", "fork", "forked body", "context manager", "hook"],
)
def test_side_effects_are_reported(build: Callable[[], nn.Module], kind: str, reason: str):
    scripted = torch.jit.script(build())
    for module in (scripted, reloaded(scripted)):
        assert refused(module).get(kind) == reason


@pytest.mark.parametrize("build", [resnet_style, Forks], ids=["submodules", "fork subgraph"])
def test_walking_does_not_change_the_module(build: Callable[[], nn.Module]):
    scripted = torch.jit.script(build().eval())
    before = str(scripted.graph)
    scripted_operator_kinds(scripted)
    assert str(scripted.graph) == before  # inlining works on copies


def test_calls_are_inlined_under_the_scans_execution_mode():
    """The scan runs with optimized_execution(False), under which the inliner once left a traced CNN's
    submodule calls as prim::CallMethod, and every honest TorchScript CNN was refused."""
    from modelscan_vicious.training.architectures import build_classifier

    traced = torch.jit.trace(build_classifier("cnn", (1, 8, 8), 10).eval(), torch.rand(2, 1, 8, 8))
    with torch.jit.optimized_execution(False):
        assert refused(reloaded(traced)) == {}
