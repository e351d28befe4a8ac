"""What a TorchScript archive may contain, checked in two passes around `torch.jit.load`.

Before loading, from the zip's central directory and its text, nothing decompressed blindly:
member count and declared sizes (a zip bomb is refused before a byte is inflated), the objects the
archive's pickles name (C++ custom classes run native code when restored), and the serialized code,
where a `__setstate__` would run at load time. After loading, before the first call: every method of
every submodule, inlined, every nested block, against the operator allow-list
(`torchscript_operators.py`). The first pass guards the load, the second is exact.
"""

from __future__ import annotations

import ast
import pickletools
import zipfile
from pathlib import Path

from modelscan_vicious.errors import ModelLoadError

MAX_MEMBERS = 50_000
MAX_ARCHIVE_BYTES = 2 << 30  # declared uncompressed total; real classifiers stay far below (VGG-19: 548 MiB)
MAX_CODE_BYTES = 64 << 20  # serialized source and pickles, which are read into memory to be checked
MAX_EXPANSION = 100  # torch.jit.save stores tensors uncompressed and deflates only source text (about 3x)
EXPANSION_CHECK_BYTES = 1 << 20  # small members may compress well by chance
# Objects a TorchScript pickle may name: its own script classes (their code is checked below), tensor
# storage and rebuild helpers, and ordered dicts.
_ALLOWED_GLOBALS = {("collections", "OrderedDict"), ("torch._utils", "_rebuild_tensor_v2")}
_ALLOWED_GLOBAL_MODULES = ("torch.jit._pickle",)
_CUSTOM_CLASS_MODULES = ("torch.classes", "__torch__.torch.classes")


def check_archive(path: Path) -> None:
    """Refuse a file that is not a TorchScript archive, or one that would expand, restore custom
    classes or run code at load time. Raises ModelLoadError."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise ModelLoadError(
            f"{path}: not a TorchScript archive (old-style pickled checkpoint or corrupt file); "
            "export with torch.jit.save or to ONNX"
        ) from None
    with archive:
        members = archive.infolist()
        _check_sizes(path, members)
        names = [m.filename for m in members]
        if not (any("/code/" in n for n in names) and any(n.endswith("constants.pkl") for n in names)):
            raise ModelLoadError(
                f"{path}: a pickled PyTorch checkpoint (torch.save), not TorchScript; refusing to "
                "unpickle it; export with torch.jit.save or to ONNX"
            )
        for member in members:
            name = member.filename
            if name.endswith(".pkl") or name.endswith(".debug_pkl"):
                _check_pickle_globals(path, name, _read(path, archive, member))
            elif "/code/" in name and name.endswith(".py"):
                _check_source(path, name, _read(path, archive, member))


def _check_sizes(path: Path, members: list[zipfile.ZipInfo]) -> None:
    if len(members) > MAX_MEMBERS:
        raise ModelLoadError(f"{path}: refusing TorchScript archive with {len(members)} members (limit {MAX_MEMBERS})")
    total = sum(m.file_size for m in members)
    if total > MAX_ARCHIVE_BYTES:
        raise ModelLoadError(
            f"{path}: refusing TorchScript archive that declares {total / 2**30:.1f} GiB uncompressed "
            f"(limit {MAX_ARCHIVE_BYTES >> 30} GiB)"
        )
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > EXPANSION_CHECK_BYTES and ratio > MAX_EXPANSION:
            raise ModelLoadError(
                f"{path}: refusing TorchScript archive: member {member.filename!r} expands "
                f"{ratio:.0f}x (limit {MAX_EXPANSION}x; a zip bomb)"
            )


def _read(path: Path, archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bytes:
    if member.file_size > MAX_CODE_BYTES:
        raise ModelLoadError(
            f"{path}: refusing TorchScript archive: {member.filename!r} is "
            f"{member.file_size >> 20} MiB (limit {MAX_CODE_BYTES >> 20} MiB for code and pickles)"
        )
    with archive.open(member) as fh:
        data = fh.read(member.file_size + 1)  # never more than declared, whatever the stream holds
    if len(data) != member.file_size:
        raise ModelLoadError(
            f"{path}: refusing TorchScript archive: {member.filename!r} differs from its declared size"
        )
    return data


def _check_pickle_globals(path: Path, name: str, data: bytes) -> None:
    """Every object a pickle names, read from its opcodes without unpickling anything."""
    strings: list[str] = []
    try:
        for opcode, arg, _ in pickletools.genops(data):
            if opcode.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8"):
                strings.append(str(arg))
            elif opcode.name == "GLOBAL":
                _check_global(path, name, *str(arg).split(" ", 1))
            elif opcode.name == "STACK_GLOBAL":
                if len(strings) < 2:
                    raise ModelLoadError(f"{path}: refusing TorchScript archive: malformed pickle {name!r}")
                _check_global(path, name, strings[-2], strings[-1])
    except ValueError as err:  # pickletools on a truncated or corrupt stream
        raise ModelLoadError(f"{path}: refusing TorchScript archive: corrupt pickle {name!r} ({err})") from None


def _check_global(path: Path, pickle_name: str, module: str, qualname: str) -> None:
    if module.startswith(_CUSTOM_CLASS_MODULES):
        raise ModelLoadError(
            f"{path}: refusing TorchScript custom class {module}.{qualname} in {pickle_name!r} "
            "(native code outside the operator allow-list)"
        )
    if module == "__torch__" or module.startswith("__torch__."):
        return  # a script class: its methods are in code/ and checked
    if (module, qualname) in _ALLOWED_GLOBALS or module in _ALLOWED_GLOBAL_MODULES:
        return
    if module == "torch" and qualname.endswith("Storage"):
        return
    raise ModelLoadError(
        f"{path}: refusing TorchScript archive: {pickle_name!r} refers to {module}.{qualname}, "
        "which a TorchScript archive never needs"
    )


def _check_source(path: Path, name: str, data: bytes) -> None:
    """The serialized code is Python syntax. `__setstate__` runs during `torch.jit.load`, before the
    graph walk could see it, and no exporter writes one for a classifier: refuse it outright. Calls
    to denied operators are refused here too, so a hostile archive never reaches the loader."""
    from modelscan_vicious.loading.torchscript_operators import DENIED_OPERATORS, refusal_reason

    try:
        tree = ast.parse(data.decode("utf-8"), filename=name)
    except (SyntaxError, UnicodeDecodeError, ValueError):
        raise ModelLoadError(
            f"{path}: refusing TorchScript archive: {name!r} is not valid TorchScript source"
        ) from None
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "__setstate__":
            calls = sorted({_operator_name(c) or "" for c in ast.walk(node) if isinstance(c, ast.Call)} - {""})
            called = f"; it calls {', '.join(calls[:4])}" if calls else ""
            raise ModelLoadError(
                f"{path}: refusing TorchScript with __setstate__ in {name!r}: it runs at load time{called}"
            )
        kind = _operator_name(node) if isinstance(node, ast.Call) else None
        # Text names map onto operators only roughly, so here only certain refusals count: a denied
        # operator or a foreign namespace. The allow-list itself is applied to the loaded graphs.
        if kind and (kind in DENIED_OPERATORS or kind.split("::")[0] not in ("aten", "prim")):
            raise ModelLoadError(f"{path}: refusing TorchScript operator {kind} in {name!r} ({refusal_reason(kind)})")


def _operator_name(call: ast.Call) -> str | None:
    """`torch.save(...)` -> 'aten::save'; `ops.profiler.x(...)` -> 'profiler::x'; `print(...)` -> 'prim::Print'."""
    parts: list[str] = []
    target = call.func
    while isinstance(target, ast.Attribute):
        parts.insert(0, target.attr)
        target = target.value
    if isinstance(target, ast.Name):
        parts.insert(0, target.id)
    if parts == ["print"]:
        return "prim::Print"
    if len(parts) == 3 and parts[0] == "ops":
        return f"{parts[1]}::{parts[2]}"
    if len(parts) == 2 and parts[0] == "torch":
        return f"aten::{parts[1]}"
    return None


def check_loaded_module(path: Path, module) -> None:
    """The exact check, after loading and before the first call: every method of every submodule."""
    from modelscan_vicious.loading.torchscript_operators import (
        is_custom_class_type,
        refusal_reason,
        scripted_operator_kinds,
    )

    try:
        kinds_by_method = scripted_operator_kinds(module)
    except Exception as err:  # a graph TorchScript itself cannot inline or walk
        raise ModelLoadError(f"{path}: TorchScript module has no inspectable graph ({type(err).__name__})") from err
    for method, kinds in sorted(kinds_by_method.items()):
        for kind in sorted(kinds):
            reason = refusal_reason(kind)
            if reason:
                raise ModelLoadError(f"{path}: refusing TorchScript operator {kind} in {method} ({reason})")
    for name, value_type in _attribute_types(module):
        if is_custom_class_type(value_type):
            raise ModelLoadError(f"{path}: refusing TorchScript custom class {value_type} (attribute {name})")


def _attribute_types(module):
    for prefix, sub in module.named_modules():
        for attribute in sub._c._type().attributes() if hasattr(sub._c._type(), "attributes") else []:
            yield f"{prefix}.{attribute[0]}".strip("."), str(attribute[1])
