"""The view model (qa/surfaces/view.py) and its two renderers (qa/surfaces/render.py): what a person is shown."""

from html.parser import HTMLParser

from qa.surfaces.render import escape, message_html, to_html, to_text, unescape
from qa.core.types import Answer, Citation
from qa.surfaces.view import DECLINED, LIKELY, NOT_SURE, answer_json, view

SENTENCE = "It was signed on 3 May 1999 in Gamma."


def _answer(text, excerpt, start=10, n_cites=1, **kw):
    cites = [Citation(n=i + 1, doc=f"d{i}.txt", title="T <b>", section="S", start=start, end=start + len(excerpt),
                      text=excerpt, score=0.5, highlight_start=start, highlight_end=start + len(excerpt))
             for i in range(n_cites)]
    at = excerpt.find(text)
    return Answer(question="q", abstained=False, text=text, answer_citation=1, score=0.8, citations=cites,
                  answer_start=start + at if at >= 0 else None, answer_end=start + at + len(text) if at >= 0 else None,
                  **kw)


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.hrefs = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.hrefs += [v for k, v in attrs if k == "href"]


def _parse(html: str) -> _Tags:
    p = _Tags()
    p.feed(html)
    return p


def test_markdown_escape_round_trips_and_is_inert():
    s = escape('<img src=x onerror="alert(1)"> [click](javascript:alert(1)) **bold** https://x.example a@b.c')
    assert "<img" not in s and "&lt;img" in s and "\\[click\\]\\(javascript\\:alert\\(1\\)\\)" in s
    assert "https\\://x\\.example" in s and "a\\@b\\.c" in s  # no GFM autolinks
    for t in ['a <b> & `c` [l](u) \\ \\. a@b.c', "&amp; already"]:
        assert unescape(escape(t)) == t


def test_answer_is_bold_inside_its_highlighted_sentence():
    v = view(_answer("3 May 1999", SENTENCE))
    assert v.kind == "answer" and v.headline == "3 May 1999" and v.cite == 1
    assert [(s.kind, s.text) for s in v.sources[0].sentence] == [
        ("support", "It was signed on "), ("answer", "3 May 1999"), ("support", " in Gamma.")]
    html = to_html(v, uid="u")
    assert "<mark>It was signed on <strong>3 May 1999</strong> in Gamma.</mark>" in html
    assert '<a class="qa-ref" href="#qa-u-1"' in html and 'id="qa-u-1"' in html


def test_a_whole_sentence_answer_is_marked_not_bolded():
    v = view(_answer(SENTENCE, SENTENCE))
    assert [s.kind for s in v.sources[0].sentence] == ["support"]


def test_corpus_text_and_names_are_escaped_and_never_links():
    payload = '<img src=x onerror="window.__xss=1"> https://evil.example/x [p](https://evil.example)'
    a = _answer("3 May 1999", f"{payload} {SENTENCE}")
    a.citations[0].doc = "c`[phish](https:evil.example)`.md"
    html = to_html(view(a), uid="u")
    tags = _parse(html)
    assert "img" not in tags.tags and "script" not in tags.tags
    assert all(h.startswith(("#qa-u-", "/doc/")) for h in tags.hrefs), tags.hrefs
    assert "&lt;img src=x onerror=" in html and "T &lt;b&gt;" in html
    assert "/doc/c%60%5Bphish%5D%28https%3Aevil.example%29%60.md?start=10" in html


def test_only_sentences_that_support_the_answer_are_marked():
    a = _answer("3 May 1999", SENTENCE, n_cites=3)
    a.citations[1].text = "The harbour opened on 3 May 1999 too."  # holds the answer: support
    a.citations[1].end = a.citations[1].highlight_end = 10 + len(a.citations[1].text)
    a.citations[2].text = "Gamma is a city by the sea."  # does not
    a.citations[2].end = a.citations[2].highlight_end = 10 + len(a.citations[2].text)
    v = view(a)
    assert [s.supports for s in v.sources] == [True, True, False]
    assert [s.kind for s in v.sources[2].sentence] == ["plain"]
    assert "answer" in [s.kind for s in v.sources[1].sentence]


def test_repeated_sentences_from_overlapping_chunks_get_one_card():
    a = _answer("3 May 1999", SENTENCE, n_cites=2)
    assert [s.n for s in view(a).sources] == [1]


def test_declined_shows_closest_passages_without_marks_or_confidence():
    a = _answer("x", "passage text.")
    a.abstained, a.text, a.answer_citation = True, None, None
    v = view(a)
    assert v.kind == "declined" and v.headline == DECLINED and v.confidence_label == ""
    assert v.sources_label == "Closest passages" and not v.sources[0].supports
    assert "<mark>" not in to_html(v) and "qa-ref" not in to_html(v)


def test_confidence_in_words_with_the_percentage_on_hover():
    sure = view(_answer("3 May 1999", SENTENCE))
    unsure = view(_answer("3 May 1999", SENTENCE, uncertain=True))
    assert sure.confidence_label == LIKELY and sure.note == ""
    assert unsure.confidence_label == NOT_SURE and unsure.note
    assert 'title="Confidence 80%">Likely</span>' in to_html(sure)
    assert "score" not in to_html(sure)  # no raw retrieval scores
    assert "(Not sure, 80%" in to_text(unsure)


def test_text_rendering_for_the_terminal():
    out = to_text(view(_answer("3 May 1999", SENTENCE)))
    assert out.splitlines()[0] == "3 May 1999 [1]"
    assert "[1] T <b> › S (d0.txt)" in out and SENTENCE in out


def test_json_adds_links_source_and_view_to_the_contract():
    a = _answer("3 May 1999", SENTENCE)
    out = answer_json(a)
    contract = a.to_dict()
    assert [{k: c[k] for k in contract["citations"][0]} for c in out["citations"]] == contract["citations"]
    assert {k: out[k] for k in contract if k != "citations"} == {k: v for k, v in contract.items() if k != "citations"}
    assert out["citations"][0]["link"] == "/doc/d0.txt?start=10&end=47#passage"
    assert out["source"] == {"doc": "d0.txt", "start": 10, "end": 10 + len(SENTENCE)}
    assert out["view"]["headline"] == "3 May 1999"


def test_a_message_is_escaped():
    assert "&lt;b&gt;" in message_html("<b>too long</b>", "error") and "is-error" in message_html("x", "error")


def test_an_answer_copied_from_mid_sentence_is_shown_with_a_capital_and_kept_as_copied():
    excerpt = "The summit brought together the Presidents of the five states in Astana."
    a = _answer("the Presidents of the five states", excerpt)
    v = view(a)
    assert v.capitalise and v.headline == "the Presidents of the five states"  # the text as the document has it
    assert '<p class="qa-headline qa-cap">the Presidents' in to_html(v)  # the capital is the stylesheet's
    assert to_text(v).startswith("The Presidents of the five states [1]")
    out = answer_json(a)
    assert out["answer"] == "the Presidents of the five states" and out["view"]["capitalise"] is True
    from qa.answer.conversation import from_card

    assert from_card(to_html(v))[0] == "the Presidents of the five states"  # follow-ups see the copied text


def test_only_an_all_lower_case_first_word_is_capitalised():
    from qa.surfaces.view import starts_in_lower_case

    for text in ("the Presidents", "about 20 km", "de Gaulle"):
        assert starts_in_lower_case(text), text
    for text in ("28 August 2004", "Tokyo", "iPhone sales", "e.g. trade", "mRNA", "", "  ", "“quoted”"):
        assert not starts_in_lower_case(text), text
    declined = Answer(question="q", abstained=True, text=None, answer_citation=None, score=0.1, citations=[])
    assert not view(declined).capitalise


def test_passages_from_other_documents_far_below_the_answer_are_left_out():
    def cite(n, doc, text, score):
        return Citation(n=n, doc=doc, title=doc, section="S", start=0, end=len(text), text=text, score=score,
                        highlight_start=0, highlight_end=len(text))

    cites = [cite(1, "treaty.txt", SENTENCE, 2.0),
             cite(2, "recipes.txt", "Bake the bread for an hour.", 1.2),  # another document, far below: out
             cite(3, "treaty.txt", "The parties met again in Delta.", 0.4),  # the answer's own document: kept
             cite(4, "ports.txt", "The ports opened in 2001.", 1.9),  # another document, close to it: kept
             cite(5, "notes.txt", "Notes say 3 May 1999 too.", 0.1)]  # holds the answer: kept
    answered = Answer(question="q", abstained=False, text="3 May 1999", answer_citation=1, score=0.8,
                      citations=cites, answer_start=17, answer_end=27)
    assert [s.n for s in view(answered).sources] == [1, 3, 4, 5]
    assert [c["n"] for c in answer_json(answered)["citations"]] == [1, 2, 3, 4, 5]  # the contract is untouched
    declined = Answer(question="q", abstained=True, text=None, answer_citation=None, score=0.1, citations=cites)
    assert [s.n for s in view(declined).sources] == [1, 2, 3, 4, 5]  # the closest passages, all of them
