"""The reference cache on disk: one folder per key (`reference_key.py`), never trusted blindly.

Two kinds of entries, the work a rescan can reuse:

- `references`: the trained honest references (`references.json`: output kinds and the report's notes;
  `reference-<i>.pt`: one state dict of plain tensors each);
- `attack-outcomes`: one run of the reference attack, keyed by the outputs it inverts
  (`reference_outcomes.py`).

    <cache-dir>/<key>/manifest.json   format, kind, key, tool version, and every file's sha256 and size

An entry is used only when its manifest names the key it is filed under and every file matches its
recorded digest; tensors are read with `torch.load(weights_only=True)`, which builds tensors and plain
containers and refuses any other object, and arrays with `allow_pickle=False`. A corrupt or foreign
entry gets a one-line warning, and the work is done afresh (and stored over it). Entries are written
to a temporary folder and renamed into place, so a reader never sees half an entry.

Across containment (`containment/cache_channel.py`) the worker never touches the cache folder: the
scanner copies a verified entry into the worker's scratch folder, and copies a new one out after the
scan, verifying it again on its side. `DirectoryCache` is the scanner's side; it also serves in-process
scans.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from modelscan_vicious import __version__
from modelscan_vicious.scanning.reference_key import KEY_PATTERN

if TYPE_CHECKING:
    import torch

    from modelscan_vicious.results import ReferenceCacheInfo

ENTRY_FORMAT = "modelscan-vicious-cache/1"
REFERENCES = "references"
OUTCOMES = "attack-outcomes"
KINDS = (REFERENCES, OUTCOMES)
MANIFEST = "manifest.json"
MAX_MANIFEST_BYTES = 1 << 20
MAX_FILE_BYTES = 4 << 30  # the contained worker's RLIMIT_FSIZE: it could not write more
MAX_JSON_BYTES = 16 << 20
_FILE_NAME = re.compile(r"^[a-z]+(-\d{1,3})?\.(pt|npz|json)$")
_CHUNK = 1 << 20


class CacheEntryError(Exception):
    """An entry that cannot be used; the message says why, in a few words."""


@dataclass(frozen=True)
class CachedReferences:
    """Trained references as plain data: one state dict per reference, its output kind, the report's notes."""

    states: list[dict[str, torch.Tensor]]
    output_kinds: list[str]
    notes: list[str]


Writer = Callable[[Path], None]  # writes an entry's payload files into the given folder


class ReferenceCache(Protocol):
    """Where a scan looks up and offers reusable work: `lookup` gives a verified entry's folder."""

    def lookup(self, key: str, kind: str) -> Path | None: ...

    def store(self, key: str, kind: str, write: Writer) -> None: ...

    def reject(self, key: str, kind: str, err: CacheEntryError) -> None:
        """A looked-up entry whose payload could not be read after all: it counts as a miss."""


_ACTIVE: ContextVar[ReferenceCache | None] = ContextVar("reference_cache", default=None)


@contextmanager
def using_cache(cache: ReferenceCache | None) -> Iterator[None]:
    """Make `cache` the one the scan's stages use within this block (the pipeline itself stays unaware)."""
    token = _ACTIVE.set(cache)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def active_cache() -> ReferenceCache | None:
    return _ACTIVE.get()


def seal(folder: Path, key: str, kind: str) -> None:
    """Write the manifest of the payload files in `folder`: their digests and sizes, under `key`."""
    files = {}
    for path in sorted(folder.iterdir()):
        if path.name == MANIFEST:
            continue
        if not _FILE_NAME.match(path.name) or not path.is_file():
            raise CacheEntryError(f"unexpected file {path.name!r} in a new entry")
        files[path.name] = {"sha256": file_digest(path), "bytes": path.stat().st_size}
    manifest = {"format": ENTRY_FORMAT, "kind": kind, "key": key, "tool_version": __version__, "files": files}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")


def read_manifest(folder: Path, key: str) -> dict[str, Any]:
    """The manifest of the entry in `folder`, checked to describe `key`; CacheEntryError when it does not."""
    try:
        with (folder / MANIFEST).open("rb") as handle:
            raw = handle.read(MAX_MANIFEST_BYTES + 1)
        manifest = json.loads(raw.decode("utf-8"))
    except (OSError, ValueError) as err:
        raise CacheEntryError(f"unreadable manifest ({type(err).__name__})") from None
    if len(raw) > MAX_MANIFEST_BYTES or not isinstance(manifest, dict):
        raise CacheEntryError("malformed manifest")
    if manifest.get("format") != ENTRY_FORMAT or manifest.get("key") != key or manifest.get("kind") not in KINDS:
        raise CacheEntryError("foreign entry: its manifest names another format, kind or key")
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise CacheEntryError("malformed manifest: no files")
    for name, info in files.items():
        if not isinstance(name, str) or not _FILE_NAME.match(name):
            raise CacheEntryError("malformed manifest: a file name out of pattern")
        if not isinstance(info, dict) or not KEY_PATTERN.match(str(info.get("sha256"))):
            raise CacheEntryError("malformed manifest: a file without its digest")
        if not isinstance(info.get("bytes"), int) or not 0 <= info["bytes"] <= MAX_FILE_BYTES:
            raise CacheEntryError("malformed manifest: a file size out of range")
    return manifest


def verify_entry(folder: Path, key: str) -> dict[str, Any]:
    """The manifest, after checking every file against its recorded size and digest."""
    manifest = read_manifest(folder, key)
    for name, info in manifest["files"].items():
        path = folder / name
        try:
            if path.stat().st_size != info["bytes"] or file_digest(path) != info["sha256"]:
                raise CacheEntryError(f"{name} does not match the digest its manifest records")
        except OSError:
            raise CacheEntryError(f"{name} is missing") from None
    return manifest


def copy_entry(source: Path, destination: Path, key: str) -> dict[str, Any]:
    """Copy the entry for `key` from `source` into the new folder `destination`, hashing every byte on the
    way: a file that does not match its recorded digest or size stops the copy (CacheEntryError)."""
    manifest = read_manifest(source, key)
    destination.mkdir(parents=True)
    for name, info in manifest["files"].items():
        digest, size = hashlib.sha256(), 0
        try:
            with (source / name).open("rb") as src, (destination / name).open("wb") as dst:
                while chunk := src.read(_CHUNK):
                    size += len(chunk)
                    if size > info["bytes"]:
                        break
                    digest.update(chunk)
                    dst.write(chunk)
        except FileNotFoundError:
            raise CacheEntryError(f"{name} is missing") from None
        if size != info["bytes"] or digest.hexdigest() != info["sha256"]:
            raise CacheEntryError(f"{name} does not match the digest its manifest records")
    (destination / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    return manifest


def write_references(folder: Path, entry: CachedReferences) -> None:
    import torch

    for index, state in enumerate(entry.states):
        torch.save({k: v.detach().cpu().contiguous() for k, v in state.items()}, folder / f"reference-{index}.pt")
    document = {"output_kinds": list(entry.output_kinds), "notes": list(entry.notes)}
    (folder / "references.json").write_text(json.dumps(document), encoding="utf-8")


def read_references(folder: Path) -> CachedReferences:
    """The references in a verified entry folder, tensors read with `weights_only=True`."""
    import torch

    document = read_json(folder / "references.json")
    kinds, notes = document.get("output_kinds"), document.get("notes")
    if not isinstance(kinds, list) or not all(k in ("logits", "probabilities") for k in kinds):
        raise CacheEntryError("references.json: output kinds missing")
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        raise CacheEntryError("references.json: notes must be strings")
    states = []
    for index in range(len(kinds)):
        path = folder / f"reference-{index}.pt"
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # anything torch.load refuses (an UnpicklingError for any non-tensor object)
            raise CacheEntryError(f"{path.name} unreadable ({type(err).__name__})") from None
        if not isinstance(state, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
        ):
            raise CacheEntryError(f"{path.name} is not a state dict of tensors")
        states.append(state)
    return CachedReferences(states, kinds, notes)


def read_json(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            document = json.loads(handle.read(MAX_JSON_BYTES).decode("utf-8"))
    except (OSError, ValueError) as err:
        raise CacheEntryError(f"{path.name} unreadable ({type(err).__name__})") from None
    if not isinstance(document, dict):
        raise CacheEntryError(f"{path.name} malformed")
    return document


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def warn_on_stderr(message: str) -> None:
    sys.stderr.write(f"warning: {message}\n")
    sys.stderr.flush()


@dataclass
class CacheUse:
    """What happened with one entry in one scan: "hit" or "miss" (stored when `stored`)."""

    kind: str
    status: str = "miss"
    stored: bool = False


@dataclass
class DirectoryCache:
    """The cache folder, as the scanner sees it: look up, store, and export to and import from a worker."""

    root: Path
    warn: Callable[[str], None] = warn_on_stderr
    uses: dict[str, CacheUse] = field(default_factory=dict)  # by key, this scan's

    def lookup(self, key: str, kind: str) -> Path | None:
        """In-process scans: the verified entry's folder for `key`, or None (a bad entry is warned about)."""
        self.uses[key] = CacheUse(kind)
        folder = self.root / key
        if not KEY_PATTERN.match(key) or not folder.exists():
            return None
        try:
            if verify_entry(folder, key)["kind"] != kind:
                raise CacheEntryError("foreign entry: another kind")
        except CacheEntryError as err:
            self.ignored(folder, err)
            return None
        self.uses[key].status = "hit"
        return folder

    def store(self, key: str, kind: str, write: Writer) -> None:
        with self._staging() as staging:
            write(staging)
            seal(staging, key, kind)
            self._publish(staging, key, kind)

    def reject(self, key: str, kind: str, err: CacheEntryError) -> None:
        self.uses[key] = CacheUse(kind)
        self.ignored(self.root / key, err)

    def export(self, key: str, destination: Path) -> str | None:
        """Contained scans: copy the verified entry for `key` into `destination` (in the worker's scratch
        folder); its kind, or None, with a warning for a bad entry, when there is none to use."""
        folder = self.root / key
        if not KEY_PATTERN.match(key) or not folder.exists():
            return None
        try:
            kind = str(copy_entry(folder, destination, key)["kind"])
        except (CacheEntryError, OSError) as err:
            shutil.rmtree(destination, ignore_errors=True)
            self.ignored(folder, err)
            return None
        self.uses[key] = CacheUse(kind, "hit")
        return kind

    def import_entry(self, source: Path, key: str) -> None:
        """Contained scans: store the entry a worker wrote into its scratch folder, after verifying it here."""
        try:
            with self._staging() as staging:
                kind = str(copy_entry(source, staging / "entry", key)["kind"])
                self._publish(staging / "entry", key, kind)
        except (CacheEntryError, OSError) as err:
            self.warn(f"the scan's new cache entry {key} was not stored ({err})")

    def ignored(self, folder: Path, err: Exception) -> None:
        self.warn(f"reference cache entry {folder} ignored ({err}); doing its work afresh")

    @contextmanager
    def _staging(self) -> Iterator[Path]:
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=self.root))
        try:
            yield staging
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _publish(self, folder: Path, key: str, kind: str) -> None:
        """Rename `folder` to the entry for `key`, moving a bad entry there out of the way first."""
        target = self.root / key
        if target.exists():
            stale = Path(tempfile.mkdtemp(prefix=".stale-", dir=self.root))
            try:
                os.replace(target, stale / "entry")
            except OSError:
                pass  # another scan replaced it meanwhile
            shutil.rmtree(stale, ignore_errors=True)
        try:
            os.rename(folder, target)
        except OSError:
            pass  # another scan stored the same entry first; ours is identical
        self.uses.setdefault(key, CacheUse(kind)).stored = True


def cache_report(uses: dict[str, CacheUse] | None) -> ReferenceCacheInfo | None:
    """The report's `reference_cache` section; None when the scan never reached the references lookup."""
    from modelscan_vicious.results import ReferenceCacheInfo

    if uses is None:
        return ReferenceCacheInfo("off", None, False, "off")
    references = [(key, use) for key, use in uses.items() if use.kind == REFERENCES]
    if not references:
        return None
    key, use = references[0]
    outcomes = {u.status for u in uses.values() if u.kind == OUTCOMES}
    attack = "not-run" if not outcomes else outcomes.pop() if len(outcomes) == 1 else "partial"
    return ReferenceCacheInfo(use.status, key, use.stored, attack)


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/modelscan-vicious`, else `~/.cache/modelscan-vicious`."""
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "modelscan-vicious"
