"""The lexical index's term matching: ``LexicalIndex.matches`` is the set form of
``qa.core.text.prefix_match``, which retrieval relies on to test every candidate sentence with one
set operation per question term."""

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from qa.index.lexical import LexicalIndex
from qa.core.text import prefix_match

# Short alphabets make prefixes collide often, which is the case worth testing.
_term = st.text(alphabet="bkz", min_size=1, max_size=9)


@settings(max_examples=150, deadline=None)
@given(vocab=st.lists(_term, min_size=1, max_size=25, unique=True), probe=_term, data=st.data())
def test_matches_agrees_with_prefix_match(vocab, probe, data):
    lexical = LexicalIndex.build([" ".join(vocab)])
    assume(lexical.vocab)  # stop words ("a") and stemming shape the vocabulary; use what it holds
    have = set(data.draw(st.lists(st.sampled_from(sorted(lexical.vocab)), max_size=8)))
    assert (not lexical.matches(probe).isdisjoint(have)) == prefix_match(probe, have)
    assert lexical.knows(probe) == prefix_match(probe, lexical.vocab)


def test_matches_examples():
    lexical = LexicalIndex.build(["Kazakhstan and Japan", "Japanese ministers met"])
    assert lexical.matches("kazakh") == {"kazakhstan"}
    assert lexical.matches("japan") == {"japan", "japanes"}  # stemmed "japanese"
    assert lexical.matches("japanese") == {"japan", "japanes"}
    assert lexical.matches("met") == {"met"}  # under 5 characters: exact only
    assert lexical.matches("population") == frozenset()
    assert not lexical.knows("population") and lexical.knows("kazakh")
