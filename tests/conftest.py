"""Shared fixtures.

- ``fake_embedder``: a deterministic hashed bag-of-words embedder (no model, instant), for unit
  tests of everything around the model.
- ``isolated`` (autouse): points QA_HOME/QA_CONFIG away from the repo, so no test reads or
  writes the developer's qa.toml or index.
- ``tiny_corpus`` / ``tiny_settings``: a small corpus in ``tmp_path`` with its own index folder.
- ``real_qa`` (session): the real packaged model over the real seed corpus, index built once
  into a temporary folder. Tests using it are marked ``integration``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from qa.core.config import load_settings
from qa.core.text import words

REPO = Path(__file__).resolve().parents[1]
SEED_CORPUS = REPO / "corpus"

TINY_DOC = """= Tiny Treaty =

The Tiny Treaty is an agreement between Alpha and Beta. It was signed to promote trade.

==History==
The treaty was signed on 3 May 1999 in Gamma City. Dr. Jane Q. Smith chaired the signing.
The parties met again on 7 June 2001 in Delta.

==Goals==
The treaty lists three goals:
- Lower tariffs between Alpha and Beta
- Shared ports on the coast
- Joint research on fisheries
"""


#: What an answer card may contain: our own elements and attributes only, links only to our own
#: source cards and document view (qa/surfaces/render.py).
SAFE_TAGS = {"div", "p", "span", "a", "ol", "li", "blockquote", "mark", "strong", "details", "summary"}
SAFE_ATTRS = {"class", "id", "href", "title", "aria-label", "data-qa-source", "open"}


def assert_safe_html(html: str) -> None:
    """No element, attribute or link of anyone else's survives in a rendered answer."""
    from html.parser import HTMLParser

    found = []

    class Parser(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    Parser(convert_charrefs=True).feed(html)
    for tag, attrs in found:
        assert tag in SAFE_TAGS, (tag, html[:300])
        for name, value in attrs:
            assert name in SAFE_ATTRS, (tag, name, html[:300])
            if name == "href":
                assert value.startswith(("#qa-", "/doc/")), (value, html[:300])


class FakeEmbedder:
    """Hashed bag of words: similar wording -> similar vectors. Deterministic across runs."""

    name = "fake/bow"
    dim = 64

    def __init__(self):
        self.calls = 0

    def warm_up(self):
        pass

    def encode(self, texts, batch_size=64, progress=False):
        self.calls += 1
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for w in words(text):
                h = int.from_bytes(hashlib.blake2b(w.encode(), digest_size=4).digest(), "little")
                out[row, h % self.dim] += 1.0
            norm = np.linalg.norm(out[row])
            out[row] = out[row] / norm if norm else out[row]
            if not norm:
                out[row, 0] = 1.0
        return out


@pytest.fixture(autouse=True)
def isolated(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("qa-home")
    monkeypatch.setenv("QA_CONFIG", str(home / "qa.toml"))
    for var in list(os.environ):
        if var.startswith("QA_") and var != "QA_CONFIG":
            monkeypatch.delenv(var, raising=False)
    yield


@pytest.fixture
def fake_embedder():
    return FakeEmbedder()


@pytest.fixture
def tiny_corpus(tmp_path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "tiny.txt").write_text(TINY_DOC, encoding="utf-8")
    return folder


@pytest.fixture
def tiny_settings(tiny_corpus, tmp_path):
    return load_settings(corpus_dir=tiny_corpus, index_dir=tmp_path / "index")


@pytest.fixture
def tiny_qa(tiny_settings, fake_embedder):
    """A warmed-up QA over the tiny corpus with the fake embedder and the fake reader
    (tests/fakes.py) that never abstains."""
    from qa.answer.pipeline import QA
    from fakes import FakeReader

    qa = QA(tiny_settings.replace(abstain_threshold=0.0), embedder=fake_embedder, reader=FakeReader())
    qa.warm_up()
    return qa


@pytest.fixture(scope="module")
def seed_fake_qa(tmp_path_factory):
    """A warmed-up QA over a copy of the seed corpus with the fake embedder, the fake reader
    (answering the declaration's date) and default settings, one per test module (for the
    server, API and load tests)."""
    from qa.core.config import Settings
    from qa.answer.pipeline import QA
    from fakes import FakeReader

    root = tmp_path_factory.mktemp("seed-fake")
    shutil.copytree(SEED_CORPUS, root / "corpus")
    qa = QA(Settings().replace(corpus_dir=root / "corpus", index_dir=root / "index"), embedder=FakeEmbedder(),
            reader=FakeReader({"When was the dialogue declared?": "28 August 2004"}))
    qa.warm_up()
    return qa


def shared_onnx_cache() -> Path:
    """One exported ONNX model per machine for the test suite (verified by hash on every use)."""
    import tempfile

    return Path(os.environ.get("QA_TEST_ONNX_CACHE") or Path(tempfile.gettempdir()) / f"qa-test-onnx-{os.getuid()}")


@pytest.fixture(scope="session")
def onnx_cache() -> Path:
    """The shared ONNX cache, exported first if this is the machine's first test run (a test that
    needs a warm cache must not depend on another test having run before it)."""
    from qa.embed.onnx import OnnxEmbedder

    folder = shared_onnx_cache()
    folder.mkdir(exist_ok=True)
    OnnxEmbedder(cache_dir=folder).warm_up()
    return folder


@pytest.fixture(scope="session")
def real_index_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("real-index")


@pytest.fixture(scope="session")
def real_qa(real_index_dir):
    """The real model and a real index over a copy of the seed corpus (built once per session)."""
    from qa.core.config import Settings
    from qa.answer.pipeline import QA

    corpus = real_index_dir.parent / "seed-corpus"
    if not corpus.exists():
        shutil.copytree(SEED_CORPUS, corpus)
    # Settings from the repo's qa.toml (the calibrated weights users get), paths redirected.
    settings = Settings().replace(corpus_dir=corpus, index_dir=real_index_dir)
    cfg = REPO / "qa.toml"
    if cfg.is_file():
        os.environ["QA_CONFIG"] = str(cfg)
        try:
            settings = load_settings(corpus_dir=corpus, index_dir=real_index_dir)
        finally:
            del os.environ["QA_CONFIG"]
    qa = QA(settings)
    qa.warm_up()
    return qa
