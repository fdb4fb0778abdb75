"""The quality gate: the real model on the dev set must stay above testsets/floors.json.

This is what makes CI fail on a regression (`make test` runs integration tests). It uses the
session ``real_qa`` (a fresh index of the seed corpus, the repository's qa.toml), i.e. the same
answers as `qa eval testsets/dev.jsonl --gate testsets/floors.json`.
"""

import json

import pytest

from conftest import REPO
from qa.eval.datasets import load_testset
from qa.eval.run import evaluate
from qa.eval.report import build_report, gate, load_floors, recompute_matches, write_report

pytestmark = pytest.mark.integration

DEV = REPO / "testsets" / "dev.jsonl"
FLOORS = REPO / "testsets" / "floors.json"


@pytest.fixture(scope="module")
def dev_run(real_qa):
    ts = load_testset(DEV)
    records, metrics = evaluate(real_qa, ts)
    return ts, records, metrics


def test_dev_set_passes_the_gate(dev_run):
    _, _, metrics = dev_run
    failures = gate(metrics, load_floors(FLOORS))
    assert not failures, "quality gate failed on testsets/dev.jsonl:\n  " + "\n  ".join(failures)


def test_real_report_is_recomputable_and_complete(dev_run, real_qa, tmp_path):
    ts, records, metrics = dev_run
    paths = write_report(build_report(real_qa, ts, records, metrics, real_qa.settings.top_k), tmp_path)
    saved = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert recompute_matches(saved) == []
    assert len(saved["records"]) == len(ts.items) == saved["metrics"]["questions"]
    assert saved["metrics"]["errors"] == 0
    # what the report says was shown is what the chat shows for the same question
    first = ts.items[0]
    live = real_qa.ask(first.question, history=list(first.history))
    assert saved["records"][0]["prediction"] == (None if live.abstained else live.text)


def test_squad_example_evaluates(real_qa):
    ts = load_testset(REPO / "testsets" / "squad-example.json")
    records, metrics = evaluate(real_qa, ts)
    assert ts.format == "squad" and metrics["NoAns_total"] >= 1 and metrics["evidence_total"] >= 1
    assert metrics["hit@5"] is not None
