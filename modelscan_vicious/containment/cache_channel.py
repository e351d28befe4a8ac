"""The reference cache across the containment boundary; the worker never touches the cache folder.

Only the worker can compute the cache key (it needs the model's graph and its predictions), and only
the scanner may read and write the cache folder. So, per scan:

1. the worker prints `cache-lookup <key>` on its stdout (the stage channel) and waits for one line on
   its stdin (once for the references, once per run of the reference attack);
2. the scanner copies the entry for that key, verifying every byte against the manifest's digests,
   into `<scratch>/cache-in/<key>/` and answers `hit`, or answers `miss` (no entry, or a bad one:
   one warning line on the scanner's stderr);
3. on a hit the worker reads the entry from its scratch folder (tensors with
   `torch.load(weights_only=True)`, arrays with `allow_pickle=False`); on a miss it does the work and
   writes the new entry into `<scratch>/cache-out/<key>/`;
4. after a successful scan the scanner verifies that entry (a manifest naming a key the worker looked
   up, digests, sizes) while copying it, and renames the verified copy into the cache folder.

The worker tells the scanner in its outcome which entries it used, for the report. A worker the model
took over could still store a self-consistent entry under a key it looked up; the digests guard
against corruption and misfiled entries, not against that (see the README).
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from modelscan_vicious.results import ReferenceCacheInfo
from modelscan_vicious.scanning.reference_cache import (
    KINDS,
    MANIFEST,
    CacheEntryError,
    CacheUse,
    DirectoryCache,
    Writer,
    cache_report,
    seal,
)
from modelscan_vicious.scanning.reference_key import KEY_PATTERN

LOOKUP_PREFIX = "cache-lookup "
CACHE_IN = "cache-in"
CACHE_OUT = "cache-out"
MAX_LOOKUPS = 64  # a scan looks up its references and each run of the reference attack


class WorkerCache:
    """The worker's side: asks the scanner, reads and writes entries in its own scratch folder only."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.used: dict[str, list[str]] = {}  # key -> [kind, "hit" | "miss"], for the scanner's report

    def lookup(self, key: str, kind: str) -> Path | None:
        self.used[key] = [kind, "miss"]
        sys.stdout.write(f"{LOOKUP_PREFIX}{key}\n")
        sys.stdout.flush()
        if sys.stdin.readline().strip() != "hit":
            return None
        self.used[key][1] = "hit"
        return self.scratch / CACHE_IN / key  # verified byte for byte by the scanner as it copied

    def store(self, key: str, kind: str, write: Writer) -> None:
        folder = self.scratch / CACHE_OUT / key
        if folder.exists():  # the same work twice in one scan (identical outputs): stored once
            return
        try:
            folder.mkdir(parents=True)
            write(folder)
            seal(folder, key, kind)
        except (OSError, CacheEntryError):  # e.g. larger than the worker may write: the scan goes on uncached
            shutil.rmtree(folder, ignore_errors=True)

    def reject(self, key: str, kind: str, err: CacheEntryError) -> None:
        self.used[key] = [kind, "miss"]


@dataclass
class ScannerCache:
    """The scanner's side, for one contained scan."""

    cache: DirectoryCache | None
    scratch: Path
    keys: dict[str, bool] = field(default_factory=dict)  # looked up by the worker: exported?

    def answer(self, line: str, reply: IO[bytes] | None) -> None:
        """Serve one `cache-lookup` line: export the entry into the scratch folder, answer hit or miss."""
        key = line[len(LOOKUP_PREFIX) :].strip()
        if key in self.keys:
            hit = self.keys[key]
        elif self.cache is not None and KEY_PATTERN.match(key) and len(self.keys) < MAX_LOOKUPS:
            hit = self.keys[key] = self.cache.export(key, self.scratch / CACHE_IN / key) is not None
        else:
            hit = False
        if reply is None:
            return
        try:
            reply.write(b"hit\n" if hit else b"miss\n")
            reply.flush()
        except (BrokenPipeError, ValueError):  # the worker is gone
            pass

    def collect(self, worker_used: object) -> ReferenceCacheInfo | None:
        """After a successful scan: store the worker's new entries; the report's `reference_cache` section."""
        if self.cache is None:
            return cache_report(None)
        used = worker_used if isinstance(worker_used, dict) else {}
        uses: dict[str, CacheUse] = {}
        for key, claim in used.items():
            if key not in self.keys or not isinstance(claim, list) or len(claim) != 2 or claim[0] not in KINDS:
                continue  # only keys this scan looked up, and only the kinds we know
            hit = claim[1] == "hit" and self.keys[key]
            uses[key] = CacheUse(claim[0], "hit" if hit else "miss")
            if not hit and (self.scratch / CACHE_OUT / key / MANIFEST).exists():
                self.cache.import_entry(self.scratch / CACHE_OUT / key, key)
                uses[key].stored = self.cache.uses.get(key, CacheUse(claim[0])).stored
        return cache_report(uses)
