"""A test set with typing slips: each question gets two typos, the same ones on every run.

    python scripts/typos.py testsets/dev.jsonl > /tmp/dev-typos.jsonl
    qa eval testsets/dev.jsonl --json -q --no-plots | jq .contained
    qa eval /tmp/dev-typos.jsonl --json -q --no-plots | jq .contained

Two distinct words of four letters or more are picked at random in each question, and each
gets one slip of the four kinds spelling correctors are built around (Damerau): a letter left
out, one typed twice or a neighbouring key added, a neighbouring key hit instead, two letters
swapped. The random generator is seeded with ``--seed`` and the question's id, so a file is
reproducible and one question's typos do not depend on the others. Everything but the question
(answers, history, evidence) is kept as it is.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

# neighbouring keys on a QWERTY keyboard
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEAR = {}
for r, row in enumerate(_ROWS):
    for c, ch in enumerate(row):
        near = {row[c - 1] if c else "", row[c + 1] if c + 1 < len(row) else ""}
        for other in (r - 1, r + 1):
            if 0 <= other < len(_ROWS):
                near.update(_ROWS[other][max(0, c - 1):c + 1])
        _NEAR[ch] = "".join(sorted(near - {"", ch}))
_WORD = re.compile(r"[A-Za-z]{4,}")


def slip(word: str, rng: random.Random) -> str:
    """``word`` with one typing slip."""
    i = rng.randrange(len(word))
    low = word[i].lower()
    kind = rng.choice(("drop", "add", "near", "swap"))
    if kind == "drop":
        return word[:i] + word[i + 1:]
    if kind == "add":
        extra = rng.choice(word[i] + _NEAR.get(low, low))
        return word[:i + 1] + extra + word[i + 1:]
    if kind == "near" and low in _NEAR:
        key = rng.choice(_NEAR[low])
        return word[:i] + (key.upper() if word[i].isupper() else key) + word[i + 1:]
    j = i + 1 if i + 1 < len(word) else i - 1  # swap with the next letter (the previous at the end)
    a, b = sorted((i, j))
    return word[:a] + word[b] + word[a] + word[b + 1:]


def misspell(question: str, rng: random.Random, n: int = 2) -> str:
    """``question`` with ``n`` of its words (four letters or more) misspelt once each."""
    found = list(_WORD.finditer(question))
    picked = sorted(rng.sample(found, min(n, len(found))), key=lambda m: m.start())
    out, last = [], 0
    for m in picked:
        out.append(question[last:m.start()] + slip(m.group(), rng))
        last = m.end()
    return "".join(out) + question[last:]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("testset", type=Path, help="a JSON Lines test set")
    ap.add_argument("--seed", type=int, default=26)
    ap.add_argument("--typos", type=int, default=2, help="misspelt words per question (default 2)")
    args = ap.parse_args(argv)
    for n, line in enumerate(args.testset.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        item = json.loads(line)
        rng = random.Random(f"{args.seed}:{item.get('id', n)}")
        item["question"] = misspell(item["question"], rng, args.typos)
        sys.stdout.write(json.dumps(item, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
