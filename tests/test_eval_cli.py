"""`qa eval` through click's CliRunner, on the tiny corpus with the fake embedder."""

import json
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

import qa.answer.pipeline
from qa.surfaces.cli import cli

DATA = Path(__file__).parent / "data" / "eval"


@pytest.fixture
def run(monkeypatch, fake_embedder, tiny_corpus, tmp_path):
    monkeypatch.setattr(qa.answer.pipeline, "load_embedder", lambda *a, **k: fake_embedder)
    base = ["--corpus", str(tiny_corpus), "--index", str(tmp_path / "index")]
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, base + list(args), catch_exceptions=False)


def test_eval_prints_summary_and_writes_report(run, tmp_path):
    out = tmp_path / "rep"
    res = run("eval", str(DATA / "tiny.jsonl"), "--report-dir", str(out))
    assert res.exit_code == 0, res.output
    assert "tiny.jsonl (jsonl, 6 questions) with fake/bow" in res.stdout
    assert "answer contained (all)" in res.stdout and "evidence hit@1" in res.stdout and "factual" in res.stdout
    assert "Evaluating" in res.stderr  # the tqdm bar goes to stderr
    report = json.loads((out / "report.json").read_text())
    assert report["testset"]["format"] == "jsonl" and len(report["records"]) == 6
    assert report["top_k"] == 3 and report["retrieval_depth"] == 10  # the default top_k
    for name in ("report.md", "failures.jsonl", "failures.csv", "confidence.png", "hit_at_k.png", "reliability.png"):
        assert (out / name).is_file()


@pytest.mark.parametrize("name, fmt, n", [("tiny.csv", "csv", 4), ("tiny-squad.json", "squad", 3)])
def test_eval_json_other_formats(run, tmp_path, name, fmt, n):
    res = run("eval", str(DATA / name), "--report-dir", str(tmp_path / "r"), "--json", "-q", "--no-plots")
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert d["format"] == fmt and d["metrics"]["questions"] == n and d["gate"] is None
    assert not (tmp_path / "r" / "confidence.png").exists()
    assert "Evaluating" not in res.stderr


def test_eval_gate_pass_and_fail(run, tmp_path):
    floors = tmp_path / "floors.json"
    floors.write_text(json.dumps({"min": {"hit@5": 0.0}, "max": {"errors": 0}}))
    res = run("eval", str(DATA / "tiny.jsonl"), "--report-dir", str(tmp_path / "r"), "-q", "--gate", str(floors))
    assert res.exit_code == 0 and "Gate passed (2 bounds)" in res.stderr
    floors.write_text(json.dumps({"min": {"contained": 1.01, "hit@1": 0.0}}))
    res = run("eval", str(DATA / "tiny.jsonl"), "--report-dir", str(tmp_path / "r"), "-q", "--json",
              "--gate", str(floors))
    assert res.exit_code == 1
    assert "GATE FAILED: contained:" in res.stderr and "below the floor 1.01" in res.stderr
    assert json.loads(res.stdout)["gate"]["passed"] is False


def test_eval_compare(run, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert run("eval", str(DATA / "tiny.jsonl"), "--report-dir", str(a), "-q", "--no-plots").exit_code == 0
    res = run("eval", "--compare", str(a / "report.json"), str(a / "report.json"))
    assert res.exit_code == 0 and "Metrics that moved" in res.stdout and "none" in res.stdout
    report = json.loads((a / "report.json").read_text())
    for r in report["records"]:
        r["prediction"], r["abstained"] = None, True
    from qa.eval.run import summarize

    for r in report["records"]:
        r.update(em=float(not r["answerable"]), f1=float(not r["answerable"]), contained=float(not r["answerable"]),
                 words=None)
    report["metrics"] = summarize(report["records"])
    b.mkdir()  # B: the same answers, but every question declined
    (b / "report.json").write_text(json.dumps(report))
    res = run("eval", "--compare", str(a / "report.json"), str(b / "report.json"))
    assert res.exit_code == 0, res.output
    assert "answered -> abstained" in res.stdout and "answered_rate" in res.stdout
    res = run("eval", "--compare", str(a / "report.json"), str(b / "report.json"), "--json")
    assert json.loads(res.stdout)["flips"]["started_abstaining"]


def test_eval_bad_testset_is_a_message(run, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "question": "Q?", "answers": []}\n{"id": "a", "question": "R?"}\n')
    res = run("eval", str(bad), "--report-dir", str(tmp_path / "r"))
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "bad.jsonl, line 2, field 'answers': missing" in res.output
    assert not (tmp_path / "r").exists()  # nothing half-evaluated
    res = run("eval")
    assert res.exit_code == 1 and "give a TESTSET" in res.output
    res = run("eval", str(DATA / "tiny.jsonl"), "--write")
    assert res.exit_code == 1 and "--write needs --calibrate" in res.output


def test_eval_calibrate_write(run, tmp_path, monkeypatch):
    cfg = tmp_path / "qa.toml"
    monkeypatch.setenv("QA_CONFIG", str(cfg))
    res = run("eval", str(DATA / "tiny.jsonl"), "--calibrate", "--write", "-q")
    assert res.exit_code == 0, res.output
    assert "Weights:" in res.stdout and "Threshold:" in res.stdout and "calibrated" in res.stdout
    data = tomllib.loads(cfg.read_text())["qa"]
    assert 0 <= data["abstain_threshold"] <= 1 and "dense" in data["confidence_weights"]
    assert data["abstain_threshold"] <= data["sure_threshold"] <= 1 and "Sure threshold:" in res.stdout
    # the next run uses them
    res = run("eval", str(DATA / "tiny.jsonl"), "--report-dir", str(tmp_path / "r"), "-q", "--json")
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["settings"]["abstain_threshold"] == data["abstain_threshold"]


def test_eval_tune_fusion(run, tmp_path, monkeypatch):
    monkeypatch.setenv("QA_CONFIG", str(tmp_path / "qa.toml"))
    res = run("eval", str(DATA / "tiny.jsonl"), "--tune-fusion", "-q", "--write")
    assert res.exit_code == 0, res.output
    assert "setting" in res.stdout and "current" in res.stdout and "rrf" in res.stdout
    data = tomllib.loads((tmp_path / "qa.toml").read_text())["qa"]
    assert data["fusion"] in ("weighted", "rrf") and "dense" in data["fusion_weights"]
