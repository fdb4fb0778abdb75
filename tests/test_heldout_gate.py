"""The held-out gate: the real pipeline (model, reader, FAISS) over a small fixed subset of the
SQuAD articles the reader never trained on (the first two "tune" articles of
qa/reader/heldout_articles.txt, with their swapped and off-corpus unanswerable questions as
scripts/squad_heldout.py makes them) must stay above testsets/heldout-floors.json.

It reads the training file beside the project (never copied into the repository); where that
file is absent the test is skipped and says so.
"""

import json
import sys

import pytest

from conftest import REPO
from qa import QA, load_settings
from qa.eval.datasets import load_testset
from qa.eval.run import evaluate
from qa.eval.report import gate, load_floors

pytestmark = pytest.mark.integration

DATA = REPO.parent / "shared" / "data" / "squad11-train" / "train.json.gz"
FLOORS = REPO / "testsets" / "heldout-floors.json"


@pytest.mark.skipif(not DATA.exists(), reason=f"!!! {DATA} is missing: the held-out gate is SKIPPED !!!")
def test_heldout_articles_pass_the_gate(tmp_path, onnx_cache):
    sys.path.insert(0, str(REPO / "scripts"))
    from squad_heldout import build

    from benchmarks.common import seed_onnx_cache

    made = build(DATA, "tune", tmp_path, articles=2)
    seed_onnx_cache(onnx_cache, tmp_path / "index")
    qa = QA(load_settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index"))
    qa.warm_up()
    _, metrics = evaluate(qa, load_testset(made["questions"]))
    print(json.dumps({k: metrics[k] for k in ("questions", "f1", "HasAns_f1", "HasAns_exact_match",
                                               "NoAns_exact_match", "false_abstention_rate")}))
    failures = gate(metrics, load_floors(FLOORS))
    assert not failures, "held-out gate failed:\n  " + "\n  ".join(failures)
