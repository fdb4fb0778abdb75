import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.core.config import ChunkSettings
from qa.ingest.chunking import chunk_document, split_sentences
from qa.ingest.corpus import parse_document


def sentences_of(text):
    return [s.text for s in split_sentences(parse_document("t.txt", text))]


def test_abbreviations_initials_and_titles_do_not_split():
    text = "Dr. Smith met J. R. Jones at 5 p.m. in the U.S. capital. They talked, e.g. about trade. Then they left."
    assert sentences_of(text) == [
        "Dr. Smith met J. R. Jones at 5 p.m. in the U.S. capital.",
        "They talked, e.g. about trade.",
        "Then they left.",
    ]


def test_quotes_and_ellipsis():
    text = 'He said "we agree." Then more. They "promote cooperation... utilizing the framework," and left. “Done!” she said.'
    assert sentences_of(text) == [
        'He said "we agree."',
        "Then more.",
        'They "promote cooperation... utilizing the framework," and left.',
        "“Done!” she said.",
    ]


def test_list_items_are_units_without_bullets():
    text = "Goals:\n- Peace and stability\n* Trade\n1. Research\n2) Ports\n\nAfter the list."
    out = split_sentences(parse_document("t.txt", text))
    assert [s.text for s in out] == ["Goals:", "Peace and stability", "Trade", "Research", "Ports", "After the list."]
    assert [s.is_list_item for s in out] == [False, True, True, True, True, False]


def test_headings_are_sections_not_text():
    doc = parse_document("t.txt", "= T =\n\nIntro.\n\n==Part A==\nAlpha one. Alpha two.\n\n==Part B==\nBeta.")
    sents, chunks = chunk_document(doc)
    assert all("==" not in s.text and "= T =" not in s.text for s in sents)
    assert [(s.section, s.text) for s in sents] == [("", "Intro."), ("Part A", "Alpha one."), ("Part A", "Alpha two."), ("Part B", "Beta.")]
    assert {c.section for c in chunks} == {"", "Part A", "Part B"}


def test_chunks_respect_target_and_overlap():
    body = " ".join(f"Sentence number {i} is here." for i in range(40))
    doc = parse_document("t.txt", body)
    sents, chunks = chunk_document(doc, ChunkSettings(target_chars=120, overlap=1))
    assert len(chunks) > 5
    for a, b in zip(chunks, chunks[1:]):
        assert len(a.text) <= 120
        # exactly one sentence shared between neighbours
        shared = [s for s in sents if a.start <= s.start and s.end <= a.end and b.start <= s.start and s.end <= b.end]
        assert len(shared) == 1


def test_no_overlap_setting():
    doc = parse_document("t.txt", " ".join(f"Short {i} one." for i in range(30)))
    _, chunks = chunk_document(doc, ChunkSettings(target_chars=60, overlap=0))
    for a, b in zip(chunks, chunks[1:]):
        assert a.end <= b.start


def test_long_unpunctuated_blob_is_bounded():
    doc = parse_document("t.txt", "word " * 2000)
    sents, chunks = chunk_document(doc, ChunkSettings(target_chars=100))
    assert max(len(s.text) for s in sents) <= 400
    assert all(doc.text[s.start:s.end] == s.text for s in sents)


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="target_chars=10"):
        ChunkSettings(target_chars=10)
    with pytest.raises(ValueError, match="overlap=-1"):
        ChunkSettings(overlap=-1)


_text = st.lists(
    st.one_of(
        st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=80),
        st.sampled_from(["\n", "\n\n", "- item\n", "== Head ==\n", "# H\n", "Dr. X. ", "“Quote.” ", "U.S. ", "\r\n", ". ", "?! "]),
    ),
    max_size=30,
).map("".join)


@settings(max_examples=150, deadline=None)
@given(_text, st.integers(min_value=50, max_value=400), st.integers(min_value=0, max_value=3))
def test_offsets_are_exact_for_any_text(text, target, overlap):
    doc = parse_document("x.txt", text)
    sents, chunks = chunk_document(doc, ChunkSettings(target_chars=target, overlap=overlap))
    for s in sents:
        assert doc.text[s.start:s.end] == s.text and s.text.strip() == s.text and s.text
    for c in chunks:
        assert doc.text[c.start:c.end] == c.text
        inside = [s for s in sents if c.start <= s.start and s.end <= c.end]
        assert inside and inside[0].start == c.start and inside[-1].end == c.end  # whole sentences
        assert len({s.section for s in inside}) == 1
    # every sentence is in some chunk
    for s in sents:
        assert any(c.start <= s.start and s.end <= c.end for c in chunks)
