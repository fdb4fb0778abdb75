"""One calibrated confidence from several signals, and the abstain decision.

The confidence is a logistic model over

  reader      how far the answer's span beats "no answer" in its passage (reader logits / 10)
  shared      how far it beats the strongest "no answer" of all the passages read (/ 10): the
              passage that is about the question says "no answer" loudest when the text does
              not say (SQuAD 2.0's questions written to look answerable), while another
              passage may still offer a span
  runner_up   how far it beats the best span of the other passages (/ 10, at most 1): a clear
              winner is surer than one of several near-equal candidates
  agree       1 when another passage read offers the same answer (or one inside it), else 0
  type        1 when the answer is the kind the question asks for (a number for "how many",
              a date or number for "when", a capitalised name for "who" and "where"), or the
              question asks for no particular kind; else 0
  rank        1 / (1 + retrieval rank of the sentence its passage was built around)
  dense       cosine of the question and the answer's sentence
  entity      share of the question's names and numbers found in that sentence or the one
              before it (1 when it has none)

(coverage of the question's words, words found nowhere in the corpus and the agreement of the
dense and lexical retrievers were features too; fitted with the reader they got no weight, so
they went: docs/quality.md, ablation)

with weights fitted by ``scripts/calibrate.py`` on the seed dev set, held-out articles and the
calib half of the SQuAD 2.0 dev articles together (logistic regression, each weight kept on its
side) and stored with the thresholds in qa.toml.
"""

from __future__ import annotations

import math
import re

FEATURES = ("reader", "shared", "runner_up", "agree", "type", "rank", "dense", "entity")
#: Which way each feature can move the confidence: +1 can only raise it, -1 only lower it. The
#: calibration keeps every weight on its side (0 at most), so features that overlap cannot buy
#: a fit with a weight of the wrong sign.
SIGNS = {"reader": 1, "shared": 1, "runner_up": 1, "agree": 1, "type": 1, "rank": 1, "dense": 1, "entity": 1}

_NUMBER = re.compile(r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|"
                     r"fifty|sixty|seventy|eighty|ninety|hundred|thousand|million|billion|dozen|several|half)\b", re.I)
_DATE = re.compile(r"\d|\b(?:january|february|march|april|may|june|july|august|september|october|november|"
                   r"december|spring|summer|autumn|fall|winter|century|centuries|decade|era|age|period|today|"
                   r"yesterday|ago|dynasty|reign)\b", re.I)
_NAME = re.compile(r"(?:^|[\s(\"'])[A-Z\u00c0-\u024f]")  # a word that starts with a capital
#: The kind of answer each expected span wants, as a test on the answer's text.
_KIND = {"date": _DATE, "count": _NUMBER, "money": _NUMBER, "duration": _NUMBER, "person": _NAME, "place": _NAME}


def type_fits(expected: str | None, answer: str) -> bool:
    """Whether ``answer`` is the kind of thing a question expecting ``expected`` asks for; True
    when the question expects no particular kind (what, which, why, lists)."""
    test = _KIND.get(expected or "")
    return test is None or bool(test.search(answer))


def features(**values: float) -> dict[str, float]:
    """The feature dict in FEATURES order; a missing or extra name is a programming error."""
    if set(values) != set(FEATURES):
        raise ValueError(f"confidence features must be exactly {FEATURES}, got {sorted(values)}")
    return {name: float(values[name]) for name in FEATURES}


def confidence(feats: dict[str, float], weights: dict[str, float]) -> float:
    z = weights.get("bias", 0.0) + sum(weights.get(k, 0.0) * v for k, v in feats.items())
    z = max(-30.0, min(30.0, z))
    return 1.0 / (1.0 + math.exp(-z))
