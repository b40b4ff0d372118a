// Offline, strict validation of Kubernetes manifests against the Kubernetes OpenAPI
// schemas (no cluster, no network).
//
// The schemas: the `kubernetes-models` npm package ships one compiled JSON-schema
// validator (ajv) per OpenAPI definition of the Kubernetes API, and
// `@kubernetes-models/prometheus-operator` the same for the Prometheus Operator CRDs
// (ServiceMonitor, PodMonitor). They check types, formats, enums and required fields.
//
// Strictness: the Kubernetes OpenAPI spec does not set additionalProperties: false, so a
// misspelt field ("readinesProbe") would pass a plain schema check and be dropped by the
// API server. kubeconform's -strict mode closes that gap by rewriting the schemas; we get
// the same effect without rewriting anything: each object is wrapped in a Proxy that
// records which property names the validator looks up. A compiled validator looks up
// every property its schema defines, and enumerates the keys of map-typed objects
// (labels, data, ...). So after validation, a key that was neither looked up nor
// enumerated is unknown to the schema. Objects whose validator looked at nothing at all
// (schema `{}`, x-kubernetes-preserve-unknown-fields) are free-form and not judged.
//
// Usage: node k8s_validate.mjs --modules DIR FILE...   (FILE: multi-document YAML, or -)
// Prints one line per problem ("FILE: Kind/name: /json/pointer: message") and a summary;
// exits 1 when anything is invalid, 2 on usage errors.
import { readFileSync, existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { createRequire } from "node:module";

const args = process.argv.slice(2);
const modIdx = args.indexOf("--modules");
if (modIdx < 0 || !args[modIdx + 1]) {
  console.error("usage: k8s_validate.mjs --modules NODE_MODULES_PARENT FILE...");
  process.exit(2);
}
const modulesRoot = resolve(args[modIdx + 1], "node_modules");
const files = args.filter((_, i) => i !== modIdx && i !== modIdx + 1);
const require = createRequire(join(modulesRoot, "noop.js"));
const YAML = require("yaml");

// Packages that hold models, tried in order: "<pkg>/<group>/<version>/<Kind>.js".
const modelPackages = ["kubernetes-models", "@kubernetes-models/prometheus-operator"];
const validators = new Map();

async function validatorFor(apiVersion, kind) {
  const key = `${apiVersion}/${kind}`;
  if (validators.has(key)) return validators.get(key);
  let found = null;
  const groupVersion = apiVersion.includes("/") ? apiVersion : `v1`;  // core group: "v1"
  for (const pkg of modelPackages) {
    const model = join(modulesRoot, pkg, groupVersion, `${kind}.js`);
    if (!existsSync(model)) continue;
    // The model module imports its validator from ../../_schemas/<Definition>.js.
    const m = readFileSync(model, "utf8").match(/from\s*"(\.[^"]*_schemas\/[^"]+\.js)"/);
    if (!m) continue;
    const mod = await import(pathToFileURL(resolve(dirname(model), m[1])).href);
    found = mod.validate;
    break;
  }
  validators.set(key, found);
  return found;
}

// Wraps value (recursively) in recording proxies; every object wrapper is listed in
// `records` so its unread keys can be reported after validation.
function track(value, path, records) {
  if (value === null || typeof value !== "object") return value;
  const isArray = Array.isArray(value);
  const target = isArray
    ? value.map((v, i) => track(v, `${path}/${i}`, records))
    : Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, track(v, `${path}/${k}`, records)]));
  const rec = { path, target, isArray, read: new Set(), enumerated: false };
  records.push(rec);
  return new Proxy(target, {
    get(t, k, r) { if (typeof k === "string") rec.read.add(k); return Reflect.get(t, k, r); },
    has(t, k) { if (typeof k === "string") rec.read.add(k); return Reflect.has(t, k); },
    ownKeys(t) { rec.enumerated = true; return Reflect.ownKeys(t); },
  });
}

function unknownFields(records) {
  const out = [];
  for (const rec of records) {
    if (rec.isArray || rec.enumerated || rec.read.size === 0) continue;
    for (const k of Object.keys(rec.target)) {
      if (!rec.read.has(k)) out.push(`${rec.path}/${k}: unknown field "${k}"`);
    }
  }
  return out;
}

function describe(err) {
  const where = err.instancePath || "/";
  const p = err.params || {};
  let msg = err.message;
  if (!msg) {
    switch (err.keyword) {
      case "type": msg = `must be ${p.type}`; break;
      case "required": msg = `missing required field "${p.missingProperty}"`; break;
      case "enum": msg = `must be one of ${JSON.stringify(p.allowedValues)}`; break;
      case "format": msg = `must match format "${p.format}"`; break;
      default: msg = `${err.keyword} ${JSON.stringify(p)}`;
    }
  }
  return `${where}: ${msg}`;
}

async function validateDoc(doc) {
  if (typeof doc !== "object" || Array.isArray(doc)) return ["/: not a Kubernetes object"];
  const { apiVersion, kind } = doc;
  if (typeof apiVersion !== "string" || typeof kind !== "string") {
    return ["/: apiVersion and kind are required"];
  }
  const validate = await validatorFor(apiVersion, kind);
  if (!validate) return [`/: no schema for apiVersion "${apiVersion}" kind "${kind}"`];
  const problems = [];
  if (!doc.metadata || (!doc.metadata.name && !doc.metadata.generateName)) {
    problems.push("/metadata/name: missing required field");
  }
  const records = [];
  const ok = validate(track(doc, "", records));
  if (!ok) {
    // Several branches of anyOf/oneOf (int-or-string) report the same spot; dedupe.
    for (const e of validate.errors || []) problems.push(describe(e));
  }
  problems.push(...unknownFields(records));
  return [...new Set(problems)];
}

let bad = 0, total = 0;
for (const file of files) {
  const text = readFileSync(file === "-" ? 0 : file, "utf8");
  let docs;
  try {
    docs = YAML.parseAllDocuments(text);
  } catch (e) {
    console.log(`${file}: YAML: ${e.message}`);
    bad++;
    continue;
  }
  for (const d of docs) {
    if (d.errors.length) {
      console.log(`${file}: YAML: ${d.errors[0].message}`);
      bad++;
      continue;
    }
    const obj = d.toJS();
    if (obj === null || obj === undefined) continue;
    total++;
    const name = `${obj.kind ?? "?"}/${obj.metadata?.name ?? "?"}`;
    const problems = await validateDoc(obj);
    if (problems.length) bad++;
    for (const p of problems) console.log(`${file}: ${name}: ${p}`);
  }
}
console.log(`k8s_validate: ${total} objects, ${bad} invalid`);
process.exit(bad ? 1 : 0);
