"""One calibrated confidence from several signals, and the abstain decision.

A single cosine threshold abstains badly: an off-topic question that names a country in the
corpus can score higher than a real paraphrase. So the confidence is a logistic model over

  dense       cosine of the question and the best sentence
  coverage    share of the question's content terms found in the best sentence's chunk
  window      the same over the best sentence and the one before it
  entity      share of the question's names and numbers found there (1 when it has none)
  oov         share of the question's content terms found nowhere in the corpus
  head_oov    1 when the question's first content word -- usually what it asks about: "the
              *population* of Kazakhstan", "the *capital* of Mongolia" -- is found nowhere in the
              corpus; paraphrases tend to change verbs and adverbs, not the thing asked about
  name_oov    1 when the question names something -- a capitalised word, not a number -- that
              occurs nowhere in the corpus ("Mongolia", "GDP", "China"): the corpus cannot be
              about it, however well the rest of the question matches
  agreement   1 when the dense and the lexical retriever put the same sentence first
  type_match  1 when the best sentence holds the kind of span the question asks for
              (1 for questions that ask for no particular kind)
  mismatch    1 when the passage cannot hold the answer asked for: any answer-slot check of
              qa/checks.py fires (a date asked and none there, a different year or meeting,
              "born" or "the president of" asked and never mentioned, a name part or a
              person's name asked and not given)

with weights fitted on the dev set by ``qa eval --calibrate`` (logistic regression) and
stored with the threshold in qa.toml.
"""

from __future__ import annotations

import math

FEATURES = ("dense", "coverage", "window", "entity", "oov", "head_oov", "name_oov", "agreement", "type_match", "mismatch")
#: Which way each feature can move the confidence: +1 can only raise it, -1 only lower it. The
#: calibration keeps every weight on its side (0 at most): a feature that says "the question
#: names something the corpus never mentions" must not make an answer *more* believable because
#: the features overlap on a few hundred dev questions.
SIGNS = {"dense": 1, "coverage": 1, "window": 1, "entity": 1, "oov": -1, "head_oov": -1, "name_oov": -1,
         "agreement": 1, "type_match": 1, "mismatch": -1}


def features(**values: float) -> dict[str, float]:
    """The feature dict in FEATURES order; a missing or extra name is a programming error."""
    if set(values) != set(FEATURES):
        raise ValueError(f"confidence features must be exactly {FEATURES}, got {sorted(values)}")
    return {name: float(values[name]) for name in FEATURES}


def confidence(feats: dict[str, float], weights: dict[str, float]) -> float:
    z = weights.get("bias", 0.0) + sum(weights.get(k, 0.0) * v for k, v in feats.items())
    z = max(-30.0, min(30.0, z))
    return 1.0 / (1.0 + math.exp(-z))
