// rnnlab explorer: the tree view. For an example that carries a tree (a tree classifier's run,
// rnnlab/explore/record_tree.py), draws it as SVG above the node strip: every node a circle
// coloured by the unit the first row shows, its predicted label inside, a red ring where it
// differs from the gold label (written beside it), the words under the leaves. app.js calls
// window.rnnlabTree.draw after each render; for examples without a tree the view stays hidden.
"use strict";
(() => {
  const SVG_NS = "http://www.w3.org/2000/svg";
  const DX = 46, DY = 52, R = 13, PAD = 24;

  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // x: leaves left to right, an inner node over the middle of its children; y: depth from the root
  function layout(children, root) {
    const x = new Array(children.length), y = new Array(children.length);
    let nextLeaf = 0, maxDepth = 0;
    const place = (n, depth) => {
      y[n] = depth;
      maxDepth = Math.max(maxDepth, depth);
      if (!children[n].length) { x[n] = nextLeaf++; return; }
      for (const c of children[n]) place(c, depth + 1);
      x[n] = children[n].reduce((s, c) => s + x[c], 0) / children[n].length;
    };
    place(root, 0);
    return { x, y, leaves: nextLeaf, depth: maxDepth };
  }

  function draw(box, example, column, paint) {
    const tree = example && example.tree;
    box.textContent = "";
    box.hidden = !tree;
    box.style.overflowX = "auto";
    if (!tree) return;
    const { x, y, leaves, depth } = layout(tree.children, tree.root);
    const px = (n) => PAD + x[n] * DX, py = (n) => PAD + y[n] * DY;
    const width = 2 * PAD + Math.max(leaves - 1, 0) * DX, height = 2 * PAD + depth * DY + 20;
    const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
      "aria-label": "the example's tree, nodes coloured by the first unit row" });
    tree.children.forEach((kids, n) => {
      for (const c of kids) root.append(svg("line", { x1: px(n), y1: py(n), x2: px(c), y2: py(c), stroke: "#9aa0a6" }));
    });
    tree.children.forEach((kids, n) => {
      const g = svg("g", { class: "node", "data-i": n });
      const circle = svg("circle", { cx: px(n), cy: py(n), r: R, fill: paint(column.values[n], column.domain) });
      const predicted = example.labels ? example.labels[n] : "";
      const gold = example.targets ? example.targets[n] : null;
      const known = gold !== null && gold !== undefined;
      if (known) g.classList.add(gold === predicted ? "hit" : "miss");
      const miss = known && gold !== predicted;
      circle.setAttribute("stroke", miss ? "#b2182b" : "#555");
      circle.setAttribute("stroke-width", miss ? 3 : 1);
      g.append(circle, svg("text", { x: px(n), y: py(n) + 4, "text-anchor": "middle", "font-size": 11 }, predicted));
      if (miss) {
        g.append(svg("text", { x: px(n) + R + 2, y: py(n) - R + 2, "font-size": 10, fill: "#b2182b", class: "gold" },
          gold));
      }
      if (!kids.length) {
        g.append(svg("text", { x: px(n), y: py(n) + R + 14, "text-anchor": "middle", "font-size": 11, class: "word" },
          example.tokens[n]));
      }
      g.append(svg("title", {}, `node ${n}: ${column.values[n].toFixed(3)}; predicted ${predicted}` +
        (gold !== null && gold !== undefined ? `, gold ${gold}` : "")));
      root.append(g);
    });
    box.append(root);
  }

  window.rnnlabTree = { draw, layout };
})();
