#!/usr/bin/env python3
"""Checks deploy/monitoring against what greenlb really exports.

Usage: check_monitoring.py METRICS_DUMP DASHBOARD_JSON ALERTS_YML

METRICS_DUMP is the metrics_dump program: its exposition (every family populated) is the
truth. Every metric name and label used by a dashboard query, a template variable or an
alert must appear in it, so a renamed metric or a typo breaks this test, not a dashboard
on the night it is needed. Also checks the dashboard's shape (datasource variable, unique
panel ids, non-overlapping grid) and that the panels and alerts asked for exist.
"""
import json
import re
import subprocess
import sys

import yaml

# Labels Prometheus adds at scrape time or PromQL knows, beyond the exported ones.
TARGET_LABELS = {"job", "instance", "__name__"}
METRIC = re.compile(r"\b((?:greenlb|process)_[A-Za-z0-9_]+)")
GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
SELECTOR = re.compile(r"\{([^{}]*)\}")
MATCHER = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)\s*\"")
TEMPLATE_LABEL = re.compile(r"\$labels\.([A-Za-z_][A-Za-z0-9_]*)")

REQUIRED_DASHBOARD_METRICS = {
    "greenlb_requests_total",
    "greenlb_request_duration_seconds_bucket",
    "greenlb_upstream_endpoint_up",
    "greenlb_upstream_endpoint_in_flight",
    "greenlb_upstream_retries_total",
    "greenlb_upstream_timeouts_total",
    "greenlb_upstream_ejections_total",
    "greenlb_upstream_pool_idle_connections",
    "greenlb_hub_loop_lag_seconds_bucket",
    "greenlb_hub_fibers",
    "greenlb_config_reloads_total",
}
REQUIRED_ALERTS = {
    "GreenlbHigh5xxRatio",
    "GreenlbNoHealthyEndpoints",
    "GreenlbUpstreamPanic",
    "GreenlbConfigReloadFailed",
    "GreenlbHubLoopLagHigh",
    "GreenlbTLSCertificateExpiringSoon",
}


def exposition(dump):
    text = subprocess.run([dump], check=True, capture_output=True, text=True).stdout
    names, labels = set(), set()
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        series = line.rsplit(" ", 1)[0]
        names.add(series.split("{", 1)[0])
        labels.update(re.findall(r'([A-Za-z_][A-Za-z0-9_]*)="', series))
    return names, labels


def strip_strings(expr):
    return re.sub(r'"(?:\\.|[^"\\])*"', '""', expr)


def check_expr(where, expr, names, labels, problems, used):
    for name in METRIC.findall(strip_strings(expr)):
        used.add(name)
        if name not in names:
            problems.append(f"{where}: unknown metric {name}")
    known = labels | TARGET_LABELS
    for group in GROUPING.findall(expr):
        for label in filter(None, (l.strip() for l in group.split(","))):
            if label not in known:
                problems.append(f"{where}: unknown label {label!r} in grouping")
    for selector in SELECTOR.findall(expr):
        if selector.strip().startswith("{"):  # Grafana legend templates are not queries
            continue
        for label in MATCHER.findall(selector):
            if label not in known:
                problems.append(f"{where}: unknown label {label!r} in selector")


def walk_panels(panels):
    for p in panels:
        yield p
        yield from walk_panels(p.get("panels", []))


def check_dashboard(path, names, labels, problems):
    with open(path) as f:
        d = json.load(f)
    if d.get("schemaVersion", 0) < 36:
        problems.append(f"dashboard: schemaVersion {d.get('schemaVersion')} < 36")
    for key in ("title", "uid", "panels", "templating"):
        if key not in d:
            problems.append(f"dashboard: no {key}")
    variables = {v["name"]: v for v in d.get("templating", {}).get("list", [])}
    ds = variables.get("datasource")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        problems.append("dashboard: no `datasource` variable of type datasource (prometheus)")
    used = set()
    for name, v in variables.items():
        if v.get("type") == "query":
            q = v.get("query")
            check_expr(f"variable {name}", q["query"] if isinstance(q, dict) else q, names,
                       labels, problems, used)
    ids, cells = set(), []
    for p in walk_panels(d.get("panels", [])):
        title = p.get("title", "?")
        if p.get("id") in ids:
            problems.append(f"panel {title}: duplicate id {p.get('id')}")
        ids.add(p.get("id"))
        g = p.get("gridPos", {})
        if not all(k in g for k in "hwxy") or g["x"] + g["w"] > 24:
            problems.append(f"panel {title}: bad gridPos {g}")
        else:
            for other_title, o in cells:
                if (g["x"] < o["x"] + o["w"] and o["x"] < g["x"] + g["w"] and
                        g["y"] < o["y"] + o["h"] and o["y"] < g["y"] + g["h"]):
                    problems.append(f"panel {title} overlaps {other_title}")
            cells.append((title, g))
        if p.get("type") == "row":
            continue
        if p.get("datasource", {}).get("uid") != "${datasource}":
            problems.append(f"panel {title}: datasource is not ${{datasource}}")
        if not p.get("targets"):
            problems.append(f"panel {title}: no query")
        for t in p.get("targets", []):
            if t.get("datasource", {}).get("uid") != "${datasource}":
                problems.append(f"panel {title}: target datasource is not ${{datasource}}")
            check_expr(f"panel {title}", t.get("expr", ""), names, labels, problems, used)
    for name in sorted(REQUIRED_DASHBOARD_METRICS - used):
        problems.append(f"dashboard: no panel shows {name}")


def check_alerts(path, names, labels, problems):
    with open(path) as f:
        doc = yaml.safe_load(f)
    alerts = set()
    for group in doc.get("groups", []):
        for rule in group.get("rules", []):
            where = f"alert {rule.get('alert', rule.get('record'))}"
            alerts.add(rule.get("alert"))
            check_expr(where, rule["expr"], names, labels, problems, set())
            for text in rule.get("annotations", {}).values():
                for label in TEMPLATE_LABEL.findall(text):
                    if label not in labels | TARGET_LABELS:
                        problems.append(f"{where}: annotation uses unknown label {label!r}")
            if "severity" not in rule.get("labels", {}):
                problems.append(f"{where}: no severity label")
    for name in sorted(REQUIRED_ALERTS - alerts):
        problems.append(f"alerts: no {name}")


def main():
    dump, dashboard, alerts = sys.argv[1:4]
    names, labels = exposition(dump)
    problems = []
    check_dashboard(dashboard, names, labels, problems)
    check_alerts(alerts, names, labels, problems)
    for p in problems:
        print(p)
    if problems:
        return 1
    print(f"monitoring assets use only exported names ({len(names)} series names known)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
