"""A real-text corpus from documentation installed on this machine: the docstrings of Python's
standard library (and its subpackages) rendered by ``pydoc`` as plain text, one file per module,
then the plain-text documentation under /usr/share/doc (README, *.txt, *.md, *.rst).

Run as a separate process (``python -m benchmarks.corpusgen OUT --chars N``) because it imports
hundreds of stdlib modules; the benchmark process stays clean. Files use the corpus conventions
(``= Title =`` and ``==Section==``), so ``qa build`` reads titles and sections from them.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
import warnings
from pathlib import Path

# Modules with side effects on import (GUI, browser, prints) or that are not documentation.
SKIP = {"antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo", "lib2to3", "__main__",
        "pydoc_data", "test", "ensurepip", "venv", "idle", "msvcrt", "winreg", "winsound", "_winapi",
        "nt", "_msi", "msilib", "readline", "sre_compile", "sre_constants", "sre_parse"}
_HEAD = re.compile(r"^([A-Z][A-Z ]+)$")
_BACKSPACE = re.compile(r".\x08")


def module_names() -> list[str]:
    import importlib.util
    import pkgutil

    names = []
    for top in sorted(n for n in sys.stdlib_module_names if not n.startswith("_") and n not in SKIP):
        names.append(top)
        spec = importlib.util.find_spec(top) if top not in sys.builtin_module_names else None
        if spec and spec.submodule_search_locations:
            for info in pkgutil.walk_packages(spec.submodule_search_locations, prefix=top + "."):
                parts = info.name.split(".")
                if not any(p.startswith("_") or p in SKIP or p.startswith("test") for p in parts[1:]):
                    names.append(info.name)
    return names


def doc_files(root: Path = Path("/usr/share/doc")) -> list[Path]:
    pats = ("README", "readme")
    out = []
    for p in sorted(root.rglob("*")):
        if not p.is_file() or p.name == "copyright" or p.suffix == ".gz":
            continue
        if p.suffix in (".txt", ".md", ".rst") or p.name.startswith(pats):
            out.append(p)
    return out


def render(name: str) -> str | None:
    import importlib
    import pydoc

    try:
        with warnings.catch_warnings(), io.StringIO() as sink:
            warnings.simplefilter("ignore")
            old = sys.stdout
            sys.stdout = sink
            try:
                mod = importlib.import_module(name)
                text = pydoc.render_doc(mod, renderer=pydoc.plaintext)
            finally:
                sys.stdout = old
    except BaseException:  # noqa: BLE001 - any module that cannot be imported here is skipped
        return None
    return _BACKSPACE.sub("", text)


def to_corpus_text(name: str, text: str) -> str:
    """pydoc's NAME/DESCRIPTION/CLASSES/FUNCTIONS headings become ``==Section==`` lines."""
    out = [f"= Python module {name} =", ""]
    for line in text.splitlines()[1:]:
        m = _HEAD.match(line)
        if m:
            out += ["", f"=={m.group(1).title()}==", ""]
        else:
            out.append(line.strip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip() + "\n"


def generate(folder: Path, max_chars: int) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    total = 0
    files = 0
    for name in module_names():
        if total >= max_chars:
            break
        text = render(name)
        if not text or len(text) < 500:
            continue
        body = to_corpus_text(name, text)
        (folder / f"py-{name}.txt").write_text(body, encoding="utf-8")
        total += len(body)
        files += 1
    py_files = files
    for path in doc_files():
        if total >= max_chars:
            break
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if len(text) < 500:
            continue
        rel = path.relative_to("/usr/share/doc")
        body = f"= {rel.parts[0]}: {rel.name} =\n\n{text.strip()}\n"
        (folder / ("doc-" + "-".join(rel.parts).replace(" ", "_") + ".txt")).write_text(body, encoding="utf-8")
        total += len(body)
        files += 1
    return {"files": files, "python_module_files": py_files, "chars": total,
            "source": f"pydoc of the Python {sys.version.split()[0]} standard library + /usr/share/doc text files"}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out", type=Path)
    ap.add_argument("--chars", type=int, default=16_000_000, help="stop after this many characters")
    args = ap.parse_args(argv)
    info = generate(args.out, args.chars)
    print(json.dumps(info))


if __name__ == "__main__":
    main()
