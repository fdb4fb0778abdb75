"""The contract every search backend (qa/index/backend.py) keeps, run on each of them:

- ``faiss``: FAISS + bm25s in this process;
- ``milvus-lite``: Milvus through pymilvus on a milvus-lite database file;
- ``milvus-lite-server``: the same through ``milvus-lite server``, started here on a free
  loopback port and stopped by its PID (the path a Milvus server takes: ``milvus_uri``);
- ``milvus``: a real Milvus, when ``QA_MILVUS_URI`` points at one (read at import, before the
  autouse fixture clears ``QA_*``).

Small random unit vectors and hand-made sentences keep it fast; the BM25 scores of both engines
are compared with each other, since the answers must not depend on the backend.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from qa.core.text import terms
from qa.index.backend import Pieces, Where
from qa.index.faiss_backend import FaissBackend

REAL_MILVUS = os.environ.get("QA_MILVUS_URI", "")
DIM = 16
SENTENCES = [  # (doc, text): two collections ("north", "south") and the top level (".")
    ("north/a.md", "Alpha river floods in May"),
    ("north/a.md", "Farmers plant rice after the alpha flood"),
    ("north/b.md", "The stone bridge of Beta was built in 1710"),
    ("south/c.md", "Gamma lake freezes in January"),
    ("south/c.md", "Skaters come to gamma lake from the whole valley"),
    ("top.md", "The river Alpha meets the lake at Gamma"),
]
CHUNKS = [("north/a.md",), ("north/b.md",), ("south/c.md",), ("top.md",)]


def _unit(n: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def sentence_pieces(ids=None, seed=0) -> Pieces:
    ids = np.arange(len(SENTENCES)) if ids is None else np.asarray(ids)
    return Pieces("sentence", ids, [SENTENCES[i][0] for i in ids], _unit(len(SENTENCES), seed)[ids],
                  [SENTENCES[i][1] for i in ids])


def chunk_pieces() -> Pieces:
    return Pieces("chunk", np.arange(len(CHUNKS)), [c[0] for c in CHUNKS], _unit(len(CHUNKS), 1))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lite_server(tmp_path_factory):
    """``milvus-lite server`` on a free loopback port; stopped by its PID."""
    exe = shutil.which("milvus-lite") or str(Path(sys.executable).parent / "milvus-lite")
    port = _free_port()
    proc = subprocess.Popen([exe, "server", "--data-dir", str(tmp_path_factory.mktemp("milvus") / "data"),
                             "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert proc.poll() is None, "milvus-lite server exited at start"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("milvus-lite server did not open its port within 60 s")
        yield f"http://127.0.0.1:{port}"
    finally:
        os.kill(proc.pid, 15)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, 9)
            proc.wait()


BACKENDS = ["faiss", "milvus-lite", "milvus-lite-server"] + (["milvus"] if REAL_MILVUS else [])


@pytest.fixture(params=BACKENDS)
def make(request, tmp_path):
    """A function giving an empty backend of this kind (closed after the test)."""
    opened = []

    def new(dim=DIM):
        if request.param == "faiss":
            backend = FaissBackend(dim)
        else:
            from qa.index.milvus_backend import MilvusBackend

            uri = {"milvus-lite": "", "milvus": REAL_MILVUS}.get(request.param) or request.getfixturevalue("lite_server")
            folder = tmp_path / f"b{len(opened)}"
            folder.mkdir()
            backend = MilvusBackend.create(uri, folder, f"t{time.time_ns()}", dim)
        opened.append(backend)
        return backend

    yield new
    for b in opened:
        if b.name == "milvus" and b._uri:  # leave nothing behind on a shared server
            for name in [*b._names.values(), *b._lexical]:
                b._client.drop_collection(name)
        b.close()


@pytest.fixture
def filled(make):
    backend = make()
    backend.upsert(sentence_pieces())
    backend.upsert(chunk_pieces())
    return backend


NORTH = Where(frozenset({"north"}))


def test_counts_by_kind_and_collection(filled):
    assert filled.count("sentence") == 6 and filled.count("chunk") == 4
    assert filled.count("sentence", NORTH) == 3
    assert filled.count("sentence", Where(frozenset({"south", "."}))) == 3
    assert filled.count("chunk", Where(frozenset({"nowhere"}))) == 0


def test_dense_finds_the_nearest_best_first(filled):
    vectors = _unit(len(SENTENCES), 0)
    scores, ids = filled.dense("sentence", vectors[4], 3)
    assert ids[0] == 4 and scores[0] == pytest.approx(1.0, abs=1e-5)
    assert list(scores) == sorted(scores, reverse=True)
    exact = np.argsort(-(vectors @ vectors[4]))[:3]
    assert list(ids) == list(exact)


def test_dense_under_a_filter_stays_in_its_collections(filled):
    vectors = _unit(len(SENTENCES), 0)
    scores, ids = filled.dense("sentence", vectors[4], 10, NORTH)  # the nearest (4) is in "south"
    assert sorted(ids) == [0, 1, 2]
    _, none = filled.dense("chunk", vectors[0], 5, Where(frozenset({"nowhere"})))
    assert len(none) == 0


def test_vectors_come_back_in_the_order_asked(filled):
    want = _unit(len(SENTENCES), 0)[[5, 0, 3]]
    assert np.allclose(filled.vectors("sentence", [5, 0, 3]), want, atol=1e-6)
    assert np.allclose(filled.vectors("chunk", [2]), _unit(len(CHUNKS), 1)[[2]], atol=1e-6)


def test_lexical_ranks_by_bm25_and_scores_any_sentence(filled):
    hits = filled.lexical(terms("alpha flood"), 2)
    assert list(hits.ids[:1]) in ([0], [1])  # both terms ("floods" and "flood" stem alike)
    assert len(hits.ids) == 2 and list(hits.scores) == sorted(hits.scores, reverse=True)
    others = hits.scores_of([3, 5, 0])
    assert others[0] == 0.0 and others[1] > 0 and others[2] > 0  # 3 has neither term
    assert filled.lexical(terms("zebra"), 5).ids.size == 0


def test_lexical_under_a_filter(filled):
    hits = filled.lexical(terms("gamma lake"), 10, Where(frozenset({"south"})))
    assert sorted(hits.ids) == [3, 4]
    assert filled.lexical(terms("gamma"), 10, NORTH).ids.size == 0
    assert filled.lexical(terms("gamma"), 10, NORTH).scores_of([3])[0] == 0.0  # outside the filter


def test_upsert_replaces_by_id(filled):
    moved = sentence_pieces(ids=[2], seed=7)
    filled.upsert(moved)
    assert filled.count("sentence") == 6
    assert np.allclose(filled.vectors("sentence", [2]), moved.vectors, atol=1e-6)
    _, ids = filled.dense("sentence", moved.vectors[0], 1)
    assert ids[0] == 2


def test_upsert_replaces_the_terms_too_even_across_collections(filled):
    """A sentence upserted with new text into another collection is found by its new words
    there, once, and no longer by its old words in its old collection."""
    moved = Pieces("sentence", np.array([3]), ["north/e.md"], _unit(1, 9), ["Zebra crossing at the zebra bridge"])
    filled.upsert(moved)
    assert filled.lexical(terms("gamma lake"), 10, Where(frozenset({"south"}))).ids.tolist() == [4]
    assert filled.lexical(terms("zebra"), 10, NORTH).ids.tolist() == [3]
    assert filled.lexical(terms("zebra"), 10).ids.tolist() == [3]
    assert filled.count("sentence", NORTH) == 4 and filled.count("sentence") == 6


def test_delete_document_removes_its_pieces_everywhere(filled):
    assert filled.delete_document("south/c.md") == 3  # two sentences and a chunk
    assert filled.count("sentence") == 4 and filled.count("chunk") == 3
    assert filled.lexical(terms("gamma skaters"), 10).ids.tolist() == [5]
    _, ids = filled.dense("sentence", _unit(len(SENTENCES), 0)[3], 10)
    assert 3 not in ids and 4 not in ids
    assert filled.delete_document("nothing.md") == 0


def test_hostile_names_are_only_data(make):
    """Document and folder names never become part of a filter expression."""
    backend = make()
    docs = ['we"ird/x.md', 'we"ird/x.md', "a] or coll in [1/y.md", "top.md", "top.md", "top.md"]
    backend.upsert(Pieces("sentence", np.arange(6), docs, _unit(6, 0), [t for _, t in SENTENCES]))
    assert backend.count("sentence", Where(frozenset({'we"ird'}))) == 2
    assert backend.count("sentence", Where(frozenset({"a] or coll in [1"}))) == 1
    assert backend.delete_document('we"ird/x.md') == 2 and backend.count("sentence") == 4


def test_bm25_scores_agree_with_the_faiss_backend(make):
    """The same terms score the same on every backend (bm25s's k1 and b; rounding aside)."""
    reference = FaissBackend(DIM)
    reference.upsert(sentence_pieces())
    backend = make()
    backend.upsert(sentence_pieces())
    for text in ("alpha river", "lake gamma gamma", "1710 bridge", "valley"):
        query = terms(text)
        want, got = reference.lexical(query, 6), backend.lexical(query, 6)
        assert sorted(got.ids.tolist()) == sorted(want.ids.tolist())
        assert np.allclose(got.scores_of(list(range(6))), want.scores_of(list(range(6))), rtol=1e-4, atol=1e-6)


def test_bm25_of_a_collection_is_its_own(make):
    """BM25's statistics are those of a sentence's own collection: another collection's documents
    never move its scores (they would leak what that collection holds), whether they change or the
    search takes in several collections."""
    backend = make()
    backend.upsert(sentence_pieces())
    alone = make()  # the "north" collection with nothing beside it
    alone.upsert(sentence_pieces(ids=[0, 1, 2]))
    north = [0, 1, 2]
    for text in ("alpha river flood", "bridge of beta", "lake"):
        query = terms(text)
        want = alone.lexical(query, 3).scores_of(north)
        assert np.allclose(backend.lexical(query, 3, NORTH).scores_of(north), want, rtol=1e-4, atol=1e-6)
        assert np.allclose(backend.lexical(query, 6).scores_of(north), want, rtol=1e-4, atol=1e-6)
    query = terms("alpha river flood")
    before = backend.lexical(query, 3, NORTH)
    # "south" changes: it gains sentences full of the query's terms and loses a document
    backend.upsert(Pieces("sentence", np.arange(6, 10), ["south/d.md"] * 4, _unit(4, 5),
                          ["Alpha river", "the river floods", "a flood of alpha", "river river river"]))
    backend.delete_document("south/c.md")
    after = backend.lexical(query, 3, NORTH)
    assert after.ids.tolist() == before.ids.tolist()
    assert np.allclose(after.scores, before.scores, rtol=1e-4, atol=1e-6)
    assert np.allclose(backend.lexical(query, 10).scores_of(north), before.scores_of(north), rtol=1e-4, atol=1e-6)


def test_a_server_build_drops_the_builds_before_the_previous_one(lite_server, tmp_path):
    """On a Milvus server a saved build drops every collection (lexical ones too) of the builds
    before the one it replaces, which a server may still be answering from."""
    from qa.index.milvus_backend import MilvusBackend

    builds = []
    for name in ("zz1", "zz2", "zz3"):  # build names sort by time
        backend = MilvusBackend.create(lite_server, tmp_path, name, DIM)
        backend.upsert(sentence_pieces())
        backend.save(tmp_path)
        builds.append(backend)
    left = set(builds[-1]._client.list_collections())
    try:
        assert not any(n.startswith("qa_zz1_") for n in left)
        for b in builds[1:]:
            mine = {*b._names.values(), *b._lexical}
            assert len(mine) == 5 and mine <= left  # sentence, chunk and the lexical ones of north, south, "."
    finally:
        for b in builds:
            for name in [*b._names.values(), *b._lexical]:
                if b._client.has_collection(name):
                    b._client.drop_collection(name)
            b.close()
