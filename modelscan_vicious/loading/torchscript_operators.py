"""Which TorchScript operators a suspect archive may contain before the scanner executes it.

The scanner must run an untrusted TorchScript classifier to probe it, and TorchScript can do more than
tensor arithmetic: save tensors to files, print, reseed the RNG, talk to other processes, call into
Python. We therefore walk every graph in the archive (every method and forward hook of every submodule,
inlined, every nested block and subgraph) and accept it only when each node kind is on an allow-list of
side-effect-free tensor operators.

The allow-list is empirical, not hand-picked: `scripts/torchscript_allowlist.py` scripts and traces every
`torch.nn` layer an image classifier could contain, plus the functional patterns classifiers use in
`forward`, and records the node kinds their graphs contain, minus `DENIED_OPERATORS`. An operator that no
honest layer produces is refused even when it looks harmless: a false refusal costs a re-export, a false
acceptance lets a model act on the scanning machine. Regenerate the list when the torch pin changes.
"""

from __future__ import annotations

from typing import Any

# Reasons, shared by the deny table, the namespace rule and the allow-list, so reports can group by them.
FILES = "writes or reads files"
PRINTS = "prints or warns"
RNG_STATE = "sets or reads the RNG state"
PROFILER = "profiler"
NETWORK = "network, RPC or async"
GLOBAL_STATE = "changes global state"
STORAGE = "aliases or resizes tensor storage"
DEVICE = "moves tensors between devices or manages device memory"
PYTHON = "calls back into Python"
HIDDEN_CODE = "runs a context manager's __enter__/__exit__, which the graph does not show"
FOREIGN_NAMESPACE = "custom or non-tensor operator namespace"
NOT_ALLOWED = "not on the allow-list of side-effect-free tensor operators"

# Explicit refusals, checked before anything else so a report names the real risk rather than
# "not on the allow-list". Several are in `aten`/`prim`, which the namespace rule alone would admit.
DENIED_OPERATORS: dict[str, str] = {
    # files
    "aten::save": FILES,
    "aten::from_file": FILES,
    "debugprims::load_tensor": FILES,
    # printing: a channel out of the sandboxed run, and log noise at best. aten::warn is allowed: the
    # scripted nn.Softmax, LogSoftmax, Dropout2d, InstanceNorm and Transformer layers (22 honest layers)
    # carry it in a dead branch, and the contained worker's stderr goes to its private log, never the user.
    "prim::Print": PRINTS,
    "aten::_print": PRINTS,
    "aten::_test_warn_in_autograd": PRINTS,
    # RNG state: reseeding would make the scanner's own random probes predictable to the model
    "aten::manual_seed": RNG_STATE,
    "aten::seed": RNG_STATE,
    "aten::initial_seed": RNG_STATE,
    "inductor_prims::inductor_reserve_rng_state": RNG_STATE,
    "rngprims::philox_rand": RNG_STATE,
    # profiler: only the profiling executor inserts prim::profile*; an archive never needs them
    "prim::profile": PROFILER,
    "prim::profile_ivalue": PROFILER,
    "profiler::_call_end_callbacks_on_jit_fut": PROFILER,
    "profiler::_record_function_enter": PROFILER,
    "profiler::_record_function_enter_new": PROFILER,
    "profiler::_record_function_exit": PROFILER,
    # network, RPC and async execution (fork/awaitable bodies run outside the walked control flow)
    "prim::rpc_async": NETWORK,
    "prim::rpc_sync": NETWORK,
    "prim::rpc_remote": NETWORK,
    "prim::fork": NETWORK,
    "aten::wait": NETWORK,
    "prim::awaitable": NETWORK,
    "prim::awaitable_nowait": NETWORK,
    "prim::awaitable_wait": NETWORK,
    # global state
    "aten::set_grad_enabled": GLOBAL_STATE,
    "aten::_cufft_set_plan_cache_max_size": GLOBAL_STATE,
    "aten::_cufft_clear_plan_cache": GLOBAL_STATE,
    # storage aliasing: point a tensor at another tensor's (or a resized) storage
    "aten::set_": STORAGE,
    "aten::set_data": STORAGE,
    "inductor::resize_storage_bytes_": STORAGE,
    # device moves and device memory management
    "aten::cuda": DEVICE,
    "prims::device_put": DEVICE,
    "aten::pin_memory": DEVICE,
    "aten::_pin_memory": DEVICE,
    "aten::record_stream": DEVICE,
    # Python escapes (cannot be saved by torch.jit.save, but a crafted archive is not bound by that)
    "prim::PythonOp": PYTHON,
    "prim::IgnoredPythonOp": PYTHON,
    # `with obj:` calls methods of a TorchScript class that inlining does not expose
    "prim::Enter": HIDDEN_CODE,
    "prim::Exit": HIDDEN_CODE,
}

# Whole namespaces with a more specific reason than FOREIGN_NAMESPACE; new operators added to them in
# later torch versions are covered without editing DENIED_OPERATORS.
DENIED_NAMESPACES: dict[str, str] = {
    "profiler": PROFILER,
    "c10d": NETWORK,
    "_c10d_functional": NETWORK,
    "_c10d_functional_autograd": NETWORK,
    "_dtensor": NETWORK,
    "symm_mem": NETWORK,
}

ALLOWED_NAMESPACES = frozenset({"aten", "prim"})

# Value types that are C++ custom classes (torch.classes): their methods are native code we cannot walk.
CUSTOM_CLASS_PREFIXES = ("__torch__.torch.classes.",)

# BEGIN GENERATED (scripts/torchscript_allowlist.py)
# Generated with torch 2.13.0+cpu from 3586 graphs of honest layers; regenerate on a new pin.
ALLOWED_OPERATORS: frozenset[str] = frozenset(
    {
        "aten::Bool",
        "aten::Float",
        "aten::Int",
        "aten::IntImplicit",
        "aten::ScalarImplicit",
        "aten::__contains__",
        "aten::__derive_index",
        "aten::__getitem__",
        "aten::__is__",
        "aten::__isnot__",
        "aten::__not__",
        "aten::__range_length",
        "aten::_convolution",
        "aten::_convolution_mode",
        "aten::_native_multi_head_attention",
        "aten::_nested_tensor_from_mask",
        "aten::_nested_tensor_from_mask_left_aligned",
        "aten::_set_item",
        "aten::_transformer_encoder_layer_fwd",
        "aten::_upsample_bicubic2d_aa",
        "aten::_upsample_bilinear2d_aa",
        "aten::_upsample_lanczos2d_aa",
        "aten::_upsample_nearest_exact1d",
        "aten::_upsample_nearest_exact2d",
        "aten::_upsample_nearest_exact3d",
        "aten::abs",
        "aten::adaptive_avg_pool1d",
        "aten::adaptive_avg_pool2d",
        "aten::adaptive_avg_pool3d",
        "aten::adaptive_max_pool1d",
        "aten::adaptive_max_pool2d",
        "aten::adaptive_max_pool3d",
        "aten::add",
        "aten::add_",
        "aten::addmm",
        "aten::all",
        "aten::alpha_dropout",
        "aten::alpha_dropout_",
        "aten::amax",
        "aten::amin",
        "aten::any",
        "aten::append",
        "aten::arange",
        "aten::argmax",
        "aten::avg_pool1d",
        "aten::avg_pool2d",
        "aten::avg_pool3d",
        "aten::baddbmm",
        "aten::batch_norm",
        "aten::bilinear",
        "aten::bmm",
        "aten::cat",
        "aten::celu",
        "aten::celu_",
        "aten::channel_shuffle",
        "aten::chunk",
        "aten::clamp",
        "aten::clamp_",
        "aten::clamp_max",
        "aten::clamp_min",
        "aten::clamp_min_",
        "aten::clone",
        "aten::col2im",
        "aten::contiguous",
        "aten::conv1d",
        "aten::conv2d",
        "aten::conv3d",
        "aten::conv_transpose1d",
        "aten::conv_transpose2d",
        "aten::conv_transpose3d",
        "aten::cosine_similarity",
        "aten::detach",
        "aten::dim",
        "aten::div",
        "aten::div_",
        "aten::dropout",
        "aten::dropout_",
        "aten::einsum",
        "aten::elu",
        "aten::elu_",
        "aten::embedding",
        "aten::embedding_bag",
        "aten::embedding_renorm_",
        "aten::eq",
        "aten::exp",
        "aten::expand",
        "aten::expand_as",
        "aten::eye",
        "aten::feature_alpha_dropout",
        "aten::feature_alpha_dropout_",
        "aten::feature_dropout",
        "aten::feature_dropout_",
        "aten::flatten",
        "aten::floor",
        "aten::floordiv",
        "aten::format",
        "aten::full",
        "aten::ge",
        "aten::gelu",
        "aten::glu",
        "aten::group_norm",
        "aten::gru",
        "aten::gru_cell",
        "aten::gt",
        "aten::hardshrink",
        "aten::hardsigmoid",
        "aten::hardsigmoid_",
        "aten::hardswish",
        "aten::hardswish_",
        "aten::hardtanh",
        "aten::hardtanh_",
        "aten::im2col",
        "aten::index_select",
        "aten::instance_norm",
        "aten::is_autocast_enabled",
        "aten::is_floating_point",
        "aten::is_grad_enabled",
        "aten::layer_norm",
        "aten::le",
        "aten::leaky_relu",
        "aten::leaky_relu_",
        "aten::len",
        "aten::linalg_vector_norm",
        "aten::linear",
        "aten::list",
        "aten::log",
        "aten::log1p",
        "aten::log_sigmoid",
        "aten::log_softmax",
        "aten::logical_not",
        "aten::lstm",
        "aten::lstm_cell",
        "aten::lt",
        "aten::masked_fill",
        "aten::masked_fill_",
        "aten::matmul",
        "aten::max",
        "aten::max_pool1d",
        "aten::max_pool2d",
        "aten::max_pool3d",
        "aten::mean",
        "aten::mish",
        "aten::mish_",
        "aten::mm",
        "aten::mul",
        "aten::mul_",
        "aten::ne",
        "aten::neg",
        "aten::new_zeros",
        "aten::norm",
        "aten::numel",
        "aten::ones_like",
        "aten::pad",
        "aten::pairwise_distance",
        "aten::permute",
        "aten::pixel_shuffle",
        "aten::pixel_unshuffle",
        "aten::pow",
        "aten::prelu",
        "aten::relu",
        "aten::relu6",
        "aten::relu6_",
        "aten::relu_",
        "aten::remainder",
        "aten::repeat",
        "aten::reshape",
        "aten::rms_norm",
        "aten::rnn_relu",
        "aten::rnn_tanh",
        "aten::rnn_tanh_cell",
        "aten::rrelu",
        "aten::rrelu_",
        "aten::rsqrt",
        "aten::scaled_dot_product_attention",
        "aten::select",
        "aten::selu",
        "aten::selu_",
        "aten::sigmoid",
        "aten::sigmoid_",
        "aten::sign",
        "aten::silu",
        "aten::silu_",
        "aten::size",
        "aten::slice",
        "aten::softmax",
        "aten::softplus",
        "aten::softshrink",
        "aten::split",
        "aten::split_with_sizes",
        "aten::sqrt",
        "aten::squeeze",
        "aten::squeeze_",
        "aten::stack",
        "aten::std",
        "aten::sub",
        "aten::sub_",
        "aten::sum",
        "aten::t",
        "aten::tanh",
        "aten::tanh_",
        "aten::threshold",
        "aten::threshold_",
        "aten::to",
        "aten::to_padded_tensor",
        "aten::topk",
        "aten::transpose",
        "aten::triu",
        "aten::type_as",
        "aten::unflatten",
        "aten::unsafe_chunk",
        "aten::unsqueeze",
        "aten::unsqueeze_",
        "aten::upsample_bicubic2d",
        "aten::upsample_bilinear2d",
        "aten::upsample_linear1d",
        "aten::upsample_nearest1d",
        "aten::upsample_nearest2d",
        "aten::upsample_nearest3d",
        "aten::upsample_trilinear3d",
        "aten::var",
        "aten::view",
        "aten::view_as",
        "aten::warn",
        "aten::where",
        "aten::zeros",
        "aten::zeros_like",
        "prim::Constant",
        "prim::DictConstruct",
        "prim::GetAttr",
        "prim::If",
        "prim::ListConstruct",
        "prim::ListUnpack",
        "prim::Loop",
        "prim::NumToTensor",
        "prim::RaiseException",
        "prim::TupleConstruct",
        "prim::TupleIndex",
        "prim::TupleUnpack",
        "prim::Uninitialized",
        "prim::device",
        "prim::dtype",
        "prim::is_nested",
        "prim::requires_grad",
        "prim::type",
        "prim::unchecked_cast",
    }
)
# END GENERATED


def refusal_reason(kind: str) -> str | None:
    """None when node kind `kind` (e.g. "aten::conv2d") may run; otherwise a short reason phrase."""
    if kind in DENIED_OPERATORS:
        return DENIED_OPERATORS[kind]
    namespace = kind.split("::", 1)[0] if "::" in kind else ""
    if namespace not in ALLOWED_NAMESPACES:
        return DENIED_NAMESPACES.get(namespace, FOREIGN_NAMESPACE)
    if kind not in ALLOWED_OPERATORS:
        return NOT_ALLOWED
    return None


def is_custom_class_type(type_str: str) -> bool:
    """Whether a TorchScript value type (`str(value.type())`) is, or contains, a C++ custom class."""
    return any(prefix in type_str for prefix in CUSTOM_CLASS_PREFIXES)


def graph_kinds(graph: Any) -> set[str]:
    """Node kinds of a `torch._C.Graph`, calls inlined, recursing into blocks and subgraph attributes.

    Inlining works on a copy: the graph belongs to a live method, and rewriting it would change the model.
    """
    import torch

    inlined = graph.copy()
    # The scan runs TorchScript with optimized_execution(False); under it the inliner leaves calls to
    # submodules as prim::CallMethod (seen on a traced CNN). The walk needs every call inlined.
    with torch.jit.optimized_execution(True):
        torch._C._jit_pass_inline(inlined)
    kinds: set[str] = set()
    _collect(inlined, kinds)
    return kinds


def _collect(block: Any, kinds: set[str]) -> None:
    for node in block.nodes():
        kinds.add(node.kind())
        for nested in node.blocks():
            _collect(nested, kinds)
        # prim::fork, prim::awaitable and fusion groups keep their body in a graph attribute, not a block;
        # inlining stops there, and a copied node shares that graph, so each gets its own inlined copy
        for attribute in node.attributeNames():
            if node.kindOf(attribute) == "g":
                kinds |= graph_kinds(node.g(attribute))
            elif node.kindOf(attribute) == "gs":
                for subgraph in node.gs(attribute):
                    kinds |= graph_kinds(subgraph)


def scripted_operator_kinds(module: Any) -> dict[str, set[str]]:
    """Node kinds per "submodule.method" of a ScriptModule (root methods are keyed by the bare name).

    Every compiled method counts, not only `forward`: any of them can be called, and `forward` reaches
    others through calls that inlining resolves. Forward hooks are compiled beside the methods and run
    on every call, but `_method_names()` does not list them, so they are walked separately.
    """
    found: dict[str, set[str]] = {}
    for name, submodule in module.named_modules():
        prefix = f"{name}." if name else ""
        c_module = submodule._c
        for method in c_module._method_names():
            found[prefix + method] = graph_kinds(c_module._get_method(method).graph)
        for hook in c_module._get_forward_pre_hooks():
            found[f"{prefix}<forward pre-hook {hook.name}>"] = graph_kinds(hook.graph)
        for hook in c_module._get_forward_hooks():
            found[f"{prefix}<forward hook {hook.name}>"] = graph_kinds(hook.graph)
    return found
