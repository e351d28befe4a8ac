"""Keep a scanned zoo's evidence in the repository, so calibrations and detection tables can be refitted
and recomputed without rescanning (the models themselves are not kept: they can be rebuilt by seed).

    python -m benchmarks.evidence pack --zoo benchmarks/out/rgb-heldout
    python -m benchmarks.evidence unpack          # every archive back into benchmarks/out

Run from the repository root: scan_zoo's row files name their reports relative to it.

An archive holds the zoo's manifest, its scan reports (`reports*/`) and its scan_zoo row files
(`benchmarks/out/{aux,noaux}/<zoo>-*.json` and `benchmarks/out/<zoo>-*.json`), with paths relative to
`benchmarks/out`, so the row files' report paths are valid again once unpacked. benchmarks/out itself
is not versioned: a machine reset loses it, and with it every report a refit needs.
"""

from __future__ import annotations

import argparse
import gzip
import sys
import tarfile
from pathlib import Path

from benchmarks.errors import BenchmarkInputError, run_main

OUT = Path("benchmarks/out")
ARCHIVES = Path(__file__).resolve().parent / "evidence"


def zoo_files(zoo: Path, out: Path = OUT) -> list[Path]:
    """The files of `zoo` (a folder under `out`) an archive keeps, relative to `out`."""
    zoo, out = zoo.resolve(), out.resolve()
    if not (zoo / "manifest.json").is_file():
        raise BenchmarkInputError(f"{zoo}: not a zoo (no manifest.json)")
    if zoo.parent != out:
        raise BenchmarkInputError(f"{zoo}: zoos are kept directly under {out}")
    reports = sorted(p for folder in zoo.glob("reports*") for p in folder.glob("*.json"))
    # scan_zoo's own names for this zoo (<zoo>-scans.json, <zoo>-part-*.json); a prefix glob would also
    # take another zoo's (mnist-* matches mnist-calib-a-scans.json).
    names = (f"{zoo.name}-scans.json", f"{zoo.name}-part-*.json")
    rows = sorted(p for folder in ("", "aux/", "noaux/") for name in names for p in out.glob(folder + name))
    return [p.relative_to(out) for p in [zoo / "manifest.json", *reports, *rows]]


def pack(zoo: Path, archives: Path = ARCHIVES, out: Path = OUT) -> Path:
    """Archive `zoo`'s evidence as `archives/<zoo>.tar.gz`, byte-identical for the same files (no times,
    owners or modes from this machine, so a repack of unchanged evidence leaves git nothing to commit)."""
    files = zoo_files(zoo, out)
    archives.mkdir(parents=True, exist_ok=True)
    target = archives / f"{zoo.name}.tar.gz"
    partial = target.with_suffix(".partial")
    with open(partial, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as zipped:
        with tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as archive:
            for name in files:
                info = archive.gettarinfo(str(out / name), arcname=str(name))
                info.mtime, info.mode, info.uid, info.gid, info.uname, info.gname = 0, 0o644, 0, 0, "", ""
                with open(out / name, "rb") as handle:
                    archive.addfile(info, handle)
    partial.replace(target)
    return target


def unpack(archives: Path = ARCHIVES, out: Path = OUT, *, force: bool = False) -> list[Path]:
    """Extract every archive into `out`. Refuses (before writing anything) to overwrite a file that is
    already there, which may be newer evidence than the archive's, unless `force`."""
    if not hasattr(tarfile, "data_filter"):
        raise BenchmarkInputError("unpacking needs Python >= 3.10.12 (tarfile's safe 'data' filter)")
    paths = sorted(archives.glob("*.tar.gz"))
    if not force:
        for path in paths:
            try:
                with tarfile.open(path, "r:gz") as archive:
                    present = [name for name in archive.getnames() if (out / name).is_file()]
            except (tarfile.TarError, OSError) as err:
                raise BenchmarkInputError(f"{path.name}: cannot read ({err})") from err
            if present:
                raise BenchmarkInputError(
                    f"{path.name}: {len(present)} files already in {out} (e.g. {present[0]}); --force replaces them"
                )
    for path in paths:
        try:
            with tarfile.open(path, "r:gz") as archive:
                archive.extractall(out, filter="data")  # "data": no absolute paths, links or files outside `out`
        except (tarfile.TarError, OSError) as err:  # a damaged or hostile archive: one line, not a traceback
            raise BenchmarkInputError(f"{path.name}: cannot unpack ({err})") from err
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    pack_parser = commands.add_parser("pack", help="archive one zoo's evidence")
    pack_parser.add_argument("--zoo", type=Path, required=True)
    unpack_parser = commands.add_parser("unpack", help="restore every archive into benchmarks/out")
    unpack_parser.add_argument("--force", action="store_true", help="replace files already there")
    args = parser.parse_args(argv)
    if args.command == "pack":
        target = pack(args.zoo)
        print(f"{target} ({target.stat().st_size / 1e3:.0f} kB)")
    else:
        for path in unpack(ARCHIVES, OUT, force=args.force):
            print(f"unpacked {path}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
