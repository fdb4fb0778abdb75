"""Misspelt questions: each unknown word corrected to the closest word the documents use.

"whre was the dialouge declard?" matches nothing: the reader and the lexical index see three
words they do not know. Each such word is looked up (rapidfuzz, optimal string alignment
distance: a letter left out, added, changed, or two swapped) among the index's own vocabulary
and, for the words a question uses that the documents do not ("describe", "officially"), a
general English word list (the frequency dictionary symspellpy ships in its wheel). The rules:

- only words that are neither in the documents nor in that English list are touched: a rare but
  real word is meant as typed; numbers, words with digits and short parts of hyphenated words
  ("pre-") never are;
- a capitalised word inside the question is a name: it is corrected only to a name of the
  documents (a word they write capitalised mid-sentence), else left as typed ("Obama" stays);
  a name under five letters only to one as long or longer with the same first letter ("Japn"
  is "Japan", but "Qing" is not a slip for "Ming", nor "Mabo" for "Mao");
- words of up to four letters get one edit, longer ones two;
- among the candidates with the fewest edits, the likeliest: how common the word is (its count
  in the English list and the documents), about three times for each first letter it shares
  with the typed word (people seldom mistype the first letters: "whre" is "where", not the
  commoner "were"), ten times for a content word of the documents ("merting" is "meeting",
  not "merging"), and a hundred times for a question word opening the question ("Wich" is
  "Which", not "With"). A name of the documents typed with a capital anywhere is written as
  a name ("oTkyo" is "Tokyo").

The English list loads once per process; a speller is built from the loaded index's texts on
first use, once per build and set of collections searched (a weak reference: a rebuilt index
gets fresh ones).
"""

from __future__ import annotations

import math
import re
import threading
import weakref
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from qa.core.text import QUESTION_WORDS, STOPWORDS, fold
from qa.index.backend import collection_of

_WORD = re.compile(r"[A-Za-z]+(?:['\u2019][A-Za-z]+)*")
_TOKEN = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
MIN_LENGTH = 3  # "hw" could be "how", "he" or "who": too short to guess
#: Unknown words looked up per question, at most: each lookup scans the word lists (a few ms), and
#: a question with more unknown words than this is not a misspelt English question anyway.
MAX_LOOKUPS = 8
SHORT_NAME = 5  # letters; see Speller._best
PREFIX_WEIGHT = 0.5  # log10 units per shared first letter


@lru_cache(maxsize=1)
def english_counts() -> dict[str, int]:
    """symspellpy's English frequency dictionary (82,765 words with their counts in a web corpus)."""
    text = resources.files("symspellpy").joinpath("frequency_dictionary_en_82_765.txt").read_text(encoding="utf-8")
    out = {}
    for line in text.splitlines():
        word, _, count = line.partition(" ")
        if word and count.isdigit():
            out[word] = int(count)
    return out


def english_words():
    """The English word list (keys of ``english_counts``)."""
    return english_counts().keys()


@lru_cache(maxsize=1)
def _english_by_length() -> dict[int, list[str]]:
    out = defaultdict(list)
    for w in english_counts():
        out[len(w)].append(w)
    return dict(out)


@dataclass(frozen=True)
class Correction:
    text: str  # the question as it will be read
    changed: tuple[tuple[str, str], ...]  # (typed, read as) per corrected word


class Speller:
    def __init__(self, texts):
        counts: Counter[str] = Counter()
        capitalised: Counter[str] = Counter()
        for text in texts:
            text = fold(text)
            for m in _WORD.finditer(text):
                w = _base(m.group())
                counts[w.lower()] += 1
                if w[:1].isupper() and not _sentence_start(text, m.start()):
                    capitalised[w.lower()] += 1
        self.counts = counts
        self.names = [w for w, n in capitalised.items() if 2 * n >= counts[w]]
        self._names = frozenset(self.names)
        self.known = frozenset(counts) | STOPWORDS
        self._by_length = defaultdict(list)
        for w in counts:
            self._by_length[len(w)].append(w)

    def correct(self, question: str) -> Correction:
        """``question`` with its unknown words corrected (the rest of the text kept as typed)."""
        english = english_counts()
        out, changed, last, lookups = [], [], 0, 0
        for n, m in enumerate(_TOKEN.finditer(question)):
            typed = m.group()
            base = _base(typed)
            low = base.lower()
            if (len(base) < MIN_LENGTH or not base.isascii() or not base.isalpha() or low in self.known
                    or low in english or _in_compound(question, m)):
                continue
            lookups += 1
            if lookups > MAX_LOOKUPS:
                break
            fix = self._best(low, names_only=n > 0 and base[:1].isupper(), first=n == 0)
            if fix is None:
                continue
            if not base.islower() and fix in self._names or base[:1].isupper():  # "oTkyo" -> "Tokyo"
                fix = fix[:1].upper() + fix[1:]
            out.append(question[last:m.start()] + fix + typed[len(base):])
            changed.append((base, fix))
            last = m.end()
        if not changed:
            return Correction(question, ())
        out.append(question[last:])
        return Correction("".join(out), tuple(changed))

    def _best(self, word: str, names_only: bool, first: bool = False) -> str | None:
        from rapidfuzz import process
        from rapidfuzz.distance import OSA

        reach = 1 if len(word) <= 4 else 2
        if names_only:
            pools = [self.names]
        else:
            lengths = range(len(word) - reach, len(word) + reach + 1)
            english = _english_by_length()
            pools = [self._by_length.get(k, []) for k in lengths] + [english.get(k, []) for k in lengths]
        found = {w: d for pool in pools
                 for w, d, _ in process.extract(word, pool, scorer=OSA.distance, score_cutoff=reach, limit=None)}
        if names_only and len(word) < SHORT_NAME:
            # a short name is taken for a slip only with its first letter kept and no letter too
            # many ("Japn" is "Japan", "Aisa" "Asia"): "Qing" is not "Ming", nor "Mabo" "Mao"
            found = {w: d for w, d in found.items() if len(w) >= len(word) and w[0] == word[0]}
        if not found:
            return None
        english = english_counts()

        def likelihood(w: str) -> float:
            # how common the word is (log10 of its count); each shared first letter is worth a
            # factor of about three, being a content word of the documents a factor of ten; a
            # question's first word is a question word a hundred times more often
            count = english.get(w, 0) + self.counts.get(w, 0)
            return (math.log10(1 + count) + PREFIX_WEIGHT * _common_prefix(word, w)
                    + (w in self.counts and w not in STOPWORDS) + 2 * (first and w in QUESTION_WORDS))

        return min(found, key=lambda w: (found[w], -likelihood(w), w))


def _in_compound(text: str, m: re.Match) -> bool:
    """A short part of a hyphenated word ("pre" of "pre-Constitutional"): a prefix, not a slip."""
    hyphens = "-\u2010\u2011"
    joined = (m.end() < len(text) and text[m.end()] in hyphens) or (m.start() > 0 and text[m.start() - 1] in hyphens)
    return joined and len(m.group()) < 4


def _base(word: str) -> str:
    """A word without its possessive ending ("Japan's" -> "Japan")."""
    return re.sub(r"['\u2019]s$", "", word)


def _sentence_start(text: str, at: int) -> bool:
    before = text[:at].rstrip(" \t\"'(\u201c\u2018")
    return not before or before[-1] in ".!?:\n=-"


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


_FOR = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def speller_for(index, collections: frozenset[str] | None = None) -> Speller:
    """The speller of a loaded index, built from its documents on first use; with
    ``collections``, from those collections' documents only (what a correction reads as must not
    tell of documents the asker cannot search)."""
    key = None if collections is None else frozenset(collections)
    spellers = _FOR.get(index)
    got = spellers.get(key) if spellers is not None else None
    if got is None:
        with _LOCK:
            spellers = _FOR.setdefault(index, {})
            got = spellers.get(key)
            if got is None:
                texts = [t for d in index.documents.values()
                         if key is None or collection_of(d.id) in key for t in (d.title, d.text)]
                got = spellers[key] = Speller(texts)
    return got
