"""How fast PDFs are read (qa/ingest/formats.py ``extract``), per MB of PDF, each round a fresh
process: the annual report, trading update and half-year report of scripts/reportset.py (12 pages,
3 ruled tables, one with horizontal rules only, one without rules) and a 40-page narrative made from the same text. With ``--baseline DIR`` (a checkout of another
version of the project), its reading runs interleaved with this one's, so both see the same load.

    python -m benchmarks.pdf_speed [--rounds 3] [--baseline /path/to/other/checkout]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
from pathlib import Path

from .common import PY, REPO

READ = r"""
import json, sys, time
from pathlib import Path
from qa.ingest.formats import extract
data = [(f.name, f.read_bytes()) for f in sorted(Path(sys.argv[1]).glob("*.pdf"))]
extract(data[0][1], "warm-up.pdf")  # imports and first-use costs are left out
t = time.perf_counter()
for name, d in data:
    extract(d, name)
print(json.dumps({"s": time.perf_counter() - t, "mb": sum(len(d) for _, d in data) / 1e6}))
"""


def make_pdfs(folder: Path) -> int:
    """The PDFs read, written into ``folder``; returns their number of pages."""
    import sys

    sys.path.insert(0, str(REPO))
    from fpdf import FPDF

    from scripts import reportset as R

    (folder / "annual-report-2023.pdf").write_bytes(R.annual_report())
    (folder / "q3-trading-update.pdf").write_bytes(R.trading_update())
    (folder / "half-year-report-2024.pdf").write_bytes(R.half_year_report())
    pdf = FPDF()
    pdf.set_auto_page_break(True, 20)
    for k in range(40):
        pdf.add_page()
        pdf.set_font("helvetica", "B", 15)
        pdf.multi_cell(0, 8, f"Section {k + 1}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", "", 11)
        for p in R.CHAIRMAN + R.FILLER:
            pdf.multi_cell(0, 5.5, p, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
    (folder / "narrative.pdf").write_bytes(bytes(pdf.output()))
    from pypdf import PdfReader

    return sum(len(PdfReader(str(f)).pages) for f in folder.glob("*.pdf"))


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--baseline", type=Path, help="a checkout of another version to compare with")
    args = ap.parse_args(argv)
    versions = {"this": REPO}
    if args.baseline:
        versions["baseline"] = args.baseline.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        pages = make_pdfs(Path(tmp))
        runs: dict[str, list[dict]] = {k: [] for k in versions}
        for _ in range(args.rounds):
            for name, root in versions.items():
                env = {**os.environ, "PYTHONPATH": str(root)}
                out = subprocess.run([PY, "-c", READ, tmp], env=env, cwd=root, capture_output=True, text=True,
                                     check=True, timeout=600).stdout
                runs[name].append(json.loads(out))
    result = {"pages": pages, "rounds": args.rounds}
    for name, got in runs.items():
        s = statistics.median(r["s"] for r in got)
        mb = got[0]["mb"]
        result[name] = {"median_s": round(s, 3), "mb": round(mb, 3), "s_per_mb": round(s / mb, 2),
                        "pages_per_s": round(pages / s, 1)}
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
