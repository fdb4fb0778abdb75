"""One calibrated confidence from several signals, and the abstain decision.

A single cosine threshold abstains badly: an off-topic question that names a country in the
corpus can score higher than a real paraphrase. So the confidence is a logistic model over

  dense       cosine of the question and the best sentence
  coverage    share of the question's content terms found in the best sentence's chunk
  oov         share of the question's content terms found nowhere in the corpus
  agreement   1 when the dense and the lexical retriever put the same sentence first
  type_match  1 when the best sentence holds the kind of span the question asks for

with weights fitted on the dev set by ``qa eval --calibrate`` (logistic regression) and
stored with the threshold in qa.toml.
"""

from __future__ import annotations

import math

FEATURES = ("dense", "coverage", "oov", "agreement", "type_match")


def features(dense: float, coverage: float, oov: float, agreement: float, type_match: float) -> dict[str, float]:
    return {"dense": dense, "coverage": coverage, "oov": oov, "agreement": agreement, "type_match": type_match}


def confidence(feats: dict[str, float], weights: dict[str, float]) -> float:
    z = weights.get("bias", 0.0) + sum(weights.get(k, 0.0) * v for k, v in feats.items())
    z = max(-30.0, min(30.0, z))
    return 1.0 / (1.0 + math.exp(-z))
