"""The "Evaluate" tab of the Gradio app: upload a test set, run it, see the summary, the
failures and the plots, and download the report.

``evaluate_tab(qa)`` adds the components to the current ``gr.Blocks`` context (``qa.surfaces.admin.create_admin``
calls it inside ``with gr.Tab("Evaluate"):``); ``make_evaluator(qa, folder)`` is the handler,
usable without a browser. A bad file is a readable message in the tab, never a traceback.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from qa.core.errors import QAError
from qa.eval.datasets import read_testset
from qa.eval.run import evaluate, summary_rows
from qa.surfaces.render import escape

log = logging.getLogger(__name__)

#: Uploads above these limits are refused: evaluating runs every question on this server.
MAX_UPLOAD_BYTES = 5_000_000
MAX_QUESTIONS = 1000

FAILURE_COLUMNS = ["id", "reason", "question", "gold", "shown answer", "confidence"]


def _failure_rows(fails: list[dict]) -> list[list]:
    return [[f["id"], f["reason"], f["question"], " | ".join(f["gold"]) or "(unanswerable)",
             "(abstained)" if f["abstained"] else " ".join((f["prediction"] or "").split()), round(f["confidence"], 2)]
            for f in fails]


def make_evaluator(qa, folder: Path):
    """``evaluate_file(path, progress) -> (status_md, summary_rows, failure_rows, conf_png, hit_png, report_json)``."""
    from qa.eval import report as R

    folder = Path(folder)

    def fail(message: str):
        return f"**{escape(message)}**", [], [], None, None, None

    def evaluate_file(path, progress=None):
        if not path:
            return fail("Upload a test set first (JSON Lines, CSV or SQuAD JSON).")
        path = Path(path)
        name = path.name
        try:
            size = path.stat().st_size
            if size > MAX_UPLOAD_BYTES:
                return fail(f"{name} is {size:,} bytes; the limit here is {MAX_UPLOAD_BYTES:,}. Use `qa eval` for big sets.")
            data = path.read_bytes()
        except OSError as e:
            return fail(f"cannot read the uploaded file {name} ({e.strerror}); upload it again")
        try:
            ts = read_testset(data, name)
            if len(ts.items) > MAX_QUESTIONS:
                return fail(f"{name} has {len(ts.items):,} questions; the limit here is {MAX_QUESTIONS:,}. "
                            "Use `qa eval` for big sets.")

            def tick(done, total):
                if progress is not None:
                    progress(done / total, desc=f"question {done} of {total}")

            records, metrics = evaluate(qa, ts, on_item=tick)
            report = R.build_report(qa, ts, records, metrics, qa.settings.top_k)
            paths = R.write_report(report, folder)
        except QAError as e:
            return fail(str(e))
        except Exception:  # never show a stack trace in the page
            log.exception("evaluation of %s failed", name)
            return fail("Something went wrong while evaluating. The error was logged on the server.")
        fails = R.failures(records)
        status = (f"Evaluated **{len(records)}** questions from *{escape(name)}* ({ts.format}): "
                  f"answer contained {100 * (metrics['contained'] or 0):.1f}%, {len(fails)} failures.")
        return (status, [list(r) for r in summary_rows(metrics)], _failure_rows(fails),
                str(paths["confidence.png"]), str(paths["hit_at_k.png"]), str(paths["json"]))

    return evaluate_file


def evaluate_tab(qa) -> None:
    import gradio as gr

    folder = Path(tempfile.mkdtemp(prefix="qa-eval-ui-"))
    evaluate_file = make_evaluator(qa, folder)

    def handler(path, progress=gr.Progress()):
        return evaluate_file(path, progress)

    gr.Markdown(
        "Upload a test set — JSON Lines (`{\"id\", \"question\", \"answers\": [...], \"evidence\"}` per line, "
        "`answers: []` for unanswerable), CSV with the same columns (answers separated by `|`) or SQuAD v1.1/v2.0 "
        "JSON — and every question is asked exactly as in the chat."
    )
    with gr.Row():
        upload = gr.File(label="Test set", file_types=[".jsonl", ".csv", ".json", ".txt"], type="filepath")
        run = gr.Button("Evaluate", variant="primary", scale=0)
    status = gr.Markdown()
    summary = gr.Dataframe(headers=["metric", "value"], label="Summary", interactive=False, max_height=1200)
    with gr.Row():  # the plots carry their own titles
        confidence = gr.Image(label="Confidence: answerable vs unanswerable", show_label=False, type="filepath",
                              interactive=False)
        hits = gr.Image(label="Evidence hit@k", show_label=False, type="filepath", interactive=False)
    failures = gr.Dataframe(headers=FAILURE_COLUMNS, label="Failures", interactive=False, wrap=True)
    report = gr.File(label="report.json", interactive=False)
    run.click(handler, inputs=[upload], outputs=[status, summary, failures, confidence, hits, report],
              api_name="evaluate", concurrency_limit=1)
