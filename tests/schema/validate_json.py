#!/usr/bin/python3
"""Validates JSON documents against docs/report-schema.json with Debian's python3-jsonschema.

Usage: validate_json.py SCHEMA DEF FILE...
Each FILE must match the whole schema (one of its documents) and the document DEF of its $defs
(convert_report, restore_report, inspect, cluster_manifest). Prints every error with its JSON
path; exits 0 when every file is valid, 1 when one is not, 2 on bad usage or a schema that is
itself not valid JSON Schema.
"""
import json
import sys

from jsonschema import Draft202012Validator


def errors_of(validator, document):
    return sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    schema_path, definition, files = argv[1], argv[2], argv[3:]
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    try:
        Draft202012Validator.check_schema(schema)
    except Exception as e:  # jsonschema.exceptions.SchemaError
        print(f"{schema_path}: not a valid JSON Schema: {e}", file=sys.stderr)
        return 2
    if definition not in schema.get("$defs", {}):
        print(f"{schema_path}: no $defs/{definition}", file=sys.stderr)
        return 2
    whole = Draft202012Validator(schema)
    one = Draft202012Validator({"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"})
    failed = False
    for path in files:
        with open(path, encoding="utf-8") as f:
            document = json.load(f)
        for name, validator in ((definition, one), ("the whole schema", whole)):
            errors = errors_of(validator, document)
            for e in errors:
                where = "/".join(str(p) for p in e.absolute_path) or "(top)"
                message = e.message if len(e.message) < 300 else e.message[:150] + " ... " + e.message[-120:]
                print(f"{path}: against {name}: at {where}: {message}")
            failed = failed or bool(errors)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
