"use strict";
// The status page's logic: once a second it fetches /status and the newest samples of
// /status/history, keeps the whole history for the page's life, and updates the document
// in place (docs/observability.md, "Status page"). Rates come from the history, so they
// are right from the first poll. When greenlb cannot be reached the page says so, keeps
// the last view dimmed and keeps trying; when it answers again (restarted or not) it
// fetches the whole history afresh.

const POLL_MS = 1000;
const TIMEOUT_MS = 2500;
const RECENT = 10;  // samples asked for on each poll; a longer gap fetches everything

const store = {round: 0, capacity: 900, series: new Map()};  // key -> {field: samples}
let needFull = true;
let lastSuccess = 0;

// ---- small DOM helpers ----
function $(id) { return document.getElementById(id); }
function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}
function setText(node, text) {
  text = String(text);
  if (node.textContent !== text) node.textContent = text;
}
function setClass(node, cls) {
  if (node.className !== cls) node.className = cls;
}
// Keeps one child of `parent` per item, in order: new ones built, kept ones updated in
// place, gone ones removed. Updating rather than rebuilding is what keeps it flicker-free.
function syncChildren(parent, items, keyOf, build, update) {
  const existing = new Map();
  for (const child of parent.children) existing.set(child.dataset.key, child);
  items.forEach((item, i) => {
    const key = keyOf(item);
    let node = existing.get(key);
    if (node) existing.delete(key);
    else {
      node = build(item);
      node.dataset.key = key;
    }
    if (parent.children[i] !== node) parent.insertBefore(node, parent.children[i] || null);
    update(node, item);
  });
  for (const gone of existing.values()) gone.remove();
}

// ---- formatting ----
function fmtRate(v) {
  if (v === null || v === undefined) return "–";
  if (v >= 1000) return (v / 1000).toFixed(1) + "k";
  if (v >= 100) return v.toFixed(0);
  return v > 0 && v < 0.1 ? v.toFixed(2) : v.toFixed(1);
}
function fmtSeconds(s) {
  if (s === null || s === undefined) return "–";
  const ms = s * 1000;
  if (ms < 10) return ms.toFixed(2) + " ms";
  if (ms < 100) return ms.toFixed(1) + " ms";
  if (ms < 1000) return ms.toFixed(0) + " ms";
  return s.toFixed(2) + " s";
}
function fmtDuration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3600) return Math.floor(s / 3600) + "h " + Math.floor((s % 3600) / 60) + "m";
  if (s >= 60) return Math.floor(s / 60) + "m " + (s % 60) + "s";
  return s + "s";
}
function fmtAgo(seconds) {
  return seconds < 1 ? "just now" : fmtDuration(seconds) + " ago";
}

// ---- history ----
function eachSeries(h, visit) {
  for (const l of h.listeners) visit("l:" + l.name, l);
  for (const u of h.upstreams) {
    visit("u:" + u.name, u);
    for (const e of u.endpoints) visit("e:" + u.name + " " + e.address, e);
  }
}
const NOT_SAMPLES = new Set(["name", "address", "endpoints"]);

// Appends the samples taken since the last poll (or takes a whole history when `full`).
function mergeHistory(h, full) {
  const gap = h.round - store.round;
  if (!full && (gap < 0 || gap > RECENT)) {  // restarted, or samples were missed
    needFull = true;
    return;
  }
  const next = new Map();
  eachSeries(h, (key, s) => {
    const old = store.series.get(key);
    const fields = {};
    for (const [name, values] of Object.entries(s)) {
      if (NOT_SAMPLES.has(name)) continue;
      if (full || !old) {
        // A series new since the last poll: complete only if shorter than what was asked.
        if (!full && values.length >= RECENT) needFull = true;
        fields[name] = values;
      } else {
        const added = values.slice(values.length - Math.min(gap, values.length));
        fields[name] = (old[name] || []).concat(added).slice(-h.capacity);
      }
    }
    next.set(key, fields);
  });
  store.series = next;
  store.round = h.round;
  store.capacity = h.capacity;
  if (full) needFull = false;
}
function samples(key, field) {
  const s = store.series.get(key);
  return (s && s[field]) || [];
}
function newest(key, field) {
  const a = samples(key, field);
  return a.length ? a[a.length - 1] : undefined;
}

// ---- listeners ----
const TRAFFIC = [{key: "requests", label: "requests/s"}, {key: "errors", label: "5xx/s"}];
const LATENCY = [{key: "p50", label: "p50"}, {key: "p99", label: "p99"}];
// A card's figures: [field, label, format]. Fields with a format are history fields shown
// from the newest sample; the others come from /status.
const RATES = [["requests_per_second", "requests/s", fmtRate],
               ["errors_per_second", "5xx/s", fmtRate]];
const LATENCIES = [["p50_seconds", "p50", fmtSeconds], ["p99_seconds", "p99", fmtSeconds]];
const LISTENER_FIGURES = [...RATES, ...LATENCIES, ["connections", "connections"]];
const UPSTREAM_FIGURES = [...RATES, ["retries_per_second", "retries/s", fmtRate], ...LATENCIES,
                          ["in_flight", "in flight"], ["pending", "waiting for a connection"]];

// A card of a listener or an upstream: a title, a row of figures, its charts.
function buildCard(cls, name, figures, charts) {
  const node = el("div", "card " + cls);
  const title = el("h3");
  const sub = el("span", "muted");
  title.append(el("span", "name", name), sub);
  const row = el("div", "figures");
  const values = {};
  for (const [field, label] of figures) {
    const span = el("span", "", label + " ");
    values[field] = el("b");
    span.append(values[field]);
    row.append(span);
  }
  const chartRow = el("div", charts.length > 1 ? "charts" : "");
  for (const chart of charts) chartRow.append(chart.node);
  node.append(title, row, chartRow);
  node.refs = {title, sub, values, charts};
  return node;
}
function updateCard(node, key, sub, figures, fromStatus) {
  setText(node.refs.sub, sub);
  for (const [field, , format] of figures) {
    setText(node.refs.values[field], format ? format(newest(key, field)) : fromStatus[field]);
  }
  const [traffic, latency] = node.refs.charts;
  traffic.update([samples(key, "requests_per_second"), samples(key, "errors_per_second")],
                 store.capacity);
  if (latency) {
    latency.update([samples(key, "p50_seconds"), samples(key, "p99_seconds")], store.capacity);
  }
}

function buildListener(l) {
  return buildCard("listener", l.name, LISTENER_FIGURES, [makeChart(TRAFFIC, fmtRate)]);
}
function updateListener(node, l) {
  updateCard(node, "l:" + l.name, l.listen + " · " + l.protocol + (l.tls ? "+tls" : ""),
             LISTENER_FIGURES, {connections: l.connections_active});
}

// ---- upstreams and endpoints ----
function buildUpstream(u) {
  const node = buildCard("upstream", u.name, UPSTREAM_FIGURES,
                         [makeChart(TRAFFIC, fmtRate), makeChart(LATENCY, fmtSeconds)]);
  const panic = el("span", "panic", "PANIC: every endpoint is out, traffic spreads over all");
  node.refs.title.append(panic);
  const table = el("table", "endpoints");
  const head = el("tr");
  for (const h of ["endpoint", "state", "weight", "in flight", "requests/s", "requests/s, history",
                   "last health check"]) head.append(el("th", "", h));
  table.append(el("thead"), el("tbody"));
  table.tHead.append(head);
  node.append(table);
  Object.assign(node.refs, {panic, rows: table.tBodies[0]});
  return node;
}
function updateUpstream(node, u) {
  updateCard(node, "u:" + u.name, u.balance + (u.health_checks ? " · active health checks" : ""),
             UPSTREAM_FIGURES, {
               in_flight: u.endpoints.reduce((n, e) => n + e.in_flight, 0),
               pending: u.pending,
             });
  node.refs.panic.hidden = !u.panic;
  const rows = u.endpoints.concat(u.draining_endpoints || []);
  syncChildren(node.refs.rows, rows, e => e.address, buildEndpoint,
               (row, e) => updateEndpoint(row, e, u));
}

function buildEndpoint(e) {
  const row = el("tr");
  const cells = {};
  for (const c of ["address", "state", "weight", "inflight", "rps", "spark", "check"]) {
    cells[c] = el("td", (c === "weight" || c === "inflight" || c === "rps" ? "num " : "") + c);
    row.append(cells[c]);
  }
  const spark = makeSparkline("requests/s of " + e.address);
  cells.spark.append(spark.node);
  row.refs = {cells, spark};
  return row;
}
// The state in words (colour only repeats it): why an endpoint is out and until when.
function stateText(e) {
  switch (e.state) {
    case "up": return "✓ UP";
    case "down":
      return "✗ DOWN: health check failed" +
             (e.last_check && e.last_check.reason ? " (" + e.last_check.reason + ")" : "");
    case "ejected": return "◷ EJECTED: back in " + fmtDuration(e.ejected_for_seconds);
    case "draining": return "↓ DRAINING: left the configuration, finishing its requests";
    default: return e.state;
  }
}
function checkText(e, u) {
  if (e.state === "draining") return "";
  if (!u.health_checks) return "no active checks";
  const c = e.last_check;
  if (!c) return "not checked yet";
  return (c.ok ? "passed" : "failed: " + c.reason) + ", " + fmtAgo(c.age_seconds);
}
function updateEndpoint(row, e, u) {
  const {cells, spark} = row.refs, key = "e:" + u.name + " " + e.address;
  row.dataset.state = e.state;
  setText(cells.address, e.address);
  setText(cells.state, stateText(e));
  setClass(cells.state, "state " + e.state);
  setText(cells.weight, e.weight === undefined ? "–" : e.weight);
  setText(cells.inflight, e.in_flight);
  setText(cells.rps, fmtRate(newest(key, "requests_per_second")));
  spark.update(samples(key, "requests_per_second"), store.capacity);
  setText(cells.check, checkText(e, u));
}

// ---- HTTP/2 (when /status has an "http2" object), hubs, header ----
function renderHttp2(h2) {
  const section = $("http2");
  section.hidden = !h2;
  if (!h2) return;
  const rows = h2.listeners || [Object.assign({name: "all"}, h2)];
  syncChildren(section.querySelector("tbody"), rows, l => l.name, () => {
    const row = el("tr");
    row.append(el("td"), el("td", "num"), el("td", "num"));
    return row;
  }, (row, l) => {
    setText(row.cells[0], l.name);
    setText(row.cells[1], l.connections_active ?? "–");
    setText(row.cells[2], l.streams_active ?? "–");
  });
}
function renderHubs(hubs) {
  syncChildren($("hubs").tBodies[0], hubs, h => String(h.id), () => {
    const row = el("tr");
    row.append(el("td", "num"), el("td", "num"), el("td", "num"));
    return row;
  }, (row, h) => {
    setText(row.cells[0], h.id);
    setText(row.cells[1], h.fibers);
    setText(row.cells[2], fmtSeconds(h.loop_lag_seconds));
  });
}
function renderReload(s) {
  const node = $("reload"), r = s.reload, last = r && r.last;
  if (!last) {
    setClass(node, "muted");
    setText(node, "config generation " + s.generation + ", loaded at start; not reloaded since");
    return;
  }
  const when = fmtAgo(s.time - last.at);
  setClass(node, last.ok ? "muted" : "failed");
  setText(node, last.ok
    ? "config generation " + s.generation + ": last reload succeeded " + when
    : "LAST RELOAD FAILED " + when + " (generation " + s.generation + " still serves):\n" +
      last.errors.trim());
}
function render(s) {
  setText($("meta"), "version " + s.version + " · generation " + s.generation + " · " +
          s.open_connections + " open connection" + (s.open_connections === 1 ? "" : "s"));
  renderReload(s);
  syncChildren($("listeners"), s.listeners, l => l.name, buildListener, updateListener);
  syncChildren($("upstreams"), s.upstreams, u => u.name, buildUpstream, updateUpstream);
  renderHttp2(s.http2);
  renderHubs(s.hubs);
}

function setLink(ok, why, draining) {
  const link = $("link"), banner = $("banner");
  document.body.classList.toggle("stale", !ok);
  setClass(link, ok ? "badge live" : "badge down");
  setText(link, ok ? "● live" : "✗ disconnected");
  let message = "";
  if (!ok) {
    const age = lastSuccess ? ", showing what it said " + fmtAgo((Date.now() - lastSuccess) / 1000) : "";
    message = "DISCONNECTED: greenlb does not answer (" + why + "); retrying every second" + age;
  } else if (draining) {
    message = "DRAINING: greenlb is shutting down; /readyz answers 503";
  }
  banner.hidden = !message;
  setText(banner, message);
}

// ---- polling ----
async function getJson(url, signal) {
  const response = await fetch(url, {cache: "no-store", signal});
  if (!response.ok) throw new Error(url + " answered " + response.status);
  return response.json();
}
async function poll() {
  const started = Date.now();
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), TIMEOUT_MS);
  try {
    const full = needFull;
    const [s, h] = await Promise.all([
      getJson("status", abort.signal),
      getJson(full ? "status/history" : "status/history?seconds=" + RECENT, abort.signal),
    ]);
    mergeHistory(h, full);
    render(s);
    lastSuccess = Date.now();
    document.body.dataset.polls = Number(document.body.dataset.polls || 0) + 1;  // for tests
    setLink(true, "", s.draining);
  } catch (e) {
    needFull = true;  // it may come back as a new process with a new history
    setLink(false, e.name === "AbortError" ? "no answer in " + TIMEOUT_MS / 1000 + " s" : e.message);
  } finally {
    clearTimeout(timer);
    setTimeout(poll, Math.max(0, POLL_MS - (Date.now() - started)));
  }
}
poll();
