"""One calibrated confidence from several signals, and the abstain decision.

The confidence is a logistic model over

  reader      how far the answer's span beats "no answer" in its passage (reader logits / 10)
  rank        1 / (1 + retrieval rank of the sentence its passage was built around)
  dense       cosine of the question and the answer's sentence
  entity      share of the question's names and numbers found in that sentence, the two before
              it or its document's title, less the years asked that they contradict (1 when it
              has none; qa/answer/retrieval.py)

(coverage of the question's words, words found nowhere in the corpus and the agreement of the
dense and lexical retrievers were features too; fitted with the reader they got no weight, so
they went: docs/quality.md, ablation)

with weights fitted by ``scripts/calibrate.py`` on the seed dev set and held-out articles
together (logistic regression, each weight kept on its side) and stored with the thresholds
in qa.toml.
"""

from __future__ import annotations

import math

FEATURES = ("reader", "rank", "dense", "entity")
#: Which way each feature can move the confidence: +1 can only raise it, -1 only lower it. The
#: calibration keeps every weight on its side (0 at most), so features that overlap cannot buy
#: a fit with a weight of the wrong sign.
SIGNS = {"reader": 1, "rank": 1, "dense": 1, "entity": 1}


def features(**values: float) -> dict[str, float]:
    """The feature dict in FEATURES order; a missing or extra name is a programming error."""
    if set(values) != set(FEATURES):
        raise ValueError(f"confidence features must be exactly {FEATURES}, got {sorted(values)}")
    return {name: float(values[name]) for name in FEATURES}


def confidence(feats: dict[str, float], weights: dict[str, float]) -> float:
    z = weights.get("bias", 0.0) + sum(weights.get(k, 0.0) * v for k, v in feats.items())
    z = max(-30.0, min(30.0, z))
    return 1.0 / (1.0 + math.exp(-z))
