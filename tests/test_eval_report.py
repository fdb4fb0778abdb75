"""Reports (files, recomputable aggregates, plots), --compare and the gate, on hand-made answers."""

import csv
import json
import re

import pytest

from qa.core.errors import QAError
from qa.eval.datasets import TestItem, TestSet
from qa.eval.run import record_for, summarize, summary_table
from qa.eval.report import (build_report, compare, compare_text, failures, gate, load_floors, load_report,
                       recompute_matches, write_report)
from qa.core.types import Answer, Citation

EV1 = "The treaty was signed on 3 May 1999 in Gamma City."
EV2 = "Dr. Jane Q. Smith chaired the signing."


def cite(n, text, hl=None):
    start = 100 * n
    hs = start + text.index(hl) if hl else None
    return Citation(n=n, doc="tiny.txt", title="Tiny", section="History", start=start, end=start + len(text),
                    text=text, score=1.0 / n, highlight_start=hs, highlight_end=hs + len(hl) if hl else None)


def answer(q, text, score, cites, abstained=False, qtype="other"):
    return Answer(question=q, abstained=abstained, text=None if abstained else text,
                  answer_citation=None if abstained else 1, score=score, citations=cites, question_type=qtype,
                  signals={"reader": 1.0, "rank": 1.0, "dense": score, "coverage": 1.0, "entity": 1.0, "oov": 0.0,
                           "name_oov": 0.0, "agreement": 1.0})


ITEMS = [
    TestItem("q1", "When was the treaty signed?", ("3 May 1999",), EV1, kind="factual"),
    TestItem("q2", "Who chaired the signing?", ("Jane Q. Smith",), EV2, kind="factual",
             relevance={EV2: 2, EV1: 1}),
    TestItem("q3", "Where was it signed?", ("Gamma City",), EV1, kind="followup"),
    TestItem("q4", "Who won the 1998 world cup?", (), kind="unanswerable"),
    TestItem("q5", "What is the capital of Mars?", (), kind="unanswerable"),
]


def make_records(variant="a"):
    other = "The parties met again on 7 June 2001 in Delta."
    a = [
        answer("", "3 May 1999", 0.9, [cite(1, f"Intro. {EV1} More.", EV1), cite(2, other, other)]),
        answer("", "The parties met again on 7 June 2001 in Delta.", 0.6,
               [cite(1, other, other), cite(2, f"{EV1} {EV2}", EV2)]),
        answer("", None, 0.3, [cite(1, EV1, EV1)], abstained=True),
        answer("", None, 0.2, [cite(1, other, other)], abstained=True),
        answer("", "Delta", 0.7, [cite(1, other, other)]),
    ]
    if variant == "b":  # q2 fixed, q3 now answered, q5 now declined
        a[1] = answer("", EV2, 0.8, [cite(1, f"{EV1} {EV2}", EV2)])
        a[2] = answer("", "Gamma City", 0.6, [cite(1, EV1, EV1)])
        a[4] = answer("", None, 0.1, [cite(1, other, other)], abstained=True)
    lat = [10.0, 20.0, 30.0, 40.0, 50.0]
    return [record_for(i, x, t, top_k=5) for i, x, t in zip(ITEMS, a, lat)]


class FakeQA:
    """What build_report reads from a QA: settings, embedder name, index manifest."""

    class embedder:
        name = "fake/bow"

    class index:
        manifest = {"model": "fake/bow", "dimension": 64, "counts": {"documents": 1, "chunks": 3},
                    "built_at": "2026-01-01T00:00:00"}

    def __init__(self):
        from qa.core.config import Settings

        self.settings = Settings().replace(abstain_threshold=0.5, api_key="secret")


def test_records_by_hand():
    r = {x["id"]: x for x in make_records()}
    assert r["q1"]["evidence_rank"] == 1 and r["q1"]["evidence_sentence_rank"] == 1 and r["q1"]["em"] == 1.0
    assert r["q2"]["evidence_rank"] == 2 and r["q2"]["contained"] == 0.0
    # q2: citation 1 holds neither passage, citation 2 holds both: DCG = 2/log2(3), IDCG = 2 + 1/log2(3)
    assert r["q2"]["ndcg@10"] == pytest.approx((2 / 1.5849625) / (2 + 1 / 1.5849625), rel=1e-6)
    assert r["q3"]["abstained"] and r["q3"]["prediction"] is None and r["q3"]["f1"] == 0.0
    assert r["q4"]["contained"] == 1.0 and r["q4"]["em"] == 1.0  # declined an unanswerable question
    assert r["q5"]["contained"] == 0.0 and r["q5"]["words"] == 1


def test_summary_by_hand():
    m = summarize(make_records())
    # correct: q1 (contained), q4 (declined unanswerable) -> 2/5; answerable: 1/3; NoAns: 1/2
    assert m["contained"] == pytest.approx(0.4) and m["HasAns_contained"] == pytest.approx(1 / 3)
    assert m["NoAns_exact_match"] == 0.5
    # declined: q3 (answerable), q4 (unanswerable): precision 1/2, recall 1/2, FAR 1/3
    assert m["abstention_precision"] == 0.5 and m["abstention_recall"] == 0.5
    assert m["false_abstention_rate"] == pytest.approx(1 / 3)
    # evidence ranks q1 = 1, q2 = 2, q3 = 1 -> hit@1 2/3, hit@3 1, MRR (1 + 1/2 + 1)/3
    assert m["hit@1"] == pytest.approx(2 / 3) and m["hit@3"] == 1.0
    assert m["mrr@10"] == pytest.approx(2.5 / 3)
    assert m["hit_curve"]["1"] == pytest.approx(2 / 3) and m["hit_curve"]["10"] == 1.0
    # words of shown answers: 3 ("3 May 1999"), 10 (q2), 1 ("Delta") -> median 3, mean 14/3
    assert m["words_median"] == 3 and m["words_mean"] == pytest.approx(14 / 3)
    assert m["latency_median_ms"] == 30.0 and m["latency_p95_ms"] == pytest.approx(48.0)
    assert m["ndcg_total"] == 1
    table = summary_table(m)
    assert re.search(r"answer contained \(all\) +40\.0%", table) and "factual" in table


def test_report_files_and_recomputable_aggregates(tmp_path):
    records = make_records()
    ts = TestSet(str(tmp_path / "set.jsonl"), "jsonl", ITEMS, "ab" * 32)
    report = build_report(FakeQA(), ts, records, summarize(records), top_k=5)
    paths = write_report(report, tmp_path / "out")
    assert {p.name for p in (tmp_path / "out").iterdir()} == {
        "report.json", "report.md", "failures.jsonl", "failures.csv", "confidence.png", "hit_at_k.png",
        "reliability.png"}

    saved = load_report(paths["json"])
    assert "api_key" not in saved["settings"] and saved["model"] == "fake/bow"
    assert saved["testset"]["sha256"] == "ab" * 32 and saved["index"]["counts"]["chunks"] == 3
    for rec in saved["records"]:
        assert {"id", "question", "answers", "prediction", "abstained", "confidence", "em", "f1", "contained",
                "evidence_rank", "latency_ms", "question_type", "kind"} <= set(rec)
    # the aggregates are exactly what the per-question records give
    assert recompute_matches(saved) == []
    assert json.loads(json.dumps(summarize(saved["records"]))) == saved["metrics"]
    saved["metrics"]["contained"] = 0.99
    assert recompute_matches(saved) == ["contained"]

    fails = [json.loads(x) for x in paths["failures.jsonl"].read_text().splitlines()]
    assert [f["id"] for f in fails] == ["q2", "q3", "q5"]
    assert fails[0]["reason"] == "wrong answer (evidence at citation 2)"
    assert fails[1]["reason"] == "false abstention (evidence at citation 1)"
    assert fails[2]["reason"] == "answered an unanswerable question"
    rows = list(csv.DictReader(paths["failures.csv"].open(encoding="utf-8")))
    assert [r["id"] for r in rows] == ["q2", "q3", "q5"] and rows[0]["gold"] == "Jane Q. Smith"

    md = paths["md"].read_text()
    assert "| answer contained (all) | 40.0% |" in md and "## Failures (3)" in md and "![hit@k](hit_at_k.png)" in md
    for png in ("confidence.png", "hit_at_k.png", "reliability.png"):
        data = (tmp_path / "out" / png).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_reliability_bins_the_shown_answers_by_confidence():
    from qa.eval.report import reliability

    def rec(conf, right, answerable=True, shown=True):
        return {"confidence": conf, "prediction": "x" if shown else None, "answerable": answerable,
                "contained": int(right)}

    rows = reliability([rec(0.05, False), rec(0.15, True), rec(0.12, False), rec(0.95, True), rec(1.0, True),
                        rec(0.97, True, answerable=False), rec(0.5, True, shown=False)])
    # declined questions are left out; 1.0 falls in the top bin; an answer to an unanswerable
    # question is wrong whatever it says
    assert [(round(c, 3), round(r, 3), n) for c, r, n in rows] == [
        (0.05, 0.0, 1), (0.135, 0.5, 2), (0.973, 0.667, 3)]


def test_markdown_escapes_table_breakers(tmp_path):
    items = [TestItem("x|1", "Is <b>this</b> | a pipe?", ("yes",))]
    recs = [record_for(items[0], answer("", "no | <i>", 0.9, []), 1.0, 5)]
    ts = TestSet("set.jsonl", "jsonl", items)
    paths = write_report(build_report(FakeQA(), ts, recs, summarize(recs), 5), tmp_path, plots=False)
    md = paths["md"].read_text()
    assert "x\\|1" in md and "&lt;b&gt;" in md and "<i>" not in md


def test_failures_empty_and_all_correct(tmp_path):
    recs = [r for r in make_records() if r["id"] in ("q1", "q4")]
    assert failures(recs) == []


def test_compare_reports():
    a = {"metrics": summarize(make_records("a")), "records": make_records("a")}
    b = {"metrics": summarize(make_records("b")), "records": make_records("b")}
    diff = compare(a, b)
    moved = {m["metric"]: m for m in diff["moved"]}
    # correct: a = q1, q4 (2/5); b = q1, q2, q3, q4, q5 (5/5)
    assert moved["contained"]["delta"] == pytest.approx(0.6) and moved["contained"]["better"]
    assert moved["false_abstention_rate"]["delta"] == pytest.approx(-1 / 3) and moved["false_abstention_rate"]["better"]
    flips = diff["flips"]
    assert [r["id"] for r in flips["wrong_to_correct"]] == ["q2", "q3", "q5"]
    assert flips["correct_to_wrong"] == []
    assert [r["id"] for r in flips["started_abstaining"]] == ["q5"]
    assert [r["id"] for r in flips["stopped_abstaining"]] == ["q3"]
    text = compare_text(diff, "a.json", "b.json")
    assert "+ contained" in text and "(+60.00 pts)" in text and "wrong -> correct (3)" in text
    assert "q3: Where was it signed?  [(abstained) -> 'Gamma City']" in text
    assert compare(a, a)["moved"] == []


def test_compare_gives_no_direction_to_the_share_of_sure_answers():
    a = {"metrics": summarize(make_records("a")), "records": make_records("a")}
    marked = [{**r, "uncertain": not r["abstained"]} for r in make_records("a")]  # every answer unsure
    b = {"metrics": summarize(marked), "records": marked}
    moved = {m["metric"]: m for m in compare(a, b)["moved"]}
    assert moved["sure_share"]["a"] == 1.0 and moved["sure_share"]["b"] == 0.0 and moved["sure_share"]["better"] is None
    assert b["metrics"]["sure_precision"] is None and "sure_precision" not in moved  # undefined, not 0
    assert "    sure_share " in compare_text(compare(a, b))  # neither + nor -


def test_gate_and_floors_file(tmp_path):
    m = summarize(make_records())
    assert gate(m, {"min": {"contained": 0.3, "hit@1": 0.6}, "max": {"false_abstention_rate": 0.5}}) == []
    bad = gate(m, {"min": {"contained": 0.5, "ndcg@10": 0.1, "nope": 0.1}, "max": {"latency_p95_ms": 10}})
    assert bad[0] == "contained: 0.4000 is below the floor 0.5"
    assert bad[1] == "nope: not measured (floor 0.1)"
    assert bad[2] == "latency_p95_ms: 48.0000 is above the ceiling 10"
    f = tmp_path / "floors.json"
    f.write_text('{"_note": "x", "min": {"contained": 0.3}}')
    assert load_floors(f)["min"] == {"contained": 0.3}
    f.write_text('{"min": {"contained": "high"}}')
    with pytest.raises(QAError, match="min.contained must be a number"):
        load_floors(f)
    f.write_text("{}")
    with pytest.raises(QAError, match="expected"):
        load_floors(f)
    with pytest.raises(QAError, match="does not exist"):
        load_floors(tmp_path / "none.json")


def test_load_report_errors(tmp_path):
    p = tmp_path / "r.json"
    p.write_text("not json")
    with pytest.raises(QAError, match="not a readable report.json"):
        load_report(p)
    p.write_text('{"a": 1}')
    with pytest.raises(QAError, match="not a report.json written by"):
        load_report(p)
