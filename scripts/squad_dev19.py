"""Write one half of the SQuAD 2.0 dev articles beside the project (``dev19``) as a corpus folder
(one file per article) and a SQuAD 2.0 file of its questions for ``qa eval``:

    python scripts/squad_dev19.py --split test --out /tmp/dev19-test
    QA_CORPUS_DIR=/tmp/dev19-test/corpus QA_INDEX_DIR=/tmp/dev19-test/index \\
        qa eval /tmp/dev19-test/questions.json

The split is by article and written down in testsets/dev19-split.json: ``reader`` may be trained
on (``qa train reader --unanswerable``), ``calib`` used to fit the confidence and its thresholds,
``test`` only to report figures. The unanswerable
questions are SQuAD 2.0's own, written by people to look answerable from their paragraph; every
question is asked of all the half's articles at once, as a user would ask a library.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa.reader.squad import Article, load_squad, to_squad_json, write_corpus  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SPLIT_FILE = ROOT / "testsets" / "dev19-split.json"
#: Where the data lies beside the project (read by path, never copied into the repository).
DEFAULT_DATA = Path("../shared/data/squad20-dev19/dev19.json.gz")


def titles(which: str) -> list[str]:
    return json.loads(SPLIT_FILE.read_text(encoding="utf-8"))[which]


def sample(articles: list[Article], limit: int, seed: int) -> list[Article]:
    """The articles with only ``limit`` of their questions, drawn at random (0: all)."""
    ids = [q.id for a in articles for p in a.paragraphs for q in p.questions]
    if not limit or limit >= len(ids):
        return articles
    keep = set(random.Random(seed).sample(ids, limit))
    return [Article(a.title, tuple(type(p)(p.context, tuple(q for q in p.questions if q.id in keep))
                                   for p in a.paragraphs)) for a in articles]


def build(data: Path, which: str, out: Path, limit: int = 0, seed: int = 7) -> dict:
    wanted = titles(which)
    by_title = {a.title: a for a in load_squad(data)}
    missing = [t for t in wanted if t not in by_title]
    if missing:
        raise SystemExit(f"{data} lacks the articles {missing} of {SPLIT_FILE.name}; is it dev19.json.gz?")
    mine = [by_title[t] for t in wanted]
    out.mkdir(parents=True, exist_ok=True)
    write_corpus(mine, out / "corpus")
    asked = sample(mine, limit, seed)
    (out / "questions.json").write_text(json.dumps(to_squad_json(asked)), encoding="utf-8")
    qs = [q for a in asked for p in a.paragraphs for q in p.questions]
    return {"articles": len(mine), "questions": len(qs), "unanswerable": sum(1 for q in qs if not q.answers),
            "corpus": str(out / "corpus"), "questions_file": str(out / "questions.json")}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--split", choices=("reader", "calib", "test"), default="test")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--limit", type=int, default=0, help="ask only N questions drawn at random (0: all)")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    print(json.dumps(build(args.data, args.split, args.out, args.limit, args.seed), indent=2))


if __name__ == "__main__":
    main()
