"""The ``qa`` command: a thin layer over ``qa.QA``. JSON for machines, text for people.

Importing this module loads no model and no heavy library, so ``qa --help`` is instant.
Library errors (``QAError``) become ``click.ClickException``: a message, not a traceback.
"""

from __future__ import annotations

import json
import sys
import time
from functools import wraps
from pathlib import Path

import click

from qa.core.config import load_settings
from qa.core.errors import BadQuestionError, QAError


def _settings(**overrides):
    try:
        return load_settings(**overrides)
    except QAError as e:
        raise click.ClickException(str(e)) from None


def handle_errors(fn):
    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except QAError as e:
            raise click.ClickException(str(e)) from None
        except KeyboardInterrupt:
            raise click.Abort() from None

    return wrapper


class _QuestionCommand(click.Command):
    """A command whose argument is a question: one that starts with a dash ("-x is ...") reads as
    an unknown option, so the error says how to ask it."""

    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except click.NoSuchOption as e:
            if not e.option_name.startswith("--"):  # "--jsn" is a mistyped option, not a question
                e.message += (f' To ask a question that starts with "-", put -- before it: '
                              f'qa {ctx.info_name} -- "{e.option_name} ..."')
            raise


def _qa(settings):
    from qa.answer.pipeline import QA  # deferred: pulls numpy/faiss

    return QA(settings)


def _stage(msg: str) -> None:
    click.echo(msg, err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--corpus", "corpus_dir", type=click.Path(file_okay=False), envvar="QA_CORPUS_DIR",
              help="Folder of documents (text, Markdown, PDF, HTML, Word) [env QA_CORPUS_DIR; default ./corpus of the project].")
@click.option("--index", "index_dir", type=click.Path(file_okay=False), envvar="QA_INDEX_DIR",
              help="Folder of the built index [env QA_INDEX_DIR; default ./index of the project].")
@click.version_option(package_name="qa-chatbot", prog_name="qa")
@click.pass_context
def cli(ctx, corpus_dir, index_dir):
    """Ask questions about a folder of documents and get answers with cited excerpts."""
    from pathlib import Path

    ctx.obj = {"corpus_dir": Path(corpus_dir) if corpus_dir else None,
               "index_dir": Path(index_dir) if index_dir else None}


@cli.command()
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.pass_obj
@handle_errors
def build(obj, quiet):
    """Build (or rebuild) the index from the corpus folder."""
    qa = _qa(_settings(**obj))
    t0 = time.perf_counter()
    manifest = qa.build(progress=not quiet, on_stage=None if quiet else _stage)
    counts = manifest["counts"]
    click.echo(
        f"Indexed {counts['documents']} document(s): {counts['sentences']} sentences in {counts['chunks']} chunks "
        f"with {manifest['model']} ({manifest['dimension']} dims) in {time.perf_counter() - t0:.1f} s "
        f"-> {qa.settings.index_dir}"
    )
    update = manifest.get("update") or {}
    if update.get("kept"):
        click.echo(f"Updated {update['from']}: {update['embedded']} new or changed texts embedded, "
                   f"{update['kept']} unchanged kept")
    for doc_id, reason in manifest.get("skipped", {}).items():
        click.echo(f"Skipped {reason}", err=True)


def _print_answer(answer) -> None:
    from qa.surfaces.render import to_text
    from qa.surfaces.view import view

    click.echo(to_text(view(answer)) + "\n")


@cli.command(cls=_QuestionCommand)
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the documented contract).")
@click.option("-k", "--top-k", type=click.IntRange(1, 50), help="How many citations to show.")
@click.option("--no-build", is_flag=True, help="Fail instead of building a missing or stale index.")
@click.option("-c", "--collection", "collections", multiple=True, metavar="NAME",
              help="Answer only from this collection (a top-level corpus folder; '.' for the files at the top). "
                   "Repeatable.")
@click.pass_obj
@handle_errors
def ask(obj, question, as_json, top_k, no_build, collections):
    """Answer QUESTION from the corpus. With QUESTION "-", read one question per line from stdin
    and write one JSON object per line (JSON Lines), loading the model once."""
    from qa.surfaces.view import answer_json

    qa = _qa(_settings(**obj, top_k=top_k))
    qa.warm_up(build_if_needed=not no_build, progress=False, on_stage=_stage)
    chosen = frozenset(collections) if collections else None
    if chosen:
        unknown = sorted(chosen - set(qa.index.collections))
        if unknown:
            raise QAError(f"no collection {', '.join(map(repr, unknown))} in {qa.settings.corpus_dir}; the collections "
                          f"are its top-level folders: {', '.join(qa.index.collections)}")
    if question == "-":
        # Bytes, so a line that is not UTF-8 gets an error object instead of killing the loop.
        stdin = getattr(sys.stdin, "buffer", None)
        lines = stdin if stdin is not None else (t.encode("utf-8", "surrogateescape") for t in sys.stdin)
        for line in lines:
            if not line.strip():
                continue
            line = line.rstrip(b"\r\n")
            try:
                out = answer_json(qa.ask(line, collections=chosen))
            except BadQuestionError as e:
                out = {"question": line.decode("utf-8", "replace"), "error": str(e)}
            if as_json:
                click.echo(json.dumps(out, ensure_ascii=False))
            else:
                click.echo(f"Q: {out['question']}\nA: {out.get('answer') or out.get('error') or 'The documents do not say.'}\n")
        return
    answer = qa.ask(question, collections=chosen)
    if as_json:
        click.echo(json.dumps(answer_json(answer), ensure_ascii=False))
    else:
        _print_answer(answer)


@cli.command()
@click.option("--host", envvar="QA_HOST", help="Interface to listen on [default 127.0.0.1].")
@click.option("--port", envvar="QA_PORT", type=click.IntRange(1, 65535), help="Port [default 7860].")
@click.option("--allowed-origins", envvar="QA_ALLOWED_ORIGINS", metavar="ORIGINS",
              help="Sites that may embed the chat or call the API, comma-separated, e.g. "
                   "'https://docs.example.com' [default: localhost only]. The API key comes from QA_API_KEY.")
@click.pass_obj
@handle_errors
def serve(obj, host, port, allowed_origins):
    """Run the chat app, the HTTP API (POST /api/ask) and the widget (/widget.js); same as
    `python app.py`. See docs/embedding.md."""
    from qa.surfaces.server import serve as run

    run(_settings(**obj, host=host, port=port, allowed_origins=allowed_origins), on_stage=_stage)


@cli.command()
@click.pass_obj
@handle_errors
def status(obj):
    """Show whether the index is fresh, and why not."""
    from qa.core.errors import IndexStateError
    from qa.index.store import read_manifest

    s = _settings(**obj)
    reasons = _qa(s).stale_reasons()
    try:
        manifest = read_manifest(s.index_dir)
    except IndexStateError:  # damaged: the reasons below say how
        manifest = None
    click.echo(f"corpus: {s.corpus_dir}\nindex:  {s.index_dir}")
    if manifest:
        c = manifest.get("counts", {})
        docs_by = manifest.get("documents_embedded_by")
        stored = f"; stored vectors by {docs_by}" if docs_by and docs_by != manifest.get("model") else ""
        click.echo(f"built:  {manifest.get('built_at')} ({c.get('documents')} docs, {c.get('chunks')} chunks, "
                   f"model {manifest.get('model')}{stored})")
    click.echo("state:  fresh" if not reasons else "state:  needs rebuild: " + "; ".join(reasons))
    for reason in (manifest or {}).get("skipped", {}).values():
        click.echo(f"skipped {reason}")


@cli.command("eval")
@click.argument("testset", required=False, type=click.Path(dir_okay=False))
@click.option("--report-dir", type=click.Path(file_okay=False),
              help="Where to write report.json/.md, failures and plots [default: reports/<testset name>/].")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as one JSON object.")
@click.option("-k", "--top-k", type=click.IntRange(1, 50), help="Citations a user sees [default: the top_k setting].")
@click.option("--calibrate", is_flag=True, help="Fit the confidence weights and abstain threshold on TESTSET.")
@click.option("--tune-fusion", is_flag=True, help="Compare a small grid of fusion weights on TESTSET.")
@click.option("--write", is_flag=True, help="With --calibrate / --tune-fusion: store the result in qa.toml.")
@click.option("--max-false-abstention", type=click.FloatRange(0, 1),
              help="With --calibrate: only thresholds that decline at most this share of answerable questions.")
@click.option("--wrong-cost", type=click.FloatRange(0), default=1.0, show_default=True,
              help="With --calibrate: what a wrong answer costs, relative to what a right one earns.")
@click.option("--compare", nargs=2, type=click.Path(dir_okay=False), metavar="A.json B.json",
              help="Show which metrics moved and which questions flipped between two reports.")
@click.option("--gate", "floors", type=click.Path(dir_okay=False), metavar="FLOORS.json",
              help="Exit with status 1 when a metric is below its floor (or above its ceiling).")
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.pass_obj
@handle_errors
def eval_(obj, testset, report_dir, as_json, top_k, calibrate, tune_fusion, write, max_false_abstention, wrong_cost,
          compare, floors, no_plots, quiet):
    """Evaluate answers on TESTSET (JSON Lines, CSV or SQuAD JSON) and write a report.

    Every question goes through the same entry point as the chat. See docs/evaluation.md."""
    from qa.eval.cli import run_eval_command  # deferred: pulls numpy/faiss/matplotlib

    code = run_eval_command(
        _settings(**obj), testset=testset, report_dir=report_dir, as_json=as_json, top_k=top_k,
        calibrate=calibrate, tune_fusion=tune_fusion, write=write, max_false_abstention=max_false_abstention,
        wrong_cost=wrong_cost, compare=compare, floors=floors, plots=not no_plots, progress=not quiet, echo=click.echo, on_stage=_stage,
    )
    if code:
        sys.exit(code)


@cli.group()
def train():
    """Train the models the pipeline ships (see qa/models/README.md)."""


@train.command("reader")
@click.option("--data", type=click.Path(dir_okay=False), default="../shared/data/squad11-train/train.json.gz",
              show_default=True, help="SQuAD-format training file (.json or .json.gz).")
@click.option("--out", type=click.Path(file_okay=False), default="runs/reader", show_default=True,
              help="Folder for checkpoints and the fp32 weights (kept out of git).")
@click.option("--seed", type=int, default=13, show_default=True)
@click.option("--epochs", type=click.FloatRange(0.01, 4), default=1.0, show_default=True)
@click.option("--max-examples", type=click.IntRange(0), default=0, help="Use only this many examples (0: all).")
@click.option("--no-resume", is_flag=True, help="Start again even if OUT holds a checkpoint.")
@click.option("--init", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Go on training this reader instead of starting from the packaged MiniLM: the fp32 "
                   "weights of a run (.pt) or the shipped int8 graph (qa/models/reader-int8.onnx).")
@click.option("--unanswerable", type=click.Path(dir_okay=False, exists=True), default=None,
              help="A SQuAD 2.0 file whose people-written unanswerable questions join the training "
                   "(with --articles).")
@click.option("--articles", default="testsets/dev19-split.json:reader", show_default=True,
              help="Which articles of --unanswerable to train on: SPLIT_FILE:ROLE (a JSON file of title lists).")
@click.option("--learning-rate", type=click.FloatRange(1e-6, 1e-3), default=8e-5, show_default=True)
@click.option("--ship/--no-ship", default=True, show_default=True,
              help="After training, export int8 ONNX into qa/models/ and measure it against fp32.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@handle_errors
def train_reader(data, out, seed, epochs, max_examples, no_resume, init, unanswerable, articles, learning_rate,
                 ship, quiet):
    """Train the span reader from the packaged MiniLM weights (torch; hours on a CPU)."""
    import logging

    from qa.reader.train import TrainConfig, train as run  # deferred: torch

    titles: tuple[str, ...] = ()
    if unanswerable:
        split_file, _, role = articles.rpartition(":")
        try:
            titles = tuple(json.loads(Path(split_file).read_text(encoding="utf-8"))[role])
        except (OSError, ValueError, KeyError) as e:
            raise click.BadParameter(f"{articles}: expected SPLIT_FILE:ROLE naming a list of titles ({e})",
                                     param_hint="--articles") from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    final = run(TrainConfig(data=data, out=out, seed=seed, epochs=epochs, max_examples=max_examples,
                            learning_rate=learning_rate, init=init or "", extra=unanswerable or "",
                            extra_titles=titles), resume=not no_resume, progress=not quiet)
    click.echo(f"fp32 weights: {final}")
    if ship:
        from qa.reader.export import ship as do_ship

        click.echo(json.dumps(do_ship(final, data=data, progress=not quiet), indent=2))
    else:
        click.echo("ship it with: qa train ship --weights " + str(final))


@train.command("ship")
@click.option("--weights", type=click.Path(dir_okay=False, exists=True), default="runs/reader/reader-fp32.pt",
              show_default=True, help="fp32 weights written by `qa train reader`.")
@click.option("--data", type=click.Path(dir_okay=False), default="../shared/data/squad11-train/train.json.gz",
              show_default=True, help="The SQuAD file trained on (its tune articles measure fp32 against int8).")
@click.option("--limit", type=click.IntRange(0), default=2000, show_default=True,
              help="Tune questions read with each graph (0: all).")
@handle_errors
def train_ship(weights, data, limit):
    """Export trained weights to int8 ONNX as the shipped reader (qa/models/), fp32 against int8 measured."""
    from qa.reader.export import ship as do_ship

    click.echo(json.dumps(do_ship(Path(weights), data=data, limit=limit), indent=2))


class _LineProgress:
    """stderr for a log file: progress bars redraw their line with carriage returns, which a file
    keeps as one ever-growing line; here each redraw becomes a line of its own (and tqdm redraws
    at most every 10 s, TQDM_MININTERVAL)."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(text.replace("\r", "\n").replace("\n\n", "\n"))

    def __getattr__(self, name):
        return getattr(self._stream, name)


def main():
    if not sys.stderr.isatty():
        import os

        os.environ.setdefault("TQDM_MININTERVAL", "10")
        sys.stderr = _LineProgress(sys.stderr)
    cli(prog_name="qa")


if __name__ == "__main__":
    main()
