from qa.render import escape, to_markdown
from qa.types import Answer, Citation


def _answer(text, excerpt, question="q"):
    c = Citation(n=1, doc="d.txt", title="T <b>", section="S", start=10, end=10 + len(excerpt), text=excerpt,
                 score=0.5, highlight_start=10, highlight_end=10 + len(excerpt))
    return Answer(question=question, abstained=False, text=text, answer_citation=1, score=0.8, citations=[c],
                  answer_start=10, answer_end=10 + len(text))


def test_html_and_markdown_are_inert():
    s = escape('<img src=x onerror="alert(1)"> [click](javascript:alert(1)) **bold** <script>x</script>')
    assert "<img" not in s and "<script" not in s
    assert "&lt;img" in s and "\\[click\\]\\(javascript:alert\\(1\\)\\)" in s and "\\*\\*bold" in s


def test_corpus_payload_is_escaped_in_the_chat_message():
    payload = '<img src=x onerror="window.__xss=1">'
    md = to_markdown(_answer(payload, payload + " and more"))
    assert "<img" not in md and "&lt;img src=x onerror=" in md
    assert "<mark>" in md  # our own highlight survives
    assert "T &lt;b&gt;" in md


def test_answer_is_bold_inside_its_highlighted_sentence():
    text = "It was signed on 3 May 1999 in Gamma."
    a = _answer("3 May 1999", text)
    a.answer_start, a.answer_end = 10 + text.index("3 May"), 10 + text.index("3 May") + len("3 May 1999")
    md = to_markdown(a)
    assert "<mark>It was signed on <strong>3 May 1999</strong> in Gamma\\.</mark>" in md


def test_abstention_shows_closest_passages():
    a = _answer("x", "passage")
    a.abstained, a.text, a.answer_citation, a.message = True, None, None, "The corpus does not say."
    md = to_markdown(a)
    assert md.startswith("**The corpus does not say\\.**") and "Closest passages" in md


def test_an_uncertain_answer_says_so_next_to_its_confidence():
    from qa.answer import UNCERTAIN_MESSAGE

    sure = to_markdown(_answer("3 May 1999", "It was signed on 3 May 1999."))
    a = _answer("3 May 1999", "It was signed on 3 May 1999.")
    a.uncertain, a.message = True, UNCERTAIN_MESSAGE
    unsure = to_markdown(a)
    assert "*Confidence 80%*" in sure and "Not sure" not in sure
    assert "*Confidence 80% — Not sure: this answer may be wrong\\. Check it against the sources below\\.*" in unsure
    assert unsure.startswith("**3 May 1999**")  # the answer itself is still shown first
    a.message = ""  # a hand-built Answer without its message still renders a whole note
    assert "*Confidence 80% — Not sure: check the sources below\\.*" in to_markdown(a)
