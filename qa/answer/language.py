"""Questions in another language: recognised, and answered with the language that works.

The embedder and the reader were trained on English; a question in Japanese or Russian
retrieves noise and reads nothing, and a plain "the documents do not say" would be a wrong
reason. So a question is judged foreign by two rules that cannot misfire on short English:

- script: most of its letters are not Latin (Japanese, Russian, Arabic, Greek, ...);
- Latin script: it has at least ``MIN_WORDS`` words, fewer than half of them are English or
  document words (symspellpy's word list and the index's vocabulary, qa/answer/spelling.py),
  and the language identifier (py3langid, whose model ships in its wheel) names a language
  other than English with probability at least ``MIN_PROBABILITY``.

"Aso?", "Kassym-Jomart Tokayev?" or a misspelt English question therefore stay English: too
few words, or mostly known ones. The identifier (a few MB) loads only when a question gets that
far, once per process.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass

MIN_WORDS = 3
MIN_PROBABILITY = 0.5
#: What the documents and the system understand (the embedder and the reader are English models).
UNDERSTOOD = "English"

_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_WORD = re.compile(r"[^\W\d_]+(?:['\u2019-][^\W\d_]+)*", re.UNICODE)
#: Names for the languages people most often ask in (py3langid's ISO 639-1 codes).
NAMES = {
    "ar": "Arabic", "bg": "Bulgarian", "cs": "Czech", "da": "Danish", "de": "German", "el": "Greek",
    "es": "Spanish", "fa": "Persian", "fi": "Finnish", "fr": "French", "he": "Hebrew", "hi": "Hindi",
    "hu": "Hungarian", "id": "Indonesian", "it": "Italian", "ja": "Japanese", "kk": "Kazakh", "ko": "Korean",
    "ky": "Kyrgyz", "nl": "Dutch", "no": "Norwegian", "pl": "Polish", "pt": "Portuguese", "ro": "Romanian",
    "ru": "Russian", "sv": "Swedish", "th": "Thai", "tr": "Turkish", "uk": "Ukrainian", "uz": "Uzbek",
    "vi": "Vietnamese", "zh": "Chinese",
}


@dataclass(frozen=True)
class Language:
    code: str  # ISO 639-1 ("ja"), or "" when only the script told
    name: str  # "Japanese", or "another language"

    @property
    def message(self) -> str:
        looks = f"Your question looks like {self.name}" if self.code else "Your question is not in English"
        return (f"{looks}, but the documents and this assistant understand {UNDERSTOOD} only. "
                f"Please ask your question in {UNDERSTOOD}.")


_IDENTIFIER = None
_LOCK = threading.Lock()


def _identifier():
    global _IDENTIFIER
    if _IDENTIFIER is None:
        with _LOCK:
            if _IDENTIFIER is None:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier

                _IDENTIFIER = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return _IDENTIFIER


def _latin(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith("LATIN")


def identify(question: str, known=frozenset()) -> Language | None:
    """The language of ``question`` when it is not English, else None. ``known``: words that
    count as English besides symspellpy's list (the documents' own, lower case)."""
    letters = _LETTER.findall(question)
    if not letters:
        return None
    if sum(1 for ch in letters if not _latin(ch)) * 2 > len(letters):
        code, _ = _identifier().classify(question)
        return Language(code, NAMES.get(code, "another language")) if code in NAMES else Language("", "")
    words = [w.lower() for w in _WORD.findall(question)]
    if len(words) < MIN_WORDS:
        return None
    from qa.answer.spelling import english_words

    english = english_words()
    if 2 * sum(1 for w in words if w in english or w in known) >= len(words):
        return None
    code, probability = _identifier().classify(question)
    if code == "en" or probability < MIN_PROBABILITY:
        return None
    return Language(code, NAMES.get(code, "another language"))
