// rnnlab explorer: the signal panel. For a frame- or signal-level run (info.kind "signal": a TDNN or
// recurrent digits classifier, a NARX / Elman / LSTM model of a signal) it draws every recorded
// layer as a heatmap over time (rows = units, columns = frames or steps; each map scaled from its
// own minimum, white, to its maximum, dark), the 1-wide input / output / target traces as lines, and
// for a classifier the answer it gives at the last frame. Other runs leave the panel hidden. app.js
// calls `rnnlabSignal.show(info, example, fetch)` after drawing an example; the heatmaps are
// memory.js's (`rnnlabMemory.heatmap`), fed values scaled to [0, 1].
"use strict";
window.rnnlabSignal = (() => {
  const TRACE_COLOURS = { "io/input": "#444", "io/target": "#2ca02c", "io/output": "#d62728", "io/one-step": "#1f77b4" };

  function scaledRows(data) {  // per map: min → 0, max → 1
    let lo = Infinity, hi = -Infinity;
    for (const row of data) for (const v of row) { if (v < lo) lo = v; if (v > hi) hi = v; }
    const span = hi > lo ? hi - lo : 1;
    return { lo, hi, data: data.map((row) => row.map((v) => (v - lo) / span)) };
  }

  function traces(series, T) {  // 1-wide values as lines on one shared scale, step t under heatmap column t
    const cw = Math.max(2, Math.min(16, Math.floor(900 / Math.max(T, 1))));  // memory.js's column width
    const W = T * cw, H = 120, NS = "http://www.w3.org/2000/svg";
    let lo = Infinity, hi = -Infinity;
    for (const s of series) for (const v of s.values) { if (v < lo) lo = v; if (v > hi) hi = v; }
    if (!(hi > lo)) { lo -= 1; hi += 1; }
    const svg = document.createElementNS(NS, "svg");
    svg.setAttribute("width", W);
    svg.setAttribute("height", H);
    svg.setAttribute("class", "signal-traces");
    const x = (t) => t * cw + cw / 2, y = (v) => H - 4 - ((v - lo) / (hi - lo)) * (H - 8);
    for (const s of series) {
      const line = document.createElementNS(NS, "polyline");
      line.setAttribute("points", s.values.map((v, t) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(" "));
      line.setAttribute("fill", "none");
      line.setAttribute("stroke", TRACE_COLOURS[s.key] || "#9467bd");
      line.setAttribute("stroke-width", "1.2");
      line.dataset.key = s.key;
      svg.append(line);
    }
    const figure = document.createElement("figure");
    const caption = document.createElement("figcaption");
    caption.textContent = `${lo.toFixed(2)} … ${hi.toFixed(2)}`;
    const legend = document.createElement("span");
    for (const s of series) {
      const swatch = document.createElement("span");
      swatch.className = "signal-swatch";
      swatch.style.background = TRACE_COLOURS[s.key] || "#9467bd";
      legend.append(swatch, ` ${s.key.slice(3)} `);
    }
    caption.prepend(legend, ": ");
    figure.append(caption, svg);
    return figure;
  }

  function answer(info, example, p) {  // a classifier's verdict at the last frame
    const classes = info.about && info.about.classes;
    if (!classes || !p || !p.length) return null;
    const last = p[p.length - 1];
    let best = 0;
    for (let k = 1; k < last.length; k++) if (last[k] > last[best]) best = k;
    const line = document.createElement("p");
    line.className = "signal-answer";
    line.dataset.label = classes[best];
    line.textContent = `${example.name}: the model says ${classes[best]} (p ${last[best].toFixed(3)}) after ${p.length} frames. ` +
      "output/p shows its answer had the utterance ended at each frame.";
    return line;
  }

  async function show(info, example, fetch) {
    const panel = document.getElementById("signal-panel");
    if (!panel) return;
    if (info.kind !== "signal" || !window.rnnlabMemory) { panel.hidden = true; return; }
    const got = await fetch(info.keys);
    const T = example.tokens.length;
    const drawn = document.createElement("div");  // drawn off the page, then swapped in: no flicker
    const h2 = document.createElement("h2");
    h2.textContent = "Units over time";
    const note = document.createElement("p");
    note.className = "note";
    note.textContent = "Time runs left to right (one column per frame or step); rows are units. Each map is scaled from its own minimum (white) to its maximum (dark).";
    drawn.append(h2, note);
    const lines = [];
    for (const key of info.keys) {
      const data = window.rnnlabMemory.rows(got.values[key], T);
      if (key.startsWith("io/") && info.units[key] === 1) { lines.push({ key, values: data.map((r) => r[0]) }); continue; }
      if (key === "output/p") { const a = answer(info, example, data); if (a) drawn.append(a); }
      const s = scaledRows(data);
      drawn.append(window.rnnlabMemory.heatmap(`${key} (${info.units[key]} units, ${s.lo.toFixed(2)} … ${s.hi.toFixed(2)})`, s.data,
        { name: key, rgb: key.startsWith("input") ? [40, 40, 40] : key.startsWith("output") ? [40, 120, 40] : [178, 24, 43] }));
    }
    if (lines.length) drawn.insertBefore(traces(lines, T), drawn.children[2] || null);
    panel.replaceChildren(...drawn.childNodes);
    panel.hidden = false;
    panel.dataset.example = String(example.id);
  }

  return { show };
})();
