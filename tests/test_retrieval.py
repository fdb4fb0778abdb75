"""Retrieval over a small corpus with the fake embedder: the signals, not the model."""

from qa.answer.pipeline import QA
from qa.answer.retrieval import retrieve

FORUM = """= Alpha Beta Forum =

The Alpha Beta Forum is a meeting of the trade ministers of Alpha and Beta.

==History==
The forum was founded on 1 June 1999 in Gamma City by the two trade ministers.
In 2020 the first summit of the Alpha Beta Forum took place in Delta on 5 May 2020.
"""
OTHER = """= Harbour Works =

The harbour of Delta was founded on 3 March 1850, long before any forum met there.
"""


def _top(qa, question):
    _, query, analysis = qa.prepare(question)
    ranked = retrieve(qa.index, qa.embedder.encode([query])[0], analysis, qa.settings).ranked
    s = qa.index.sentences[ranked[0].sentence]
    return s.text, ranked[0].signals


def test_a_sentence_does_not_win_by_repeating_its_documents_title(tmp_path, fake_embedder):
    """Every sentence of a document is about its title: the question's words that the title
    says count alike for all of them, so the sentence about the event asked for ("founded")
    wins over one that repeats the title's words ("Alpha Beta Forum")."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "forum.txt").write_text(FORUM, encoding="utf-8")
    (corpus / "harbour.txt").write_text(OTHER, encoding="utf-8")
    from qa.core.config import load_settings

    qa = QA(load_settings(corpus_dir=corpus, index_dir=tmp_path / "index"), embedder=fake_embedder)
    qa.warm_up()
    text, signals = _top(qa, "When was the Alpha Beta Forum founded?")
    assert text.startswith("The forum was founded on 1 June 1999")
    assert signals["coverage"] == 1.0 and signals["entity"] == 1.0  # the title says "Alpha Beta"
    # the other document's sentences get no credit for this title's words
    text, _ = _top(qa, "When was the harbour founded?")
    assert text.startswith("The harbour of Delta was founded")
