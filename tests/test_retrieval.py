"""Retrieval over small corpora with the fake embedder: the signals, not the model, on every
search backend (FAISS + bm25s, and Milvus through milvus-lite)."""

import numpy as np
import pytest

from qa.answer.pipeline import QA
from qa.answer.retrieval import _Lexical, retrieve
from qa.answer.terms import terms_of
from qa.core.config import load_settings

FORUM = """= Alpha Beta Forum =

The Alpha Beta Forum is a meeting of the trade ministers of Alpha and Beta.

==History==
The forum was founded on 1 June 1999 in Gamma City by the two trade ministers.
In 2020 the first summit of the Alpha Beta Forum took place in Delta on 5 May 2020.
"""
OTHER = """= Harbour Works =

The harbour of Delta was founded on 3 March 1850, long before any forum met there.
The Alpha Beta ferry and the Alpha Beta tug, alpha to beta, left the harbour in 1900.
"""

BACKENDS = ["faiss", "milvus"]


def _qa(tmp_path, fake_embedder, backend, **overrides):
    corpus = tmp_path / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    (corpus / "forum.txt").write_text(FORUM, encoding="utf-8")
    (corpus / "harbour.txt").write_text(OTHER, encoding="utf-8")
    qa = QA(load_settings(corpus_dir=corpus, index_dir=tmp_path / "index", vector_backend=backend, **overrides),
            embedder=fake_embedder)
    qa.warm_up()
    return qa


def _ranked(qa, question):
    _, query, analysis = qa.prepare(question)
    return retrieve(qa.index, qa.embedder.encode([query])[0], analysis, qa.settings).ranked


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_sentence_does_not_win_by_repeating_its_documents_title(tmp_path, fake_embedder, backend):
    """Every sentence of a document is about its title: the question's words that the title
    says count alike for all of them, so the sentence about the event asked for ("founded")
    wins over one that repeats the title's words ("Alpha Beta Forum")."""
    qa = _qa(tmp_path, fake_embedder, backend)
    top = _ranked(qa, "When was the Alpha Beta Forum founded?")[0]
    assert qa.index.sentences[top.sentence].text.startswith("The forum was founded on 1 June 1999")
    assert top.signals["coverage"] == 1.0 and top.signals["entity"] == 1.0  # the title says "Alpha Beta"
    # the other document's sentences get no credit for this title's words
    top = _ranked(qa, "When was the harbour founded?")[0]
    assert qa.index.sentences[top.sentence].text.startswith("The harbour of Delta was founded")


def _reference(index, qterms, q_sets, cached):
    """Every sentence's BM25 the long way: for a document whose title says some question terms,
    the rest of the question plus the most any of its sentences gets from the title's words."""
    n = len(index.sentences)
    full = index.search.lexical(qterms, n).scores_of(range(n))
    out = full.copy()
    for doc_id in index.documents:
        title = cached.title(doc_id)
        said = [j for j, m in enumerate(q_sets) if not m.isdisjoint(title)]
        if not said:
            continue
        rest = index.search.lexical([t for j, t in enumerate(qterms) if j not in said], n).scores_of(range(n))
        rows = cached.rows(doc_id)
        out[rows] = rest[rows] + np.max(full[rows] - rest[rows])
    return out


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("k", [1, 2, 50])
def test_title_words_scored_alike_however_few_hits_a_search_returns(tmp_path, fake_embedder, backend, k):
    """With ``k`` hits per search, the harbour's sentences that repeat "alpha beta" fill the
    title words' hits, so the forum's share of them is scored sentence by sentence; either way
    every sentence gets what scoring the whole corpus gives."""
    qa = _qa(tmp_path, fake_embedder, backend)
    index = qa.index
    _, _, analysis = qa.prepare("When was the Alpha Beta Forum founded in Delta?")
    qterms = list(analysis.terms)
    q_sets = [index.vocabulary.matches(t) for t in qterms]
    cached = terms_of(index)
    lexical = _Lexical(index, qterms, q_sets, k, None, cached)
    n = len(index.sentences)
    lexical.score(range(n))
    want = _reference(index, qterms, q_sets, cached)
    got = np.array([lexical.scores[i] for i in range(n)])
    assert np.allclose(got, want, rtol=1e-4, atol=1e-5)
    assert lexical.titled("forum.txt") and not lexical.titled("harbour.txt")
    best = sorted(range(n), key=lambda i: (-want[i], i))
    assert lexical.order == [i for i in best if want[i] > 0][:k]


def test_both_backends_rank_alike(tmp_path, fake_embedder):
    got = {}
    for backend in BACKENDS:
        qa = _qa(tmp_path / backend, fake_embedder, backend)
        got[backend] = [(s.sentence, round(s.score, 4)) for s in _ranked(qa, "When was the Alpha Beta Forum founded?")]
    assert got["faiss"] == got["milvus"]


MEETINGS = """= Harbour League =

==Meetings==
The 4th meeting took place on 10 November 2012 in Delta.
Ministers of Alpha, Beta, Gamma, Epsilon, Zeta and Eta attended the event with their deputies.
During this meeting, Alpha pledged 700 million for new ports.

The ports of the 4th meeting opened in 2014.

The fleet grew that winter. Alpha also pledged ships to the fleet.
"""


def _signals(qa, question, starts):
    """The signals of the ranked sentence that starts with ``starts``."""
    for s in _ranked(qa, question):
        if qa.index.sentences[s.sentence].text.startswith(starts):
            return s.signals
    raise AssertionError(f"no ranked sentence starts with {starts!r}")


@pytest.fixture
def meetings_qa(tmp_path, fake_embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "league.txt").write_text(MEETINGS, encoding="utf-8")
    qa = QA(load_settings(corpus_dir=corpus, index_dir=tmp_path / "index"), embedder=fake_embedder)
    qa.warm_up()
    return qa


def test_names_count_from_two_sentences_back_in_the_paragraph(meetings_qa):
    """"During this meeting" names no meeting; the list of who attended lies between it and the
    sentence that says which. A paragraph does not reach into the one before it."""
    assert _signals(meetings_qa, "How much did Alpha pledge at the 4th meeting?", "During this meeting")["entity"] == 1.0
    assert _signals(meetings_qa, "What did Alpha pledge at the 4th meeting?", "Alpha also pledged")["entity"] == 0.5


def test_a_year_the_passage_contradicts_counts_against_it(meetings_qa):
    """The passage dates itself to 2012: a question about 2005 names another event."""
    assert _signals(meetings_qa, "How much did Alpha pledge in 2012?", "During this meeting")["entity"] == 1.0
    assert _signals(meetings_qa, "How much did Alpha pledge in 2005?", "During this meeting")["entity"] == 0.0
    # a passage that names no year is only missing it
    assert _signals(meetings_qa, "What did Alpha pledge in 2005?", "Alpha also pledged")["entity"] == 0.5
