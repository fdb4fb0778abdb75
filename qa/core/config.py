"""All settings in one dataclass: defaults here, then ``qa.toml``, then ``QA_*`` env vars,
then per-call overrides (``settings.replace(top_k=3)``), the last one winning.

``qa.toml`` sits at the project root (or at ``$QA_CONFIG``); ``qa eval --calibrate --write``
stores the fitted confidence weights and threshold there, so they come from the dev set
rather than from someone's hand.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from qa.core.errors import QAError

#: Field metadata of a setting that is a secret: never written to a report, a manifest, a log or
#: a child's environment (``secret_names``; ``public_settings`` is the dump every writer uses).
SECRET = {"secret": True}

#: The project folder (holds ``corpus/``, ``index/``, ``qa.toml``). ``QA_HOME`` overrides it,
#: so an installed package never depends on the directory the process started in.
PROJECT_ROOT = Path(os.environ.get("QA_HOME", Path(__file__).resolve().parents[2]))


def _default_confidence_weights() -> dict[str, float]:
    # The reader's confidence (qa/answer/confidence.py FEATURES) as fitted by scripts/calibrate.py on the
    # seed dev set and the held-out tune articles together; qa.toml holds the same numbers.
    return {"bias": -4.9089, "reader": 2.4414, "rank": 1.1167, "dense": 2.444, "entity": 1.3721}


def _default_fusion_weights() -> dict[str, float]:
    # Weights of the sentence-scoring signals for ``fusion = "weighted"`` (qa/answer/retrieval.py).
    return {"dense": 1.0, "chunk_dense": 0.75, "lexical": 0.1, "coverage": 0.75, "entity": 0.25, "novelty": 0.25}


@dataclass(frozen=True)
class ChunkSettings:
    """Chunker knobs; part of the index manifest, so changing them rebuilds the index."""

    target_chars: int = 700  # a chunk grows by whole sentences until it would pass this
    overlap: int = 1  # sentences repeated at the start of the next chunk of a section

    def __post_init__(self):
        if self.target_chars < 50:
            raise ValueError(f"target_chars={self.target_chars} is too small; use at least 50")
        if not 0 <= self.overlap < 10:
            raise ValueError(f"overlap={self.overlap} must be between 0 and 9 sentences")


@dataclass(frozen=True)
class Settings:
    corpus_dir: Path = PROJECT_ROOT / "corpus"  # folder of documents: .txt, .md, .pdf, .html, .docx
    index_dir: Path = PROJECT_ROOT / "index"  # where the built index lives
    chunk_chars: int = 700  # target chunk size in characters (whole sentences only)
    chunk_overlap: int = 1  # sentences shared by consecutive chunks
    context_prefix: bool = True  # embed "Title — Section: sentence" rather than the bare sentence
    # "auto" (ONNX fp32 when onnxruntime is installed, else torch), "onnx" (fp32, same vectors as torch
    # to ~1e-7), "onnx-int8" (dynamic int8: faster, vectors move slightly) or "torch" (sentence-transformers)
    embedding_backend: str = "auto"
    batch_size: int = 16  # texts per embedding batch when building (16 beat 64 for torch fp32 and bf16, ties for ONNX)
    # Precision of the stored vectors: "auto" = bf16 for builds of 2,000+ texts on a CPU with bf16
    # matrix units (AMX / AVX512-BF16) when torch is installed, else fp32; "fp32"; "bf16" (fails
    # on CPUs without such units). Questions are always embedded by embedding_backend.
    build_precision: str = "auto"
    # Where the vectors and terms are searched: "faiss" (FAISS + BM25 in this process, files in the index
    # folder) or "milvus" (a Milvus collection: milvus-lite in the index folder, or the server at milvus_uri).
    vector_backend: str = "faiss"
    # "" = a milvus-lite database inside each build folder (one process at a time); a server's address
    # ("http://milvus.internal:19530", a `milvus-lite server` too) for several processes or machines.
    milvus_uri: str = ""
    top_k: int = 3  # sources shown under an answer (compact cards; each expands to its whole passage)
    candidates: int = 50  # results taken from each retriever before fusion
    fusion: str = "weighted"  # "weighted" (signals, weights below) or "rrf" (reciprocal rank fusion)
    rrf_k: int = 60  # the k of reciprocal rank fusion
    fusion_weights: dict = field(default_factory=_default_fusion_weights)
    # The span reader: "" = the one shipped in qa/models (reader-int8.onnx), or the path of another ONNX
    # reader exported by `qa train ship` (same inputs and outputs; see qa/models/README.md).
    reader_model: str = ""
    reader_passages: int = 4  # passages the reader (qa/models/reader-int8.onnx) reads per question
    # Show the longest span around the reader's best one that scores within this many logits of it:
    # longer answers contain the gold more often, exact matches get rarer (chosen on the tune articles)
    reader_widen: float = 0.75
    history_rewrite: bool = True  # add the previous turn's topic words to follow-up questions
    spell_correct: bool = True  # correct unknown words to the documents' own (qa/answer/spelling.py)
    confidence_weights: dict = field(default_factory=_default_confidence_weights)
    abstain_threshold: float = 0.11  # answer only when confidence >= this (0..1; calibrated, see qa.toml)
    # Answers with confidence below this are shown as uncertain ("check the sources"); `qa eval
    # --calibrate` sets it where the dev set's answers at or above it are right >= 85% of the time.
    sure_threshold: float = 0.78
    max_question_chars: int = 2000  # longer questions are rejected with a clear message
    max_file_bytes: int = 50_000_000  # corpus files larger than this are skipped, with the reason, at build
    host: str = "127.0.0.1"  # where `qa serve` / app.py listen; 0.0.0.0 exposes it to the network
    port: int = 7860
    # Who may call the HTTP API from a browser (CORS) and frame the chat (CSP frame-ancestors):
    # comma-separated origins, "*" wildcards allowed ("https://docs.example.com, https://*.corp.example,
    # http://localhost:*"); "*" alone allows everyone; "" = same origin plus localhost/127.0.0.1, any port.
    allowed_origins: str = ""
    api_key: str = field(default="", repr=False, metadata=SECRET)  # when set, POST /api/ask needs "Authorization: Bearer KEY" or "X-API-Key: KEY"
    max_request_bytes: int = 65536  # larger request bodies to /api/* are refused with 413
    # The admin pages (/admin: evaluation, uploads) need this key (HTTP Basic password, "Authorization:
    # Bearer KEY" or "X-Admin-Key: KEY"). Unset, they are open only on a loopback bind, to this machine.
    admin_key: str = field(default="", repr=False, metadata=SECRET)
    header_timeout: float = 10.0  # seconds a client has to send a request's headers, then it is disconnected
    body_timeout: float = 60.0  # seconds a client has to send a request's body once its headers are in
    # Open connections served at once; beyond it the one waiting longest without a whole request is closed.
    max_connections: int = 2000
    # Connections one client address (an IPv6 /64) may hold open; beyond it its new ones are closed at once.
    max_connections_per_client: int = 64
    # Long-lived streams (Gradio's heartbeat and event streams) one client address may hold at
    # once; more get 429. A chat tab holds one, plus one while an answer is being written.
    max_streams_per_client: int = 16
    stream_seconds: float = 3600.0  # a stream is ended after this long (the browser reconnects)
    # Votes one client address may store: a burst of feedback_burst, then one every
    # feedback_interval seconds. A vote over the limit gets 429 and is not stored.
    feedback_burst: int = 20
    feedback_interval: float = 10.0
    # Reading a PDF, Word or HTML file runs in a child process with these limits (uploads and
    # builds alike); a file over one is skipped with the reason.
    extract_seconds: float = 300.0  # OCR of a scanned page takes ~9 s
    extract_memory_mb: int = 1024
    # Collections and access keys (qa/surfaces/access.py): "" = everyone sees every document; a path (the file
    # may not exist yet: the admin page's Access tab writes it) = every question needs a key, which sees only
    # the collections (top-level corpus folders) the file grants it.
    access_file: str = ""
    # Thumbs up/down and corrections from the chat and the widget, one JSON line each (a test set
    # for `qa eval`); kept out of git
    feedback_path: Path = PROJECT_ROOT / "feedback" / "feedback.jsonl"
    build_lock_timeout: float = 600.0  # seconds `qa build` waits for another build of the same index folder, then fails
    # Questions answered at the same time by one server (Gradio queue workers for the chat, worker
    # threads for POST /api/ask). Answering only reads shared state, so this is safe; see docs/robustness.md.
    concurrency: int = 4
    queue_size: int = 256  # chat questions waiting beyond this are refused ("queue is full") instead of piling up
    chat_sessions: int = 1000  # chat sessions whose state the server keeps (~70 kB each); the least recently used go first

    @property
    def chunking(self) -> ChunkSettings:
        return ChunkSettings(target_chars=self.chunk_chars, overlap=self.chunk_overlap)

    def replace(self, **overrides) -> "Settings":
        """A copy with ``overrides`` applied; ``None`` values mean "keep the current one"."""
        return dataclasses.replace(self, **{k: v for k, v in overrides.items() if v is not None})


def secret_names() -> frozenset[str]:
    """The settings marked ``SECRET``."""
    return frozenset(f.name for f in fields(Settings) if f.metadata.get("secret"))


def child_process_env() -> dict[str, str]:
    """What every child process of ours starts from: this process's environment without the
    secret settings (no child needs a key) and with this package first on ``PYTHONPATH``."""
    env = dict(os.environ)
    for name in secret_names():
        env.pop(f"QA_{name.upper()}", None)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


def public_settings(settings: Settings) -> dict:
    """Every setting but the secrets, as JSON-ready values: what reports and logs may show."""
    hidden = secret_names()
    return {f.name: (str(v) if isinstance(v := getattr(settings, f.name), Path) else v)
            for f in fields(Settings) if f.name not in hidden}


def _coerce(name: str, raw, current):
    """Convert a TOML or env value to the type of the field's default, naming it on failure."""
    try:
        if isinstance(current, bool):
            if isinstance(raw, bool):
                return raw
            s = str(raw).strip().lower()
            if s in {"1", "true", "yes", "on"}:
                return True
            if s in {"0", "false", "no", "off"}:
                return False
            raise ValueError(raw)
        if isinstance(current, Path):
            return Path(raw).expanduser()
        if isinstance(current, dict):
            if not isinstance(raw, dict):
                raise ValueError(raw)
            return {str(k): float(v) for k, v in raw.items()}
        return type(current)(raw)
    except (TypeError, ValueError):
        raise QAError(f"setting {name}={raw!r} is not a valid {type(current).__name__}") from None


def config_path() -> Path:
    return Path(os.environ.get("QA_CONFIG", PROJECT_ROOT / "qa.toml"))


def load_settings(**overrides) -> Settings:
    """Defaults < qa.toml < QA_<FIELD> environment variables < ``overrides``."""
    base = Settings()
    values: dict = {}
    path = config_path()
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8")).get("qa", {})
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise QAError(f"{path} is not valid TOML ({e}); fix or delete it") from None
        names = {f.name for f in fields(Settings)}
        for key, raw in data.items():
            if key not in names:
                raise QAError(f"{path}: unknown setting {key!r}; known settings: {', '.join(sorted(names))}")
            values[key] = _coerce(key, raw, getattr(base, key))
    for f in fields(Settings):
        raw = os.environ.get(f"QA_{f.name.upper()}")
        if raw is not None and not isinstance(getattr(base, f.name), dict):
            values[f.name] = _coerce(f.name, raw, getattr(base, f.name))
    settings = dataclasses.replace(base, **values).replace(**overrides)
    validate(settings)
    return settings


def validate(s: Settings) -> None:
    if s.concurrency < 1 or s.queue_size < 1 or s.chat_sessions < 1:
        raise QAError(f"concurrency={s.concurrency}, queue_size={s.queue_size}, chat_sessions={s.chat_sessions}: "
                      "use whole numbers of at least 1")
    if s.header_timeout <= 0 or s.body_timeout <= 0 or s.max_connections < 16:
        raise QAError(f"header_timeout={s.header_timeout}, body_timeout={s.body_timeout}, max_connections="
                      f"{s.max_connections}: use timeouts above 0 seconds and at least 16 connections")
    if s.max_connections_per_client < 2 or s.max_streams_per_client < 1 or s.stream_seconds <= 0:
        raise QAError(f"max_connections_per_client={s.max_connections_per_client}, max_streams_per_client="
                      f"{s.max_streams_per_client}, stream_seconds={s.stream_seconds}: use at least 2 connections, "
                      "1 stream and a time above 0 seconds")
    if s.feedback_burst < 1 or s.feedback_interval < 0:
        raise QAError(f"feedback_burst={s.feedback_burst}, feedback_interval={s.feedback_interval}: use at least 1 "
                      "vote and an interval of 0 seconds or more")
    if s.extract_seconds <= 0 or s.extract_memory_mb < 256:
        raise QAError(f"extract_seconds={s.extract_seconds}, extract_memory_mb={s.extract_memory_mb}: use a time "
                      "above 0 seconds and at least 256 MB")
    if s.fusion not in {"weighted", "rrf"}:
        raise QAError(f"fusion={s.fusion!r}: use 'weighted' or 'rrf'")
    if s.embedding_backend not in {"auto", "onnx", "onnx-int8", "torch"}:
        raise QAError(f"embedding_backend={s.embedding_backend!r}: use 'auto', 'onnx', 'onnx-int8' or 'torch'")
    if s.vector_backend not in {"faiss", "milvus"}:
        raise QAError(f"vector_backend={s.vector_backend!r}: use 'faiss' or 'milvus'")
    if s.milvus_uri and not s.milvus_uri.startswith(("http://", "https://", "tcp://", "unix:")):
        raise QAError(f"milvus_uri={s.milvus_uri!r}: use a server address such as http://127.0.0.1:19530, "
                      "or leave it empty for a milvus-lite database in the index folder")
    if s.build_precision not in {"auto", "fp32", "bf16"}:
        raise QAError(f"build_precision={s.build_precision!r}: use 'auto', 'fp32' or 'bf16'")
    if not 0.0 <= s.reader_widen <= 10.0:
        raise QAError(f"reader_widen={s.reader_widen}: use a number of logits from 0 to 10")
    if s.reader_model and not Path(s.reader_model).expanduser().is_file():
        raise QAError(f"reader_model={s.reader_model!r} is not a file; give the path of an ONNX reader "
                      "(`qa train ship` makes one) or leave it empty for the shipped reader")
    if not 1 <= s.reader_passages <= 16:
        raise QAError(f"reader_passages={s.reader_passages}: use a number from 1 to 16")
    if not 1 <= s.top_k <= 50:
        raise QAError(f"top_k={s.top_k}: use a number from 1 to 50")
    if not 0.0 <= s.abstain_threshold <= 1.0:
        raise QAError(f"abstain_threshold={s.abstain_threshold}: use a number between 0 and 1")
    if not 0.0 <= s.sure_threshold <= 1.0:
        raise QAError(f"sure_threshold={s.sure_threshold}: use a number between 0 and 1")
    s.chunking  # validates chunk sizes


def write_settings(updates: dict, path: Path | None = None) -> Path:
    """Merge ``updates`` into the ``[qa]`` table of qa.toml (used by calibration)."""
    path = path or config_path()
    data = {}
    if path.is_file():
        data = tomllib.loads(path.read_text(encoding="utf-8")).get("qa", {})
    data.update(updates)
    lines = ["# Written by the calibration (scripts/calibrate.py --write, qa eval --calibrate --write); edit by hand "
             "if you like.", "[qa]"]
    tables = []
    for key, value in data.items():
        if isinstance(value, dict):
            tables.append(f"\n[qa.{key}]")
            tables += [f"{k} = {float(v)!r}" for k, v in value.items()]
        elif isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, (int, float)):
            lines.append(f"{key} = {value!r}")
        else:
            lines.append(f'{key} = "{value}"')
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text("\n".join(lines + tables) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
