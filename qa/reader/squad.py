"""SQuAD-format training data: loading, the fixed article split, and held-out corpora for ``qa eval``.

The held-out articles are listed in ``heldout_articles.txt`` (every 15th title of SQuAD 1.1 train
in sorted order, written down once so that the list never moves with the data). They are never
trained on. Alternate ones form two halves: ``tune`` (thresholds and calibration are chosen on it)
and ``test`` (figures are reported on it, nothing is chosen with it).
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

from qa.core.errors import TestSetError

HELDOUT_FILE = Path(__file__).with_name("heldout_articles.txt")
#: Where the training data lies beside the project (read by path, never copied into the repo).
DEFAULT_DATA = Path("../shared/data/squad11-train/train.json.gz")


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    answers: tuple[tuple[str, int], ...]  # (text, start in the paragraph); empty when unanswerable


@dataclass(frozen=True)
class Paragraph:
    context: str
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class Article:
    title: str
    paragraphs: tuple[Paragraph, ...]


def load_squad(path: Path) -> list[Article]:
    """Articles of a SQuAD v1.1/v2.0 file (``.json`` or ``.json.gz``)."""
    path = Path(path)
    if not path.is_file():
        raise TestSetError(f"no SQuAD file at {path}; pass its path with --data")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise TestSetError(f"{path} is not readable SQuAD JSON: {e}") from None
    articles = []
    for art in data.get("data", []):
        paras = []
        for p in art["paragraphs"]:
            qs = tuple(
                Question(q["id"], q["question"],
                         () if q.get("is_impossible") else tuple((a["text"], int(a["answer_start"])) for a in q["answers"]))
                for q in p["qas"])
            paras.append(Paragraph(p["context"], qs))
        articles.append(Article(art["title"], tuple(paras)))
    return articles


def heldout_titles() -> list[str]:
    return [t for t in HELDOUT_FILE.read_text(encoding="utf-8").splitlines() if t and not t.startswith("#")]


def split(articles: list[Article]) -> tuple[list[Article], list[Article], list[Article]]:
    """(train, tune, test): held-out articles alternate between tune and test."""
    held = heldout_titles()
    position = {t: i for i, t in enumerate(held)}
    train = [a for a in articles if a.title not in position]
    tune = [a for a in articles if position.get(a.title, 1) % 2 == 0]
    test = [a for a in articles if position.get(a.title, 0) % 2 == 1]
    return train, tune, test


def write_corpus(articles: list[Article], folder: Path) -> None:
    """One MediaWiki-style text file per article (``= Title =``, paragraphs split by blank lines),
    so ``QA_CORPUS_DIR=folder qa eval`` measures retrieval and reading over all of them at once."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for art in articles:
        name = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in art.title)[:80] + ".txt"
        body = "\n\n".join(p.context.strip() for p in art.paragraphs)
        (folder / name).write_text(f"= {art.title.replace('_', ' ')} =\n\n{body}\n", encoding="utf-8")


def to_squad_json(articles: list[Article], extra_unanswerable: list[tuple[str, str]] = ()) -> dict:
    """A SQuAD 2.0 file of the articles' questions; ``extra_unanswerable`` adds (id, question)
    pairs marked impossible."""
    data = []
    for art in articles:
        paras = [{"context": p.context, "qas": [
            {"id": q.id, "question": q.text, "is_impossible": not q.answers,
             "answers": [{"text": t, "answer_start": s} for t, s in q.answers]} for q in p.questions]}
            for p in art.paragraphs]
        data.append({"title": art.title, "paragraphs": paras})
    if extra_unanswerable:
        data.append({"title": "unanswerable", "paragraphs": [{"context": "", "qas": [
            {"id": i, "question": q, "is_impossible": True, "answers": []} for i, q in extra_unanswerable]}]})
    return {"version": "v2.0", "data": data}
