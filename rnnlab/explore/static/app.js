// rnnlab explorer: the page. Plain JavaScript, no libraries, no build step, nothing fetched from
// outside. It talks to `rnnlab explore`'s JSON API (rnnlab/explore/http.py), or, in a page written
// by `rnnlab explore --export`, reads the data embedded in <script id="rnnlab-data">.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const SVG_NS = "http://www.w3.org/2000/svg";  // an XML namespace name, never fetched
  const GATES = new Set(["i", "f", "o", "r", "z"]);
  const KIND_NAMES = { h: "hidden", c: "cell", i: "input gate", f: "forget gate", o: "output gate",
    g: "candidate", r: "reset gate", z: "update gate", n: "candidate" };
  const RDBU = [[33, 102, 172], [146, 197, 222], [247, 247, 247], [244, 165, 130], [178, 24, 43]];
  const LAYER_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"];
  const MAX_ROWS = 8;

  const embedded = $("rnnlab-data");
  const api = embedded ? staticApi(JSON.parse(embedded.textContent)) : serverApi();

  const state = {
    info: null,
    example: null,       // {id, name, tokens, predictions, targets, intent}: intent only for a tagger
    values: new Map(),   // key → {units, data: Float32Array(T * units)} of the shown example
    rows: [],            // [{key, unit}]: rows[0] colours the text, the others are bars under it
    track: null,         // the last hypothesis on the shown example: {label, values}
    span: null,          // the selected span {start, end} (end exclusive)
    highlight: null,     // a clicked match {start, end}
    drag: null,          // the token where a drag started
  };

  // --- talking to the server (or to the embedded data) ------------------------------------------

  function serverApi() {
    async function call(path, body) {
      const init = body === undefined ? {} :
        { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
      const res = await fetch(path, init);
      let data = null;
      try { data = await res.json(); } catch (e) { /* not JSON: reported below */ }
      if (!res.ok || data === null && path !== "api/saturation") {
        throw new Error(data && data.error ? data.error : `${path}: HTTP ${res.status}`);
      }
      return data;
    }
    return {
      info: () => call("api/info"),
      example: (id, keys) => call(`api/example?id=${id}&keys=${encodeURIComponent(keys.join(","))}`),
      analyze: (text, keys) => call("api/analyze", { text, keys }),
      search: (query) => call("api/search", query),
      select: (query) => call("api/select", query),
      saturation: () => call("api/saturation"),
    };
  }

  function staticApi(data) {
    const live = (what) => Promise.reject(new Error(
      `${what} needs the live explorer (rnnlab explore RUN_DIR); this page is a static export`));
    return {
      info: async () => data.info,
      example: async (id, keys) => {
        const e = data.examples[String(id)];
        if (!e) throw new Error(`no example ${id}`);
        const values = {};
        for (const key of keys) values[key] = dequantize(e.values[key], e.tokens.length);
        return { id, name: e.name, tokens: e.tokens, predictions: e.predictions, targets: e.targets,
          labels: e.labels, intent: e.intent, tree: e.tree, values };
      },
      analyze: () => live("Running new text"),
      search: async (query) => {
        const h = query.hypothesis;
        const found = h.kind === "named" && data.rankings[h.name];
        if (!found) return live("Searching a new hypothesis");
        const kinds = query.kinds && query.kinds.length ? new Set(query.kinds) : null;
        const units = found.units.filter((s) => !kinds || kinds.has(kindOf(s.key))).slice(0, query.top || 20);
        return { label: h.name, units, example: query.example, values: found.values[String(query.example)] };
      },
      select: () => live("Selecting units on a span"),
      saturation: async () => data.saturation,
    };
  }

  // values from the server: T rows of `units` numbers; from an export: bytes in base64, 0..255 → lo..hi
  function matrix(rows) {
    const T = rows.length, units = T ? rows[0].length : 0;
    const data = new Float32Array(T * units);
    rows.forEach((row, t) => data.set(row, t * units));
    return { units, data };
  }

  function dequantize(q, T) {
    const bytes = atob(q.data);
    const data = new Float32Array(bytes.length);
    const step = (q.hi - q.lo) / 255;
    for (let k = 0; k < bytes.length; k++) data[k] = q.lo + bytes.charCodeAt(k) * step;
    return { units: data.length / T, data };
  }

  // --- small helpers ----------------------------------------------------------------------------

  const kindOf = (key) => key.slice(key.lastIndexOf("/") + 1);
  const layerOf = (key) => key.slice(0, key.lastIndexOf("/"));
  const el = (tag, props = {}, ...children) => {
    const node = document.createElement(tag);
    Object.assign(node, props);
    node.append(...children);
    return node;
  };
  const svg = (tag, attrs = {}) => {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    return node;
  };
  const fmt = (v, digits = 3) => (v === undefined || v === null ? "–" : Number(v).toFixed(digits));

  function status(text, isError = false) {
    const s = $("status");
    s.textContent = text;
    s.classList.toggle("error", isError);
  }

  function fail(e) {
    console.warn(e);  // not console.error: a refused request is the user's to fix, shown on the page
    status(e.message || String(e), true);
  }

  function shown(token) {  // how a token is drawn: visible whitespace
    if (token === "\n" || token === "<eos>") return "↵";
    if (token === " ") return "\u00a0";
    if (token === "\t") return "→";
    return token;
  }

  const visible = (text) => text.replace(/\n/g, "↵").replace(/<eos>/g, "↵");

  const breaksLine = (token) => token === "\n" || token === "<eos>";

  const isTagger = () => state.info.kind === "tagger";  // predictions are each word's tag, not the next token

  // --- colours ----------------------------------------------------------------------------------

  function colour(t) {  // t in [-1, 1] → RdBu (blue negative, white 0, red positive)
    t = Math.max(-1, Math.min(1, Number.isFinite(t) ? t : 0));
    const x = (t + 1) * 2, i = Math.min(3, Math.floor(x)), f = x - i;
    const a = RDBU[i], b = RDBU[i + 1];
    return `rgb(${a.map((v, k) => Math.round(v + (b[k] - v) * f)).join(", ")})`;
  }

  // gates live in [0, 1] around 0.5; tanh values in [-1, 1]; anything larger (cell states) ±max|v|
  function domain(kind, values) {
    let lo = Infinity, hi = -Infinity;
    for (const v of values) { if (v < lo) lo = v; if (v > hi) hi = v; }
    if (GATES.has(kind) && lo >= 0 && hi <= 1) return { lo: 0, mid: 0.5, hi: 1 };
    const m = Math.max(Math.abs(lo), Math.abs(hi), 1e-6);
    return m <= 1 ? { lo: -1, mid: 0, hi: 1 } : { lo: -m, mid: 0, hi: m };
  }

  const scaled = (v, d) => (v >= d.mid ? (v - d.mid) / (d.hi - d.mid) : (v - d.mid) / (d.mid - d.lo));

  function column(row) {  // one unit's values over the example, and its colour domain
    const m = state.values.get(row.key);
    const T = state.example.tokens.length;
    const out = new Float32Array(T);
    for (let t = 0; t < T; t++) out[t] = m.data[t * m.units + row.unit];
    return { values: out, domain: domain(kindOf(row.key), out) };
  }

  const rowName = (row) => `${row.key} #${row.unit}`;

  // --- loading ----------------------------------------------------------------------------------

  function neededKeys() {
    const keys = new Set(state.rows.map((r) => r.key));
    const selectKey = $("select-key").value;
    if (selectKey) keys.add(selectKey);
    return [...keys];
  }

  async function ensureValues() {
    const missing = neededKeys().filter((k) => !state.values.has(k));
    if (!missing.length) return;
    const got = await api.example(state.example.id, missing);
    for (const key of missing) {
      const v = got.values[key];
      state.values.set(key, Array.isArray(v) ? matrix(v) : v);
    }
  }

  function setExample(data) {
    state.example = { id: data.id, name: data.name, tokens: data.tokens, predictions: data.predictions,
      targets: data.targets, labels: data.labels || null, intent: data.intent || null, tree: data.tree || null };
    state.values = new Map();
    for (const [key, v] of Object.entries(data.values || {})) state.values.set(key, Array.isArray(v) ? matrix(v) : v);
    state.track = null;
    state.span = null;
    state.highlight = null;
    $("example").value = String(data.id);
    showSelection(null);
  }

  async function showExample(id, highlight = null) {
    status("loading…");
    try {
      const data = await api.example(id, neededKeys());
      setExample(data);
      state.highlight = highlight;
      render();
      if (window.rnnlabMemory) await window.rnnlabMemory.show(state.info, state.example, (keys) => api.example(data.id, keys));
      if (window.rnnlabSignal) await window.rnnlabSignal.show(state.info, state.example, (keys) => api.example(data.id, keys));
      status("");
      if (highlight) {
        const tok = $("text").querySelector(`.tok[data-i="${highlight.start}"]`);
        if (tok) tok.scrollIntoView({ block: "center", behavior: "smooth" });
      }
    } catch (e) { fail(e); }
  }

  async function setRows(rows) {
    if (rows[0].key !== state.rows[0].key) $("select-key").value = rows[0].key;  // select on what is shown
    state.rows = rows.slice(0, MAX_ROWS);
    try {
      await ensureValues();
      render();
    } catch (e) { fail(e); }
  }

  // --- the unit rows ----------------------------------------------------------------------------

  function renderRows() {
    const box = $("rows");
    box.textContent = "";
    const info = state.info;
    state.rows.forEach((row, index) => {
      const layer = layerOf(row.key), kind = kindOf(row.key);
      const layerSelect = el("select", { title: "layer" });
      for (const l of info.layers) layerSelect.append(el("option", { value: l, textContent: l, selected: l === layer }));
      const kindSelect = el("select", { title: "what to show: hidden state, cell state or a gate" });
      for (const k of info.kinds[layer]) {
        kindSelect.append(el("option", { value: k, textContent: `${k} (${KIND_NAMES[k] || k})`, selected: k === kind }));
      }
      const units = info.units[row.key];
      const unitInput = el("input", { type: "number", min: 0, max: units - 1, value: row.unit, title: `unit, 0…${units - 1}` });
      unitInput.className = "unit";
      const change = (patch) => {
        const next = state.rows.slice();
        const merged = { ...row, ...patch };
        if (!info.units[merged.key]) merged.key = `${layerOf(merged.key)}/${info.kinds[layerOf(merged.key)][0]}`;
        merged.unit = Math.max(0, Math.min(info.units[merged.key] - 1, merged.unit | 0));
        next[index] = merged;
        setRows(next);
      };
      layerSelect.onchange = () => change({ key: `${layerSelect.value}/${kind}` });
      kindSelect.onchange = () => change({ key: `${layer}/${kindSelect.value}` });
      unitInput.onchange = () => change({ unit: Number(unitInput.value) });
      const prev = el("button", { type: "button", textContent: "◀", title: "previous unit", onclick: () => change({ unit: row.unit - 1 }) });
      const next = el("button", { type: "button", textContent: "▶", title: "next unit", onclick: () => change({ unit: row.unit + 1 }) });
      const label = el("span", { className: "row-label", textContent: index === 0 ? "text colour" : `bar ${index}` });
      const line = el("div", { className: "toolbar unit-row" }, label, layerSelect, kindSelect, "unit", unitInput, prev, next);
      if (index > 0) {
        line.append(el("button", { type: "button", textContent: "×", title: "remove this row",
          onclick: () => setRows(state.rows.filter((_, k) => k !== index)) }));
      }
      box.append(line);
    });
    $("add-row").disabled = state.rows.length >= MAX_ROWS;
  }

  function renderLegend(col) {
    const d = col.domain;
    const legend = $("legend");
    legend.textContent = "";
    const bar = el("span", { className: "gradient" });
    bar.style.background = `linear-gradient(to right, ${[-1, -0.5, 0, 0.5, 1].map(colour).join(", ")})`;
    legend.append(el("span", { textContent: `${rowName(state.rows[0])}: ` }), el("span", { textContent: fmt(d.lo, 2) }), bar,
      el("span", { textContent: fmt(d.hi, 2) }), el("span", { className: "note", textContent: ` (white = ${fmt(d.mid, 1)})` }));
  }

  // --- the text ---------------------------------------------------------------------------------

  function render() {
    renderRows();
    renderIntent();
    renderText();
  }

  // a tagger's sentence label: the predicted intent (marked against the gold one, if known) and its top guesses
  function renderIntent() {
    const box = $("intent");
    const intent = state.example && state.example.intent;
    box.textContent = "";
    box.hidden = !intent;
    if (!intent) return;
    const gold = intent.target === null || intent.target === undefined ? null : intent.target;
    const predicted = el("span", { className: "intent-name", textContent: intent.predicted === null ? "–" : intent.predicted });
    if (gold !== null) predicted.classList.add(intent.predicted === gold ? "hit" : "miss");
    box.append(el("span", { className: "note", textContent: "intent: " }), predicted);
    if (gold !== null) {
      box.append(el("span", { className: "note", textContent: "  gold intent: " }), el("span", { className: "intent-name", textContent: gold }));
    }
    if (intent.predictions) {
      box.append(el("span", { className: "note", textContent: "  top guesses: " }));
      for (const [name, p] of intent.predictions) box.append(el("span", { className: "guess", textContent: `${name} ${fmt(p, 3)}` }));
    }
  }

  function renderText() {
    const box = $("text");
    box.textContent = "";
    const ex = state.example;
    if (!ex || !state.rows.length || !state.rows.every((r) => state.values.has(r.key))) return;
    const cols = state.rows.map(column);
    renderLegend(cols[0]);
    const track = state.track;
    const trackDomain = track ? domain("", track.values) : null;
    const predictions = $("show-predictions").checked && ex.predictions;
    const frag = document.createDocumentFragment();
    ex.tokens.forEach((token, t) => {
      const tok = el("span", { className: "tok" });
      tok.dataset.i = t;
      const s = scaled(cols[0].values[t], cols[0].domain);
      const ch = el("span", { className: "ch", textContent: shown(token) });
      ch.style.backgroundColor = colour(s);
      if (Math.abs(s) > 0.65) ch.classList.add("dark");
      if (breaksLine(token) || token === "<unk>") ch.classList.add("special");
      tok.append(ch);
      for (let k = 1; k < cols.length; k++) {
        const bar = el("span", { className: "bar" });
        bar.style.backgroundColor = colour(scaled(cols[k].values[t], cols[k].domain));
        tok.append(bar);
      }
      if (track) {
        const bar = el("span", { className: "bar track" });
        bar.style.backgroundColor = colour(scaled(track.values[t], trackDomain));
        tok.append(bar);
      }
      if (predictions) {
        // a tagger's decoded tag (e.g. the best valid BIO sequence), else the top guess
        const best = ex.labels ? ex.labels[t] : ex.predictions[t][0][0];
        const target = ex.targets ? ex.targets[t] : undefined;  // none for typed text of a tagger
        const pred = el("span", { className: "pred", textContent: shown(best) });
        if (target !== undefined) pred.classList.add(target === null ? "end" : best === target ? "hit" : "miss");
        tok.append(pred);
      }
      frag.append(tok);
      if (breaksLine(token)) frag.append(el("br"));
    });
    box.append(frag);
    markSpans();
    if (window.rnnlabTree) window.rnnlabTree.draw($("tree"), ex, cols[0], (v, d) => colour(scaled(v, d)));  // tree.js
  }

  function markSpans() {
    const span = state.span, hl = state.highlight;
    for (const tok of $("text").children) {
      if (!tok.dataset.i) continue;
      const i = Number(tok.dataset.i);
      tok.classList.toggle("selected", !!span && i >= span.start && i < span.end);
      tok.classList.toggle("match", !!hl && i >= hl.start && i < hl.end);
    }
  }

  function tooltipFor(t) {
    const ex = state.example;
    const tip = $("tooltip");
    tip.textContent = "";
    tip.append(el("div", { className: "tip-title", textContent: `#${t}  ${JSON.stringify(ex.tokens[t])}` }));
    const table = el("table");
    for (const row of state.rows) {
      const m = state.values.get(row.key);
      if (m) table.append(el("tr", {}, el("td", { textContent: rowName(row) }), el("td", { textContent: fmt(m.data[t * m.units + row.unit]) })));
    }
    if (state.track) table.append(el("tr", {}, el("td", { textContent: state.track.label }), el("td", { textContent: fmt(state.track.values[t], 2) })));
    tip.append(table);
    if (ex.predictions) {
      const target = ex.targets ? ex.targets[t] : undefined;
      const tagger = isTagger(), name = (token) => (tagger ? token : JSON.stringify(token));
      tip.append(el("div", { className: "tip-title", textContent: tagger ? "tags: top guesses" : "next token: guesses" }));
      const guesses = el("table");
      for (const [token, p] of ex.predictions[t]) {
        const bar = el("span", { className: "prob" });
        bar.style.width = `${Math.round(p * 80)}px`;
        const tr = el("tr", {}, el("td", { textContent: name(token) }), el("td", {}, bar), el("td", { textContent: fmt(p, 3) }));
        if (token === target) tr.className = "hit";
        guesses.append(tr);
      }
      const truth = target === null ? "(last token)" : tagger ? `gold tag: ${target}` : `true next: ${JSON.stringify(target)}`;
      if (target !== undefined) tip.append(guesses, el("div", { textContent: truth }));
      else tip.append(guesses);
    }
    return tip;
  }

  function tokenIndex(event) {
    const tok = event.target.closest && event.target.closest(".tok");
    return tok ? Number(tok.dataset.i) : null;
  }

  function wireText() {
    const box = $("text");
    box.addEventListener("mousemove", (event) => {
      const t = tokenIndex(event);
      const tip = $("tooltip");
      if (t === null || !state.example) { tip.hidden = true; return; }
      if (tip.dataset.t !== String(t)) { tooltipFor(t); tip.dataset.t = String(t); }
      tip.hidden = false;
      const x = Math.min(event.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
      const y = event.clientY + 18 + tip.offsetHeight > window.innerHeight ? event.clientY - tip.offsetHeight - 10 : event.clientY + 18;
      tip.style.left = `${x}px`;
      tip.style.top = `${y}px`;
      if (state.drag !== null) {
        state.span = { start: Math.min(state.drag, t), end: Math.max(state.drag, t) + 1 };
        markSpans();
      }
    });
    box.addEventListener("mouseleave", () => { $("tooltip").hidden = true; });
    box.addEventListener("mousedown", (event) => {
      const t = tokenIndex(event);
      if (t === null || event.button !== 0 || embedded) return;  // selecting needs the server
      event.preventDefault();
      state.drag = t;
      state.span = { start: t, end: t + 1 };
      markSpans();
    });
    document.addEventListener("mouseup", () => {
      if (state.drag === null) return;
      state.drag = null;
      if (state.span) runSelect(null);
    });
  }

  // --- select a span, match it elsewhere (LSTMVis) ---------------------------------------------

  let selectTimer = null;

  async function runSelect(threshold) {
    if (!state.span || !state.example) return;
    if (!$("select-key").value) $("select-key").value = state.rows[0].key;
    try {
      const result = await api.select({ example: state.example.id, key: $("select-key").value,
        start: state.span.start, end: state.span.end, threshold });
      showSelection(result);
      status("");
    } catch (e) { fail(e); }
  }

  function showSelection(result) {
    $("select-body").hidden = !result;
    if (!result) {
      if (!embedded) $("select-note").textContent = "Drag across tokens in the text to select a span.";
      return;
    }
    const text = state.example.tokens.slice(result.start, result.end).map(shown).join(state.info.level === "word" ? " " : "");
    $("select-note").textContent = `Span ${result.start}–${result.end}: “${text.slice(0, 60)}”`;
    const edges = result.distribution.edges;
    const range = $("threshold-range");
    range.min = edges[0];
    range.max = edges[edges.length - 1];
    range.step = (edges[edges.length - 1] - edges[0]) / 500 || 0.001;
    range.value = result.threshold;
    $("threshold").value = fmt(result.threshold, 3);
    drawHistogram(result);
    const box = $("selected-units");
    box.textContent = "";
    box.append(el("span", { textContent: `${result.units.length} unit${result.units.length === 1 ? "" : "s"} ≥ threshold all through the span (and below it just before)${result.units.length ? ": " : "."}` }));
    for (const unit of result.units.slice(0, 60)) {
      box.append(el("button", { type: "button", className: "chip", textContent: unit, title: `show ${result.key} #${unit}`,
        onclick: () => setRows([{ key: result.key, unit }, ...state.rows.slice(1)]) }));
    }
    if (result.units.length > 1) {
      box.append(el("button", { type: "button", textContent: "show as rows", title: `the first ${MAX_ROWS} as unit rows`,
        onclick: () => setRows(result.units.slice(0, MAX_ROWS).map((unit) => ({ key: result.key, unit }))) }));
    }
    const list = $("matches");
    list.textContent = "";
    const gap = state.info.level === "word" ? " " : "";
    for (const m of result.matches) {
      const item = el("li", { title: "show this span" }, el("span", { className: "score", textContent: `${fmt(m.score, 2)} ` }),
        el("span", { className: "note", textContent: `${m.name}: ` }), el("span", { className: "ctx", textContent: visible(m.before) + gap }),
        el("mark", { textContent: visible(m.text) }), el("span", { className: "ctx", textContent: gap + visible(m.after) }));
      item.onclick = () => showMatch(m);
      list.append(item);
    }
    if (!result.matches.length) list.append(el("li", { className: "note", textContent: result.units.length ? "no other spans" : "select units first" }));
  }

  async function showMatch(m) {
    if (state.example.id === m.example) {
      state.highlight = { start: m.start, end: m.end };
      markSpans();
      const tok = $("text").querySelector(`.tok[data-i="${m.start}"]`);
      if (tok) tok.scrollIntoView({ block: "center", behavior: "smooth" });
    } else {
      await showExample(m.example, { start: m.start, end: m.end });
    }
  }

  function drawHistogram(result) {
    const { edges, counts } = result.distribution;
    const W = 320, H = 90, pad = 18;
    const box = $("histogram");
    box.textContent = "";
    const plot = svg("svg", { width: W, height: H + pad, viewBox: `0 0 ${W} ${H + pad}`, role: "img" });
    const lo = edges[0], hi = edges[edges.length - 1];
    const x = (v) => ((v - lo) / (hi - lo || 1)) * (W - 2) + 1;
    const peak = Math.max(...counts, 1);
    const d = domain(kindOf(result.key), edges);
    counts.forEach((c, k) => {
      const h = Math.sqrt(c / peak) * (H - 4);  // sqrt: the tails stay visible
      const bar = svg("rect", { x: x(edges[k]), y: H - h, width: Math.max(1, x(edges[k + 1]) - x(edges[k]) - 1), height: h,
        fill: colour(scaled((edges[k] + edges[k + 1]) / 2, d)), stroke: "#999", "stroke-width": 0.5 });
      bar.append(svg("title"));
      bar.firstChild.textContent = `${fmt(edges[k], 2)} … ${fmt(edges[k + 1], 2)}: ${c} values`;
      plot.append(bar);
    });
    const tx = x(result.threshold);
    plot.append(svg("line", { x1: tx, x2: tx, y1: 0, y2: H, stroke: "#000", "stroke-width": 2 }));
    for (const [v, anchor] of [[lo, "start"], [hi, "end"]]) {
      const label = svg("text", { x: x(v), y: H + 13, "text-anchor": anchor, "font-size": 11 });
      label.textContent = fmt(v, 2);
      plot.append(label);
    }
    const label = svg("text", { x: W / 2, y: H + 13, "text-anchor": "middle", "font-size": 11 });
    label.textContent = `all units' values in the span; threshold ${fmt(result.threshold, 2)}`;
    plot.append(label);
    plot.addEventListener("click", (event) => {
      const rect = plot.getBoundingClientRect();
      const v = lo + ((event.clientX - rect.left) / rect.width) * (hi - lo);
      runSelect(v);
    });
    box.append(plot);
  }

  function wireSelection() {
    const range = $("threshold-range"), number = $("threshold");
    const later = (value) => {
      clearTimeout(selectTimer);
      selectTimer = setTimeout(() => runSelect(value), 150);
    };
    range.addEventListener("input", () => { number.value = fmt(range.value, 3); later(Number(range.value)); });
    number.addEventListener("change", () => later(Number(number.value)));
    $("select-key").addEventListener("change", async () => {
      try { await ensureValues(); } catch (e) { fail(e); }
      runSelect(null);
    });
  }

  // --- hypothesis search ------------------------------------------------------------------------

  function hypothesisQuery() {
    const kind = $("hyp-kind").value;
    if (kind.startsWith("named:")) return { kind: "named", name: kind.slice(6) };
    if (kind === "regex") return { kind, pattern: $("hyp-pattern").value };
    if (kind === "counter") return { kind, up: $("hyp-up").value, down: $("hyp-down").value, reset: $("hyp-reset").value };
    return { kind, reset: $("hyp-since").value };
  }

  async function runSearch(event) {
    event.preventDefault();
    status("searching…");
    const inKind = $("hyp-in").value;
    try {
      const result = await api.search({ hypothesis: hypothesisQuery(), kinds: inKind ? [inKind] : null, top: 20,
        example: state.example.id });
      if (result.values) state.track = { label: result.label, values: result.values };
      showResults(result);
      renderText();
      status("");
    } catch (e) { fail(e); }
  }

  function showResults(result) {
    const table = $("search-results");
    table.textContent = "";
    table.append(el("caption", { textContent: `${result.label} (shown as the last bar row)` }),
      el("tr", {}, el("th", { textContent: "values" }), el("th", { textContent: "unit" }), el("th", { textContent: "r" }), el("th")));
    for (const s of result.units) {
      const rBar = el("span", { className: "rbar" });
      rBar.style.width = `${Math.round(Math.abs(s.r) * 60)}px`;
      rBar.style.backgroundColor = colour(s.r);
      const add = el("button", { type: "button", textContent: "+", title: "add as a bar row",
        onclick: (event) => { event.stopPropagation(); setRows([...state.rows, { key: s.key, unit: s.unit }]); } });
      const tr = el("tr", { title: "colour the text by this unit" }, el("td", { textContent: s.key }), el("td", { textContent: s.unit }),
        el("td", {}, rBar, el("span", { textContent: ` ${fmt(s.r, 3)}` })), el("td", {}, add));
      tr.className = "pick";
      tr.onclick = () => setRows([{ key: s.key, unit: s.unit }, ...state.rows.slice(1)]);
      table.append(tr);
    }
  }

  function wireSearch() {
    const kindSelect = $("hyp-kind");
    const names = state.info.hypotheses;
    if (names.length) {
      const group = el("optgroup", { label: "named" });
      for (const name of names) group.append(el("option", { value: `named:${name}`, textContent: name }));
      kindSelect.append(group);
    }
    if (embedded) {  // only the named hypotheses were computed into the page
      for (const option of [...kindSelect.querySelectorAll("option")]) if (!option.value.startsWith("named:")) option.remove();
      $("search-note").textContent = "static export: the named hypotheses were ranked when it was written";
    }
    const showFields = () => {
      const kind = kindSelect.value.startsWith("named:") ? "named" : kindSelect.value;
      for (const box of document.querySelectorAll(".hyp-fields")) box.hidden = box.dataset.kind !== kind;
    };
    kindSelect.addEventListener("change", showFields);
    showFields();
    const inSelect = $("hyp-in");
    const kinds = [...new Set(state.info.keys.map(kindOf))];
    for (const k of kinds) inSelect.append(el("option", { value: k, textContent: `${k} (${KIND_NAMES[k] || k})` }));
    $("search-form").addEventListener("submit", runSearch);
  }

  // --- gate saturation --------------------------------------------------------------------------

  function drawSaturation(data) {
    const box = $("saturation");
    box.textContent = "";
    if (!data) { box.append(el("p", { className: "note", textContent: "This cell has no gates." })); return; }
    const layers = state.info.layers;
    const S = 136, pad = 22;
    for (const [kind, entries] of Object.entries(data.kinds)) {
      const plot = svg("svg", { width: S + pad, height: S + pad + 14, viewBox: `0 0 ${S + pad} ${S + pad + 14}`, class: "scatter" });
      const x = (v) => pad + v * (S - 6) + 3, y = (v) => 14 + (1 - v) * (S - 6) + 3;
      const title = svg("text", { x: pad + S / 2, y: 11, "text-anchor": "middle", "font-size": 12 });
      title.textContent = KIND_NAMES[kind] || kind;
      plot.append(title, svg("rect", { x: pad, y: 14, width: S, height: S, fill: "#fafafa", stroke: "#bbb" }),
        svg("line", { x1: x(0), y1: y(1), x2: x(1), y2: y(0), stroke: "#ddd" }));
      const xl = svg("text", { x: pad + S / 2, y: S + pad + 8, "text-anchor": "middle", "font-size": 10 });
      xl.textContent = "fraction < 0.1";
      const yl = svg("text", { x: 10, y: 14 + S / 2, "text-anchor": "middle", "font-size": 10, transform: `rotate(-90 10 ${14 + S / 2})` });
      yl.textContent = "fraction > 0.9";
      plot.append(xl, yl);
      for (const entry of entries) {
        const fill = LAYER_COLOURS[layers.indexOf(entry.layer) % LAYER_COLOURS.length];
        entry.left.forEach((left, unit) => {
          const dot = svg("circle", { cx: x(left), cy: y(entry.right[unit]), r: 3, fill, "fill-opacity": 0.7, class: "dot" });
          dot.append(svg("title"));
          dot.firstChild.textContent = `${entry.key} #${unit}: < 0.1 ${fmt(left, 2)}, > 0.9 ${fmt(entry.right[unit], 2)}`;
          dot.addEventListener("click", () => setRows([{ key: entry.key, unit }, ...state.rows.slice(1)]));
          plot.append(dot);
        });
      }
      box.append(plot);
    }
    if (layers.length > 1) {
      const key = el("div", { className: "note" });
      layers.forEach((layer, k) => {
        const swatch = el("span", { className: "swatch" });
        swatch.style.backgroundColor = LAYER_COLOURS[k % LAYER_COLOURS.length];
        key.append(swatch, ` ${layer}  `);
      });
      box.append(key);
    }
  }

  // --- typed input ------------------------------------------------------------------------------

  function fillExamples(examples) {
    const select = $("example");
    const current = select.value;
    select.textContent = "";
    for (const e of examples) {
      select.append(el("option", { value: String(e.id), textContent: `${e.name} (${e.length}): ${e.preview}` }));
    }
    if (current) select.value = current;
  }

  async function runInput(event) {
    event.preventDefault();
    const text = $("input").value;
    if (!text.trim()) return;
    status("running the model…");
    $("run").disabled = true;
    try {
      const result = await api.analyze(text, neededKeys());
      fillExamples(result.examples);
      setExample(result);
      await ensureValues();
      render();
      if (window.rnnlabMemory) await window.rnnlabMemory.show(state.info, state.example, (keys) => api.example(result.id, keys));
      if (window.rnnlabSignal) await window.rnnlabSignal.show(state.info, state.example, (keys) => api.example(result.id, keys));
      const notes = [];
      if (result.truncated) notes.push(`cut to the first ${state.info.limits.tokens} tokens`);
      if (result.unknown && result.unknown.length) notes.push(`not in the vocabulary (read as <unk>): ${result.unknown.map((t) => JSON.stringify(t)).join(" ")}`);
      $("input-note").textContent = notes.join("; ");
      status("");
    } catch (e) { fail(e); } finally { $("run").disabled = false; }
  }

  function wireInput() {
    if (embedded) {
      $("input").disabled = true;
      $("run").disabled = true;
      $("input").placeholder = "static export: run `rnnlab explore RUN_DIR` to try new text";
      $("select-note").textContent = "Static export: selecting units on a span needs the live explorer.";
      return;
    }
    $("input-form").addEventListener("submit", runInput);
    $("input").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) runInput(event);
    });
  }

  // --- start ------------------------------------------------------------------------------------

  async function main() {
    status("loading…");
    const info = await api.info();
    state.info = info;
    const a = info.about || {};
    $("about").textContent = [a.run, a.model, a.source].filter(Boolean).join(" · ");
    fillExamples(info.examples);
    $("text").classList.toggle("word", info.level === "word");
    if (isTagger()) {
      $("text").classList.add("tagger");
      $("predictions-label").textContent = "show predicted tags";
      $("predictions-toggle").title = "the tagger's tag for each word under it (red where it differs from the gold tag); hover for its top guesses";
      $("hover-note").textContent = "Hover a word for its values and the tagger's top guesses for its tag.";
      $("input").placeholder = "Type a sentence and press Run (Ctrl+Enter) to see how the tagger tags it";
    }
    const firstCell = info.keys.find((k) => kindOf(k) === "c") || info.keys[0];
    state.rows = [{ key: firstCell, unit: 0 }];
    const selectKey = $("select-key");
    for (const key of info.keys) selectKey.append(el("option", { value: key, textContent: key }));
    selectKey.value = firstCell;
    wireText();
    wireSelection();
    wireSearch();
    wireInput();
    $("example").addEventListener("change", () => showExample(Number($("example").value)));
    const step = (d) => {
      const select = $("example");
      const k = Math.max(0, Math.min(select.options.length - 1, select.selectedIndex + d));
      if (k !== select.selectedIndex) showExample(Number(select.options[k].value));
    };
    $("prev-example").addEventListener("click", () => step(-1));
    $("next-example").addEventListener("click", () => step(1));
    $("add-row").addEventListener("click", () => {
      const last = state.rows[state.rows.length - 1];
      setRows([...state.rows, { key: last.key, unit: Math.min(last.unit + 1, info.units[last.key] - 1) }]);
    });
    $("show-predictions").addEventListener("change", renderText);
    await showExample(info.examples[0].id);
    drawSaturation(await api.saturation());
    document.body.dataset.ready = "true";  // for tests and scripts: the first example is drawn
  }

  main().catch(fail);
})();
