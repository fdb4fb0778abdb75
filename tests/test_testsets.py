"""The gold data in testsets/ is well formed: every answer, evidence string and follow-up
answer is copied verbatim from the article, ids are unique, and kinds match their fields
(testsets/README.md). A typo in gold data would silently cost points on every run."""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = (ROOT / "corpus" / "central-asia-plus-japan.txt").read_text(encoding="utf-8")
KINDS = {"factual", "paraphrase", "list", "why", "followup", "unanswerable"}
SETS = ["dev.jsonl", "heldout.jsonl", "blind.jsonl", "blind2.jsonl"]


def rows(name):
    with open(ROOT / "testsets" / name, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.mark.parametrize("name", SETS)
def test_gold_is_verbatim_and_consistent(name):
    data = rows(name)
    ids = [r["id"] for r in data]
    assert len(ids) == len(set(ids)), "duplicate ids"
    for r in data:
        assert r["kind"] in KINDS, r["id"]
        if r["kind"] == "unanswerable":
            assert r["answers"] == [] and "evidence" not in r, r["id"]
            continue
        assert 1 <= len(r["answers"]) <= 3, r["id"]
        for s in r["answers"] + [r["evidence"]]:
            assert s in ARTICLE, f"{r['id']}: {s!r} is not in the article"
        assert ("history" in r) == (r["kind"] == "followup"), r["id"]
        for turn in r.get("history", []):
            assert turn["role"] in ("user", "assistant"), r["id"]
            if turn["role"] == "assistant":
                assert turn["content"] in ARTICLE, f"{r['id']}: history answer not in the article"


def test_sets_do_not_share_questions():
    seen = {}
    for name in SETS:
        for r in rows(name):
            # a follow-up ("When was that?") is the same question only with the same history
            q = " ".join(r["question"].lower().split()) + json.dumps(r.get("history", []))
            assert q not in seen, f"{r['id']} repeats {seen.get(q)}"
            seen[q] = r["id"]
