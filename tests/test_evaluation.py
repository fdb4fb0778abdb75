"""Test-set readers (three formats, precise errors) and the evaluation run on a tiny corpus."""

import json
from pathlib import Path

import pytest

from qa.answer.confidence import FEATURES
from qa.core.errors import TestSetError
from qa.eval.datasets import TestItem, load_testset, read_testset
from qa.eval.run import evaluate, summarize
from qa.answer.pipeline import QA

DATA = Path(__file__).parent / "data" / "eval"


# ---- readers: the good cases ------------------------------------------------------------------


def test_jsonl_reader():
    ts = load_testset(DATA / "tiny.jsonl")
    assert ts.format == "jsonl" and len(ts.items) == 6 and len(ts.sha256) == 64
    t1, t4, t5, t6 = ts.items[0], ts.items[3], ts.items[4], ts.items[5]
    assert t1 == TestItem("t1", "When was the treaty signed?", ("3 May 1999",),
                          "The treaty was signed on 3 May 1999 in Gamma City.", (), "factual", {})
    assert t4.relevance == {"Lower tariffs between Alpha and Beta": 2.0, "Joint research on fisheries": 1.0}
    assert t5.answers == () and not t5.answerable and t5.evidence is None
    assert t6.history == ({"role": "user", "content": "When was the Tiny Treaty signed?"},
                          {"role": "assistant", "content": "3 May 1999"})


def test_csv_reader():
    ts = load_testset(DATA / "tiny.csv")
    assert ts.format == "csv" and [i.id for i in ts.items] == ["c1", "c2", "c3", "c4"]
    assert ts.items[1].answers == ("Jane Q. Smith", "Dr. Jane Q. Smith")
    assert ts.items[2].answers == () and ts.items[2].evidence is None
    assert ts.items[3].history == ({"role": "user", "content": "When was the Tiny Treaty signed?"},)
    assert ts.items[0].history == ()


def test_squad_v2_reader():
    ts = load_testset(DATA / "tiny-squad.json")
    assert ts.format == "squad" and [i.id for i in ts.items] == ["s1", "s2", "s3"]
    s1, s3 = ts.items[0], ts.items[2]
    assert s1.answers == ("3 May 1999",)  # duplicates collapsed
    assert s1.evidence.startswith("The treaty was signed") and s1.evidence.endswith("chaired the signing.")
    assert s3.answers == () and s3.evidence is None  # is_impossible wins over plausible_answers


def test_squad_v1_reader_without_is_impossible():
    doc = {"version": "1.1", "data": [{"title": "t", "paragraphs": [{"context": "Alpha met Beta.", "qas": [
        {"id": 7, "question": "Who met Beta?", "answers": [{"text": "Alpha", "answer_start": 0}]}]}]}]}
    ts = read_testset(json.dumps(doc).encode())
    assert ts.format == "squad" and ts.items[0].id == "7" and ts.items[0].answers == ("Alpha",)


def test_bom_blank_lines_and_default_ids():
    text = '\ufeff{"question": "Q one?", "answers": ["a b"]}\n\n{"question": "Q two?", "answers": []}\n'
    ts = read_testset(text.encode("utf-8"))
    assert [i.id for i in ts.items] == ["line-1", "line-3"]


# ---- readers: every bad file names the place and the field ------------------------------------


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"),
    (b"  \n\n ", "is empty"),
    (b'{"id": "a", "question": "Q?", "answers": []}\n\xff\xfe bad\n', "line 2: not UTF-8"),
    (b'{"id": "a", "question": "Q?", "answers": []}\n{"id": "b", "question": \n', "line 2: not valid JSON"),
    (b'{"id": "a", "answers": ["x"]}\n', "line 1, field 'question': missing"),
    (b'{"id": "a", "question": "   ", "answers": ["x"]}\n', "line 1, field 'question': is empty"),
    (b'{"id": "a", "question": 5, "answers": ["x"]}\n', "line 1, field 'question': must be text, got int"),
    (b'{"id": "a", "question": "Q?"}\n', "line 1, field 'answers': missing (use [] for"),
    (b'{"id": "a", "question": "Q?", "answers": "Tokyo"}\n', "field 'answers': must be a list of strings, got text"),
    (b'{"id": "a", "question": "Q?", "answers": [3]}\n', "field 'answers': item 0 must be text, got int"),
    (b'{"id": "a", "question": "Q?", "answers": ["the"]}\n', "item 0 ('the') is empty once"),
    (b'{"id": "a", "question": "Q?", "answers": []}\n{"id": "a", "question": "R?", "answers": []}\n',
     "line 2, field 'id': duplicate id 'a' (first used at line 1)"),
    (b'{"id": ["a"], "question": "Q?", "answers": []}\n', "field 'id': must be text or an integer"),
    (b'{"id": "a", "question": "Q?", "answers": [], "history": [{"role": "bot", "content": "x"}]}\n',
     "field 'history': turn 0: role must be"),
    (b'{"id": "a", "question": "Q?", "answers": [], "history": "hi"}\n', "field 'history': must be a list"),
    (b'{"id": "a", "question": "Q?", "answers": [], "history": [{"role": "assistant", "content": "x", '
     b'"source": {"doc": "d.txt", "start": "0", "end": 5}}]}\n', "field 'history': turn 0: source must be"),
    (b'{"id": "a", "question": "Q?", "answers": [], "evidence": 3}\n', "field 'evidence': must be text"),
    (b'{"id": "a", "question": "Q?", "answers": [], "relevance": {"p": -1}}\n', "field 'relevance': grade of"),
    (b'["a", "b"]\n', "a JSON array is not a supported test set"),
    (b'{"id": "a", "question": "Q?", "answers": []}\n[1]\n', "line 2: expected a JSON object"),
    (b"id,query,answers\n1,Q?,x\n", "header row naming a 'question' column"),
    (b"id,question\n1,Q?\n", "no 'answers' column"),
    (b'id,question,answers,history\n1,Q?,x,"[{bad"\n', "row 1 (line 2), field 'history': not valid JSON"),
    (b"id,question,answers\n1,Q?,x,extra\n", "row 1 (line 2): more cells than header columns"),
    (b"id,question,answers\n1,,x\n", "row 1 (line 2), field 'question': is empty"),
    (b"id,question,answers\n1,Q?,x\n1,R?,y\n", "row 2, field 'id': duplicate id '1' (first used at row 1)"),
    (b"id,question,answers\n", "has no questions"),
    (b'{"data": [{"paragraphs": [{"qas": []}]}]}', "data[0].paragraphs[0], field 'context': missing"),
    (b'{"data": [{"paragraphs": [{"context": "c", "qas": [{"id": "x", "question": "Q?", "answers": [], '
     b'"is_impossible": "no"}]}]}]}', "data[0].paragraphs[0].qas[0], field 'is_impossible'"),
    (b'{"data": [{"paragraphs": [{"context": "c", "qas": [{"id": "x", "question": "Q?", "answers": []}]}]}]}',
     "field 'answers': empty but 'is_impossible' is not true"),
    (b'{"data": [{"paragraphs": [{"context": "c", "qas": [{"id": "x", "answers": [{"text": "c"}]}]}]}]}',
     "data[0].paragraphs[0].qas[0], field 'question': missing"),
    (b'{"data": {"not": "a list"}}', "top level, field 'data': expected a list"),
])
def test_bad_files_are_rejected_precisely(content, message):
    with pytest.raises(TestSetError) as e:
        read_testset(content, "set.x")
    assert message in str(e.value), str(e.value)
    assert str(e.value).startswith("set.x")


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(TestSetError, match="does not exist"):
        load_testset(tmp_path / "nope.jsonl")
    with pytest.raises(TestSetError, match="is a folder"):
        load_testset(tmp_path)


# ---- running on a tiny corpus -----------------------------------------------------------------


def test_run_uses_the_chat_entry_point(tiny_qa, monkeypatch):
    calls = []
    real_ask = tiny_qa.ask

    def spy(question, history=None, top_k=None):
        calls.append((question, history))
        return real_ask(question, history=history, top_k=top_k)

    monkeypatch.setattr(tiny_qa, "ask", spy)
    ts = load_testset(DATA / "tiny.jsonl")
    records, metrics = evaluate(tiny_qa, ts)
    assert [c[0] for c in calls] == [i.question for i in ts.items]
    assert calls[5][1] == [dict(t) for t in ts.items[5].history]
    assert len(records) == 6 and metrics["questions"] == 6


def test_records_and_metrics_on_tiny_corpus(tiny_qa):
    records, m = evaluate(tiny_qa, load_testset(DATA / "tiny.jsonl"))
    by_id = {r["id"]: r for r in records}
    t1 = by_id["t1"]
    assert t1["prediction"] == "3 May 1999" and t1["em"] == 1.0 and t1["contained"] == 1.0
    assert t1["evidence_rank"] == 1 and t1["latency_ms"] > 0 and t1["question_type"] == "when"
    assert tuple(t1["signals"]) == FEATURES  # the confidence features
    assert by_id["t5"]["answerable"] is False and by_id["t5"]["has_evidence"] is False
    assert by_id["t5"]["evidence_rank"] is None
    assert by_id["t4"]["ndcg@10"] is not None and 0 <= by_id["t4"]["ndcg@10"] <= 1
    # with the threshold at 0 the bot answers everything: the unanswerable question is wrong
    assert by_id["t5"]["abstained"] is False and by_id["t5"]["contained"] == 0.0
    assert m["NoAns_total"] == 1 and m["HasAns_total"] == 5 and m["evidence_total"] == 5
    assert m["ndcg_total"] == 1 and m["abstention_precision"] is None
    assert m["by_kind"]["factual"]["questions"] == 3
    assert summarize(records) == m
    json.dumps(records)  # plain JSON values only


def test_refused_question_is_flagged_not_skipped(tiny_settings, fake_embedder):
    qa = QA(tiny_settings.replace(max_question_chars=20), embedder=fake_embedder)
    items = [TestItem("long", "When was the treaty signed, and by whom exactly?", ("3 May 1999",))]
    records, m = evaluate(qa, items)
    assert records[0]["error"] and "limit" in records[0]["error"]
    assert records[0]["abstained"] is True and m["errors"] == 1


def test_the_feedback_file_is_a_test_set(tmp_path, caplog):
    """qa/surfaces/feedback.py writes votes in the test-set schema: `qa eval` reads them; a thumbs-down
    without a correction (no known answer) is skipped and counted."""
    from qa.surfaces import feedback

    path = tmp_path / "feedback.jsonl"
    for vote in (feedback.Vote("When was it signed?", "3 May 1999", True),
                 feedback.Vote("Who chaired it?", "Jane", False),
                 feedback.Vote("Who chaired it?", "Jane", False, correction="Dr. Jane Q. Smith"),
                 feedback.Vote("What is the population of Mars?", None, True)):
        feedback.append(path, feedback.record(vote, 2000))
    with caplog.at_level("WARNING"):
        ts = load_testset(path)
    assert [(i.question, i.answers) for i in ts.items] == [
        ("When was it signed?", ("3 May 1999",)), ("Who chaired it?", ("Dr. Jane Q. Smith",)),
        ("What is the population of Mars?", ())]
    assert "1 feedback line(s) without a known answer" in caplog.text


def test_an_assistant_turn_keeps_its_source(tmp_path):
    """A follow-up is asked as the chat asks it: the previous answer's source travels with it."""
    f = tmp_path / "f.jsonl"
    source = {"doc": "d.txt", "start": 3, "end": 40}
    f.write_text(json.dumps({"id": "f", "question": "Who?", "answers": ["x"], "history": [
        {"role": "user", "content": "When?"}, {"role": "assistant", "content": "1999", "source": source}]}) + "\n",
        encoding="utf-8")
    assert load_testset(f).items[0].history[1] == {"role": "assistant", "content": "1999", "source": source}
