"""Keep a scanned zoo's evidence in the repository, so calibrations and detection tables can be refitted
and recomputed without rescanning (the models themselves are not kept: they can be rebuilt by seed).

    python -m benchmarks.evidence pack --zoo benchmarks/out/rgb-heldout
    python -m benchmarks.evidence unpack          # every archive back into benchmarks/out

An archive holds the zoo's manifest, its scan reports (`reports*/`) and its scan_zoo row files
(`benchmarks/out/{aux,noaux}/<zoo>-*.json` and `benchmarks/out/<zoo>-*.json`), with paths relative to
`benchmarks/out`, so the row files' report paths are valid again once unpacked. benchmarks/out itself
is not versioned: a machine reset loses it, and with it every report a refit needs.
"""

from __future__ import annotations

import argparse
import sys
import tarfile
from pathlib import Path

from benchmarks.errors import BenchmarkInputError, run_main

OUT = Path("benchmarks/out")
ARCHIVES = Path(__file__).resolve().parent / "evidence"


def zoo_files(zoo: Path, out: Path = OUT) -> list[Path]:
    """The files of `zoo` (a folder under `out`) an archive keeps, relative to `out`."""
    if not (zoo / "manifest.json").is_file():
        raise BenchmarkInputError(f"{zoo}: not a zoo (no manifest.json)")
    if zoo.parent.resolve() != out.resolve():
        raise BenchmarkInputError(f"{zoo}: zoos are kept directly under {out}")
    reports = sorted(p for folder in zoo.glob("reports*") for p in folder.glob("*.json"))
    rows = sorted(
        p
        for pattern in (f"{zoo.name}-*.json", f"aux/{zoo.name}-*.json", f"noaux/{zoo.name}-*.json")
        for p in out.glob(pattern)
    )
    return [p.relative_to(out) for p in [zoo / "manifest.json", *reports, *rows]]


def pack(zoo: Path, archives: Path = ARCHIVES, out: Path = OUT) -> Path:
    files = zoo_files(zoo, out)
    archives.mkdir(parents=True, exist_ok=True)
    target = archives / f"{zoo.name}.tar.gz"
    partial = target.with_suffix(".partial")
    with tarfile.open(partial, "w:gz") as archive:
        for name in files:
            info = archive.gettarinfo(str(out / name), arcname=str(name))
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""  # same files, same archive
            with open(out / name, "rb") as handle:
                archive.addfile(info, handle)
    partial.replace(target)
    return target


def unpack(archives: Path = ARCHIVES, out: Path = OUT) -> list[Path]:
    unpacked = []
    for path in sorted(archives.glob("*.tar.gz")):
        with tarfile.open(path, "r:gz") as archive:
            archive.extractall(out, filter="data")  # "data": no absolute paths, links or files outside `out`
        unpacked.append(path)
    return unpacked


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    pack_parser = commands.add_parser("pack", help="archive one zoo's evidence")
    pack_parser.add_argument("--zoo", type=Path, required=True)
    commands.add_parser("unpack", help="restore every archive into benchmarks/out")
    args = parser.parse_args(argv)
    if args.command == "pack":
        target = pack(args.zoo)
        print(f"{target} ({target.stat().st_size / 1e3:.0f} kB)")
    else:
        for path in unpack():
            print(f"unpacked {path}")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
