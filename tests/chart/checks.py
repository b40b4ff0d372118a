#!/usr/bin/python3
"""Checks of the Helm chart, the plain manifests and the Dockerfile (issue 9).

Run by tests/chart/run.sh, which fetches the tools first. Prints PASS/FAIL/SKIP per
check and a summary; exits 1 when any check failed.

Environment: HELM, KUBECTL, VALIDATOR_MODULES (from get_tools.sh) and GREENLB_BIN (the
greenlb binary; checks that need it print SKIP when it does not exist).
"""
import copy
import hashlib
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import tomllib

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CHART = os.path.join(ROOT, "helm", "greenlb")
KUSTOMIZE_DIR = os.path.join(ROOT, "deploy", "kubernetes")
DOCKERFILE = os.path.join(ROOT, "deploy", "Dockerfile")
HELM = os.environ["HELM"]
KUBECTL = os.environ["KUBECTL"]
VALIDATOR_MODULES = os.environ["VALIDATOR_MODULES"]
GREENLB_BIN = os.environ.get("GREENLB_BIN") or os.path.join(ROOT, "build", "greenlb")
RELEASE = "t"

results = {"PASS": 0, "FAIL": 0, "SKIP": 0}
WORK = tempfile.mkdtemp(prefix="greenlb-chart-")


def report(status, name, detail=""):
    results[status] += 1
    line = f"{status} {name}"
    if detail:
        line += "\n      " + detail.strip().replace("\n", "\n      ")
    print(line, flush=True)


def check(name, fn, *args):
    """Runs fn(*args); an AssertionError or any exception is a FAIL, "SKIP: why" a SKIP."""
    try:
        out = fn(*args)
    except AssertionError as e:
        report("FAIL", name, str(e))
        return
    except Exception as e:  # a broken check is a failed check, with its reason
        report("FAIL", name, f"{type(e).__name__}: {e}")
        return
    if isinstance(out, str) and out.startswith("SKIP"):
        report("SKIP", name, out[4:].lstrip(": "))
    else:
        report("PASS", name)


def run(cmd, input=None):
    return subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=120)


# ----------------------------------------------------------------- rendering helpers

def helm_template(*args, chart=CHART):
    """Renders the chart; returns (returncode, stdout, stderr)."""
    p = run([HELM, "template", RELEASE, chart, "--namespace", "default", *args])
    return p.returncode, p.stdout, p.stderr


def render(*args):
    rc, out, err = helm_template(*args)
    assert rc == 0, f"helm template {' '.join(args)} failed:\n{err}"
    return out


def docs_of(text):
    return [d for d in yaml.safe_load_all(text) if d]


def one(docs, kind, name=None):
    found = [d for d in docs if d["kind"] == kind
             and (name is None or d["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def config_text(docs):
    cms = [d for d in docs if d["kind"] == "ConfigMap" and "greenlb.toml" in d.get("data", {})]
    assert len(cms) == 1, f"expected one ConfigMap with greenlb.toml, found {len(cms)}"
    return cms[0]["data"]["greenlb.toml"]


def duration_s(text):
    if text in ("0", 0):
        return 0.0
    parts = re.findall(r"([0-9]+)(ms|h|m|s)", text)
    assert parts and "".join(n + u for n, u in parts) == text, f"bad duration {text!r}"
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(int(n) * scale[u] for n, u in parts)


def port_of(listen):
    return int(listen.rsplit(":", 1)[1])


def deep_merge(base, over):
    """Helm's coalescing of values: maps merge, anything else replaces, null deletes."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def drop_nulls(v):
    if isinstance(v, dict):
        return {k: drop_nulls(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [drop_nulls(x) for x in v]
    return v


def load_yaml(path):
    with open(path) as f:
        return yaml.safe_load(f) or {}


DEFAULT_VALUES = load_yaml(os.path.join(CHART, "values.yaml"))
CI_FILES = sorted(
    os.path.join(CHART, "ci", f) for f in os.listdir(os.path.join(CHART, "ci"))
    if f.endswith(".yaml"))
# name -> (helm args, merged values)
VALUE_SETS = {"default": ([], DEFAULT_VALUES)}
for path in CI_FILES:
    VALUE_SETS[os.path.basename(path)] = (["-f", path], deep_merge(DEFAULT_VALUES, load_yaml(path)))

RENDERED = {}  # name -> rendered text (only the sets that rendered)


# ------------------------------------------------------------------------ checks

def check_versions():
    chart = load_yaml(os.path.join(CHART, "Chart.yaml"))
    with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
        m = re.search(r"project\(\s*greenlb\s+VERSION\s+([0-9][0-9A-Za-z.+-]*)", f.read())
    assert m, "no project(greenlb VERSION x.y.z) in CMakeLists.txt"
    assert chart["version"] == "0.1.0" or re.match(r"^\d+\.\d+\.\d+", chart["version"]), \
        f"Chart.yaml version {chart['version']!r} is not SemVer"
    assert str(chart["appVersion"]) == m.group(1), \
        f"Chart.yaml appVersion {chart['appVersion']!r} != CMake project version {m.group(1)!r}"
    kust = load_yaml(os.path.join(KUSTOMIZE_DIR, "kustomization.yaml"))
    tags = {i["name"]: str(i.get("newTag")) for i in kust.get("images", [])}
    assert tags.get("ghcr.io/greenlb/greenlb") == m.group(1), \
        f"deploy/kubernetes image tag {tags} != {m.group(1)}"


def check_lint(args):
    p = run([HELM, "lint", "--strict", CHART, *args])
    assert p.returncode == 0, p.stdout + p.stderr
    # helm lint only logs a template's `fail` as [INFO]: treat it as the error it is.
    assert "Fail:" not in p.stdout + p.stderr, p.stdout + p.stderr


def check_render(name, args):
    RENDERED[name] = render(*args)
    docs = docs_of(RENDERED[name])
    assert docs, "rendered nothing"


def validate_files(paths):
    return run(["node", os.path.join(HERE, "validator", "k8s_validate.mjs"),
                "--modules", VALIDATOR_MODULES, *paths])


def check_k8s_schema(paths):
    p = validate_files(paths)
    assert p.returncode == 0, p.stdout + p.stderr


# Each invalid fixture must be rejected with this in the message: proves the validator
# catches wrong types, misspelt fields, missing required fields, unknown kinds and CRD
# mistakes, and (valid.yaml) that it does not reject good manifests.
VALIDATOR_FIXTURES = {
    "invalid-wrong-type.yaml": "containerPort: must be integer",
    "invalid-unknown-field.yaml": 'unknown field "readinesProbe"',
    "invalid-missing-required.yaml": 'missing required field "port"',
    "invalid-unknown-kind.yaml": 'no schema for apiVersion "apps/v2"',
    "invalid-crd-field.yaml": 'unknown field "portName"',
}


def check_validator_catches(fixture, expected):
    p = validate_files([os.path.join(HERE, "fixtures", fixture)])
    assert p.returncode == 1, f"validator accepted {fixture}:\n{p.stdout}{p.stderr}"
    assert expected in p.stdout, f"expected {expected!r} in:\n{p.stdout}{p.stderr}"


def check_validator_accepts():
    p = validate_files([os.path.join(HERE, "fixtures", "valid.yaml")])
    assert p.returncode == 0, p.stdout + p.stderr


def have_greenlb():
    return os.access(GREENLB_BIN, os.X_OK)


TLS_FILES = {}


def fake_tls_files(dest, names, want_ca):
    """Self-signed certificate files where the chart mounts Secrets (tls/NAME/...)."""
    if "pair" not in TLS_FILES:
        d = os.path.join(WORK, "tls-pair")
        os.makedirs(d, exist_ok=True)
        p = run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                 "/CN=greenlb.test", "-addext", "subjectAltName=DNS:greenlb.test",
                 "-keyout", os.path.join(d, "tls.key"), "-out", os.path.join(d, "tls.crt")])
        assert p.returncode == 0, "openssl: " + p.stderr
        TLS_FILES["pair"] = d
    for name in names:
        sub = os.path.join(dest, "tls", name)
        os.makedirs(sub, exist_ok=True)
        for f in ("tls.crt", "tls.key"):
            shutil.copy(os.path.join(TLS_FILES["pair"], f), sub)
        if want_ca.get(name):
            shutil.copy(os.path.join(TLS_FILES["pair"], "tls.crt"), os.path.join(sub, "ca.crt"))


def greenlb_check_text(name, text, values=None):
    if not have_greenlb():
        return f"SKIP: {GREENLB_BIN} not built yet"
    d = os.path.join(WORK, "check-" + re.sub(r"[^A-Za-z0-9]", "_", name))
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "greenlb.toml")
    with open(path, "w") as f:
        f.write(text)
    secrets = (values or {}).get("tls", {}).get("secrets", [])
    if secrets:
        fake_tls_files(d, [s["name"] for s in secrets], {s["name"]: s.get("ca") for s in secrets})
    p = run([GREENLB_BIN, "--check", "-c", path])
    assert p.returncode == 0, f"greenlb --check -c {path}: exit {p.returncode}\n{p.stdout}{p.stderr}"


def check_greenlb_accepts(name, values):
    return greenlb_check_text(name, config_text(docs_of(RENDERED[name])), values)


def check_toml_roundtrip(name, values):
    """The TOML the chart writes from `greenlb` values reads back as the same data."""
    if values.get("config"):
        return "SKIP: raw config"
    got = tomllib.loads(config_text(docs_of(RENDERED[name])))
    want = drop_nulls(values["greenlb"])
    assert got == want, f"rendered TOML != values:\n{json.dumps(got)}\n{json.dumps(want)}"


def workload_facts(docs):
    deps = [d for d in docs if d["kind"] == "Deployment" and any(
        c["name"] == "greenlb" for c in d["spec"]["template"]["spec"]["containers"])]
    assert len(deps) == 1, f"expected one greenlb Deployment, found {len(deps)}"
    dep = deps[0]
    pod = dep["spec"]["template"]["spec"]
    (ctr,) = [c for c in pod["containers"] if c["name"] == "greenlb"]
    cfg = tomllib.loads(config_text(docs))
    return dep, pod, ctr, cfg


def check_probes(docs):
    _, _, ctr, cfg = workload_facts(docs)
    ports = {p["name"]: p["containerPort"] for p in ctr["ports"]}
    admin = port_of(cfg["admin"]["listen"])
    assert ports.get("admin") == admin, f"container port admin {ports.get('admin')} != {admin}"
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        get = ctr[probe]["httpGet"]
        assert get["path"] == path, f"{probe} path {get['path']}"
        assert get["port"] in ("admin", admin), f"{probe} port {get['port']}"
    if "startupProbe" in ctr:
        assert ctr["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "admin"}


def check_security(docs):
    _, pod, ctr, _ = workload_facts(docs)
    psc, sc = pod.get("securityContext", {}), ctr.get("securityContext", {})
    assert psc.get("runAsNonRoot") is True or sc.get("runAsNonRoot") is True, "runAsNonRoot"
    assert sc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem"
    assert sc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation"
    assert sc.get("capabilities", {}).get("drop") == ["ALL"], "capabilities.drop ALL"
    assert not sc.get("capabilities", {}).get("add"), "capabilities.add"
    seccomp = sc.get("seccompProfile") or psc.get("seccompProfile") or {}
    assert seccomp.get("type") == "RuntimeDefault", "seccompProfile RuntimeDefault"
    assert pod.get("automountServiceAccountToken") is False, "pod automountServiceAccountToken"
    for sa in (d for d in docs if d["kind"] == "ServiceAccount"):
        assert sa.get("automountServiceAccountToken") is False, "ServiceAccount automount"
    assert pod.get("serviceAccountName"), "serviceAccountName"
    uid = sc.get("runAsUser", psc.get("runAsUser"))
    assert uid and uid != 0, f"runAsUser {uid}"


def check_command_and_mount(docs):
    _, pod, ctr, _ = workload_facts(docs)
    assert ctr["command"] == ["greenlb"], ctr["command"]
    assert ctr["args"][:2] == ["-c", "/etc/greenlb/greenlb.toml"], ctr["args"]
    mounts = {m["mountPath"]: m for m in ctr["volumeMounts"]}
    m = mounts.get("/etc/greenlb")
    assert m and not m.get("subPath"), "config dir mounted at /etc/greenlb without subPath"
    vols = {v["name"]: v for v in pod["volumes"]}
    sources = vols[m["name"]]["projected"]["sources"]
    items = [i for s in sources if "configMap" in s for i in s["configMap"]["items"]]
    assert {"key": "greenlb.toml", "path": "greenlb.toml"} in items, items


def check_grace(docs):
    _, pod, ctr, cfg = workload_facts(docs)
    g = cfg.get("global", {})
    need = duration_s(g.get("drain_delay", "0s")) + duration_s(g.get("graceful_timeout", "30s"))
    pre = ctr.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
    if pre[:1] == ["sleep"]:
        need += float(pre[1])
    got = pod["terminationGracePeriodSeconds"]
    assert got >= need, f"terminationGracePeriodSeconds {got} < drain+graceful(+preStop) {need}"


def check_service_ports(docs, values):
    _, _, ctr, cfg = workload_facts(docs)
    named = {p["name"]: p["containerPort"] for p in ctr["ports"]}
    svcs = [d for d in docs if d["kind"] == "Service"]
    main = [s for s in svcs if s["spec"].get("clusterIP") != "None"]
    assert len(main) == 1, f"expected one non-headless Service, found {len(main)}"
    exposed = {named.get(p["targetPort"], p["targetPort"]): p for p in main[0]["spec"]["ports"]}
    admin = port_of(cfg["admin"]["listen"])
    assert admin not in exposed, "the admin port is on the public Service"
    wanted_service_ports = (values or {}).get("service", {}).get("ports", {})
    for l in cfg["listener"]:
        port = port_of(l["listen"])
        assert port in exposed, f"listener {l['name']} port {port} not on the Service"
        if l["name"] in wanted_service_ports:
            assert exposed[port]["port"] == wanted_service_ports[l["name"]], \
                f"listener {l['name']}: Service port {exposed[port]['port']}"
    admin_svcs = [s for s in svcs if any(named.get(p["targetPort"], p["targetPort"]) == admin
                                         for p in s["spec"]["ports"])]
    assert admin_svcs, "no Service exposes the admin port"


def check_spread_and_pdb(docs):
    dep, pod, _, _ = workload_facts(docs)
    spread = pod.get("topologySpreadConstraints") or \
        pod.get("affinity", {}).get("podAntiAffinity")
    assert spread, "neither topologySpreadConstraints nor podAntiAffinity"
    labels = dep["spec"]["template"]["metadata"]["labels"]
    pdb = one(docs, "PodDisruptionBudget")
    sel = pdb["spec"]["selector"]["matchLabels"]
    assert all(labels.get(k) == v for k, v in sel.items()), "PDB selects no greenlb pod"
    rolling = dep["spec"]["strategy"]["rollingUpdate"]
    assert rolling["maxUnavailable"] in (0, "0%"), "rollout may drop capacity"


def check_selectors_exclusive(docs):
    """Every selector (Deployment, Services, PDB, PodMonitor, NetworkPolicy) selects the
    greenlb pods and no other pod the chart makes (helm test, the reload Job)."""
    pods = {}  # description -> labels
    for d in docs:
        if d["kind"] == "Pod":
            pods[f"Pod/{d['metadata']['name']}"] = d["metadata"].get("labels", {})
        elif d["kind"] in ("Deployment", "Job"):
            pods[f"{d['kind']}/{d['metadata']['name']}"] = \
                d["spec"]["template"]["metadata"].get("labels", {})
    dep, _, _, _ = workload_facts(docs)
    mine = f"Deployment/{dep['metadata']['name']}"
    selectors = []
    for d in docs:
        spec, name = d.get("spec", {}), d["metadata"]["name"]
        if not name.startswith(dep["metadata"]["name"]):
            continue  # not greenlb's (deploy/kubernetes' example app)
        what = f"{d['kind']}/{name}"
        if d["kind"] == "Service":
            selectors.append((what, spec["selector"]))
        elif d["kind"] in ("Deployment", "PodDisruptionBudget", "PodMonitor"):
            selectors.append((what, spec["selector"]["matchLabels"]))
        elif d["kind"] == "NetworkPolicy":
            selectors.append((what, spec["podSelector"]["matchLabels"]))
    assert len(selectors) >= 4, f"too few selectors found: {selectors}"
    matches = lambda sel, labels: all(labels.get(k) == v for k, v in sel.items())
    for what, sel in selectors:
        selected = [p for p, labels in pods.items() if matches(sel, labels)]
        assert selected == [mine], f"{what} selects {selected}, want [{mine}]"


def check_checksum_changes():
    def checksum(*args):
        dep = one(docs_of(render(*args)), "Deployment")
        return dep["spec"]["template"]["metadata"]["annotations"].get("checksum/config")
    a, b = checksum(), checksum()
    c = checksum("--set", "greenlb.global.drain_delay=6s")
    d = checksum("--set-string", "config=[admin]\nlisten = \"0.0.0.0:9901\"\n"
                 "[[listener]]\nname = \"web\"\nlisten = \"0.0.0.0:8080\"\n")
    assert a and a == b, "checksum/config missing or not deterministic"
    assert len({a, c, d}) == 3, "checksum/config did not change with the config"


def check_raw_config_wins():
    raw = ("[global]\ndrain_delay = \"20s\"\ngraceful_timeout = \"40s\"\n"
           "[admin]\nlisten = \"0.0.0.0:9555\"\n"
           "[[listener]]\nname = \"only\"\nlisten = \"0.0.0.0:7000\"\nupstream = \"u\"\n"
           "[[upstream]]\nname = \"u\"\nendpoints = [\"10.0.0.1:80\"]\n")
    raw_file = os.path.join(WORK, "raw.yaml")
    with open(raw_file, "w") as f:
        yaml.safe_dump({"config": raw, "greenlb": {"global": {"workers": 7}}}, f)
    docs = docs_of(render("-f", raw_file))
    assert config_text(docs) == raw, "ConfigMap greenlb.toml is not the raw config verbatim"
    _, pod, ctr, _ = workload_facts(docs)
    assert {p["containerPort"] for p in ctr["ports"]} == {7000, 9555}, ctr["ports"]
    svc = [s for s in docs if s["kind"] == "Service" and s["spec"].get("clusterIP") != "None"][0]
    assert [p["name"] for p in svc["spec"]["ports"]] == ["only"], svc["spec"]["ports"]
    assert pod["terminationGracePeriodSeconds"] == 20 + 40 + 5, pod["terminationGracePeriodSeconds"]


def check_sighup_mode():
    docs = docs_of(RENDERED["sighup-values.yaml"])
    dep = one(docs, "Deployment")
    assert "checksum/config" not in dep["spec"]["template"]["metadata"].get("annotations", {}), \
        "sighup mode must not roll pods on config changes"
    job = one(docs, "Job")
    hooks = job["metadata"]["annotations"]["helm.sh/hook"].split(",")
    assert "post-upgrade" in hooks and "post-rollback" in hooks, hooks
    assert tomllib.loads(config_text(docs))["admin"]["allow_reload"] is True
    jpod = job["spec"]["template"]["spec"]
    assert jpod["automountServiceAccountToken"] is False
    assert jpod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True


def check_optional_objects():
    kinds = lambda name: [d["kind"] for d in docs_of(RENDERED[name])]
    default = kinds("default")
    for k in ("ServiceMonitor", "PodMonitor", "HorizontalPodAutoscaler", "NetworkPolicy", "Job"):
        assert k not in default, f"{k} rendered by default"
    assert "ServiceMonitor" in kinds("monitors-values.yaml")
    hpa_docs = docs_of(RENDERED["hpa-values.yaml"])
    assert "PodMonitor" in [d["kind"] for d in hpa_docs]
    hpa = one(hpa_docs, "HorizontalPodAutoscaler")
    dep = one(hpa_docs, "Deployment")
    assert "replicas" not in dep["spec"], "replicas set while the HPA owns them"
    assert hpa["spec"]["scaleTargetRef"]["name"] == dep["metadata"]["name"]
    assert "NetworkPolicy" in kinds("networkpolicy-values.yaml")


def check_service_monitor_targets():
    docs = docs_of(RENDERED["monitors-values.yaml"])
    sm = one(docs, "ServiceMonitor")
    sel = sm["spec"]["selector"]["matchLabels"]
    svcs = [s for s in docs if s["kind"] == "Service"
            and all(s["metadata"]["labels"].get(k) == v for k, v in sel.items())]
    assert len(svcs) == 1, f"ServiceMonitor selects {len(svcs)} Services"
    assert {"port": "admin", "path": "/metrics"}.items() <= sm["spec"]["endpoints"][0].items()
    assert "admin" in [p["name"] for p in svcs[0]["spec"]["ports"]]
    assert sm["metadata"]["labels"].get("release") == "kube-prometheus-stack"


def check_network_policy():
    docs = docs_of(RENDERED["networkpolicy-values.yaml"])
    np_ = one(docs, "NetworkPolicy")
    ports = [p["port"] for rule in np_["spec"]["ingress"] for p in rule["ports"]]
    _, _, ctr, _ = workload_facts(docs)
    for p in ctr["ports"]:
        assert p["name"] in ports, f"port {p['name']} not allowed by the NetworkPolicy"
    assert "Egress" in np_["spec"]["policyTypes"]


# Values that values.schema.json (or the templates' own checks) must refuse.
BAD_VALUES = [
    ("schema: replicaCount=-1", ["--set", "replicaCount=-1"], "replicaCount"),
    ("schema: replicaCount a string", ["--set-string", "replicaCount=two"], "replicaCount"),
    ("schema: unknown top-level key", ["--set", "replicas=3"], "replicas"),
    ("schema: reload.mode enum", ["--set", "reload.mode=restart"], "reload.mode"),
    ("schema: unknown [global] key", ["--set", "greenlb.global.worker=2"], "worker"),
    ("schema: duration without unit", ["--set", "greenlb.global.drain_delay=5"], "drain_delay"),
    ("schema: image.pullPolicy enum", ["--set", "image.pullPolicy=Sometimes"], "pullPolicy"),
    # Ranges come from greenlb's key table (tests/chart/config_schema.py), maxima too.
    ("schema: workers over 1024", ["--set", "greenlb.global.workers=5000"], "workers"),
    ("schema: endpoint weight 0", {"greenlb": {"upstream": [
        {"name": "app", "endpoints": [{"address": "10.0.0.1:80", "weight": 0}]}]}}, "weight"),
    ("schema: listener protocol udp", {"greenlb": {"listener": [
        {"name": "web", "listen": "0.0.0.0:8080", "protocol": "udp"}]}}, "protocol"),
    # YAML reads an unquoted `on:` key as true; the schema catches it before greenlb does.
    ("schema: retry unquoted on", "greenlb:\n  upstream:\n    - name: app\n"
     "      endpoints: [\"10.0.0.1:80\"]\n      retry:\n        on: [reset]\n", "true"),
    ("template: sighup without allow_reload", ["--set", "reload.mode=sighup"], "allow_reload"),
    ("template: grace period too short",
     ["--set", "terminationGracePeriodSeconds=10"], "terminationGracePeriodSeconds"),
    ("template: admin on loopback",
     ["--set", "greenlb.admin.listen=127.0.0.1:9901"], "0.0.0.0"),
    ("template: both monitors",
     ["--set", "serviceMonitor.enabled=true", "--set", "podMonitor.enabled=true"], "not both"),
    ("template: raw config not TOML", ["--set-string", "config=[[listener"], "TOML"),
]


def check_rejected(args, expected):
    if not isinstance(args, list):
        path = os.path.join(WORK, "bad-%s.yaml" % hashlib.sha1(repr(args).encode()).hexdigest()[:8])
        with open(path, "w") as f:
            f.write(args if isinstance(args, str) else yaml.safe_dump(args))
        args = ["-f", path]
    rc, out, err = helm_template(*args)
    assert rc != 0, f"helm template {' '.join(args)} succeeded"
    assert expected in err, f"expected {expected!r} in:\n{err}"


def check_notes(name, args):
    """NOTES.txt renders (helm template skips it): include it from a scratch copy."""
    chart = os.path.join(WORK, "notes-chart")
    if not os.path.isdir(chart):
        shutil.copytree(CHART, chart)
        with open(os.path.join(chart, "templates", "zz-notes.yaml"), "w") as f:
            f.write('notes: {{ include "greenlb/templates/NOTES.txt" . | toJson }}\n')
    rc, out, err = helm_template("-s", "templates/zz-notes.yaml", *args, chart=chart)
    assert rc == 0, err
    notes = yaml.safe_load(out)["notes"]
    assert "port-forward" in notes and "/metrics" in notes, notes


class FakeAdmin(http.server.BaseHTTPRequestHandler):
    """Stands in for greenlb's admin listener: records requests, answers `status`."""
    status = 200
    seen = []

    def handle_one(self):
        FakeAdmin.seen.append((self.command, self.path))
        self.send_response(FakeAdmin.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = handle_one

    def log_message(self, *a):
        pass


def with_fake_admin(status, fn):
    FakeAdmin.status, FakeAdmin.seen = status, []
    srv = http.server.HTTPServer(("127.0.0.1", 0), FakeAdmin)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        return fn(srv.server_address[1]), list(FakeAdmin.seen)
    finally:
        srv.shutdown()
        srv.server_close()


def pod_script(doc):
    spec = doc["spec"]["template"]["spec"] if doc["kind"] == "Job" else doc["spec"]
    ctr = spec["containers"][0]
    assert ctr["command"] == ["/bin/bash", "-c"], ctr["command"]
    env = {e["name"]: e["value"] for e in ctr["env"]}
    return ctr["args"][0], env


def check_hook_scripts():
    """The reload Job's and the helm-test pod's bash really speak HTTP."""
    docs = docs_of(RENDERED["sighup-values.yaml"])
    job_script, job_env = pod_script(one(docs, "Job"))
    test_script, _ = pod_script(one(docs, "Pod"))

    def run_script(script, env_extra):
        def go(port):
            env = dict(os.environ, ADMIN_HOST="127.0.0.1", ADMIN_PORT=str(port), **env_extra)
            return subprocess.run(["/bin/bash", "-c", script], env=env, capture_output=True,
                                  text=True, timeout=30)
        return go

    p, seen = with_fake_admin(200, run_script(job_script, {"DELAY": "0"}))
    assert p.returncode == 0 and seen == [("POST", "/reload")], (p.stdout + p.stderr, seen)
    p, seen = with_fake_admin(500, run_script(job_script, {"DELAY": "0"}))
    assert p.returncode != 0, "reload Job succeeded although /reload answered 500"
    p, seen = with_fake_admin(200, run_script(test_script, {}))
    assert p.returncode == 0 and seen == [("GET", "/readyz")], (p.stdout + p.stderr, seen)
    p, seen = with_fake_admin(503, run_script(test_script, {}))
    assert p.returncode != 0, "helm test passed although /readyz answered 503"
    assert job_env["ADMIN_PORT"] == "9901" and job_env["DELAY"] == "75", job_env


# ---------------------------------------------------------------- plain manifests

def kustomize_build():
    p = run([KUBECTL, "kustomize", KUSTOMIZE_DIR])
    assert p.returncode == 0, p.stderr
    path = os.path.join(WORK, "kustomize.yaml")
    with open(path, "w") as f:
        f.write(p.stdout)
    return path


def check_kustomize_matches_chart():
    docs = docs_of(open(os.path.join(WORK, "kustomize.yaml")).read())
    chart_cfg = tomllib.loads(config_text(docs_of(RENDERED["default"])))
    cfg = tomllib.loads(config_text(docs))
    assert cfg == chart_cfg, f"deploy/kubernetes/greenlb.toml != chart default:\n{cfg}\n{chart_cfg}"
    upstream = cfg["upstream"][0]
    assert upstream.get("dns") == "app-headless.default.svc.cluster.local:8080"
    assert "resolve_every" in upstream
    svc = one(docs, "Service", "app-headless")
    assert svc["spec"]["clusterIP"] == "None", "app-headless is not headless"
    # the pods behind app-headless serve the port greenlb resolves
    app = one(docs, "Deployment", "app")
    app_ports = [p["containerPort"] for c in app["spec"]["template"]["spec"]["containers"]
                 for p in c.get("ports", [])]
    assert port_of(upstream["dns"]) in app_ports, app_ports
    chart_pod = one(docs_of(RENDERED["default"]), "Deployment")["spec"]["template"]["spec"]
    pod = one(docs, "Deployment", "greenlb")["spec"]["template"]["spec"]
    for key in ("terminationGracePeriodSeconds", "securityContext", "automountServiceAccountToken"):
        assert pod[key] == chart_pod[key], f"{key}: {pod[key]} != chart {chart_pod[key]}"
    for key in ("securityContext", "resources", "livenessProbe", "readinessProbe", "startupProbe"):
        a, b = pod["containers"][0][key], chart_pod["containers"][0][key]
        # leave out the fields the API server defaults to the same value anyway
        k8s_defaults = {"initialDelaySeconds": 0, "successThreshold": 1}
        strip = lambda d: {k: v for k, v in d.items() if k8s_defaults.get(k, object()) != v}
        assert strip(a) == strip(b), f"container {key}: {a} != chart {b}"


def kustomize_docs():
    return docs_of(open(os.path.join(WORK, "kustomize.yaml")).read())


# ---------------------------------------------------------------- Dockerfile

def dockerfile_instructions():
    lines, cur = [], ""
    for raw in open(DOCKERFILE).read().splitlines():
        if not cur and raw.lstrip().startswith("#"):
            continue
        if raw.lstrip().startswith("#"):
            continue  # comment lines inside a continued instruction
        cur += raw.rstrip("\\").rstrip() + " " if raw.endswith("\\") else raw
        if not raw.endswith("\\"):
            if cur.strip():
                lines.append(cur.strip())
            cur = ""
    return lines


def dockerfile_stages():
    stages = []
    for ins in dockerfile_instructions():
        word = ins.split(None, 1)[0].upper()
        if word == "FROM":
            stages.append({"from": ins.split()[1], "ins": []})
        elif stages:
            stages[-1]["ins"].append(ins)
    return stages


def check_dockerfile_structure():
    stages = dockerfile_stages()
    assert [s["from"] for s in stages] == ["debian:12", "debian:12-slim"], \
        [s["from"] for s in stages]
    build, rt = stages
    build_text, rt_text = " ".join(build["ins"]), " ".join(rt["ins"])
    assert "CMAKE_BUILD_TYPE=Release" in build_text and "cmake --build build" in build_text
    assert re.search(r"^USER 65532(:65532)?$", "\n".join(rt["ins"]), re.M), "USER 65532"
    assert "HEALTHCHECK" in rt_text and "/healthz" in rt_text, "HEALTHCHECK on /healthz"
    assert "COPY deploy/greenlb.toml /etc/greenlb/greenlb.toml" in rt_text
    assert "COPY --from=build /src/build/greenlb" in rt_text


def check_dockerfile_copies():
    copied = set()
    for stage in dockerfile_stages():
        for ins in stage["ins"]:
            parts = ins.split()
            if parts[0].upper() not in ("COPY", "ADD") or any(p.startswith("--from") for p in parts):
                continue
            srcs = [p for p in parts[1:-1] if not p.startswith("--")]
            for src in srcs:
                assert os.path.exists(os.path.join(ROOT, src)), f"COPY source {src} does not exist"
                copied.add(src.rstrip("/"))
    # Every subdirectory the top-level CMakeLists.txt adds must be in the build context
    # the Dockerfile copies (tests are off in the image build).
    with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
        subdirs = re.findall(r"add_subdirectory\(\s*([\w./-]+)", f.read())
    missing = [d for d in subdirs if d != "tests" and d not in copied]
    assert not missing, f"the Dockerfile does not COPY {missing} (add_subdirectory)"
    assert "CMakeLists.txt" in copied


# Packages every debian:12-slim image already has (Priority: required).
SLIM_BASE = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g", "libzstd1", "liblzma5",
             "libbz2-1.0", "libcrypt1", "libselinux1", "libpcre2-8-0", "libacl1", "libattr1",
             "libgmp10", "libtinfo6", "libmd0", "libsystemd0", "libcap2"}


def runtime_packages():
    rt = dockerfile_stages()[-1]
    pkgs = set()
    for ins in rt["ins"]:
        for cmd in re.split(r"&&|;", ins):
            words = cmd.split()
            if "apt-get" in words and "install" in words:
                pkgs |= {w for w in words[words.index("install") + 1:] if not w.startswith("-")}
    return pkgs


def check_runtime_libraries():
    if not have_greenlb():
        return f"SKIP: {GREENLB_BIN} not built yet"
    p = run(["ldd", GREENLB_BIN])
    assert p.returncode == 0, p.stderr
    libs = re.findall(r"=>\s+(/\S+)", p.stdout)
    unresolved = re.findall(r"^\s*(\S+) => not found", p.stdout, re.M)
    assert not unresolved, f"unresolved libraries: {unresolved}"
    pkgs = runtime_packages() | SLIM_BASE
    missing = []
    for lib in libs:
        owner = None
        for candidate in (lib, os.path.realpath(lib)):
            q = run(["dpkg", "-S", candidate])
            if q.returncode == 0:
                owner = q.stdout.split(":", 1)[0].split(",")[0].strip()
                break
            # /lib is a symlink to /usr/lib on Debian 12 (merged /usr)
            alt = candidate.replace("/usr/lib/", "/lib/", 1) if candidate.startswith("/usr/lib/") \
                else candidate.replace("/lib/", "/usr/lib/", 1)
            q = run(["dpkg", "-S", alt])
            if q.returncode == 0:
                owner = q.stdout.split(":", 1)[0].split(",")[0].strip()
                break
        assert owner, f"no Debian package owns {lib}"
        if owner not in pkgs:
            missing.append(f"{lib} ({owner})")
    assert not missing, "runtime stage lacks packages for: " + ", ".join(missing)


def check_image_default_config():
    cfg = tomllib.load(open(os.path.join(ROOT, "deploy", "greenlb.toml"), "rb"))
    assert cfg["admin"]["listen"] == "0.0.0.0:9901", cfg["admin"]
    assert any(l["listen"] == "0.0.0.0:8080" for l in cfg["listener"]), cfg["listener"]
    hc = [i for i in dockerfile_stages()[-1]["ins"] if i.startswith("HEALTHCHECK")][0]
    script = json.loads(hc[hc.index("CMD") + 3:].strip())
    assert script[:2] == ["/bin/bash", "-c"] and "/9901" in script[2], script

    def go(port):
        return subprocess.run(["/bin/bash", "-c", script[2].replace("/9901", f"/{port}")],
                              capture_output=True, text=True, timeout=15)
    p, seen = with_fake_admin(200, go)
    assert p.returncode == 0 and seen == [("GET", "/healthz")], (p.stderr, seen)
    p, _ = with_fake_admin(500, go)
    assert p.returncode != 0, "HEALTHCHECK passed although /healthz answered 500"


# ---------------------------------------------------------------- values.yaml docs

def check_values_documented():
    """Every top-level key of values.yaml, and every table under `greenlb`, has a comment:
    on its line, directly above it, or above the run of sibling keys it belongs to."""
    lines = open(os.path.join(CHART, "values.yaml")).read().splitlines()
    undocumented = []
    for i, line in enumerate(lines):
        m = re.match(r"^( *)([\"\w.-]+):", line)
        if not m:
            continue
        indent = len(m.group(1))
        top = next((l for l in reversed(lines[:i + 1]) if re.match(r"^\w", l)), "")
        if not (indent == 0 or (indent == 2 and top.startswith("greenlb:"))) or "#" in line:
            continue
        j, ok = i - 1, False
        while j >= 0:
            prev = lines[j]
            if prev.strip().startswith("#"):
                if len(prev) - len(prev.lstrip()) > indent:
                    j -= 1  # a comment inside a sibling's block
                    continue
                ok = True
                break
            if not prev.strip() or len(prev) - len(prev.lstrip()) < indent:
                break
            j -= 1  # a sibling key or its nested lines: keep looking for the run's comment
        if not ok:
            undocumented.append(f"line {i + 1}: {line.strip()}")
    assert not undocumented, "undocumented values:\n" + "\n".join(undocumented)


# ------------------------------------------------------------------------ main

def main():
    check("versions: Chart appVersion == CMake project version == manifests' tag",
          check_versions)
    check("values.yaml: every value documented", check_values_documented)
    for fixture, expected in VALIDATOR_FIXTURES.items():
        check(f"validator rejects fixtures/{fixture}", check_validator_catches, fixture, expected)
    check("validator accepts fixtures/valid.yaml", check_validator_accepts)

    for name, (args, values) in VALUE_SETS.items():
        check(f"[{name}] helm lint --strict", check_lint, args)
        check(f"[{name}] helm template renders", check_render, name, args)
    rendered_paths = []
    for name, text in RENDERED.items():
        path = os.path.join(WORK, f"rendered-{name}")
        with open(path, "w") as f:
            f.write(text)
        rendered_paths.append(path)
    check("rendered manifests (all value sets) validate against the Kubernetes schemas",
          check_k8s_schema, rendered_paths)
    for name, (args, values) in VALUE_SETS.items():
        if name not in RENDERED:
            continue
        docs = docs_of(RENDERED[name])
        check(f"[{name}] ConfigMap greenlb.toml passes greenlb --check",
              check_greenlb_accepts, name, values)
        check(f"[{name}] greenlb.toml written from values reads back equal",
              check_toml_roundtrip, name, values)
        check(f"[{name}] probes: /healthz and /readyz on the admin port", check_probes, docs)
        check(f"[{name}] securityContext: non-root, read-only, drop ALL, seccomp; no SA token",
              check_security, docs)
        check(f"[{name}] runs greenlb -c /etc/greenlb/greenlb.toml from the mounted ConfigMap",
              check_command_and_mount, docs)
        check(f"[{name}] terminationGracePeriodSeconds >= drain_delay + graceful_timeout",
              check_grace, docs)
        check(f"[{name}] Service exposes every listener port; admin on its own Service",
              check_service_ports, docs, values)
        check(f"[{name}] spread, PDB and a rollout that keeps capacity",
              check_spread_and_pdb, docs)
        check(f"[{name}] selectors pick the greenlb pods and no hook or test pod",
              check_selectors_exclusive, docs)
        check(f"[{name}] NOTES.txt renders", check_notes, name, args)

    check("checksum/config annotation changes with the config", check_checksum_changes)
    check("raw config wins over structured values", check_raw_config_wins)
    if "sighup-values.yaml" in RENDERED:
        check("reload.mode sighup: no checksum, post-upgrade hook Job", check_sighup_mode)
        check("reload Job and helm test scripts speak HTTP (fake admin server)",
              check_hook_scripts)
    if all(n in RENDERED for n in ("default", "monitors-values.yaml", "hpa-values.yaml",
                                   "networkpolicy-values.yaml")):
        check("optional objects off by default, on when enabled", check_optional_objects)
        check("ServiceMonitor selects the admin Service", check_service_monitor_targets)
        check("NetworkPolicy admits every container port", check_network_policy)
    for name, args, expected in BAD_VALUES:
        check(f"rejects bad values: {name}", check_rejected, args, expected)

    kpath = None
    try:
        kpath = kustomize_build()
        report("PASS", "kubectl kustomize deploy/kubernetes renders")
    except AssertionError as e:
        report("FAIL", "kubectl kustomize deploy/kubernetes renders", str(e))
    if kpath:
        check("deploy/kubernetes validates against the Kubernetes schemas", check_k8s_schema,
              [kpath])
        kdocs = kustomize_docs()
        check("deploy/kubernetes: same config and pod settings as the chart's defaults",
              check_kustomize_matches_chart)
        check("deploy/kubernetes greenlb.toml passes greenlb --check",
              lambda: greenlb_check_text("kustomize", config_text(kdocs)))
        check("deploy/kubernetes: probes on the admin port", check_probes, kdocs)
        check("deploy/kubernetes: securityContext and no SA token", check_security, kdocs)
        check("deploy/kubernetes: grace period covers the drain", check_grace, kdocs)
        check("deploy/kubernetes: selectors pick the greenlb pods only",
              check_selectors_exclusive, kdocs)

    check("Dockerfile: debian:12 build, debian:12-slim runtime, uid 65532, HEALTHCHECK",
          check_dockerfile_structure)
    check("Dockerfile: every COPY source exists, every CMake subdirectory copied",
          check_dockerfile_copies)
    check("Dockerfile: runtime packages cover `ldd build/greenlb`", check_runtime_libraries)
    check("deploy/greenlb.toml binds 0.0.0.0; HEALTHCHECK speaks HTTP",
          check_image_default_config)
    check("deploy/greenlb.toml passes greenlb --check", lambda: greenlb_check_text(
        "image", open(os.path.join(ROOT, "deploy", "greenlb.toml")).read()))

    shutil.rmtree(WORK, ignore_errors=True)
    total = sum(results.values())
    print(f"\nchart checks: {total} run, {results['PASS']} passed, "
          f"{results['FAIL']} failed, {results['SKIP']} skipped")
    return 1 if results["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
