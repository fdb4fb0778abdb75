"""How many per-question records of two ``qa eval`` reports agree (e.g. the same test set on two
search backends):

    python scripts/compare_records.py A/report.json B/report.json

Prints the share with the same answer and abstention, with the same citations (document and
offsets, in order), and identical in every field but latency; then the questions whose answer
or abstention differ. Exits 1 when the reports hold different questions.
"""

from __future__ import annotations

import json
import sys


def _records(path: str) -> dict[str, dict]:
    with open(path, encoding="utf-8") as f:
        return {r["id"]: r for r in json.load(f)["records"]}


def _citations(r: dict) -> list:
    return [(c.get("doc"), c.get("start"), c.get("end")) for c in r.get("citations") or []]


def main(a_path: str, b_path: str) -> int:
    a, b = _records(a_path), _records(b_path)
    if set(a) != set(b):
        print(f"the reports hold different questions ({len(set(a) ^ set(b))} differ)")
        return 1
    same = [i for i in a if (a[i]["prediction"], a[i]["abstained"]) == (b[i]["prediction"], b[i]["abstained"])]
    cites = sum(_citations(a[i]) == _citations(b[i]) for i in a)
    bare = lambda r: {k: v for k, v in r.items() if k != "latency_ms"}  # noqa: E731
    identical = sum(bare(a[i]) == bare(b[i]) for i in a)
    n = len(a)
    print(f"{n} records: same answer and abstention {len(same)} ({100 * len(same) / n:.1f}%), "
          f"same citations {cites} ({100 * cites / n:.1f}%), identical but for latency {identical}")
    for i in a:
        if i not in same:
            print(f"  {i}: {a[i]['prediction']!r} / {b[i]['prediction']!r}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
