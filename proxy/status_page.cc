#include "proxy/status_page.h"

namespace greenlb::proxy {

std::string_view statusPageHtml() {
  static constexpr std::string_view kPage = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>greenlb status</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1b2b1b; background: #f7faf7; }
  h1 { font-size: 1.4em; margin: 0 0 .2em; color: #1e7a34; }
  h2 { font-size: 1.1em; margin: 1.4em 0 .4em; }
  #meta { color: #555; }
  table { border-collapse: collapse; min-width: 40em; background: #fff; }
  th, td { border: 1px solid #d5e3d5; padding: .3em .6em; text-align: left; }
  th { background: #e8f3e8; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  .up { color: #1e7a34; font-weight: 600; }
  .down { color: #b3261e; font-weight: 600; }
  .ejected { color: #a15c00; font-weight: 600; }
  .panic { background: #fdecea; }
  #error { color: #b3261e; }
</style>
</head>
<body>
<h1>greenlb</h1>
<div id="meta">loading…</div>
<div id="error"></div>
<h2>Listeners</h2>
<table id="listeners"><thead><tr><th>name</th><th>listen</th><th>protocol</th>
<th>active connections</th><th>requests/s</th></tr></thead><tbody></tbody></table>
<h2>Upstreams</h2>
<table id="upstreams"><thead><tr><th>upstream</th><th>balance</th><th>endpoint</th>
<th>state</th><th>weight</th><th>in flight</th><th>requests/s</th></tr></thead><tbody></tbody></table>
<h2>Hubs</h2>
<table id="hubs"><thead><tr><th>hub</th><th>fibers</th><th>loop lag (ms)</th></tr></thead>
<tbody></tbody></table>
<script>
"use strict";
let previous = null;
function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}
function rate(key, total, now) {
  if (!previous || previous.totals[key] === undefined) return "–";
  const dt = (now - previous.time) / 1000;
  return dt > 0 ? ((total - previous.totals[key]) / dt).toFixed(1) : "–";
}
function fill(id, rows) {
  const body = document.querySelector("#" + id + " tbody");
  body.replaceChildren(...rows);
}
async function refresh() {
  try {
    const response = await fetch("status", {cache: "no-store"});
    const s = await response.json();
    const now = Date.now();
    const totals = {};
    document.getElementById("meta").textContent =
      "version " + s.version + " · generation " + s.generation +
      (s.draining ? " · DRAINING" : "") + " · " + s.open_connections + " open connections";
    fill("listeners", s.listeners.map(l => {
      const tr = document.createElement("tr");
      totals["l:" + l.name] = l.requests_total;
      tr.append(cell(l.name), cell(l.listen), cell(l.protocol + (l.tls ? "+tls" : "")),
                cell(l.connections_active, "num"),
                cell(rate("l:" + l.name, l.requests_total, now), "num"));
      return tr;
    }));
    const rows = [];
    for (const u of s.upstreams) {
      if (u.endpoints.length === 0) {
        const tr = document.createElement("tr");
        tr.append(cell(u.name), cell(u.balance), cell("(no endpoints)"), cell(""), cell(""),
                  cell(""), cell(""));
        rows.push(tr);
      }
      for (const e of u.endpoints) {
        const tr = document.createElement("tr");
        if (u.panic) tr.className = "panic";
        const key = "e:" + u.name + "/" + e.address;
        totals[key] = e.requests_total;
        let state = e.healthy ? ["up", "up"] : ["down", "down"];
        if (e.ejected_until !== null) state = ["ejected", "ejected"];
        tr.append(cell(u.name + (u.panic ? " (panic)" : "")), cell(u.balance), cell(e.address),
                  cell(state[0], state[1]), cell(e.weight, "num"), cell(e.in_flight, "num"),
                  cell(rate(key, e.requests_total, now), "num"));
        rows.push(tr);
      }
    }
    fill("upstreams", rows);
    fill("hubs", s.hubs.map(h => {
      const tr = document.createElement("tr");
      tr.append(cell(h.id, "num"), cell(h.fibers, "num"),
                cell((h.loop_lag_seconds * 1000).toFixed(2), "num"));
      return tr;
    }));
    previous = {time: now, totals};
    document.getElementById("error").textContent = "";
  } catch (e) {
    document.getElementById("error").textContent = "cannot load /status: " + e;
  }
}
refresh();
setInterval(refresh, 2000);
</script>
</body>
</html>
)HTML";
  return kPage;
}

}  // namespace greenlb::proxy
