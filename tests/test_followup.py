"""Follow-up chains (qa/answer/followup.py): the anchor, the spelt-out pronouns, fragments.

The rules read only the conversation and the anchor sentence, so they are checked on made-up
conversations about made-up documents, not on the seed article.
"""

from __future__ import annotations

from qa.answer.followup import chain, fill_fragment, noun_phrase, resolve
from qa.core.text import terms
from qa.core.types import Turn

SIGNED = ("tiny.txt", 10, 60)  # a made-up source: where the first answer came from
SENTENCE = "The treaty was signed on 3 May 1999 in Gamma City."


def source_text(source):
    return SENTENCE if source == SIGNED else ""


def turns(*pairs):
    out = []
    for q, a, src in pairs:
        out += [Turn("user", q), Turn("assistant", a, src)]
    return out


def test_the_chain_keeps_its_first_answer_across_a_declined_turn():
    history = turns(("When was the treaty signed?", "3 May 1999", SIGNED),
                    ("Who attended it?", "The documents do not say. The closest passages are listed below.", None))
    ch = chain(history)
    assert [e.question for e in ch.exchanges] == ["When was the treaty signed?", "Who attended it?"]
    assert ch.exchanges[1].answer is None  # a decline is no answer: its words never reach the query
    r = resolve("Where was it signed?", history, source_text)
    assert r.anchor == SIGNED
    assert r.question == "Where was the treaty signed?"
    assert "closest" not in r.context and "1999" in r.context


def test_a_question_that_stands_alone_starts_a_new_chain():
    history = turns(("When was the treaty signed?", "3 May 1999", SIGNED),
                    ("Where did the parties meet again in 2001?", "Delta", None))
    assert chain(history).start.question == "Where did the parties meet again in 2001?"
    assert chain(history).anchor is None
    assert resolve("Who chaired the signing of the treaty in Gamma City?", history, source_text).context == ""


def test_pronouns_are_spelt_out_from_the_chain():
    who = turns(("Who chaired the signing?", "Dr. Jane Q. Smith", None))
    assert resolve("What else did she do?", who).question == "What else did Jane Q. Smith do?"
    assert resolve("What is her title?", who).question == "What is Jane Q. Smith's title?"
    title = turns(("Who opened the port?", "Harbour Master Ana Lopez of Beta", None))
    assert resolve("What is her job?", title).question == "What is Ana Lopez's job?"  # the name, not the title
    named = turns(("Which country hosts the port?", "Beta", None))
    assert resolve("When did its port open?", named).question == "When did Beta's port open?"
    place = turns(("Where did the parties meet again?", "Delta", None))
    assert resolve("Who met there?", place).question == "Who met in Delta?"
    assert resolve("What was signed at that meeting?", place).question == "What was signed at the meeting in Delta?"
    event = turns(("When was the treaty formally signed?", "3 May 1999", SIGNED))
    assert resolve("Who attended it?", event, source_text).question == "Who attended the treaty?"


def test_the_noun_phrase_stops_where_the_answer_sentence_does():
    about = frozenset(terms("The 2nd round took place on 7 June 2001 in Delta."))
    assert noun_phrase("When did the 2nd round take place?", about) == "the 2nd round"
    assert noun_phrase("Where was the accord formally declared?") == "the accord"
    assert noun_phrase("How many Fishery Talks have been held?") == "Fishery Talks"


def test_existential_there_and_unknown_referents_stay():
    place = turns(("Where did the parties meet again?", "Delta", None))
    assert resolve("Was there a guest at the meeting?", place).question == "Was there a guest at the meeting?"
    date = turns(("When was the treaty signed?", "3 May 1999", None))
    assert "he" in resolve("Why did he sign?", date).question.split()  # no person in the chain


def test_fragments_and_bare_question_words_borrow_the_chain_question():
    ch = chain(turns(("Who was Alpha's envoy at the 2nd round?", "Ann Lee", None)))
    assert fill_fragment("And Beta's?", ch) == "Who was Beta's envoy at the 2nd round?"
    assert fill_fragment("And 2003?", chain(turns(("Who chaired the 2001 round?", "Ann Lee", None)))) == \
        "Who chaired the 2003 round?"
    assert fill_fragment("And then?", ch) == "And then?"  # not a name or a number
    why = chain(turns(("Which country only observes the talks?", "Gamma", None)))
    assert fill_fragment("Why?", why) == "Why Gamma only observes the talks?"


def test_a_three_turn_chain_on_a_made_up_corpus_keeps_its_event(tiny_qa):
    """The issue's chain on other documents: the event asked about first, a declined middle
    turn, then "Where was it ...?" still reads around the first answer's sentence."""
    doc = tiny_qa.index.documents["tiny.txt"].text
    start = doc.index("The treaty was signed on")
    end = doc.index(".", doc.index("Gamma City")) + 1
    history = [{"role": "user", "content": "When was the treaty signed?"},
               {"role": "assistant", "content": "3 May 1999", "source": {"doc": "tiny.txt", "start": start, "end": end}},
               {"role": "user", "content": "Who attended it?"},
               {"role": "assistant", "content": "The documents do not say. The closest passages are listed below."}]
    p = tiny_qa._prepare(tiny_qa.index, "Where was it signed?", history)
    assert p.reading == "Where was the treaty signed?"
    assert tiny_qa.index.sentences[p.anchor].text.startswith("The treaty was signed on 3 May 1999")
    a = tiny_qa.ask("Where was it signed?", history=history)
    assert a.text and "Gamma City" in a.text
    # a question naming another event (a year the anchor's passage lacks) is not held to it
    assert tiny_qa._prepare(tiny_qa.index, "Who chaired it in 2005?", history).anchor is None


def test_an_overview_or_language_note_is_no_answer_to_refer_back_to():
    from qa.answer.followup import exchanges

    history = turns(("tell me about the treaty", "No single answer: here is what the documents say about it.", None),
                    ("Wann wurde der Vertrag unterzeichnet?", "Your question looks like German, but ...", None))
    assert [e.answer for e in exchanges(history)] == [None, None]


def test_a_long_made_up_history_gives_no_long_referent():
    """A client controls the history: a 4,000-character "question" must not be pasted into the
    question the reader reads (it would cost seconds to read)."""
    huge = "Japan summit treaty " * 200
    r = resolve("Who chaired it?", turns((huge, huge, None)))
    assert r.question == "Who chaired it?"
