"""Normalisation and tokenisation used for *matching* only; stored text is never changed.

One tokenizer serves the lexical index, the question side and the coverage signals, so a
word matches in one place exactly when it matches in the others.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Curly quotes, dashes and friends fold to ASCII so "region’s" matches "region's".
_FOLD = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"',
        "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u00a0": " ",
    }
)
_WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*", re.UNICODE)

# Function words and question words: they carry no topic, so they neither match nor count
# toward coverage. Kept short and explicit so behaviour is easy to predict.
STOPWORDS = frozenset(
    """a an the and or but nor of to in on at by for with from into onto upon as about above after
    against along among around before behind below beneath beside between beyond during except
    inside near off out outside over past since through throughout till toward towards under
    until up via within without is am are was were be been being do does did doing done have has
    had having will would shall should can could may might must i me my mine we us our ours you
    your yours he him his she her hers it its they them their theirs this that these those there
    here what which who whom whose when where why how than then so such too very just also not no
    yes if else any some all each every both either neither few more most other another same own
    only s t d ll ve re m o y let lets get got gets please tell know say said does did
    one ones thing things much many""".split()
)
QUESTION_WORDS = frozenset("what which who whom whose when where why how".split())


def fold(text: str) -> str:
    """Unicode-normalise and fold quotes/dashes; length may change, so never use for offsets."""
    return unicodedata.normalize("NFKC", text).translate(_FOLD)


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


_ORDINALS = {w: _ordinal(i) for i, w in enumerate(
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth".split(), start=1)}
_TENS = {w: 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), start=2)}
# "twenty-fourth" -> "24th" (its parts would read "twenty" and "4th")
_ORDINALS.update({f"{t}-{u}": _ordinal(tv + uv) for t, tv in _TENS.items()
                  for u, uv in zip("first second third fourth fifth sixth seventh eighth ninth".split(), range(1, 10))})
_ORDINALS.update({w[:-1] + "ieth": _ordinal(v) for w, v in _TENS.items()})  # "twentieth" -> "20th"


# British "-our" spellings to American ones ("neighbouring" -> "neighboring", "favour" ->
# "favor"), on both the corpus and the question side so either spelling matches the other.
# Three letters at least before "our" keep "four", "hour", "your", "tour" as they are; the few
# other words it changes ("detour" -> "detor") change the same way on both sides.
_OUR = re.compile(r"(?<=[a-z]{3})our(?=(?:s|ed|ing|ite|ites|able|ful|less|hood|ly)?$)")


def words(text: str) -> list[str]:
    """Lower-cased word tokens: possessive 's removed ("Japan's" -> "japan"), ordinal words
    written as numbers ("fourth", "twenty-fourth" -> "4th", "24th") so both spellings match,
    hyphenated compounds split into their parts ("mid-2006" -> "mid", "2006"; "inter-regional"
    -> "inter", "regional") so a compound on one side matches its head word on the other, and
    "-our" folded to "-or" ("neighbouring" -> "neighboring")."""
    out = []
    for w in _WORD.findall(fold(text).lower()):
        if w.endswith("'s"):
            w = w[:-2]
        if w in _ORDINALS:
            out.append(_ORDINALS[w])
            continue
        for part in w.split("-"):
            out.append(_ORDINALS.get(part) or _OUR.sub("or", part))
    return out


def prefix_match(term: str, candidates) -> bool:
    """True when ``term`` equals a candidate or one is a prefix of the other (both >= 5
    characters): "kazakh" ~ "kazakhstan", "japan" ~ "japanes" (demonyms and derived forms)."""
    if term in candidates:
        return True
    if len(term) < 5:
        return False
    return any(len(c) >= 5 and (c.startswith(term) or term.startswith(c)) for c in candidates)


@lru_cache(maxsize=1)
def _stemmer():
    try:
        import Stemmer  # PyStemmer: Snowball stemmers, a C extension

        return Stemmer.Stemmer("english")
    except ImportError:  # optional: matching still works, just without stemming
        return None


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    s = _stemmer()
    return s.stemWord(word) if s is not None else word


def terms(text: str) -> list[str]:
    """Stemmed content terms (stop words dropped): the unit of lexical matching."""
    return [stem(w) for w in words(text) if w not in STOPWORDS]
