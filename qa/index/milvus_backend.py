"""The Milvus search backend (pymilvus): Milvus collections per build, named after it.

- Dense: a collection per kind of piece (``<build>_sentence``, ``<build>_chunk``), HNSW over
  inner product (M=32, efConstruction=40, as FAISS's HNSW here; ef = max(128, 2k) per search),
  on the same unit vectors FAISS gets.
- Lexical: Milvus's built-in BM25 function over each sentence's terms, in a collection per
  corpus collection (``<build>_lexical_<key>``, made when its first sentence comes): Milvus keeps
  BM25's statistics (document frequencies, average length) per Milvus collection, partitions and
  partition keys included, so only separate collections keep one corpus collection's documents
  out of another's scores. A search over several runs one BM25 search in each and merges the
  scores. The terms are ours (``qa.core.text.terms``: stemming, stop words, compounds), written
  space-separated in a form the standard analyzer keeps whole (``_token``), and BM25 is set to
  bm25s's k1=1.5, b=0.75, so both backends score the same terms the same way up to rounding.
- Filters: a piece carries 64-bit keys of its document and collection (``_key``); every filter is
  a list of integers, and a lexical collection is named by its key, so no document or folder
  name is ever spliced into a Milvus expression or name.
- Where: ``milvus_uri`` "" keeps a milvus-lite database in the build folder (``milvus.db``; one
  process at a time, so it suits ``qa build``/``qa ask``/a single server); a server address
  (Milvus standalone or distributed, or ``milvus-lite server``) lets several app servers share
  it. A build makes new collections and drops those of builds older than the one it replaces (a
  server still answering from that one keeps it until it reloads).

Milvus returns at most 16,384 entities per request, so reads and writes go in batches.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from qa.core.errors import IndexStateError
from qa.core.text import terms
from qa.index.backend import BM25_SCOPE, KINDS, LexicalHits, Pieces, Where, collection_of

log = logging.getLogger(__name__)

LITE_FILE = "milvus.db"
PREFIX = "qa_"
HNSW = {"M": 32, "efConstruction": 40}  # qa/index/vectors.py's HNSW_M, HNSW_EF_CONSTRUCTION
EF_SEARCH = 128
BM25 = {"bm25_k1": 1.5, "bm25_b": 0.75}  # bm25s's defaults, which the FAISS backend uses
_SCALE = 1 / (1 + BM25["bm25_k1"])  # Milvus's BM25 keeps the (k1 + 1) factor that bm25s's Lucene form drops
BATCH = 4000
MAX_TEXT_BYTES = 60000  # under Milvus's VARCHAR limit of 65,535 bytes
_PLAIN = re.compile(r"[a-wyz0-9][a-z0-9]*")
#: A build's collections: "<stem>_sentence", "<stem>_chunk" and "<stem>_lexical_<16 hex digits>".
_OF_BUILD = re.compile(r"(qa_\w+?)_(?:sentence|chunk|lexical_[0-9a-f]{16})")


def _key(text: str) -> int:
    """A signed 64-bit key of a document id or collection name (filters compare integers)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big",
                          signed=True)


def _token(term: str) -> str:
    """``term`` as one token of Milvus's standard analyzer: plain lowercase letters and digits
    stay as they are; anything else (hyphens, apostrophes, accents) becomes "x" + its hex, which
    no plain token starts with, so no two terms meet."""
    return term if _PLAIN.fullmatch(term) else "x" + term.encode("utf-8", "surrogatepass").hex()


def lexical_text(text: str) -> str:
    """What the BM25 function indexes for a sentence's lexical text."""
    out = " ".join(_token(t) for t in terms(text)).encode("utf-8")[:MAX_TEXT_BYTES]
    return out.decode("utf-8", "ignore").rsplit(" ", 1)[0] if len(out) == MAX_TEXT_BYTES else out.decode("utf-8")


def _nested(params: dict) -> dict:
    """Index parameters as one JSON "params" entry, the form every Milvus server reads; pymilvus
    sends a plain dict as separate entries, which milvus-lite ignores (it then built HNSW with
    its defaults, M=16 and efConstruction=200)."""
    return {"params": params}


def _ints(values) -> str:
    return "[" + ", ".join(str(int(v)) for v in values) + "]"


def _connect(uri: str, folder: Path):
    from pymilvus import MilvusClient
    from pymilvus.exceptions import MilvusException

    where = uri or str(folder / LITE_FILE)
    try:
        return MilvusClient(uri=where, timeout=10) if uri else MilvusClient(where)
    except MilvusException as e:
        if not uri:
            raise IndexStateError(
                f"cannot open the milvus-lite database {where} ({e.message}): it serves one process at a time, "
                "and another (a running `qa serve`?) may hold it. Run `milvus-lite server --data-dir DIR` and "
                "set QA_MILVUS_URI=http://127.0.0.1:19530 to share it") from None
        raise IndexStateError(f"cannot reach Milvus at {uri} ({e.message}); start it or fix QA_MILVUS_URI") from None


class MilvusBackend:
    name = "milvus"

    def __init__(self, client, collections: dict[str, str], dim: int, uri: str, lite_path: str = ""):
        self._client = client
        self._names = collections  # kind -> its Milvus collection
        self._stem = collections["sentence"].removesuffix("_sentence")
        self._lexical = {n for n in client.list_collections() if n.startswith(f"{self._stem}_lexical_")}
        self.dim = dim
        self._uri = uri
        self._lite_path = lite_path

    @classmethod
    def create(cls, uri: str, folder: Path, build: str, dim: int) -> "MilvusBackend":
        from pymilvus import DataType

        client = _connect(uri, folder)
        stem = PREFIX + re.sub(r"\W", "_", build)
        names = {kind: f"{stem}_{kind}" for kind in KINDS}
        for name in [*names.values(), *(n for n in client.list_collections() if n.startswith(f"{stem}_lexical_"))]:
            if client.has_collection(name):
                client.drop_collection(name)
        for name in names.values():
            schema = client.create_schema(auto_id=False)
            schema.add_field("id", DataType.INT64, is_primary=True)
            schema.add_field("doc", DataType.INT64)
            schema.add_field("coll", DataType.INT64)
            schema.add_field("vec", DataType.FLOAT_VECTOR, dim=dim)
            index = client.prepare_index_params()
            index.add_index("vec", index_type="HNSW", metric_type="IP", params=_nested(HNSW))
            client.create_collection(name, schema=schema, index_params=index)
        return cls(client, names, dim, uri, "" if uri else str(folder / LITE_FILE))

    def _create_lexical(self, name: str) -> None:
        """The BM25 collection of one corpus collection: its sentences' terms and nothing else."""
        from pymilvus import DataType, Function, FunctionType

        schema = self._client.create_schema(auto_id=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("doc", DataType.INT64)
        schema.add_field("text", DataType.VARCHAR, max_length=65535, enable_analyzer=True,
                         analyzer_params={"tokenizer": "standard"})
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                     input_field_names=["text"], output_field_names=["sparse"]))
        index = self._client.prepare_index_params()
        index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params=_nested(BM25))
        self._client.create_collection(name, schema=schema, index_params=index)
        self._lexical.add(name)

    @classmethod
    def open(cls, uri: str, folder: Path, info: dict) -> "MilvusBackend":
        names = info.get("collections") or {}
        # (a build from before BM25 was kept per collection opens too, to lend its vectors: it is stale)
        if set(names) != set(KINDS) or bool(info.get("lite")) != (not uri):
            where = "a milvus-lite database in its folder" if info.get("lite") else "a Milvus server"
            raise IndexStateError(f"the index in {folder} was built with {where}, not with milvus_uri={uri!r}; "
                                  "run `qa build`")
        client = _connect(uri, folder)
        for name in names.values():
            if not client.has_collection(name):
                raise IndexStateError(f"the Milvus collection {name} of the index in {folder} is gone; run `qa build`")
        self = cls(client, dict(names), int(info["dim"]), uri, "" if uri else str(folder / LITE_FILE))
        for name in [*names.values(), *sorted(self._lexical)]:
            client.load_collection(name)
        return self

    def save(self, folder: Path) -> dict:
        for name in [*self._names.values(), *sorted(self._lexical)]:
            self._client.flush(name)
        if self._uri:
            self._drop_old()
        return {"name": self.name, "collections": dict(self._names), "dim": self.dim, "lite": not self._uri,
                "bm25": BM25_SCOPE}

    def _drop_old(self) -> None:
        """Drop the collections of builds before the latest other one (kept for servers that
        have not reloaded yet). Build names sort by time."""
        builds: dict[str, list[str]] = {}
        for n in self._client.list_collections():
            m = _OF_BUILD.fullmatch(n)
            if m and m.group(1) != self._stem:
                builds.setdefault(m.group(1), []).append(n)
        for stem in sorted(builds)[:-1]:
            for name in builds[stem]:
                if self._client.has_collection(name):
                    self._client.drop_collection(name)

    def close(self) -> None:
        try:
            self._client.close()
        except Exception:  # noqa: BLE001 -- closing a connection that is already gone
            pass
        if self._lite_path:  # pymilvus keeps a milvus-lite database open (and locked) until told
            from milvus_lite.server_manager import server_manager_instance

            server_manager_instance.release_server(self._lite_path)

    # -- storing ---------------------------------------------------------------------------

    def _lexical_name(self, coll_key: int) -> str:
        return f"{self._stem}_lexical_{coll_key % (1 << 64):016x}"

    def upsert(self, pieces: Pieces) -> None:
        name = self._names[pieces.kind]
        # into an empty collection, ids once each: insert, which skips upsert's look-up of every id
        fresh = self.count(pieces.kind) == 0 and len(np.unique(pieces.ids)) == len(pieces.ids)
        write = self._client.insert if fresh else self._client.upsert
        keys: dict[str, tuple[int, int]] = {}
        for b in range(0, len(pieces.ids), BATCH):
            part = range(b, min(b + BATCH, len(pieces.ids)))
            rows = []
            for j in part:
                doc = pieces.docs[j]
                if doc not in keys:
                    keys[doc] = (_key(doc), _key(collection_of(doc)))
                rows.append({"id": int(pieces.ids[j]), "doc": keys[doc][0], "coll": keys[doc][1],
                             "vec": np.asarray(pieces.vectors[j], np.float32).tolist()})
            if pieces.kind == "sentence":
                self._upsert_terms(pieces, part, rows, replacing=not fresh)
            write(name, rows)

    def _upsert_terms(self, pieces: Pieces, part: range, rows: list[dict], replacing: bool) -> None:
        """The sentences' terms into the BM25 collection of each one's corpus collection; a
        sentence that moves to another collection leaves its old one."""
        if replacing:
            now = {r["id"]: r["coll"] for r in rows}
            before = self._client.query(self._names["sentence"], filter=f"id in {_ints(now)}", output_fields=["coll"])
            moved: dict[int, list[int]] = {}
            for r in before:
                if r["coll"] != now[int(r["id"])]:
                    moved.setdefault(int(r["coll"]), []).append(int(r["id"]))
            for coll, ids in moved.items():
                if self._lexical_name(coll) in self._lexical:
                    self._client.delete(self._lexical_name(coll), filter=f"id in {_ints(ids)}")
        by_coll: dict[int, list[dict]] = {}
        for j, row in zip(part, rows):
            by_coll.setdefault(row["coll"], []).append({"id": row["id"], "doc": row["doc"],
                                                        "text": lexical_text(pieces.texts[j])})
        for coll, terms_rows in by_coll.items():
            name = self._lexical_name(coll)
            if name not in self._lexical:
                self._create_lexical(name)
            (self._client.upsert if replacing else self._client.insert)(name, terms_rows)

    def delete_document(self, doc_id: str) -> int:
        gone = 0
        for name in self._names.values():
            got = self._client.delete(name, filter=f"doc == {_key(doc_id)}")
            gone += got.get("delete_count", 0) if isinstance(got, dict) else len(got)
        lexical = self._lexical_name(_key(collection_of(doc_id)))
        if lexical in self._lexical:
            self._client.delete(lexical, filter=f"doc == {_key(doc_id)}")
        return gone

    # -- searching -------------------------------------------------------------------------

    @staticmethod
    def _filter(where: Where | None) -> str:
        return "" if where is None else f"coll in {_ints(_key(c) for c in sorted(where.collections))}"

    def dense(self, kind: str, query: np.ndarray, k: int, where: Where | None = None) -> tuple[np.ndarray, np.ndarray]:
        if k < 1:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        hits = self._client.search(self._names[kind], data=[np.asarray(query, np.float32).reshape(-1).tolist()],
                                   anns_field="vec", limit=k, filter=self._filter(where), output_fields=["id"],
                                   search_params={"metric_type": "IP", "params": {"ef": max(EF_SEARCH, 2 * k)}})[0]
        return (np.array([h["distance"] for h in hits], np.float32), np.array([h["id"] for h in hits], np.int64))

    def _bm25(self, name: str, text: str, limit: int, expr: str = "") -> list[tuple[float, int]]:
        # milvus-lite reports BM25 as a negative distance, Milvus as a positive score: the size is the
        # score, times (k1 + 1) against bm25s's Lucene form (``_SCALE`` takes it out)
        hits = self._client.search(name, data=[text], anns_field="sparse", limit=limit, filter=expr,
                                   output_fields=["id"], search_params={"metric_type": "BM25"})[0]
        return [(abs(float(h["distance"])) * _SCALE, int(h["id"])) for h in hits]

    def _searched(self, where: Where | None) -> list[str]:
        """The BM25 collections of the corpus collections searched."""
        if where is None:
            return sorted(self._lexical)
        return [n for n in (self._lexical_name(_key(c)) for c in sorted(where.collections)) if n in self._lexical]

    def lexical(self, query_terms: list[str], k: int, where: Where | None = None) -> LexicalHits:
        text = " ".join(_token(t) for t in query_terms)
        names = self._searched(where) if text and k >= 1 else []
        # each collection scored by its own statistics, side by side; ties in id order, as FAISS breaks them
        found = sorted((sh for name in names for sh in self._bm25(name, text, k) if sh[0] > 0),
                       key=lambda sh: (-sh[0], sh[1]))[:k]
        known = {i: s for s, i in found}

        def score_of(ids: list[int]) -> np.ndarray:
            want = [i for i in dict.fromkeys(ids) if i not in known]
            got = dict(known)
            for b in range(0, len(want), BATCH):
                part = want[b:b + BATCH]
                for name in names:
                    got.update((i, s) for s, i in self._bm25(name, text, len(part), f"id in {_ints(part)}"))
            return np.array([got.get(i, 0.0) for i in ids], np.float32)

        return LexicalHits(np.array([i for _, i in found], np.int64), np.array([s for s, _ in found], np.float32),
                           score_of if text else (lambda ids: np.zeros(len(ids), np.float32)))

    def vectors(self, kind: str, ids: Sequence[int]) -> np.ndarray:
        ids = [int(i) for i in ids]
        got: dict[int, list] = {}
        for b in range(0, len(ids), BATCH):
            for row in self._client.get(self._names[kind], ids=ids[b:b + BATCH], output_fields=["vec"]):
                got[int(row["id"])] = row["vec"]
        missing = [i for i in ids if i not in got]
        if missing:
            raise KeyError(f"unknown {kind} ids {missing[:5]}")
        return np.array([got[i] for i in ids], np.float32).reshape(len(ids), self.dim)

    def count(self, kind: str, where: Where | None = None) -> int:
        rows = self._client.query(self._names[kind], filter=self._filter(where), output_fields=["count(*)"])
        return int(rows[0]["count(*)"])
