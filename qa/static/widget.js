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
 * It talks to POST api/ask next to this script (same server that served widget.js), keeps the
 * conversation for follow-up questions, and renders every piece of server text with textContent
 * (never as HTML). Everything lives in a shadow root, so no CSS leaks in or out.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || !script.src) {
    console.error("[qa-widget] load widget.js with a classic <script src=...> tag (not a module)");
    return;
  }
  var ENDPOINT = new URL("api/ask", script.src).toString();
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
  function svg(pathD) {
    var NS = "http://www.w3.org/2000/svg";
    var s = document.createElementNS(NS, "svg");
    s.setAttribute("viewBox", "0 0 24 24");
    s.setAttribute("width", "26");
    s.setAttribute("height", "26");
    s.setAttribute("aria-hidden", "true");
    s.setAttribute("focusable", "false");
    var p = document.createElementNS(NS, "path");
    p.setAttribute("d", pathD);
    p.setAttribute("fill", "currentColor");
    s.appendChild(p);
    return s;
  }
  var ICON_CHAT = "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2zm3 6.5a1.5 1.5 0 1 0 0 .01zm5 0a1.5 1.5 0 1 0 0 .01zm5 0a1.5 1.5 0 1 0 0 .01z";
  var ICON_CLOSE = "M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12 19 17.6 17.6 19 12 13.4 6.4 19 5 17.6 10.6 12 5 6.4z";

  var CSS = [
    ":host{all:initial!important;}",
    ".wrap{position:fixed;bottom:20px;z-index:2147483000;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;color:#111827;}",
    ".wrap.right{right:20px}.wrap.left{left:20px}",
    "*,*::before,*::after{box-sizing:border-box}",
    ".bubble{width:56px;height:56px;border-radius:50%;border:0;background:#1d4ed8;color:#fff;cursor:pointer;display:flex;align-items:center;justify-content:center;box-shadow:0 6px 20px rgba(0,0,0,.25);margin:0;padding:0}",
    ".bubble:hover{background:#1e40af}",
    ".wrap.left .bubble{margin-right:auto}.wrap.right .bubble{margin-left:auto}",
    "button:focus-visible,input:focus-visible,summary:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}",
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
    ".answer{margin:0 0 4px;font-weight:600}",
    ".abstain{color:#92400e}",
    ".ref{font:inherit;font-size:12px;font-weight:600;color:#1d4ed8;background:#eff6ff;border:1px solid #bfdbfe;border-radius:4px;padding:0 4px;margin-left:4px;cursor:pointer;vertical-align:1px}",
    ".meta{margin:0 0 6px;font-size:13px;color:#4b5563}",
    ".meta.uncertain{color:#92400e}",
    ".sources{margin:8px 0 4px;font-size:13px;font-weight:600;color:#374151}",
    "ol{margin:0;padding:0;list-style:none;display:flex;flex-direction:column;gap:6px}",
    "details{border:1px solid #e5e7eb;border-radius:8px;background:#fff}",
    "summary{cursor:pointer;padding:6px 8px;font-size:13px;color:#1f2937;list-style-position:inside}",
    ".n{display:inline-block;min-width:20px;height:20px;line-height:20px;text-align:center;border-radius:10px;background:#1d4ed8;color:#fff;font-size:12px;font-weight:700;margin-right:6px}",
    "blockquote{margin:0;padding:6px 10px 8px;font-size:13px;color:#374151;border-top:1px solid #f3f4f6}",
    "mark{background:#fef08a;color:#111827;padding:0 1px;border-radius:2px}",
    ".doc{display:block;margin-top:4px;font-size:12px;color:#6b7280}",
    ".error{background:#fef2f2;border:1px solid #fecaca;color:#991b1b}",
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
    add(root, el("style", {}, CSS));

    var uid = "qa" + Math.random().toString(36).slice(2, 8);
    var title = el("h2", { id: uid + "-title" }, cfg.title);
    var closeBtn = el("button", { type: "button", "class": "close", "aria-label": "Close chat" }, svg(ICON_CLOSE));
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
    }, [el("header", {}, [title, closeBtn]), log, form]);
    var bubble = el("button", {
      type: "button", "class": "bubble", "aria-controls": uid + "-panel", "aria-expanded": "false",
      "aria-haspopup": "dialog", "aria-label": cfg.title, title: cfg.title
    }, svg(ICON_CHAT));
    add(root, el("div", { "class": "wrap " + cfg.position }, [panel, bubble]));
    add(log, el("p", { "class": "msg hint" },
      "Ask a question about the documents. Answers are copied from the text, with numbered sources."));

    var history = [];
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

    function excerpt(c, answer, isSource) {
      var t = String(c.text || ""), q = el("blockquote");
      var hs = c.highlight_start, he = c.highlight_end;
      if (hs == null || he == null || !(c.start <= hs && hs < he && he <= c.end)) return add(q, t);
      hs -= c.start; he -= c.start;
      var mark = el("mark");
      var as = isSource && answer.answer_start != null ? answer.answer_start - c.start : -1;
      var ae = isSource && answer.answer_end != null ? answer.answer_end - c.start : -1;
      if (hs <= as && as < ae && ae <= he && ae - as < t.slice(hs, he).trim().length) {
        add(mark, [t.slice(hs, as), el("strong", {}, t.slice(as, ae)), t.slice(ae, he)]);
      } else {
        add(mark, t.slice(hs, he));
      }
      return add(q, [t.slice(0, hs), mark, t.slice(he)]);
    }

    function renderAnswer(a) {
      var box = el("div", { "class": "msg bot" });
      var cites = el("ol", { "aria-label": a.abstained ? "Closest passages" : "Sources" });
      var items = {};
      (a.citations || []).forEach(function (c, i) {
        var isSource = !a.abstained && a.answer_citation === c.n;
        var where = String(c.title || c.doc || "") + (c.section ? " \u203a " + c.section : "");
        var details = el("details", { open: isSource || (a.abstained && i === 0) }, [
          el("summary", {}, [el("span", { "class": "sr" }, "Source "), el("span", { "class": "n" }, String(c.n)), where]),
          add(excerpt(c, a, isSource), el("span", { "class": "doc" }, String(c.doc || "")))
        ]);
        items[c.n] = details;
        add(cites, el("li", {}, details));
      });
      if (a.abstained) {
        add(box, el("p", { "class": "answer abstain" }, a.message || "The corpus does not say."));
      } else {
        var p = el("p", { "class": "answer" }, String(a.answer || "").replace(/\s+/g, " ").trim());
        if (items[a.answer_citation]) {
          var ref = el("button", { type: "button", "class": "ref", "aria-label": "Show source " + a.answer_citation },
            "[" + a.answer_citation + "]");
          ref.addEventListener("click", function () {
            var d = items[a.answer_citation];
            d.open = true;
            d.querySelector("summary").focus();
            d.scrollIntoView({ block: "nearest" });
          });
          add(p, ref);
        }
        add(box, p);
      }
      var meta = "Confidence " + Math.round(100 * (Number(a.score) || 0)) + "%";
      if (a.uncertain && !a.abstained) {
        meta += " \u2014 " + (a.message || "Not sure: check the sources below.");
      }
      add(box, el("p", { "class": a.uncertain && !a.abstained ? "meta uncertain" : "meta" }, meta));
      if (a.citations && a.citations.length) {
        add(box, [el("p", { "class": "sources" }, a.abstained ? "Closest passages" : "Sources"), cites]);
      }
      return box;
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
        add(log, renderAnswer(a));
        scrollToEnd(userMsg); // the question at the top, its answer right below
        history.push({ role: "user", content: question });
        history.push({ role: "assistant", content: a.abstained ? (a.message || "") : String(a.answer || "") });
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
