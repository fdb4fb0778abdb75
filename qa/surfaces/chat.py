"""The Gradio chat at ``/``: a question box, the conversation with cited answers, example
questions taken from the corpus's own headings, "New chat", and thumbs up/down with an optional
correction on every answer (qa/surfaces/feedback.py).

Answers are drawn by the one renderer (``qa.surfaces.render.to_html`` over ``qa.surfaces.view.view``), the same
HTML the widget gets from the API, styled by ``qa/surfaces/static/answer.css``. The chatbot shows it as
sanitised HTML without Markdown, so nothing in a document becomes a link; the user's own text
is HTML-escaped on its way to the browser.
"""

import hmac
import html
import logging
from pathlib import Path

from qa.surfaces import feedback
from qa.answer.conversation import from_card
from qa.core.errors import BadQuestionError, QAError
from qa.answer.pipeline import QA
from qa.surfaces.access import EVERYTHING, Access, Grant
from qa.surfaces.render import escape, message_html, to_html
from qa.surfaces.view import answer_source, view

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
EXAMPLES = 4
STATUS_POLL_S = 3  # how often a page opened during a build asks whether the index is ready
#: Sections that list links to other pages: no example question is made from them.
NAVIGATION_SECTIONS = frozenset({"see also", "references", "external links", "further reading", "notes",
                                 "bibliography", "sources"})
UNAVAILABLE = "The documents cannot be searched right now. Please try again in a few minutes."
BROKEN = "Something went wrong while answering. Please try again; if it keeps happening, tell the site's owner."
NEEDS_KEY = ("This chat needs an access key: open it with ?key=YOUR_KEY at the end of its address "
             "(the site's owner gives out keys).")


def answer_html(qa: QA, message, history, startup=None, grant: Grant | None = EVERYTHING, sign=None) -> str:
    """One chat answer as HTML, or a plain-language message in its place. ``grant``: what the
    asker's key sees (None: no key where one is needed)."""
    if isinstance(message, dict):  # multimodal textbox shape
        message = message.get("text", "")
    if message is None:  # an API client can send null
        message = ""
    if grant is None:
        return message_html(NEEDS_KEY)
    waiting = startup.not_ready() if startup is not None else None
    if waiting:
        return message_html(waiting)
    try:
        answer = qa.ask(message, history=history, collections=grant.collections)
    except BadQuestionError as e:
        return message_html(str(e))
    except QAError as e:
        log.warning("could not answer: %s", e)
        return message_html(UNAVAILABLE, "error")
    except Exception:  # never show a stack trace in the chat
        log.exception("failed to answer %r", str(message)[:200])
        return message_html(BROKEN, "error")
    return to_html(view(answer, sign), source=answer_source(answer))


def make_handler(qa: QA, startup=None):
    """``respond(message, history) -> html``: the chat's answer to one message."""
    def respond(message, history):
        return answer_html(qa, message, history, startup)

    return respond


def describe_corpus(qa: QA, grant: Grant = EVERYTHING) -> str:
    """One line about what can be asked, for the top of the chat (plain text)."""
    try:
        index = qa.index
    except QAError as e:
        log.warning("the corpus is not available: %s", e)
        return UNAVAILABLE
    titles = sorted({d.title for d in index.documents.values() if grant.sees(d.id)})
    if not titles:
        return "There are no documents here that this key may see."
    shown = ", ".join(titles[:3]) + (f" and {len(titles) - 3} more" if len(titles) > 3 else "")
    return f"Ask about {shown}. Answers are copied from the documents, with their sources."


def example_questions(qa: QA, n: int = EXAMPLES, grant: Grant = EVERYTHING) -> list[str]:
    """Questions made from the corpus's own section headings, one document after another (of the
    documents ``grant`` sees)."""
    try:
        index = qa.index
    except QAError:
        return []
    per_doc = []
    for doc in sorted((d for d in index.documents.values() if grant.sees(d.id)), key=lambda d: d.id):
        heads = [s.title for s in doc.sections if s.title and s.title.strip().lower() not in NAVIGATION_SECTIONS
                 and 2 <= len(s.title) <= 60]
        per_doc.append([f"What does {doc.title} say about {h if h[:2].isupper() else h[0].lower() + h[1:]}?"
                        for h in dict.fromkeys(heads)] or [f"What is {doc.title}?"])
    out: list[str] = []
    while per_doc and len(out) < n:
        for qs in per_doc:
            if qs and len(out) < n:
                out.append(qs.pop(0))
        per_doc = [qs for qs in per_doc if qs]
    return out


def _user_text(messages, fn):
    """Apply ``fn`` to the text of the user's messages (string or list-of-parts content)."""
    out = []
    for m in messages or []:
        role = m.get("role") if isinstance(m, dict) else getattr(m, "role", None)
        if role != "user":
            out.append(m)
            continue
        m = dict(m) if isinstance(m, dict) else m.model_dump()
        content = m.get("content")
        if isinstance(content, str):
            m["content"] = fn(content)
        elif isinstance(content, list):
            m["content"] = [{**p, "text": fn(p["text"])} if isinstance(p, dict) and isinstance(p.get("text"), str) else p
                            for p in content]
        out.append(m)
    return out


def show_user_text_as_text(chatbot) -> None:
    """The chatbot shows messages as sanitised HTML, so ``<img src=x>`` typed into the box would
    show as an image. Escape user messages on the way to the browser and undo it on the way
    back, so the handler (and follow-up rewriting) still sees the raw text."""
    post, pre = chatbot.postprocess, chatbot.preprocess
    chatbot.postprocess = lambda value: post(_user_text(value, html.escape))
    chatbot.preprocess = lambda payload: _user_text(pre(payload), html.unescape)


#: Gradio's own autoscroll keeps the chat scrolled to the bottom, so a long message opens on its
#: last source. Instead, whenever a question is asked, the chat scrolls to it, and its answer
#: opens right below it. Keyed on Gradio's ``.message-row.user-row`` / ``.bubble-wrap`` markup,
#: which tests/test_browser.py checks.
SCROLL_TO_NEW_MESSAGE_JS = """() => {
  const root = document.getElementById("qa-answers");
  if (!root || root.dataset.qaScroll) return;
  root.dataset.qaScroll = "1";
  let target = null, short = false;
  const place = () => {
    const wrap = target.closest(".bubble-wrap");
    if (!wrap) return;
    // 40 px: the question sits below the chat's toolbar (copy / clear) instead of under it
    const want = wrap.scrollTop + target.getBoundingClientRect().top - wrap.getBoundingClientRect().top - 40;
    wrap.scrollTop = want;
    // Cut short while the message is still a placeholder: place it again as it grows, and stop
    // once it is in place, so a reader's own scrolling is never undone.
    short = wrap.scrollTop < want - 1;
  };
  new MutationObserver(() => {
    // the newest question: its answer follows right below it, and the question stays in view
    const rows = root.querySelectorAll(".message-row.user-row");
    const last = rows[rows.length - 1];
    if (last && last !== target) { target = last; place(); }
    else if (target && short) place();
  }).observe(root, { childList: true, subtree: true });
}"""

CHAT_CSS = """
.gradio-container{max-width:900px!important;margin:0 auto!important}
footer{display:none!important}
#qa-top{align-items:center;gap:8px;flex-wrap:nowrap}
#qa-title h1{font-size:20px;margin:0;font-weight:700}
#qa-intro{font-size:14px;color:#4b5563}
#qa-intro p{margin:0}
#qa-answers{height:min(62vh,640px)!important}
#qa-answers .message-row .message{max-width:100%}
#qa-answers .bot .message-content{width:100%}
#qa-examples button{font-weight:400}
#qa-ask textarea{font-size:16px}
#qa-answers .scroll-down-button-container{display:none}
#qa-answers .bubble-wrap{padding-top:36px}  /* the first question starts below the toolbar */
#qa-answers .message-row.bot-row{max-width:100%!important;width:auto}
#qa-answers .message-row.bot-row .message,#qa-answers .bot .message-content{max-width:100%;width:100%}
@media (max-width:600px){
  .gradio-container{padding:6px!important}
  #qa-title h1{font-size:17px}
  #qa-intro{font-size:13px}
  #qa-answers{height:calc(100dvh - 230px)!important}
  /* an empty chat makes room for the intro and the example questions, which say what to ask;
     once a question is asked the conversation takes the screen */
  #qa-answers:not(:has(.message-row)){height:96px!important}
  #qa-intro:has(~ * .message-row){display:none}
  #qa-answers .message-row{padding-left:0!important;padding-right:0!important;margin-left:0!important;margin-right:0!important}
  #qa-answers .message-wrap{margin-bottom:8px!important}
  #qa-answers .bubble-wrap{padding:36px 6px 6px!important}
  #qa-examples{gap:6px}
  #qa-examples button{width:100%;min-height:40px}
}
"""


def chat_css() -> str:
    """The chat page's styles: the answer card's (shared with the widget) and the page's own."""
    return (STATIC_DIR / "answer.css").read_text(encoding="utf-8") + CHAT_CSS


def chat_theme():
    import gradio as gr

    # System fonts: gradio's bundled Source Sans Pro SemiBold is a 5 KB subset, so semi-bold
    # text fell back letter by letter into another font.
    system = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"]
    # blue, as the widget: white on Gradio's default orange fails WCAG contrast (2.8:1)
    return gr.themes.Default(primary_hue="blue", font=system,
                             font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"]).set(
        button_primary_background_fill="#1d4ed8", button_primary_background_fill_hover="#1e40af",
        button_primary_text_color="#ffffff",
        # WCAG AA on white (axe): the red "Delete" (white on Gradio's #ef4444 was 3.8:1), the upload
        # box's "- or -" and other subdued text (#bbbbc2, 1.9:1), the selected tab (#3b82f6, 3.7:1)
        button_cancel_background_fill="#b91c1c", button_cancel_background_fill_hover="#991b1b",
        button_cancel_text_color="#ffffff", body_text_color_subdued="#4b5563", color_accent="#1d4ed8")


def create_demo(qa: QA, startup=None, access: Access | None = None, settings=None):
    """The public chat (evaluation lives on the admin pages, qa/surfaces/admin.py). With ``startup``, the
    page opens at once and fills in what it can about the corpus once the index is loaded. With
    ``access`` (access keys on), a session sees what the key in its address (``?key=``) or its
    request headers grants; the grant stays on the server (``gr.State``). ``settings``: the server's
    (feedback file and limits), when they differ from ``qa.settings``."""
    import gradio as gr

    settings = settings or qa.settings
    locked = access is not None and access.enabled
    sign = access.sign if locked else None

    def grant_of(request) -> Grant | None:
        if not locked:
            return EVERYTHING
        auth = request.headers.get("authorization", "") if request is not None else ""
        key = ((request.query_params.get("key") if request is not None else None)
               or (request.headers.get("x-api-key") if request is not None else None)
               or (auth[7:].strip() if auth[:7].lower() == "bearer " else ""))
        if settings.api_key and key and hmac.compare_digest(key.encode(), settings.api_key.encode()):
            return EVERYTHING
        try:
            return access.grant(key)
        except QAError as e:
            log.warning("%s", e)
            return None

    def shown_for(grant: Grant | None, retry: bool = True):
        waiting = None if startup is None else startup.not_ready(
            then="This page updates itself when they are ready.", retry=retry)
        if grant is None:
            intro, examples = NEEDS_KEY, []
        else:
            intro = escape(waiting or describe_corpus(qa, grant))  # titles come from documents: never markup
            examples = [] if waiting else example_questions(qa, grant=grant)
        buttons = [gr.update(value=q, visible=True) for q in examples]
        buttons += [gr.update(visible=False)] * (EXAMPLES - len(examples))
        return [intro, *buttons]

    def on_load(request: gr.Request):
        grant = grant_of(request)
        return [*shown_for(grant), grant]

    def while_indexing(history, grant, retry: bool = False):
        """A page opened while the index is built asks again every few seconds, so it shows the
        build's progress and then the corpus and its examples without a reload; the examples
        stay hidden once a conversation has started. Only opening the page may start another
        attempt after a failure (as a question does), never the polling, which stops then."""
        shown = shown_for(grant, retry)
        if history:
            shown[1:] = [gr.update()] * EXAMPLES
        return [*shown, gr.Timer(active=startup is not None and startup.busy)]

    def on_load_indexing(history, request: gr.Request):
        grant = grant_of(request)
        return [*while_indexing(history, grant, retry=True), grant]

    def add_question(message, history):
        message = message if isinstance(message, str) else ""
        if not message.strip():
            return gr.update(), history or []
        return "", (history or []) + [{"role": "user", "content": message}]

    def answer_last(history, grant):
        history = list(history or [])
        if not history or history[-1].get("role") != "user":
            return history
        question = _text(history[-1]["content"])
        reply = answer_html(qa, question, history[:-1], startup, grant, sign)
        return history + [{"role": "assistant", "content": reply}]

    def on_vote(history, grant, data: gr.LikeData, request: gr.Request):
        rated = _rated(history, data.index)
        if rated is None or grant is None:  # feedback needs the key that asking needs
            return gr.update(visible=False), gr.update(), None, gr.update(value="", visible=False)
        question, shown, earlier = rated
        try:
            row = feedback.submit(settings, feedback.Vote(question, shown, bool(data.liked), history=tuple(earlier)),
                                  _client(request))
        except QAError as e:
            if not isinstance(e, feedback.TooManyVotes):  # a flood would be a log line per vote
                log.warning("feedback not stored: %s", e)
            return gr.update(visible=False), gr.update(), None, gr.update(value=escape(str(e)), visible=True)
        if data.liked:
            return gr.update(visible=False), gr.update(value=""), None, gr.update(value="Thanks for the feedback.",
                                                                                visible=True)
        return gr.update(visible=True), gr.update(value=""), row, gr.update(visible=False)

    def send_correction(text, row, grant, request: gr.Request):
        if not row or grant is None or not (text or "").strip():
            return gr.update(visible=False), None, gr.update(value="Thanks for the feedback.", visible=True)
        try:
            feedback.submit(settings, feedback.Vote(str(row.get("question", "")), row.get("shown"), False,
                                                    correction=text, history=tuple(row.get("history", ()))),
                            _client(request), corrects=row.get("id"))
        except QAError as e:
            return gr.update(visible=False), None, gr.update(value=escape(str(e)), visible=True)
        return gr.update(visible=False), None, gr.update(value="Thanks: the correction was saved.", visible=True)

    def new_chat(grant):
        shown = shown_for(grant)
        return [[], "", gr.update(visible=False), None, gr.update(value="", visible=False), *shown[1:]]

    with gr.Blocks(title="Ask the documents", analytics_enabled=False) as demo:
        with gr.Row(elem_id="qa-top"):
            gr.Markdown("# Ask the documents", elem_id="qa-title")
            new = gr.Button("New chat", size="sm", variant="secondary", scale=0, min_width=100, elem_id="qa-new")
        intro = gr.Markdown(elem_id="qa-intro")
        chatbot = gr.Chatbot(elem_id="qa-answers", render_markdown=False, sanitize_html=True, autoscroll=False,
                             show_label=False, feedback_options=("Like", "Dislike"), group_consecutive_messages=False,
                             buttons=["copy", "copy_all"],  # no "share" (an unlabelled icon button)
                             placeholder="Answers appear here, with the passages they were copied from.")
        show_user_text_as_text(chatbot)
        with gr.Row(elem_id="qa-examples"):
            examples = [gr.Button(visible=False, size="sm", variant="secondary") for _ in range(EXAMPLES)]
        with gr.Row(elem_id="qa-ask", equal_height=True):
            box = gr.Textbox(show_label=False, placeholder="Ask a question about the documents", lines=1, max_lines=4,
                             scale=8, elem_id="qa-question", submit_btn=False, container=False,
                             max_length=settings.max_question_chars * 2)
            send = gr.Button("Ask", variant="primary", scale=0, min_width=80, elem_id="qa-send")
        # a class, not an id: Gradio writes a Group's elem_id on two nested elements (duplicate ids)
        with gr.Group(visible=False, elem_classes=["qa-correction"]) as correction_box:
            correction = gr.Textbox(label="What should the answer have been? (optional)", max_lines=3,
                                    max_length=feedback.MAX_CORRECTION_CHARS)
            with gr.Row():
                send_fix = gr.Button("Send correction", size="sm", variant="primary")
                skip = gr.Button("Skip", size="sm")
        thanks = gr.Markdown(visible=False, elem_id="qa-thanks")
        rated = gr.State(None)
        granted = gr.State(None)  # what this session's key sees: kept on the server, never sent to the page

        private = {"api_visibility": "private"}
        hide = [gr.update(visible=False)] * EXAMPLES
        asked = [box, chatbot, *examples]  # the examples make way once the conversation starts
        for trigger in (box.submit, send.click):
            trigger(lambda m, h: (*add_question(m, h), *hide), [box, chatbot], asked, queue=False, **private).then(
                answer_last, [chatbot, granted], [chatbot], **private)
        for b in examples:
            b.click(lambda q, h: (*add_question(q, h), *hide), [b, chatbot], asked, queue=False, **private).then(
                answer_last, [chatbot, granted], [chatbot], **private)
        chatbot.like(on_vote, [chatbot, granted], [correction_box, correction, rated, thanks], queue=False, **private)
        send_fix.click(send_correction, [correction, rated, granted], [correction_box, rated, thanks], queue=False,
                       **private)
        skip.click(lambda: (gr.update(visible=False), None), None, [correction_box, rated], queue=False, **private)
        new.click(new_chat, [granted], [chatbot, box, correction_box, rated, thanks, *examples], queue=False,
                  **private)
        if startup is not None:  # `qa serve`: the index may still be building when the page opens
            poll = gr.Timer(STATUS_POLL_S, active=False)
            demo.load(on_load_indexing, [chatbot], [intro, *examples, poll, granted], queue=False, **private)
            poll.tick(while_indexing, [chatbot, granted], [intro, *examples, poll], queue=False, show_progress="hidden",
                      **private)
        else:
            demo.load(on_load, None, [intro, *examples, granted], queue=False, **private)
        demo.load(None, None, None, js=SCROLL_TO_NEW_MESSAGE_JS)

        def ask(message: str, history: list | None = None, request: gr.Request = None) -> str:
            """Answer one question (with earlier turns, for follow-ups); returns the answer card's HTML.
            With access keys, send the key as 'Authorization: Bearer KEY' or 'X-API-Key: KEY'."""
            return answer_html(qa, message, history or [], startup, grant_of(request), sign)

        gr.api(ask, api_name="ask")
    return demo


def _client(request) -> str:
    """The address a Gradio event came from ("" when unknown)."""
    client = getattr(request, "client", None)
    return getattr(client, "host", "") or ""


def _text(content) -> str:
    """A message's text: Gradio gives content as a string or as a list of parts."""
    if isinstance(content, list):
        return " ".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content
                        if not isinstance(p, dict) or p.get("type", "text") == "text")
    return content if isinstance(content, str) else ""


def _rated(history, index) -> tuple[str, str | None, list[dict]] | None:
    """(question, answer shown or None when declined, earlier turns) of the rated message."""
    i = index[0] if isinstance(index, (list, tuple)) else index
    if not isinstance(i, int) or not history or not 0 < i < len(history):
        return None
    msg, asked = history[i], history[i - 1]
    if msg.get("role") != "assistant" or asked.get("role") != "user":
        return None
    content = _text(msg.get("content"))
    text, _ = from_card(content)
    declined = "is-declined" in content
    earlier = [{"role": m.get("role"), "content": from_card(_text(m.get("content")))[0]}
               for m in history[:i - 1] if isinstance(m, dict) and m.get("role") in ("user", "assistant")]
    return _text(asked.get("content")), None if declined else text, earlier
