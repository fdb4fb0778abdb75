/*! Corpus QA chat widget. Add one tag to any page:
 *
 *   <script src="http://HOST:PORT/widget.js" data-title="Ask the docs" data-position="right" async></script>
 *
 * Options (data-* attributes of the tag, all optional):
 *   data-title        panel title and button label            (default "Ask the corpus")
 *   data-position     "right" or "left" corner                 (default "right")
 *   data-placeholder  input placeholder                        (default "Ask a question…")
 *   data-open         "true" opens the panel on page load
 *   data-api-key      sent as "Authorization: Bearer …" (visible to anyone who reads the page!)
 *
 * It talks to POST api/ask next to this script (same server that served widget.js) and keeps the
 * conversation for follow-up questions. Answers are shown as the server renders them (the "html"
 * of the reply: the same answer card as the chat page, every piece of document text escaped by
 * the server) with the same stylesheet (answer.css); the widget's own text goes in with
 * textContent. Everything lives in a shadow root, so no CSS leaks in or out.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || !script.src) {
    console.error("[qa-widget] load widget.js with a classic <script src=...> tag (not a module)");
    return;
  }
  var ENDPOINT = new URL("api/ask", script.src).toString();
  var FEEDBACK = new URL("api/feedback", script.src).toString();
  var STYLES = new URL("answer.css", script.src).toString();
  var SERVER = new URL(script.src).origin;
  var cfg = {
    title: script.getAttribute("data-title") || "Ask the corpus",
    position: script.getAttribute("data-position") === "left" ? "left" : "right",
    placeholder: script.getAttribute("data-placeholder") || "Ask a question\u2026",
    open: script.getAttribute("data-open") === "true",
    apiKey: script.getAttribute("data-api-key") || ""
  };
  var MAX_TURNS = 10; // earlier messages sent along for follow-up questions
  var TIMEOUT_MS = 60000;

  // ---- tiny DOM helpers: elements and text nodes only, no HTML parsing anywhere ----
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    for (var k in attrs || {}) {
      if (Object.prototype.hasOwnProperty.call(attrs, k) && attrs[k] != null && attrs[k] !== false) {
        node.setAttribute(k, attrs[k] === true ? "" : String(attrs[k]));
      }
    }
    add(node, children);
    return node;
  }
  function add(node, children) {
    [].concat(children == null ? [] : children).forEach(function (c) {
      if (c == null || c === "") return;
      node.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
    });
    return node;
  }
  // Icons are inline SVG, never emoji: a machine without an emoji font drew the thumbs as empty boxes.
  function svg(pathD, size, transform) {
    var NS = "http://www.w3.org/2000/svg";
    var s = document.createElementNS(NS, "svg");
    s.setAttribute("viewBox", "0 0 24 24");
    s.setAttribute("width", String(size || 26));
    s.setAttribute("height", String(size || 26));
    s.setAttribute("aria-hidden", "true");
    s.setAttribute("focusable", "false");
    var p = document.createElementNS(NS, "path");
    p.setAttribute("d", pathD);
    p.setAttribute("fill", "currentColor");
    if (transform) p.setAttribute("transform", transform);
    s.appendChild(p);
    return s;
  }
  var ICON_CHAT = "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2zm3 6.5a1.5 1.5 0 1 0 0 .01zm5 0a1.5 1.5 0 1 0 0 .01zm5 0a1.5 1.5 0 1 0 0 .01z";
  var ICON_CLOSE = "M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12 19 17.6 17.6 19 12 13.4 6.4 19 5 17.6 10.6 12 5 6.4z";
  // a thumb up: the cuff, then the hand; turned half a circle it is the thumb down
  var ICON_THUMB = "M2 10h4v11H2zM8 10l4-8c1.7 0 2.8 1.3 2.5 3L14 9h6a2 2 0 0 1 2 2.3l-1.4 8A2 2 0 0 1 18.6 21H8z";

  var CSS = [
    ":host{all:initial!important;}",
    ".wrap{position:fixed;bottom:20px;z-index:2147483000;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;color:#111827;}",
    ".wrap.right{right:20px}.wrap.left{left:20px}",
    "*,*::before,*::after{box-sizing:border-box}",
    ".bubble{width:56px;height:56px;border-radius:50%;border:0;background:#1d4ed8;color:#fff;cursor:pointer;display:flex;align-items:center;justify-content:center;box-shadow:0 6px 20px rgba(0,0,0,.25);margin:0;padding:0}",
    ".bubble:hover{background:#1e40af}",
    ".wrap.left .bubble{margin-right:auto}.wrap.right .bubble{margin-left:auto}",
    "button:focus-visible,input:focus-visible,summary:focus-visible,a:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}",
    ".panel{position:absolute;bottom:70px;width:min(400px,calc(100vw - 40px));height:min(600px,calc(100vh - 110px));background:#fff;border:1px solid #d1d5db;border-radius:14px;box-shadow:0 12px 40px rgba(0,0,0,.25);display:flex;flex-direction:column;overflow:hidden}",
    ".wrap.right .panel{right:0}.wrap.left .panel{left:0}",
    ".panel[hidden]{display:none}",
    "header{display:flex;align-items:center;gap:8px;padding:10px 12px 10px 16px;background:#1d4ed8;color:#fff}",
    "h2{margin:0;font-size:16px;font-weight:600;flex:1;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}",
    ".close{background:transparent;border:0;color:#fff;border-radius:6px;padding:4px;cursor:pointer;display:flex}",
    ".close svg{width:20px;height:20px}",
    ".log{position:relative;flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:10px;background:#f9fafb}",
    ".msg{max-width:100%;border-radius:10px;padding:8px 12px;overflow-wrap:anywhere}",
    ".user{align-self:flex-end;background:#1d4ed8;color:#fff;max-width:85%;white-space:pre-wrap}",
    ".bot{align-self:stretch;background:#fff;border:1px solid #e5e7eb}",
    ".hint{color:#4b5563;font-size:14px;background:transparent;border:0;padding:2px}",
    ".error{background:#fef2f2;border:1px solid #fecaca;color:#991b1b}",
    ".vote{display:flex;flex-wrap:wrap;align-items:center;gap:6px;margin-top:8px;font-size:13px;color:#4b5563}",
    ".vote button{font:inherit;font-size:13px;border:1px solid #d1d5db;background:#fff;color:#374151;border-radius:6px;padding:2px 8px;cursor:pointer;display:inline-flex;align-items:center;min-height:28px}",
    ".vote button[aria-pressed=true]{background:#dbeafe;border-color:#93c5fd}",
    ".vote input{flex:1 1 180px;font:inherit;font-size:14px;padding:4px 8px;border:1px solid #9ca3af;border-radius:6px}",
    ".new{background:transparent;border:1px solid rgba(255,255,255,.6);color:#fff;border-radius:6px;padding:2px 8px;font:inherit;font-size:13px;cursor:pointer}",
    ".qa-card.qa-focus{border-color:#1d4ed8;box-shadow:0 0 0 2px #bfdbfe}",
    ".busy{color:#4b5563;font-style:italic;background:transparent;border:0}",
    "form{display:flex;gap:8px;padding:10px;border-top:1px solid #e5e7eb;background:#fff}",
    "input{flex:1;min-width:0;font:inherit;font-size:16px;padding:8px 10px;border:1px solid #9ca3af;border-radius:8px;color:#111827;background:#fff}",
    ".send{font:inherit;font-weight:600;padding:8px 14px;border:0;border-radius:8px;background:#1d4ed8;color:#fff;cursor:pointer}",
    ".send:disabled{background:#93c5fd;cursor:wait}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}",
    "@media (max-width:480px){.wrap{bottom:12px}.wrap.right{right:12px}.wrap.left{left:12px}",
    ".wrap.right .panel,.wrap.left .panel{position:fixed;left:8px;right:8px;width:auto;bottom:80px;height:calc(100vh - 96px)}}"
  ].join("\n");

  function mount() {
    if (document.querySelector("qa-chat-widget")) return; // loaded twice: keep the first
    var host = document.createElement("qa-chat-widget");
    var root = host.attachShadow({ mode: "open" });
    add(root, [el("link", { rel: "stylesheet", href: STYLES }), el("style", {}, CSS)]);

    var uid = "qa" + Math.random().toString(36).slice(2, 8);
    var title = el("h2", { id: uid + "-title" }, cfg.title);
    var closeBtn = el("button", { type: "button", "class": "close", "aria-label": "Close chat" }, svg(ICON_CLOSE));
    var newBtn = el("button", { type: "button", "class": "new" }, "New chat");
    var log = el("div", { "class": "log", role: "log", "aria-live": "polite", "aria-label": "Conversation", tabindex: "0" });
    var input = el("input", {
      id: uid + "-q", type: "text", autocomplete: "off", enterkeyhint: "send", maxlength: "2000",
      placeholder: cfg.placeholder
    });
    var sendBtn = el("button", { type: "submit", "class": "send" }, "Send");
    var form = el("form", { "aria-label": "Ask a question" }, [
      el("label", { "for": uid + "-q", "class": "sr" }, "Your question"), input, sendBtn
    ]);
    var panel = el("section", {
      id: uid + "-panel", "class": "panel", role: "dialog", "aria-modal": "false",
      "aria-labelledby": uid + "-title", hidden: true
    }, [el("header", {}, [title, newBtn, closeBtn]), log, form]);
    var bubble = el("button", {
      type: "button", "class": "bubble", "aria-controls": uid + "-panel", "aria-expanded": "false",
      "aria-haspopup": "dialog", "aria-label": cfg.title, title: cfg.title
    }, svg(ICON_CHAT));
    add(root, el("div", { "class": "wrap " + cfg.position }, [panel, bubble]));
    var HINT = "Ask a question about the documents. Answers are copied from the text, with numbered sources.";
    add(log, el("p", { "class": "msg hint" }, HINT));

    var history = [];
    newBtn.addEventListener("click", function () {
      history = [];
      log.replaceChildren(el("p", { "class": "msg hint" }, HINT));
      input.focus();
    });
    var pending = false;

    function isOpen() { return !panel.hidden; }
    function open() {
      panel.hidden = false;
      bubble.setAttribute("aria-expanded", "true");
      bubble.replaceChildren(svg(ICON_CLOSE));
      input.focus();
    }
    function close() {
      panel.hidden = true;
      bubble.setAttribute("aria-expanded", "false");
      bubble.replaceChildren(svg(ICON_CHAT));
      bubble.focus();
    }
    bubble.addEventListener("click", function () { isOpen() ? close() : open(); });
    closeBtn.addEventListener("click", close);
    root.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && isOpen()) { e.preventDefault(); e.stopPropagation(); close(); }
    });

    function scrollToEnd(node) {
      log.scrollTop = node ? node.offsetTop - 8 : log.scrollHeight;
    }

    // The card's markup is parsed in an inert document (DOMParser runs no script and loads nothing)
    // and copied over element by element, keeping only the tags and attributes the server's
    // renderer emits: even a rendering bug on the server could not put a handler or a foreign
    // link into the host page.
    var TAGS = { DIV: 1, P: 1, SPAN: 1, A: 1, OL: 1, LI: 1, BLOCKQUOTE: 1, MARK: 1, STRONG: 1, DETAILS: 1, SUMMARY: 1 };
    var ATTRS = { "class": 1, id: 1, href: 1, title: 1, "aria-label": 1, open: 1 };
    function cardNodes(markup) {
      var doc = new DOMParser().parseFromString(markup, "text/html");
      function copy(node) {
        if (node.nodeType === 3) return document.createTextNode(node.nodeValue);
        if (node.nodeType !== 1 || !TAGS[node.tagName]) return null;
        var out = document.createElement(node.tagName.toLowerCase());
        [].forEach.call(node.attributes, function (at) {
          if (!ATTRS[at.name]) return;
          if (at.name === "href" && !/^(#qa-|\/doc\/)/.test(at.value)) return;
          out.setAttribute(at.name, at.value);
        });
        [].forEach.call(node.childNodes, function (c) { var k = copy(c); if (k) out.appendChild(k); });
        return out;
      }
      return [].map.call(doc.body.childNodes, copy).filter(Boolean);
    }

    // The answer card is the server's HTML (qa/surfaces/render.py): the same markup and stylesheet as the
    // chat page. Its links point at the server's document view; its [n] marker at its source card.
    function renderAnswer(a, question) {
      var box = el("div", { "class": "msg bot" });
      var card = el("div");
      add(card, cardNodes(String(a.html || "")));
      [].forEach.call(card.querySelectorAll("a.qa-open"), function (link) {
        link.href = new URL(link.getAttribute("href"), SERVER).toString();
        link.target = "_blank";
        link.rel = "noopener noreferrer";
      });
      [].forEach.call(card.querySelectorAll("a.qa-ref"), function (ref) {
        ref.addEventListener("click", function (e) {
          e.preventDefault();
          var target = card.querySelector("[id='" + ref.getAttribute("href").slice(1) + "']");
          if (!target) return;
          [].forEach.call(card.querySelectorAll(".qa-focus"), function (n) { n.classList.remove("qa-focus"); });
          target.classList.add("qa-focus");
          target.setAttribute("tabindex", "-1");
          target.scrollIntoView({ block: "nearest" });
          target.focus();
        });
      });
      add(box, [card, voteRow(question, a)]);
      return box;
    }

    function voteRow(question, a) {
      var shown = a.abstained ? null : String(a.answer || "");
      var row = el("div", { "class": "vote", role: "group", "aria-label": "Was this helpful?" });
      var up = el("button", { type: "button", "aria-pressed": "false", "aria-label": "Helpful" }, svg(ICON_THUMB, 16));
      var down = el("button", { type: "button", "aria-pressed": "false", "aria-label": "Not helpful" },
        svg(ICON_THUMB, 16, "rotate(180 12 12)"));
      var note = el("span", { role: "status" });
      function send(vote, correction) {
        var headers = { "Content-Type": "application/json" };
        if (cfg.apiKey) headers["Authorization"] = "Bearer " + cfg.apiKey;
        return fetch(FEEDBACK, { method: "POST", headers: headers, credentials: "omit", mode: "cors",
          body: JSON.stringify({ question: question, answer: shown, vote: vote, correction: correction || "" })
        }).then(function (r) { note.textContent = r.ok ? "Thanks for the feedback." : "The feedback could not be saved."; },
                function () { note.textContent = "The feedback could not be saved."; });
      }
      up.addEventListener("click", function () {
        up.setAttribute("aria-pressed", "true"); up.disabled = down.disabled = true; send("up");
      });
      down.addEventListener("click", function () {
        down.setAttribute("aria-pressed", "true"); up.disabled = down.disabled = true;
        var fix = el("input", { type: "text", maxlength: "500", "aria-label": "What should the answer have been? (optional)",
          placeholder: "What should the answer have been? (optional)" });
        var ok = el("button", { type: "button" }, "Send");
        ok.addEventListener("click", function () { fix.disabled = ok.disabled = true; send("down", fix.value.trim()); });
        fix.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); ok.click(); } });
        add(row, [fix, ok]);
        fix.focus();
      });
      return add(row, [el("span", {}, "Helpful?"), up, down, note]);
    }

    function showError(message) {
      var box = el("div", { "class": "msg error", role: "alert" }, message);
      add(log, box);
      scrollToEnd(box);
    }

    function ask(question) {
      pending = true;
      sendBtn.disabled = true;
      var userMsg = el("div", { "class": "msg user" }, question);
      var busy = el("p", { "class": "msg busy", "aria-label": "Answering" }, "Looking it up\u2026");
      add(log, [userMsg, busy]);
      scrollToEnd();
      var headers = { "Content-Type": "application/json", "Accept": "application/json" };
      if (cfg.apiKey) headers["Authorization"] = "Bearer " + cfg.apiKey;
      var ctrl = typeof AbortController === "function" ? new AbortController() : null;
      var timer = ctrl && setTimeout(function () { ctrl.abort(); }, TIMEOUT_MS);
      fetch(ENDPOINT, {
        method: "POST", headers: headers, credentials: "omit", mode: "cors",
        body: JSON.stringify({ question: question, history: history.slice(-MAX_TURNS) }),
        signal: ctrl ? ctrl.signal : undefined
      }).then(function (r) {
        return r.text().then(function (body) {
          var data = null;
          try { data = JSON.parse(body); } catch (e) { /* not JSON */ }
          if (!r.ok) {
            throw new Error((data && data.error) ? "Sorry: " + data.error + "." :
              "Sorry: the server answered " + r.status + (r.statusText ? " " + r.statusText : "") + ".");
          }
          if (!data || typeof data !== "object") throw new Error("Sorry: the server sent a reply that is not JSON.");
          return data;
        });
      }).then(function (a) {
        busy.remove();
        add(log, renderAnswer(a, question));
        scrollToEnd(userMsg); // the question at the top, its answer right below
        history.push({ role: "user", content: question });
        var turn = { role: "assistant", content: a.abstained ? (a.message || "") : String(a.answer || "") };
        if (a.source) turn.source = a.source; // follow-ups resolve to the sentence this answer came from
        history.push(turn);
      }).catch(function (err) {
        busy.remove();
        if (err && err.name === "AbortError") {
          showError("Sorry: no answer after " + TIMEOUT_MS / 1000 + " seconds. Try again.");
        } else if (err instanceof TypeError) {
          showError("Could not reach the chat server at " + SERVER + ". It may be down, or this site may not be " +
            "allowed to use it (ask its admin to add " + location.origin + " to allowed_origins).");
        } else {
          showError(err && err.message ? err.message : String(err));
        }
      }).then(function () {
        if (timer) clearTimeout(timer);
        pending = false;
        sendBtn.disabled = false;
        input.focus();
      });
    }

    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var q = input.value.trim();
      if (!q || pending) return;
      input.value = "";
      ask(q);
    });

    document.body.appendChild(host);
    if (cfg.open) open();
  }

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
