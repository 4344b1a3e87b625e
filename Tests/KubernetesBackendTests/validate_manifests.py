"""Validates Kubernetes objects against the real API schema (kubernetes-validate, strict mode:
unknown fields are errors). Reads a JSON list of {"name": ..., "object": {...}} on stdin, writes
a JSON list of {"name": ..., "valid": bool, "error": str} on stdout.

    validate_manifests.py --markdown FILE   validates the objects in FILE's ```yaml blocks instead

Used by KubernetesBackendTests (SchemaTests.swift), with PYTHONPATH set to where scripts/test.sh
installed kubernetes-validate. Exits 3 when the package cannot be imported.
"""
import json
import re
import sys

KUBERNETES_VERSION = "1.30.0"

try:
    import kubernetes_validate
except ImportError as error:
    print(f"cannot import kubernetes_validate ({error}); run `make test` or "
          "`python3 -m pip install --target .data/pylib kubernetes-validate`", file=sys.stderr)
    sys.exit(3)


def check(entry):
    try:
        kubernetes_validate.validate(entry["object"], KUBERNETES_VERSION, strict=True)
        return {"name": entry["name"], "valid": True, "error": ""}
    except kubernetes_validate.ValidationError as error:
        path = ".".join(str(part) for part in error.path)
        return {"name": entry["name"], "valid": False, "error": f"{path}: {error.message}"}
    except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError) as error:
        return {"name": entry["name"], "valid": False, "error": error.message}


def markdown_objects(path):
    import yaml  # installed with kubernetes-validate
    with open(path) as file:
        blocks = re.findall(r"```yaml\n(.*?)```", file.read(), re.S)
    return [{"name": f"{path}: {item['kind']} {item['metadata']['name']}", "object": item}
            for block in blocks for item in yaml.safe_load_all(block) if item]


entries = markdown_objects(sys.argv[2]) if sys.argv[1:2] == ["--markdown"] else json.load(sys.stdin)
json.dump([check(entry) for entry in entries], sys.stdout)
