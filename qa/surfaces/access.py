"""Collections and who may see them: the access file.

The corpus's top-level folders are its collections ("." for the files at the top;
``qa.index.backend.collection_of``). With ``access_file`` set, every question, document view,
feedback and health count needs a key, and a key sees only the collections the file grants it.
The file (JSON, written by the admin page's Access tab) holds no keys, only their SHA-256::

    {"secret": "<random, signs document links>",
     "keys": [{"sha256": "<hex of the key>", "name": "sales team", "collections": ["sales", "."]}]}

A document link handed out with an answer carries a token (an HMAC of the document id under the
file's secret), so the person who got the answer can open its document without sending the key
again, and nobody can open a document of a collection they were never shown.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from qa.core.errors import QAError
from qa.index.backend import collection_of


@dataclass(frozen=True)
class Grant:
    """What one key may see."""

    name: str
    collections: frozenset[str] | None  # None: every collection (the operator's api_key)

    def sees(self, doc_id: str) -> bool:
        return self.collections is None or collection_of(doc_id) in self.collections


EVERYTHING = Grant("api_key", None)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class Access:
    """The access file, re-read when it changes on disk (edited here or by hand)."""

    def __init__(self, path: Path | str | None):
        self.path = Path(path) if path else None
        self._lock = threading.Lock()
        self._seen: tuple | None = None
        self._data: dict = {"secret": "", "keys": []}

    @property
    def enabled(self) -> bool:
        return self.path is not None

    def _read(self) -> dict:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return {"secret": "", "keys": []}
        except OSError as e:
            raise QAError(f"cannot read the access file {self.path} ({e.strerror})") from None
        stamp = (st.st_mtime_ns, st.st_size)
        with self._lock:
            if stamp != self._seen:
                try:
                    data = json.loads(self.path.read_text(encoding="utf-8"))
                    keys = [{"sha256": str(k["sha256"]), "name": str(k.get("name", "")),
                             "collections": sorted(str(c) for c in k["collections"])} for k in data.get("keys", [])]
                except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
                    raise QAError(f"the access file {self.path} is malformed ({e}); fix it or edit it on the "
                                  "admin page's Access tab") from None
                self._data, self._seen = {"secret": str(data.get("secret", "")), "keys": keys}, stamp
            return self._data

    def grant(self, key: str | None) -> Grant | None:
        """What ``key`` may see; None for a missing or unknown key."""
        if not key:
            return None
        want = key_hash(key)
        for k in self._read()["keys"]:
            if hmac.compare_digest(k["sha256"], want):
                return Grant(k["name"], frozenset(k["collections"]))
        return None

    def rows(self) -> list[dict]:
        """The keys for the admin page: name, collections and the start of the key's hash."""
        return [{"name": k["name"], "collections": k["collections"], "key": k["sha256"][:12]}
                for k in self._read()["keys"]]

    def add(self, name: str, collections: list[str]) -> str:
        """Grant a new key ``collections``; returns the key (shown once, stored only as a hash)."""
        name = " ".join((name or "").split())[:100]
        wanted = sorted({c.strip() for c in collections if c and c.strip()})
        if not name or not wanted:
            raise QAError("give the key a name and at least one collection")
        key = secrets.token_urlsafe(24)
        data = dict(self._read())
        data["keys"] = data["keys"] + [{"sha256": key_hash(key), "name": name, "collections": wanted}]
        self._write(data)
        return key

    def remove(self, hash_prefix: str) -> int:
        """Revoke the keys whose hash starts with ``hash_prefix`` (12+ characters); returns how many."""
        prefix = (hash_prefix or "").strip().lower()
        if len(prefix) < 12:
            raise QAError("give the first 12 characters of the key's hash, as the table shows them")
        data = dict(self._read())
        kept = [k for k in data["keys"] if not k["sha256"].startswith(prefix)]
        gone = len(data["keys"]) - len(kept)
        if gone:
            data["keys"] = kept
            self._write(data)
        return gone

    def _write(self, data: dict) -> None:
        data = {"secret": data.get("secret") or secrets.token_urlsafe(32), "keys": data["keys"]}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + f".tmp-{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # key hashes: not for every reader
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2)
        os.replace(tmp, self.path)

    def sign(self, doc_id: str) -> str:
        """The token of a document link (empty while no key has been made: nothing to open then)."""
        secret = self._read()["secret"]
        if not secret:
            return ""
        mac = hmac.new(secret.encode(), doc_id.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac[:18]).decode()

    def signed(self, doc_id: str, token: str | None) -> bool:
        want = self.sign(doc_id)
        return bool(want and token) and hmac.compare_digest(want, token)
