"""Write a held-out benchmark from the SQuAD training file: a corpus folder with one file per
held-out article, and a SQuAD 2.0 file of questions about them for ``qa eval``.

    python scripts/squad_heldout.py --split test --out /tmp/heldout-test
    QA_CORPUS_DIR=/tmp/heldout-test/corpus QA_INDEX_DIR=/tmp/heldout-test/index \\
        qa eval /tmp/heldout-test/questions.json

The articles are never trained on (qa/reader/heldout_articles.txt; ``tune`` and ``test`` are its
two alternating halves). SQuAD 1.1 has no unanswerable questions, so about half of the file is
made unanswerable in two ways, each marked by its id:

- ``swap-``: a question whose name or number that its paragraph states is replaced by another of
  the same article that the paragraph does not state (the way the reader's negatives are made,
  so the reader has seen this kind; SQuAD 2.0's human-written ones are harder);
- ``other-``: a question about an article of the other half, which is not in the corpus.

Both can occasionally still be answerable somewhere in the corpus; the figures carry that noise.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa.reader.examples import _ArticleIndex, _swap, sentence_spans  # noqa: E402
from qa.reader.squad import DEFAULT_DATA, load_squad, split, to_squad_json, write_corpus  # noqa: E402


def build(data: Path, which: str, out: Path, seed: int = 7, articles: int = 0, unanswerable: float = 0.5) -> dict:
    _, tune, test = split(load_squad(data))
    mine, other = (tune, test) if which == "tune" else (test, tune)
    if articles:
        mine, other = mine[:articles], other[:articles]
    rng = random.Random(seed)
    answerable = [(a, p, q) for a in mine for p in a.paragraphs for q in p.questions if q.answers]
    want = int(len(answerable) * unanswerable / (1 - unanswerable))
    extra: list[tuple[str, str]] = []
    indexes = {a.title: _ArticleIndex.of(a, [sentence_spans(p.context) for p in a.paragraphs]) for a in mine}
    for a, p, q in rng.sample(answerable, len(answerable)):
        if len(extra) >= want // 2:
            break
        swapped = _swap(q.text, p.context, indexes[a.title], rng)
        if swapped and swapped != q.text:
            extra.append((f"swap-{q.id}", swapped))
    pool = [q for a in other for p in a.paragraphs for q in p.questions]
    extra += [(f"other-{q.id}", q.text) for q in rng.sample(pool, min(len(pool), want - len(extra)))]
    out.mkdir(parents=True, exist_ok=True)
    write_corpus(mine, out / "corpus")
    (out / "questions.json").write_text(json.dumps(to_squad_json(mine, extra)), encoding="utf-8")
    return {"articles": len(mine), "answerable": len(answerable), "unanswerable": len(extra),
            "swapped": sum(1 for i, _ in extra if i.startswith("swap-")), "corpus": str(out / "corpus"),
            "questions": str(out / "questions.json")}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--split", choices=("tune", "test"), default="test")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--articles", type=int, default=0, help="only the first N articles of the split (0: all)")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    print(json.dumps(build(args.data, args.split, args.out, args.seed, args.articles), indent=2))


if __name__ == "__main__":
    main()
