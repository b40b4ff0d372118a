#!/usr/bin/env python3
"""The `greenlb` part of helm/greenlb/values.schema.json, generated from greenlb's key table.

Every key of greenlb.toml is declared once, as a row of conf/key_table.cc (docs/configuration.md
describes them). tests/unit/conf/config_keys_dump prints those rows as JSON; this script turns
them into the JSON schema that validates the chart's `greenlb:` value (greenlb.toml as YAML)
and compares it with, or writes it into, values.schema.json. The rest of that file (the
chart's own values, and the definitions duration, size and address used here) is written by
hand.

    config_schema.py CONFIG_KEYS_DUMP --check   exit 1 with a diff when the file differs
    config_schema.py CONFIG_KEYS_DUMP --write   rewrite the `greenlb` part in place

Why a dump read by Python rather than a C++ generator: the rows are C++ constants, so only a
C++ program can read them, but turning them into a schema is one small mapping per value
type, and splicing it into a hand-written JSON file is what Python's json does (it
round-trips values.schema.json byte for byte). ctest runs --check (chart_config_schema).
"""
import argparse
import difflib
import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "helm" / "greenlb" / "values.schema.json"
DESCRIPTION = ("greenlb.toml as YAML: the keys of docs/configuration.md. Generated from "
               "conf/key_table.cc by tests/chart/config_schema.py --write; do not edit.")


def non_empty_string():
    return {"type": "string", "minLength": 1}


def child(table, key):
    return f"{table}.{key}" if table else key


def value_schema(row, rows):
    """The schema of a value key, per its type in conf/schema.h."""
    kind, path = row["type"], child(row["table"], row["key"])
    if kind == "boolean":
        return {"type": "boolean"}
    if kind == "integer":
        out = {"type": "integer", "minimum": row["min"]}
        if row["max"] is not None:
            out["maximum"] = row["max"]
        return out
    if kind in ("duration", "size"):
        return {"$ref": f"#/definitions/{kind}"}
    if kind in ("address", "listen_address"):
        return {"$ref": "#/definitions/address"}
    if kind in ("text", "name", "path", "url_path", "host_pattern"):
        return non_empty_string()
    if kind == "choice":
        return {"enum": row["choices"]}
    if kind in ("hash_key", "rate_limit_key"):
        return {"type": "string", "pattern": row["pattern"]}
    if kind == "retry_conditions":
        return {"type": "array", "items": {"type": "string", "pattern": row["pattern"]}}
    if kind == "strings":
        return {"type": "array", "items": non_empty_string()}
    if kind in ("tables", "addresses_or_tables"):
        out = {"type": "array"}
        if row["min"]:
            out["minItems"] = row["min"]
        entry = table_schema(path, rows)
        if kind == "addresses_or_tables":
            entry = {"oneOf": [{"$ref": "#/definitions/address"}, entry]}
        out["items"] = entry
        return out
    if kind == "header_fields":
        return {"type": "object", "additionalProperties": {"type": "string"}}
    sys.exit(f"config_schema.py: no JSON schema for value type {kind!r} ({path}): add one")


def table_schema(table, rows, description=None):
    """An object of the keys of `table` ("" for the top), tables nested."""
    properties, required = {}, []
    for row in rows:
        if row["table"] != table:
            continue
        path = child(table, row["key"])
        if row["kind"] == "value":
            properties[row["key"]] = value_schema(row, rows)
        elif row["kind"] == "table":
            properties[row["key"]] = table_schema(path, rows, f"[{path}]")
        else:
            properties[row["key"]] = {"type": "array",
                                      "items": table_schema(path, rows, f"[[{path}]]")}
        if row["required"]:
            required.append(row["key"])
    out = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        out["required"] = required
    if description:
        out["description"] = description
    return out


def refs(node):
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for v in node.values():
            yield from refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from refs(v)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dump", help="the config_keys_dump program")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true")
    mode.add_argument("--write", action="store_true")
    args = parser.parse_args()

    rows = json.loads(subprocess.run([args.dump], check=True, capture_output=True,
                                     text=True, timeout=30).stdout)
    generated = table_schema("", rows, DESCRIPTION)
    text = SCHEMA.read_text()
    schema = json.loads(text)
    for ref in set(refs(generated)):
        name = ref.removeprefix("#/definitions/")
        if name not in schema.get("definitions", {}):
            sys.exit(f"config_schema.py: {SCHEMA} has no definition {name!r}")
    schema["properties"]["greenlb"] = generated
    want = json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
    if args.write:
        SCHEMA.write_text(want)
        print(f"wrote {SCHEMA.relative_to(ROOT)}")
        return 0
    if want == text:
        print(f"{SCHEMA.relative_to(ROOT)}: the greenlb part matches conf/key_table.cc")
        return 0
    sys.stdout.writelines(difflib.unified_diff(
        text.splitlines(keepends=True), want.splitlines(keepends=True),
        str(SCHEMA.relative_to(ROOT)), "generated from conf/key_table.cc"))
    print("\nvalues.schema.json is out of date: run "
          "tests/chart/config_schema.py build/tests/unit/conf/config_keys_dump --write")
    return 1


if __name__ == "__main__":
    sys.exit(main())
