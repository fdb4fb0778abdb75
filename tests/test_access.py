"""Collections and access keys (qa/surfaces/access.py): a key sees only the collections the
access file grants it, and nothing of another collection leaks through any route -- answers,
citations, follow-up histories, the document view and its download, example questions, the
chat's API, feedback and /healthz counts. Every route is replayed with the key of another
collection, a wrong key and no key."""

from __future__ import annotations

import json
import os
import stat

import pytest
from fastapi.testclient import TestClient

from qa.core.errors import QAError
from qa.surfaces.access import Access, Grant, key_hash

NORTH_DOC = ("# Tundra Station\n\n## Supplies\nThe tundra station receives its supplies by icebreaker every "
             "August. The icebreaker is named Polar Wren.\n")
SOUTH_DOC = ("# Desert Garden\n\n## Water\nThe desert garden is watered from a cistern built in 1931. "
             "The cistern holds forty thousand litres.\n")
TOP_DOC = "# Harbour\n\n## Ferries\nThe harbour ferry leaves at noon for the island of Marrow.\n"
#: What only the north document says (the questions may name the topic; these must not come back).
NORTH_WORDS = ("Polar Wren", "August", "Tundra Station", "icebreaker every", "north/station.md")


@pytest.fixture(scope="module")
def two_teams(tmp_path_factory):
    """A real QA (fake embedder, real reader) over a corpus of two collections and a top-level
    file, and an access file with a key for each collection."""
    from conftest import FakeEmbedder
    from qa.answer.pipeline import QA
    from qa.core.config import Settings

    root = tmp_path_factory.mktemp("teams")
    for rel, text in {"north/station.md": NORTH_DOC, "south/garden.md": SOUTH_DOC, "harbour.md": TOP_DOC}.items():
        (root / "corpus" / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / "corpus" / rel).write_text(text, encoding="utf-8")
    access = Access(root / "access.json")
    keys = {"north": access.add("north team", ["north"]), "south": access.add("south team", ["south", "."])}
    settings = Settings().replace(corpus_dir=root / "corpus", index_dir=root / "index", access_file=str(access.path),
                                  feedback_path=root / "feedback.jsonl", abstain_threshold=0.0)
    qa = QA(settings, embedder=FakeEmbedder())
    qa.warm_up()
    return qa, keys


@pytest.fixture(scope="module")
def client(two_teams):
    from qa.surfaces.server import create_app

    qa, _ = two_teams
    with TestClient(create_app(qa, qa.settings)) as c:
        yield c


def _auth(key):
    return {"Authorization": f"Bearer {key}"} if key else {}


def _no_north(text: str) -> None:
    for word in NORTH_WORDS:
        assert word not in text, f"{word!r} of the north collection leaked: {text[:300]}"


# ---- the file ----------------------------------------------------------------------------------


def test_the_file_holds_hashes_only_and_is_private(tmp_path):
    access = Access(tmp_path / "access.json")
    key = access.add("ops", ["a", "b"])
    raw = (tmp_path / "access.json").read_text()
    assert key not in raw and key_hash(key) in raw
    assert stat.S_IMODE(os.stat(tmp_path / "access.json").st_mode) == 0o600
    assert access.grant(key) == Grant("ops", frozenset({"a", "b"}))
    assert access.grant(key + "x") is None and access.grant("") is None
    assert access.rows() == [{"name": "ops", "collections": ["a", "b"], "key": key_hash(key)[:12]}]
    assert access.remove(key_hash(key)[:12]) == 1 and access.grant(key) is None


def test_bad_edits_are_refused_with_the_reason(tmp_path):
    access = Access(tmp_path / "access.json")
    with pytest.raises(QAError, match="name and at least one collection"):
        access.add("", ["a"])
    with pytest.raises(QAError, match="first 12 characters"):
        access.remove("ab")
    (tmp_path / "access.json").write_text('{"keys": [{"name": "x"}]}')
    with pytest.raises(QAError, match="access file .* is malformed"):
        access.grant("anything")


def test_links_are_signed_per_document(tmp_path):
    access = Access(tmp_path / "access.json")
    assert access.sign("a/x.md") == ""  # no secret before the first key: no link opens anything
    access.add("ops", ["a"])
    token = access.sign("a/x.md")
    assert access.signed("a/x.md", token) and not access.signed("b/y.md", token)
    assert not access.signed("a/x.md", None) and not access.signed("a/x.md", token[:-1])


# ---- the library and the CLI -----------------------------------------------------------------


def test_ask_answers_only_from_the_chosen_collections(two_teams):
    qa, _ = two_teams
    mine = qa.ask("How does the tundra station receive its supplies?", collections=frozenset({"north"}))
    assert mine.citations and {c.doc for c in mine.citations} == {"north/station.md"}
    other = qa.ask("How does the tundra station receive its supplies?", collections=frozenset({"south", "."}))
    assert other.citations and all(not c.doc.startswith("north/") for c in other.citations)
    _no_north(json.dumps(other.to_dict()))


def test_a_forged_history_cannot_reach_another_collection(two_teams):
    qa, _ = two_teams
    doc = qa.index.documents["north/station.md"]
    at = doc.text.index("The icebreaker")
    history = [{"role": "user", "content": "What brings supplies?"},
               {"role": "assistant", "content": "an icebreaker", "source": {"doc": doc.id, "start": at, "end": at + 40}}]
    answer = qa.ask("What is it named?", history=history, collections=frozenset({"south"}))
    assert all(c.doc == "south/garden.md" for c in answer.citations)
    _no_north(answer.retrieval_query + json.dumps(answer.to_dict()))


def test_cli_collection_option(two_teams, monkeypatch):
    from click.testing import CliRunner

    from qa.surfaces import cli

    qa, _ = two_teams
    monkeypatch.setattr(cli, "_qa", lambda settings: qa)
    runner = CliRunner()
    bad = runner.invoke(cli.cli, ["ask", "--no-build", "-c", "west", "Where?"])
    assert bad.exit_code != 0 and "no collection 'west'" in bad.output and "north" in bad.output
    good = runner.invoke(cli.cli, ["ask", "--json", "-c", "south", "-c", ".", "How does the tundra station receive its supplies?"])
    assert good.exit_code == 0, good.output
    _no_north(good.output)
    assert "Polar Wren" in runner.invoke(cli.cli, ["ask", "--json", "-c", "north", "What is the icebreaker named?"]).output


# ---- every route, replayed with the other team's key -------------------------------------------


def test_api_ask_sees_only_the_keys_collections(client, two_teams):
    keys = two_teams[1]
    q = {"question": "How does the tundra station receive its supplies?"}
    assert client.post("/api/ask", json=q).status_code == 401
    assert client.post("/api/ask", json=q, headers=_auth("wrong")).status_code == 401
    r = client.post("/api/ask", json=q, headers=_auth(keys["south"]))
    assert r.status_code == 200
    _no_north(r.text)
    r = client.post("/api/ask", json=q, headers={"X-API-Key": keys["north"]})
    assert r.status_code == 200 and "north/station.md" in r.text


def test_document_view_opens_only_through_its_own_links(client, two_teams):
    keys = two_teams[1]
    north = client.post("/api/ask", json={"question": "When does the icebreaker come to the tundra station?"},
                        headers=_auth(keys["north"])).json()
    link = north["citations"][0]["link"].split("#")[0]
    assert "&t=" in link and 'href="' + link.replace("&", "&amp;") in north["html"]
    assert client.get(link).status_code == 200  # the link an answer handed out opens
    bare = link.split("&t=")[0]
    for headers in ({}, _auth("wrong"), _auth(keys["south"])):
        r = client.get(bare, headers=headers)
        assert r.status_code == 404 and "no such document" in r.text
        _no_north(r.text)
        assert client.get("/doc/north/station.md?original=1", headers=headers).status_code == 404
        assert client.get("/doc/north/station.md?image=1", headers=headers).status_code == 404
    assert client.get(bare, headers=_auth(keys["north"])).status_code == 200
    south = client.post("/api/ask", json={"question": "When was the cistern built?"}, headers=_auth(keys["south"])).json()
    token = south["citations"][0]["link"].split("&t=")[1].split("#")[0]
    assert client.get(f"/doc/north/station.md?t={token}").status_code == 404  # one document's token opens no other


def test_history_sent_to_the_api_cannot_reach_another_collection(client, two_teams):
    keys = two_teams[1]
    history = [{"role": "user", "content": "What brings supplies?"},
               {"role": "assistant", "content": "icebreaker", "source": {"doc": "north/station.md", "start": 0, "end": 80}}]
    r = client.post("/api/ask", json={"question": "What is it named?", "history": history}, headers=_auth(keys["south"]))
    assert r.status_code == 200
    _no_north(json.dumps({k: v for k, v in r.json().items() if k != "question"}))


def test_healthz_counts_only_what_the_key_sees(client, two_teams):
    qa, keys = two_teams
    anonymous = client.get("/healthz").json()
    assert anonymous["status"] == "ok" and "documents" not in anonymous and "chunks" not in anonymous
    south = client.get("/healthz", headers=_auth(keys["south"])).json()
    assert south["documents"] == 2  # south/garden.md and harbour.md
    assert south["chunks"] == sum(1 for c in qa.index.chunks if not c.doc_id.startswith("north/"))
    assert client.get("/healthz", headers=_auth(keys["north"])).json()["documents"] == 1


def test_feedback_needs_a_key(client, two_teams):
    keys = two_teams[1]
    vote = {"question": "Q?", "answer": None, "vote": "up"}
    assert client.post("/api/feedback", json=vote).status_code == 401
    assert client.post("/api/feedback", json=vote, headers=_auth("wrong")).status_code == 401
    assert client.post("/api/feedback", json=vote, headers=_auth(keys["south"])).status_code == 200


def test_the_chat_and_its_api_see_only_the_keys_collections(client, two_teams):
    from qa.surfaces.chat import NEEDS_KEY, answer_html, describe_corpus, example_questions

    qa, keys = two_teams
    south = Grant("south team", frozenset({"south", "."}))
    _no_north(" ".join(example_questions(qa, grant=south)) + describe_corpus(qa, south))
    assert any("Tundra" in q for q in example_questions(qa, grant=Grant("n", frozenset({"north"}))))
    _no_north(answer_html(qa, "How does the tundra station receive its supplies?", [], grant=south))
    assert "access key" in answer_html(qa, "Anything?", [], grant=None) and "?key=" in NEEDS_KEY
    # the chat's public API (gradio_client's /ask), over HTTP, with each key
    for headers, leaks in ((_auth(keys["south"]), False), ({}, False), (_auth(keys["north"]), True)):
        job = client.post("/gradio_api/call/ask", json={"data": ["How does the tundra station receive its supplies?",
                                                                 []]}, headers=headers)
        assert job.status_code == 200, job.text
        events = client.get(f"/gradio_api/call/ask/{job.json()['event_id']}", headers=headers).text
        assert "complete" in events, events[:300]
        if leaks:
            assert "icebreaker every" in events
        else:
            _no_north(events)


def test_the_admin_page_has_the_access_tab(two_teams, tmp_path):
    from qa.surfaces.access_tab import access_tab
    import gradio as gr

    qa, keys = two_teams
    access = Access(qa.settings.access_file)
    with gr.Blocks():
        on_load, outputs = access_tab(qa, access)
    table, choices = on_load()
    assert [row[0] for row in table] == ["north team", "south team"] and len(outputs) == 2
    assert keys["north"] not in str(table)  # only the start of each hash is shown
    assert choices["choices"] in (["."] + ["north", "south"], [(c, c) for c in [".", "north", "south"]])
    with gr.Blocks():
        assert access_tab(qa, Access(None)) == (None, [])  # off: says how to turn it on
