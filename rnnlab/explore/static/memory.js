// rnnlab explorer: the memory panel. For an NTM run (info.kind "ntm") it draws, over time, the
// input, the read and write weightings over the memory rows and the output beside the target — the
// figure every NTM paper shows; for a memory network (info.kind "memn2n") a table of the attention
// over the story's sentences at each hop. Other runs leave the panel hidden. app.js calls
// `rnnlabMemory.show(info, example, fetch)` after drawing an example; `fetch(keys)` returns the
// example's values (lists of rows from the server, {units, data} decoded from a static export).
"use strict";
window.rnnlabMemory = (() => {
  const NTM_KEYS = (info) => ({
    input: "io/input", target: "io/target", output: "io/output",
    read: info.keys.find((k) => k.endsWith("/read")), write: info.keys.find((k) => k.endsWith("/write")),
  });

  function rows(v, T) {  // → array of T rows of numbers
    if (Array.isArray(v)) return v;
    if (v && typeof v.data !== "string") {  // a static export's decoded {units, data: Float32Array(T · units)}
      const out = [];
      for (let t = 0; t < T; t++) out.push(Array.from(v.data.subarray(t * v.units, (t + 1) * v.units)));
      return out;
    }
    const bytes = atob(v.data), units = bytes.length / T, step = (v.hi - v.lo) / 255, out = [];
    for (let t = 0; t < T; t++) {
      const row = new Array(units);
      for (let u = 0; u < units; u++) row[u] = v.lo + bytes.charCodeAt(t * units + u) * step;
      out.push(row);
    }
    return out;
  }

  // a heatmap: columns are time steps, rows are units (bits or memory slots), white 0 → dark 1
  function heatmap(title, data, opts = {}) {
    const T = data.length, units = T ? data[0].length : 0;
    const cw = Math.max(2, Math.min(16, Math.floor(900 / Math.max(T, 1))));
    const ch = units > 40 ? 3 : 10;
    const canvas = document.createElement("canvas");
    canvas.width = T * cw;
    canvas.height = units * ch;
    canvas.className = "memory-map";
    canvas.dataset.name = opts.name || title;
    canvas.dataset.steps = String(T);
    canvas.dataset.rows = String(units);
    const ctx = canvas.getContext("2d");
    const [r, g, b] = opts.rgb || [20, 60, 160];
    let lit = 0;
    for (let t = 0; t < T; t++) {
      for (let u = 0; u < units; u++) {
        const v = Math.max(0, Math.min(1, data[t][u]));
        if (v > 0.5) lit++;
        ctx.fillStyle = `rgb(${Math.round(255 - v * (255 - r))},${Math.round(255 - v * (255 - g))},${Math.round(255 - v * (255 - b))})`;
        ctx.fillRect(t * cw, u * ch, cw, ch);
      }
    }
    canvas.dataset.lit = String(lit);  // cells above 0.5: lets a test see that something was drawn
    const figure = document.createElement("figure");
    const caption = document.createElement("figcaption");
    caption.textContent = title;
    figure.append(caption, canvas);
    return figure;
  }

  async function showNTM(panel, info, example, fetch) {
    const keys = NTM_KEYS(info);
    const got = await fetch(Object.values(keys).filter(Boolean));
    const T = example.tokens.length;
    const v = (k) => rows(got.values[keys[k]], T);
    const heads = (k) => {  // (T, heads · N) → one map per head
      const all = v(k), n = info.units[keys[k]], count = Math.max(1, Math.round(n / slotsPerHead(info)));
      const per = n / count, out = [];
      for (let h = 0; h < count; h++) out.push(all.map((row) => row.slice(h * per, (h + 1) * per)));
      return out;
    };
    const h2 = document.createElement("h2");
    h2.textContent = "Memory: what the NTM wrote and read at each step";
    const note = document.createElement("p");
    note.className = "note";
    note.textContent = "Time runs left to right. Weightings are over the memory rows (top = row 0); dark = weight near 1.";
    panel.append(h2, note, heatmap("input", v("input"), { name: "input", rgb: [40, 40, 40] }));
    if (!keys.read || !keys.write) note.textContent = "This model has no external memory (a baseline): input and output only.";
    if (keys.write) heads("write").forEach((w, h) => panel.append(heatmap(`write weighting${h ? " " + (h + 1) : ""}`, w, { name: `write${h}`, rgb: [178, 24, 43] })));
    if (keys.read) heads("read").forEach((w, h) => panel.append(heatmap(`read weighting${h ? " " + (h + 1) : ""}`, w, { name: `read${h}`, rgb: [33, 102, 172] })));
    panel.append(heatmap("output (probability of a 1)", v("output"), { name: "output", rgb: [40, 120, 40] }),
      heatmap("target", v("target"), { name: "target", rgb: [40, 40, 40] }));
  }

  function slotsPerHead(info) {  // memory rows N (the recipe says): read and write keys are (heads · N) wide
    return (info.about && info.about.memory_rows) || info.units[NTM_KEYS(info).write];
  }

  async function showMemN2N(panel, info, example, fetch) {
    const got = await fetch(["memory/attention", "memory/support"]);
    const T = example.tokens.length;
    const attn = rows(got.values["memory/attention"], T), support = rows(got.values["memory/support"], T);
    const hops = attn.length ? attn[0].length : 0;
    const h2 = document.createElement("h2");
    h2.textContent = "Attention over the story at each hop";
    const table = document.createElement("table");
    table.className = "memory-attention results";
    const head = table.insertRow();
    for (let k = 0; k < hops; k++) head.append(Object.assign(document.createElement("th"), { textContent: `hop ${k + 1}` }));
    head.append(Object.assign(document.createElement("th"), { textContent: "sentence (* supporting fact)" }));
    for (let i = 0; i < T - 1; i++) {
      const tr = table.insertRow();
      for (let k = 0; k < hops; k++) {
        const p = attn[i][k], td = tr.insertCell();
        td.textContent = p.toFixed(2);
        td.className = "hop";
        td.style.background = `rgba(178, 24, 43, ${Math.min(1, Math.max(0, p))})`;
        td.style.color = p > 0.5 ? "white" : "black";
      }
      tr.insertCell().textContent = (support[i][0] > 0.5 ? "* " : "") + example.tokens[i];
    }
    const q = document.createElement("p");
    q.className = "memory-question";
    q.textContent = example.tokens[T - 1];
    panel.append(h2, table, q);
  }

  async function show(info, example, fetch) {
    const panel = document.getElementById("memory-panel");
    if (!panel) return;
    if (info.kind !== "ntm" && info.kind !== "memn2n") { panel.hidden = true; return; }
    const drawn = document.createElement("div");  // drawn off the page, then swapped in: no flicker
    if (info.kind === "ntm") await showNTM(drawn, info, example, fetch);
    else await showMemN2N(drawn, info, example, fetch);
    panel.replaceChildren(...drawn.childNodes);
    panel.hidden = false;
    panel.dataset.example = String(example.id);
  }

  return { show, heatmap, rows };  // heatmap and rows are reused by signal.js
})();
