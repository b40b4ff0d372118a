"use strict";
// Inline SVG charts for the status page: a line chart (grid, scale, legend) and a
// sparkline. Each is built once; a refresh only rewrites its paths and labels, so the page
// never flickers. Series differ by line style as well as colour (style.css).

const SVG_NS = "http://www.w3.org/2000/svg";
const CHART = {width: 560, height: 120, left: 46, right: 8, top: 8, bottom: 18};
const MIN_WINDOW = 60;  // samples: a young history still spans a readable minute

function svgEl(tag, attrs) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  return node;
}

function setAttr(node, name, value) {
  if (node.getAttribute(name) !== String(value)) node.setAttribute(name, value);
}

// The smallest 1, 2, 2.5 or 5 times a power of ten at or above v: round axis labels.
function niceCeil(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function finiteMax(arrays) {
  let max = 0;
  for (const a of arrays) for (const v of a) if (v !== null && v > max) max = v;
  return max;
}

// An SVG path through `values` (null leaves a gap), the newest at the right edge of a
// `slots` of samples, scaled to `max`.
function linePath(values, slots, max, box) {
  const w = box.x1 - box.x0, h = box.y1 - box.y0;
  const offset = slots - values.length;
  let d = "", points = 0, pen = false;
  values.forEach((v, i) => {
    if (v === null || v === undefined) {
      pen = false;
      return;
    }
    const x = box.x0 + (slots > 1 ? (offset + i) / (slots - 1) : 1) * w;
    const y = box.y1 - Math.min(v / max, 1) * h;
    d += (pen ? "L" : "M") + x.toFixed(1) + " " + y.toFixed(1);
    pen = true;
    points++;
  });
  return {d, points};
}

function windowLabel(samples) {
  return samples >= 120 ? "−" + Math.round(samples / 60) + " min" : "−" + samples + " s";
}

// A chart of `series` ([{key, label}]) sharing one scale; format(v) writes axis values.
// Returns {node, update(arrays, capacity)} where arrays[i] are series i's samples.
function makeChart(series, format) {
  const {width, height, left, right, top, bottom} = CHART;
  const box = {x0: left, x1: width - right, y0: top, y1: height - bottom};
  const svg = svgEl("svg", {class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img"});
  const labels = [];
  for (const f of [0, 0.5, 1]) {
    const y = box.y1 - f * (box.y1 - box.y0);
    svg.append(svgEl("line", {class: "grid", x1: box.x0, x2: box.x1, y1: y, y2: y}));
    const label = svgEl("text", {x: box.x0 - 4, y: y + 3, "text-anchor": "end"});
    svg.append(label);
    labels.push(label);
  }
  const since = svgEl("text", {x: box.x0, y: height - 4});
  const now = svgEl("text", {x: box.x1, y: height - 4, "text-anchor": "end"});
  now.textContent = "now";
  const empty = svgEl("text", {class: "empty", x: (box.x0 + box.x1) / 2, y: (box.y0 + box.y1) / 2,
                               "text-anchor": "middle"});
  empty.textContent = "collecting samples…";
  svg.append(since, now, empty);
  const paths = series.map(s => {
    const p = svgEl("path", {class: "line s-" + s.key, "data-series": s.key});
    const title = svgEl("title");
    title.textContent = s.label;
    p.append(title);
    svg.append(p);
    return p;
  });
  const legend = document.createElement("div");
  legend.className = "legend";
  for (const s of series) {
    const item = document.createElement("span");
    const key = document.createElement("span");
    key.className = "key s-" + s.key;
    item.append(key, " " + s.label);
    legend.append(item);
  }
  const node = document.createElement("div");
  node.append(svg, legend);

  function update(arrays, capacity) {
    const longest = Math.max(0, ...arrays.map(a => a.length));
    const slots = Math.min(Math.max(longest, MIN_WINDOW), capacity || longest || MIN_WINDOW);
    const max = niceCeil(finiteMax(arrays));
    let points = 0;
    arrays.forEach((a, i) => {
      const line = linePath(a, slots, max, box);
      setAttr(paths[i], "d", line.d || "M0 0");
      points += line.points;
    });
    [0, max / 2, max].forEach((v, i) => {
      const text = i === 0 ? "0" : format(v);
      if (labels[i].textContent !== text) labels[i].textContent = text;
    });
    const span = windowLabel(slots);
    if (since.textContent !== span) since.textContent = span;
    setAttr(svg, "data-points", points);
    setAttr(empty, "visibility", points > 0 ? "hidden" : "visible");
  }
  return {node, update};
}

// A small line of one series without axes (an endpoint's requests/s).
function makeSparkline(label) {
  const box = {x0: 1, x1: 159, y0: 2, y1: 24};
  const svg = svgEl("svg", {class: "spark", viewBox: "0 0 160 26", role: "img"});
  const base = svgEl("line", {class: "grid", x1: box.x0, x2: box.x1, y1: box.y1, y2: box.y1});
  const path = svgEl("path", {class: "line s-requests"});
  const title = svgEl("title");
  title.textContent = label;
  svg.append(title, base, path);
  function update(values, capacity) {
    const slots = Math.min(Math.max(values.length, MIN_WINDOW), capacity || MIN_WINDOW);
    const line = linePath(values, slots, niceCeil(finiteMax([values])), box);
    setAttr(path, "d", line.d || "M0 0");
    setAttr(svg, "data-points", line.points);
  }
  return {node: svg, update};
}
