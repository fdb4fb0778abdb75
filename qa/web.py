"""The Gradio chat: one handler (``respond``) and one constructor (``create_demo``).

``serve`` builds the index when it is missing or stale (with a progress bar in the terminal; in
a child process, so the server does not keep the build's memory), then starts the app.
Everything the browser loads comes from this server.
"""

from __future__ import annotations

import html
import logging
import re

from .config import Settings
from .errors import QAError
from .pipeline import QA
from .render import escape, to_markdown

log = logging.getLogger(__name__)

EXAMPLES = [
    "When was the dialogue declared?",
    "Who chaired the first leaders' summit?",
    "How much did Japan pledge at the 4th meeting?",
    "Why does Turkmenistan participate only as an observer?",
]


def make_handler(qa: QA):
    def respond(message, history):
        """Answer one chat message; ``history`` is Gradio's list of {"role", "content"}."""
        if isinstance(message, dict):  # multimodal textbox shape
            message = message.get("text", "")
        try:
            answer = qa.ask(message, history=history)
        except QAError as e:
            return f"**{escape(str(e))}**"
        except Exception:  # never show a stack trace in the chat
            log.exception("failed to answer %r", message)
            return "**Something went wrong while answering. The error was logged on the server.**"
        return to_markdown(answer)

    return respond


def describe_corpus(qa: QA) -> str:
    try:
        index = qa.index
    except QAError as e:  # no corpus, empty corpus, unusable index: say so instead of crashing
        return f"**The corpus is not available: {escape(str(e))}**"
    titles = sorted({d.title for d in index.documents.values()})
    shown = ", ".join(f"*{escape(t)}*" for t in titles[:5]) + (f" and {len(titles) - 5} more" if len(titles) > 5 else "")
    return (
        f"Ask a question about {shown}. Answers are copied from the text, with numbered sources; "
        "when the text does not say, the bot says so."
    )


_MD_UNESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|~>])")


def _map_user(messages, fn):
    """Apply ``fn`` to the text of the user's messages (string or list-of-parts content)."""
    if not messages:
        return messages
    out = []
    for m in messages:
        role = m.get("role") if isinstance(m, dict) else getattr(m, "role", None)
        if role != "user":
            out.append(m)
            continue
        m = dict(m) if isinstance(m, dict) else m.model_dump()
        content = m.get("content")
        if isinstance(content, str):
            m["content"] = fn(content)
        elif isinstance(content, list):
            m["content"] = [
                {**part, "text": fn(part["text"])} if isinstance(part, dict) and isinstance(part.get("text"), str)
                else part
                for part in content
            ]
        out.append(m)
    return out


def show_user_text_as_text(chatbot) -> None:
    """Gradio renders the user's own message as sanitised HTML, so ``<img src=x>`` typed into
    the box would show as an image. Escape user messages on the way to the browser and undo
    it on the way back, so the handler (and follow-up rewriting) still sees the raw text."""
    post, pre = chatbot.postprocess, chatbot.preprocess
    chatbot.postprocess = lambda value: post(_map_user(value, escape))
    chatbot.preprocess = lambda payload: _map_user(pre(payload), lambda s: html.unescape(_MD_UNESCAPE.sub(r"\1", s)))


#: Gradio's own autoscroll keeps the chat scrolled to the bottom, so a long message (an answer
#: and five sources) opens on its last source and the answer is out of view. Instead, whenever a
#: message is added, the chat scrolls to that message's first line: the question just asked, then
#: the answer. Runs once per page load (Blocks.load with js only); keyed on Gradio's
#: ``.message-row`` / ``.bubble-wrap`` markup, which tests/test_browser.py checks.
SCROLL_TO_NEW_MESSAGE_JS = """() => {
  const root = document.getElementById("qa-answers");
  if (!root || root.dataset.qaScroll) return;
  root.dataset.qaScroll = "1";
  let target = null, short = false;
  const place = () => {
    const wrap = target.closest(".bubble-wrap");
    if (!wrap) return;
    const want = wrap.scrollTop + target.getBoundingClientRect().top - wrap.getBoundingClientRect().top - 40;
    wrap.scrollTop = want;  // 40 px down: clear of the chat's "Answers" label
    // Cut short while the message is still a "..." placeholder: place it again as it grows,
    // and stop once it is in place, so a reader's own scrolling is never undone.
    short = wrap.scrollTop < want - 1;
  };
  new MutationObserver(() => {
    const rows = root.querySelectorAll(".message-row");
    const last = rows[rows.length - 1];
    if (last && last !== target) { target = last; place(); }
    else if (target && short) place();
  }).observe(root, { childList: true, subtree: true });
}"""


def create_demo(qa: QA):
    import gradio as gr

    with gr.Blocks(title="Corpus QA") as demo:
        with gr.Tab("Chat"):
            chatbot = gr.Chatbot(height=520, sanitize_html=True, render_markdown=True, label="Answers",
                                 autoscroll=False, elem_id="qa-answers")
            show_user_text_as_text(chatbot)
            gr.ChatInterface(
                make_handler(qa),
                chatbot=chatbot,
                title="Ask the corpus",
                description=describe_corpus(qa),
                examples=EXAMPLES,
                cache_examples=False,
                api_name="ask",
            )
        if qa.settings.evaluate_tab:  # QA_EVALUATE_TAB=0 hides it on a public deployment
            with gr.Tab("Evaluate"):
                from .eval_ui import evaluate_tab  # the evaluation feature (docs/evaluation.md)

                evaluate_tab(qa)
        demo.load(None, None, None, js=SCROLL_TO_NEW_MESSAGE_JS)
    return demo


def serve(settings: Settings, on_stage=None) -> None:
    """Build/load the index, then serve the chat at / plus /api/ask, /widget.js (qa/server.py)."""
    from .server import bind, create_app, run

    sock = bind(settings.host, settings.port)  # fail fast, with a readable message, if the port is taken
    try:
        qa = QA(settings, build_in_child=True)
        try:
            qa.warm_up(progress=True, on_stage=on_stage)
        except QAError as e:
            # Start anyway: the chat and the API show this message, and every question retries,
            # so fixing the corpus folder is enough (no restart). See docs/robustness.md.
            (on_stage or log.warning)(f"Warning: {e}")
        app = create_app(qa, settings)
    except BaseException:
        sock.close()
        raise
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    url = f"http://{host}:{sock.getsockname()[1]}"
    (on_stage or log.info)(f"Chat on {url}/  ·  API POST {url}/api/ask (schema {url}/openapi.json)  ·  widget {url}/widget.js")
    run(app, sock)  # closes sock
