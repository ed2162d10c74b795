// opnote live page: the note is sent to the service that served this page (a live session),
// at most one request at a time, 300 ms after the last keystroke; the answer is written into
// the page as text (never as markup). Nothing is loaded from anywhere else.
"use strict";
(() => {
  const DEBOUNCE_MS = 300;
  const $ = (id) => document.getElementById(id);
  const note = $("note"), backdrop = $("backdrop"), items = $("items"), stateLine = $("state");
  let sessionId = null, token = null, timer = null, busy = false, sent = null, shown = null;

  class ApiError extends Error {
    constructor(message, status) { super(message); this.status = status; }
  }

  function setState(state, message) {
    document.body.dataset.state = state;
    stateLine.textContent = message;
  }

  async function api(method, path, body) {
    const headers = {};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (token) headers.Authorization = "Bearer " + token;
    const response = await fetch(path, {
      method, headers, cache: "no-store", body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 204) return null;
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) {
      if (response.status === 401) $("auth").hidden = false;
      const message = data && data.error ? data.error.message : response.status + " " + response.statusText;
      throw new ApiError(message, response.status);
    }
    return data;
  }

  async function openSession() {
    sessionId = (await api("POST", "/v1/sessions", {})).id;
  }

  async function check(text) {
    if (!sessionId) await openSession();
    try {
      return await api("PATCH", "/v1/sessions/" + encodeURIComponent(sessionId) + "?format=page", { text });
    } catch (e) {
      if (e.status !== 404) throw e;
      await openSession(); // the session expired: start another
      return api("PATCH", "/v1/sessions/" + encodeURIComponent(sessionId) + "?format=page", { text });
    }
  }

  async function update() {
    if (busy) return;
    const text = note.value;
    if (text === sent) return;
    sent = text;
    if (!text.trim()) {
      clearReport();
      setState("empty", "Type, dictate or paste a note.");
      return;
    }
    busy = true;
    setState("checking", "Checking…");
    try {
      const view = await check(text);
      render(view, text);
      if (note.value === text) setState("current", "Up to date");
    } catch (e) {
      sent = null;
      setState("error", e.message);
    } finally {
      busy = false;
      if (note.value !== sent && sent !== null) schedule();
    }
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(update, DEBOUNCE_MS);
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function clearReport() {
    shown = null;
    $("verdict").dataset.verdict = "";
    $("verdict-badge").textContent = "No note yet";
    $("score").textContent = "";
    const line = $("case");
    line.textContent = "";
    line.className = "case";
    $("summary").textContent = "";
    items.replaceChildren();
    backdrop.replaceChildren(document.createTextNode(note.value + "\n"));
  }

  // Report offsets count Unicode code points; a JavaScript string counts UTF-16 units.
  function unitOffsets(text) {
    if (!/[\uD800-\uDFFF]/.test(text)) return null;
    const map = [];
    let unit = 0;
    for (const ch of text) { map.push(unit); unit += ch.length; }
    map.push(unit);
    return map;
  }

  function quoteButton(text, start, end) {
    const button = el("button", null, "“" + text.slice(start, end).replace(/\s+/g, " ") + "”");
    button.type = "button";
    button.title = "Show in the note";
    button.addEventListener("click", () => { note.focus(); note.setSelectionRange(start, end); });
    return button;
  }

  function itemNode(item, text, map) {
    const li = el("li", "item s-" + item.status);
    li.dataset.item = item.id;
    li.dataset.status = item.status;
    li.style.setProperty("--edge", item.border);
    const head = el("div", "head");
    const num = el("span", "num", String(item.number));
    num.style.background = item.colour;
    head.append(num, el("span", "status", item.status_icon + " " + item.status_label), el("span", "title", item.title));
    li.append(head, el("p", "message", item.message));
    if (item.gap && item.suggestion) {
      const box = el("div", "suggestion");
      const insert = el("button", null, "Insert");
      insert.type = "button";
      insert.title = "Insert this sentence at the cursor, then fill in the blanks";
      insert.addEventListener("click", () => {
        const at = note.selectionEnd;
        const before = note.value.slice(0, at);
        const lead = before && !/\s$/.test(before) ? "\n" : "";
        note.setRangeText(lead + item.suggestion + "\n", at, at, "end");
        note.focus();
        note.dispatchEvent(new Event("input", { bubbles: true }));
      });
      box.append(el("span", null, item.suggestion), insert);
      li.append(box);
    }
    if (map !== undefined && item.evidence.length) {
      const quotes = el("div", "quotes");
      for (const ev of item.evidence.slice(0, 3)) {
        const [start, end] = map ? [map[ev.start], map[ev.end]] : [ev.start, ev.end];
        quotes.append(quoteButton(text, start, end));
      }
      li.append(quotes);
    }
    return li;
  }

  function highlight(view, text, map) {
    const spans = [];
    view.items.forEach((item, rank) => {
      for (const ev of item.evidence) {
        const [start, end] = map ? [map[ev.start], map[ev.end]] : [ev.start, ev.end];
        if (end > start) spans.push({ start, end, rank, colour: item.colour, border: item.border });
      }
    });
    const cuts = [...new Set([0, text.length, ...spans.flatMap((s) => [s.start, s.end])])].sort((a, b) => a - b);
    const parts = [];
    for (let i = 0; i + 1 < cuts.length; i++) {
      const [a, b] = [cuts[i], cuts[i + 1]];
      const over = spans.filter((s) => s.start <= a && s.end >= b).sort((x, y) => x.rank - y.rank)[0];
      if (!over) { parts.push(document.createTextNode(text.slice(a, b))); continue; }
      const mark = el("mark", null, text.slice(a, b));
      mark.style.background = over.colour;
      mark.style.setProperty("--edge", over.border);
      parts.push(mark);
    }
    parts.push(document.createTextNode("\n"));
    backdrop.replaceChildren(...parts);
    backdrop.scrollTop = note.scrollTop;
  }

  function render(view, text) {
    const current = note.value === text;
    const map = current ? unitOffsets(text) : undefined;
    $("verdict").dataset.verdict = view.verdict;
    $("verdict-badge").textContent = view.verdict_icon + " " + view.verdict_label;
    const score = $("score");
    score.replaceChildren(document.createTextNode(String(view.score)), el("small", null, " / 100"));
    const line = $("case");
    line.textContent = view.case_line || "The case is not described yet.";
    line.className = "case" + (view.case_line ? "" : " empty") + (view.side_conflict ? " conflict" : "");
    $("summary").textContent = view.summary;
    items.replaceChildren(...view.items.map((item) => itemNode(item, text, current ? map : undefined)));
    if (current) {
      shown = text;
      highlight(view, text, map);
    }
  }

  note.addEventListener("input", () => {
    if (shown !== note.value) backdrop.replaceChildren(document.createTextNode(note.value + "\n"));
    if (note.value !== sent) setState("pending", "Waiting for a pause…");
    schedule();
  });
  note.addEventListener("scroll", () => {
    backdrop.scrollTop = note.scrollTop;
    backdrop.scrollLeft = note.scrollLeft;
  });
  $("auth").addEventListener("submit", (event) => {
    event.preventDefault();
    token = $("token").value.trim() || null;
    $("auth").hidden = true;
    sent = null;
    schedule();
  });
  window.addEventListener("pagehide", () => {
    if (!sessionId) return;
    const headers = token ? { Authorization: "Bearer " + token } : {};
    fetch("/v1/sessions/" + encodeURIComponent(sessionId), { method: "DELETE", headers, keepalive: true });
    sessionId = null;
  });

  clearReport();
  setState("empty", "Type, dictate or paste a note.");
  if (note.value) schedule();
})();
