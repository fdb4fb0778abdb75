"""The HTTP API and the embedding controls (qa/surfaces/server.py), with FastAPI's TestClient and
the scripted QA (tests/fakes.py): schema, exact contract, errors, body limit, CORS, framing
headers, API key, feedback, the document view."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from qa.core.config import Settings, load_settings
from qa.core.errors import IndexStateError, QAError
from qa.surfaces.server import AnswerOut, create_app, frame_ancestors, origin_regex, parse_origins
from fakes import DOC_ID, ScriptedQA

Q = "When was the treaty signed?"
LOCAL = "http://localhost:5173"
EVIL = "https://evil.example"


def _client(qa, **overrides):
    settings = qa.settings.replace(**overrides)
    return TestClient(create_app(qa, settings))


@pytest.fixture(scope="module")
def scripted(tmp_path_factory):
    return ScriptedQA(Settings().replace(feedback_path=tmp_path_factory.mktemp("feedback") / "feedback.jsonl"))


@pytest.fixture(scope="module")
def client(scripted):
    with _client(scripted) as c:
        yield c


@pytest.fixture(scope="module")
def locked(scripted):
    """An app with an API key and an explicit list of allowed origins."""
    with _client(scripted, api_key="s3cret-key", allowed_origins="https://docs.example.com, https://*.corp.example",
                 max_request_bytes=2048) as c:
        yield c


# ---- schema and contract -------------------------------------------------------------------


def test_openapi_documents_ask_request_and_response(client):
    schema = client.get("/openapi.json").json()
    op = schema["paths"]["/api/ask"]["post"]
    comps = schema["components"]["schemas"]
    req_ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
    req = comps[req_ref]
    assert req["required"] == ["question"]
    assert req["properties"]["question"]["type"] == "string"
    turn = comps[req["properties"]["history"]["anyOf"][0]["items"]["$ref"].split("/")[-1]]
    assert turn["properties"]["role"]["enum"] == ["user", "assistant"]
    ok_ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
    answer = comps[ok_ref]
    assert {"question", "abstained", "answer", "answer_citation", "score", "citations"} <= set(answer["required"])
    assert answer["properties"]["uncertain"]["type"] == "boolean"  # documented, not only an extra field
    cite = comps[answer["properties"]["citations"]["items"]["$ref"].split("/")[-1]]
    assert {"n", "doc", "title", "section", "start", "end", "text", "score"} <= set(cite["required"])
    for status in ("400", "401", "413", "422"):
        ref = op["responses"][status]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
        assert comps[ref]["required"] == ["error", "code"]
    assert {"HTTPBearer", "APIKeyHeader"} <= set(schema["components"]["securitySchemes"])


def test_answer_is_exactly_the_cli_json_contract(client, scripted):
    r = client.post("/api/ask", json={"question": Q})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    from qa.surfaces.render import to_html
    from qa.surfaces.view import answer_json, answer_source, view

    expected = scripted.answer(Q, scripted.settings.top_k)
    html = body.pop("html")  # the answer card the widget shows; the rest is what `qa ask --json` prints
    assert body == json.loads(json.dumps(answer_json(expected)))
    assert html == to_html(view(expected), source=answer_source(expected))
    AnswerOut.model_validate(body)  # and it conforms to the documented schema
    text = scripted.document.text
    for c in body["citations"]:
        assert c["text"] == text[c["start"]:c["end"]]
        assert c["link"] == f"/doc/{DOC_ID}?start={c['highlight_start']}&end={c['highlight_end']}#passage"
    assert body["answer"] == "3 May 1999" and body["source"]["doc"] == DOC_ID


def test_history_and_top_k_reach_the_library(client, scripted):
    history = [{"role": "user", "content": "When was the treaty signed?"},
               {"role": "assistant", "content": "3 May 1999", "source": {"doc": DOC_ID, "start": 36, "end": 87}}]
    client.post("/api/ask", json={"question": "Who chaired the signing?", "history": history, "top_k": 2})
    question, got_history, top_k = scripted.calls[-1]
    assert question == "Who chaired the signing?" and top_k == 2
    assert got_history == [{"role": "user", "content": "When was the treaty signed?", "source": None},
                           {"role": "assistant", "content": "3 May 1999", "source": {"doc": DOC_ID, "start": 36, "end": 87}}]
    assert len(client.post("/api/ask", json={"question": Q, "top_k": 2}).json()["citations"]) == 2
    assert len(client.post("/api/ask", json={"question": Q}).json()["citations"]) == 3


def test_feedback_is_stored_as_a_test_set_line(client, scripted):
    r = client.post("/api/feedback", json={"question": Q, "answer": "3 May 1999", "vote": "down",
                                           "correction": "3 May 1999, in Gamma City"})
    assert r.status_code == 200 and r.json() == {"stored": True}
    line = json.loads(scripted.settings.feedback_path.read_text(encoding="utf-8").splitlines()[-1])
    assert line["answers"] == ["3 May 1999, in Gamma City"] and line["vote"] == "down" and line["question"] == Q
    assert client.post("/api/feedback", json={"question": Q, "answer": None, "vote": "sideways"}).status_code == 422


def test_document_view_shows_the_passage_and_nothing_else(client, scripted):
    c = client.post("/api/ask", json={"question": Q}).json()["citations"][0]
    page = client.get(c["link"].split("#")[0])
    assert page.status_code == 200 and '<mark id="passage">The treaty was signed on 3 May 1999' in page.text
    assert client.get("/doc/../../etc/hostname").status_code == 404
    assert client.get("/doc/nope.txt").status_code == 404
    assert client.get(f"/doc/{DOC_ID}?start=5&end=999999").status_code == 200  # out of range: no highlight


# ---- errors --------------------------------------------------------------------------------


def test_bad_json_is_422_with_a_message(client):
    r = client.post("/api/ask", content=b'{"question": "unclosed', headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_request"
    assert r.json()["error"] == "the request body is not valid JSON"


def test_unparseable_body_keeps_the_error_shape(client):
    # FastAPI itself refuses a body nested too deeply to parse (400); it must still read like our errors.
    r = client.post("/api/ask", content=b"[" * 5000 + b"]" * 5000, headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["code"] == "invalid_request"
    assert "send one JSON object" in r.json()["error"]


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded"])
def test_body_sent_as_other_content_type_says_to_send_json(client, ctype):
    r = client.post("/api/ask", content=json.dumps({"question": Q}).encode(), headers={"content-type": ctype})
    assert r.status_code == 422
    assert r.json()["error"] == f"the request body was sent as {ctype}; send JSON with 'Content-Type: application/json'"


@pytest.mark.parametrize("body, where", [
    ({}, "question"),
    ({"question": 42}, "question"),
    ({"question": "q", "history": [{"role": "system", "content": "x"}]}, "history.0.role"),
    ({"question": "q", "history": "not a list"}, "history"),
    ({"question": "q", "top_k": 0}, "top_k"),
    ({"question": "q", "extra": 1}, "extra"),
])
def test_schema_violations_are_422_naming_the_field(client, body, where):
    r = client.post("/api/ask", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"].startswith(where + ":")
    assert r.json()["detail"]


@pytest.mark.parametrize("question, words", [("   ", "empty"), ("x" * 2001, "limit")])
def test_bad_questions_are_400_with_the_librarys_message(client, question, words):
    r = client.post("/api/ask", json={"question": question})
    assert r.status_code == 400
    assert r.json()["code"] == "bad_question"
    assert words in r.json()["error"]


def test_oversized_body_is_413_and_the_server_keeps_serving(locked):
    headers = {"Authorization": "Bearer s3cret-key"}
    big = json.dumps({"question": "x" * 5000})
    r = locked.post("/api/ask", content=big, headers={**headers, "content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["code"] == "too_large" and "2,048 bytes" in r.json()["error"]

    def chunked():  # no Content-Length: the limit is enforced while reading
        for _ in range(10):
            yield b" " * 1000

    r = locked.post("/api/ask", content=chunked(), headers={**headers, "content-type": "application/json"})
    assert r.status_code == 413
    assert locked.post("/api/ask", json={"question": Q}, headers=headers).status_code == 200


def test_library_failures_become_json_errors_not_tracebacks(scripted, monkeypatch):
    with _client(scripted) as c:
        monkeypatch.setattr(scripted, "ask", lambda *a, **k: (_ for _ in ()).throw(IndexStateError("the index is locked")))
        r = c.post("/api/ask", json={"question": Q})
        assert (r.status_code, r.json()["error"]) == (503, "the index is locked")
        monkeypatch.setattr(scripted, "ask", lambda *a, **k: 1 / 0)
        r = c.post("/api/ask", json={"question": Q})
        assert r.status_code == 500 and r.json()["code"] == "internal"
        assert "ZeroDivision" not in r.text and "Traceback" not in r.text


# ---- API key -------------------------------------------------------------------------------


def test_no_key_needed_when_none_is_set(client):
    assert client.post("/api/ask", json={"question": Q}).status_code == 200


@pytest.mark.parametrize("headers, status", [
    ({}, 401),
    ({"Authorization": "Bearer wrong"}, 401),
    ({"X-API-Key": "wrong"}, 401),
    ({"Authorization": "Basic czNjcmV0LWtleQ=="}, 401),
    ({"Authorization": "Bearer s3cret-key"}, 200),
    ({"X-API-Key": "s3cret-key"}, 200),
])
def test_api_key_when_set(locked, headers, status):
    r = locked.post("/api/ask", json={"question": Q}, headers=headers)
    assert r.status_code == status, r.text
    if status == 401:
        assert r.json()["code"] == "unauthorized"
        assert r.headers["www-authenticate"] == "Bearer"


def test_key_guards_only_the_api(locked):
    assert locked.get("/healthz").status_code == 200
    assert locked.get("/widget.js").status_code == 200
    pre = locked.options("/api/ask", headers={"Origin": "https://docs.example.com", "Access-Control-Request-Method": "POST",
                                             "Access-Control-Request-Headers": "authorization, content-type"})
    assert pre.status_code == 200  # browsers send preflights without credentials


# ---- CORS and framing ----------------------------------------------------------------------


def _preflight(c, origin, headers="content-type"):
    return c.options("/api/ask", headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                         "Access-Control-Request-Headers": headers})


def test_cors_default_allows_localhost_any_port_and_nobody_else(client):
    for origin in (LOCAL, "http://127.0.0.1:8000", "http://localhost"):
        pre = _preflight(client, origin, "content-type, x-api-key")
        assert pre.status_code == 200 and pre.headers["access-control-allow-origin"] == origin
        assert "x-api-key" in pre.headers["access-control-allow-headers"].lower()
        assert "POST" in pre.headers["access-control-allow-methods"]
        r = client.post("/api/ask", json={"question": Q}, headers={"Origin": origin})
        assert r.headers["access-control-allow-origin"] == origin
    for origin in (EVIL, "http://localhost.evil.example", "http://127.0.0.1.evil.example:80", "null"):
        pre = _preflight(client, origin)
        assert pre.status_code == 400 and "access-control-allow-origin" not in pre.headers
        r = client.post("/api/ask", json={"question": Q}, headers={"Origin": origin})
        assert "access-control-allow-origin" not in r.headers  # the browser will not hand it to the page
    # The same policy covers Gradio's own routes (the <gradio-app> web component needs them).
    assert client.get("/config", headers={"Origin": LOCAL}).headers["access-control-allow-origin"] == LOCAL
    assert "access-control-allow-origin" not in client.get("/config", headers={"Origin": EVIL}).headers


def test_cors_with_configured_origins(locked):
    for origin in ("https://docs.example.com", "https://wiki.corp.example", "https://a.b.corp.example"):
        assert _preflight(locked, origin).headers.get("access-control-allow-origin") == origin
    for origin in ("http://docs.example.com", "https://docs.example.com:8443", "https://corp.example", LOCAL, EVIL):
        assert _preflight(locked, origin).status_code == 400, origin


def test_cors_star_allows_everyone(scripted):
    with _client(scripted, allowed_origins="*") as c:
        assert _preflight(c, EVIL).headers["access-control-allow-origin"] == "*"
        assert c.get("/").headers["content-security-policy"] == "frame-ancestors *"


def test_frame_ancestors_header_on_the_chat_page_and_api(client, locked):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    csp = page.headers["content-security-policy"]
    assert csp.startswith("frame-ancestors 'self' ") and "http://localhost:*" in csp and "http://127.0.0.1:*" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    csp = locked.get("/").headers["content-security-policy"]
    assert csp == "frame-ancestors 'self' https://docs.example.com https://*.corp.example"
    assert locked.post("/api/ask", json={}).headers["content-security-policy"] == csp


def test_origin_parsing():
    assert parse_origins("") == parse_origins("  ") and "http://localhost:*" in parse_origins("")
    assert parse_origins("*") == ["*"]
    assert parse_origins("https://a.example/, http://b.example:8080") == ["https://a.example", "http://b.example:8080"]
    for bad in ("example.com", "ftp://example.com", "https://example.com/path", "https://exa mple.com"):
        with pytest.raises(QAError, match="allowed_origins entry"):
            parse_origins(bad)
    rx = origin_regex(["https://*.example.com", "http://localhost:*", "http://[::1]:8080"])
    assert re.match(rx, "https://a.example.com") and re.match(rx, "http://localhost:3000") and re.match(rx, "http://[::1]:8080")
    assert not re.match(rx, "https://example.com") and not re.match(rx, "https://a.example.com.evil.io")
    assert frame_ancestors(["https://a.example"]) == "frame-ancestors 'self' https://a.example"


def test_bad_settings_fail_at_startup(scripted):
    with pytest.raises(QAError, match="allowed_origins"):
        create_app(scripted, scripted.settings.replace(allowed_origins="docs.example.com"))
    with pytest.raises(QAError, match="max_request_bytes"):
        create_app(scripted, scripted.settings.replace(max_request_bytes=10))


def test_settings_come_from_env_and_the_key_is_not_printed(monkeypatch):
    monkeypatch.setenv("QA_ALLOWED_ORIGINS", "https://docs.example.com")
    monkeypatch.setenv("QA_API_KEY", "hunter2")
    monkeypatch.setenv("QA_MAX_REQUEST_BYTES", "4096")
    s = load_settings()
    assert (s.allowed_origins, s.api_key, s.max_request_bytes) == ("https://docs.example.com", "hunter2", 4096)
    assert "hunter2" not in repr(s)


# ---- static files --------------------------------------------------------------------------


def test_widget_js_is_served_and_never_parses_html(client):
    r = client.get("/widget.js", headers={"Origin": "https://anywhere.example"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    src = r.text
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in src, sink
    assert "attachShadow" in src and 'new URL("api/ask", script.src)' in src
    # the server's answer card is parsed inert and copied through an allow-list (cardNodes)
    assert "new DOMParser().parseFromString" in src and "var TAGS = {" in src and "var ATTRS = {" in src


def test_gradio_web_component_loader_is_served_locally(client):
    r = client.get("/gradio.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    target = re.search(r'import\("\./(assets/[^"]+\.js)"\)', r.text)
    assert target, r.text[:200]
    assert client.get("/" + target[1]).status_code == 200


def test_healthz(client, scripted):
    assert client.get("/healthz").json() == {"status": "ok", "documents": 1, "chunks": len(scripted.index.chunks)}


def test_unknown_api_paths_and_methods_answer_in_the_api_shape(client):
    r = client.get("/api/ask")
    assert r.status_code == 405 and r.headers["allow"] == "POST" and r.json()["code"] == "method_not_allowed"
    r = client.post("/api/nope", json={"question": Q})
    assert r.status_code == 404 and r.json()["code"] == "not_found" and "POST /api/ask" in r.json()["error"]
    assert client.post("/api/ask", json={"question": Q}).status_code == 200  # the real route still wins
