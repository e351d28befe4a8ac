"""Which risk gate means the same on every data set: an absolute R, or R against the honest references.

Reads the per-model rows the detection benchmarks already measured (docs/benchmarks.md: R and the
range of R the scan's own honest references reached, per zoo) and counts, per gate, the honest models
flagged and the vicious ones caught. The reference range is printed with two decimals there, so a
relative gate is evaluated against max(refs) rounded half a unit up (conservative for honest models).

    python -m benchmarks.risk_gate
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

from benchmarks.markdown import DOC, table, update_section

SECTIONS = {
    "held-out MNIST": "### Detection on the held-out MNIST zoo",
    "held-out digits": "### Detection on the held-out digits zoo",
    "calibration zoos": "### Detection on the calibration zoos",
}
MARGINS = (0.0, 0.01, 0.02, 0.03, 0.05)
FACTORS = (1.03, 1.05, 1.07)
ABSOLUTE = 1.20


@dataclass(frozen=True)
class Row:
    zoo: str
    model: str
    vicious: bool
    leaks: bool
    R: float
    refs_max: float


def read_rows(text: str) -> list[Row]:
    rows = []
    for zoo, heading in SECTIONS.items():
        section = text.split(heading, 1)[1].split("\n### ", 1)[0]
        table_text = section.split("Per model:", 1)[1]
        header: list[str] | None = None
        for line in table_text.splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not line.startswith("|") or set(line) <= set("|-"):
                continue
            if header is None:
                header = cells
                continue
            row = dict(zip(header, cells))
            refs = re.findall(r"\d+\.\d+", row["refs R"])
            if not refs or not re.match(r"^\d", row["R"]):
                continue
            rows.append(
                Row(
                    zoo=zoo,
                    model=row["model"],
                    vicious=row["label"] == "vicious",
                    leaks=row.get("G leaks") == "yes",
                    R=float(row["R"]),
                    refs_max=float(refs[-1]) + 0.005,
                )
            )
    return rows


def gates() -> list[tuple[str, object]]:
    absolute = [(f"R >= {ABSOLUTE:.2f} (absolute)", lambda r: r.R >= ABSOLUTE)]
    relative = [(f"R >= max(refs) + {m:.2f}", lambda r, m=m: r.R >= r.refs_max + m) for m in MARGINS]
    scaled = [(f"R >= max(refs) x {f:.2f}", lambda r, f=f: r.R >= r.refs_max * f) for f in FACTORS]
    return absolute + relative + scaled


def render(rows: list[Row]) -> str:
    lines = []
    for zoo in SECTIONS:
        group = [r for r in rows if r.zoo == zoo]
        honest = [r for r in group if not r.vicious]
        leaking = [r for r in group if r.vicious and r.leaks]
        vicious = [r for r in group if r.vicious]
        body = [
            [
                name,
                f"{sum(map(gate, honest))}/{len(honest)}",
                f"{sum(map(gate, leaking))}/{len(leaking)}",
                f"{sum(map(gate, vicious))}/{len(vicious)}",
            ]
            for name, gate in gates()
        ]
        header = ["gate", "honest flagged", "leaking vicious caught", "all vicious caught"]
        lines += [f"{zoo} ({len(group)} models):", "", table(header, body), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    text = DOC.read_text()
    rows = read_rows(text)
    body = "Command: `python -m benchmarks.risk_gate` (from the per-model rows above; with auxiliary data)\n\n"
    body += render(rows)
    update_section("risk-gate", body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
