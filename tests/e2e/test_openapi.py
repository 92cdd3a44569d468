"""The OpenAPI document and the route table must say the same thing.

The route table is read from the binary itself (`rtrw-api --routes`), so a
route added to fcgi/routes.c without documentation, or documentation for a
route that does not exist, fails here.
"""
import os
import pathlib
import subprocess

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
METHODS = {"get", "post", "put", "patch", "delete"}


def _routes():
    binary = pathlib.Path(os.environ.get("RTRW_BIN", ROOT / "build/asan/bin")) / "rtrw-api"
    out = subprocess.run([str(binary), "--routes"], check=True,
                         capture_output=True, text=True).stdout
    routes = {}
    for line in out.splitlines():
        method, path, role = line.split()
        routes[(method.lower(), path)] = role
    return routes


def _spec():
    with open(ROOT / "docs/openapi.yaml", encoding="utf-8") as f:
        return yaml.safe_load(f)


def _operations(spec):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield method, path, op


def test_every_route_is_documented_and_nothing_else():
    routes = _routes()
    documented = {(m, p) for m, p, _ in _operations(_spec())}
    assert routes, "rtrw-api --routes printed nothing"
    missing = sorted(set(routes) - documented)
    extra = sorted(documented - set(routes))
    assert not missing, f"routes missing from docs/openapi.yaml: {missing}"
    assert not extra, f"documented routes that do not exist: {extra}"


def test_security_matches_roles():
    routes = _routes()
    for method, path, op in _operations(_spec()):
        role = routes[(method, path)]
        public = op.get("security") == []
        assert public == (role == "public"), \
            f"{method.upper()} {path}: role {role} but security {op.get('security')}"
        if role != "public":
            codes = set(op["responses"])
            assert "401" in codes, f"{method.upper()} {path} lacks 401"
            assert "403" in codes, f"{method.upper()} {path} lacks 403"


def test_every_operation_has_examples_and_ids():
    spec = _spec()
    ids = set()
    for method, path, op in _operations(spec):
        assert op.get("operationId"), f"{method} {path} has no operationId"
        assert op["operationId"] not in ids
        ids.add(op["operationId"])
        assert op.get("summary"), f"{method} {path} has no summary"
        ok = [c for c in op["responses"] if c.startswith("2")]
        assert ok, f"{method} {path} documents no success response"
        for code in ok:
            resp = op["responses"][code]
            if "$ref" in resp or code == "204" or "content" not in resp:
                continue
            for media in resp["content"].values():
                assert "example" in media or "examples" in media, \
                    f"{method.upper()} {path} {code} has no example"
        body = op.get("requestBody")
        if body:
            for media in body["content"].values():
                assert "example" in media or "examples" in media, \
                    f"{method.upper()} {path} request body has no example"


def _lint(path):
    return subprocess.run(
        [str(ROOT / "node_modules/.bin/redocly"), "lint", "--config",
         str(ROOT / "redocly.yaml"), "--format=stylish", str(path)],
        capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_lint_refuses_bad_examples_and_unused_components(tmp_path):
    """The examples are part of the contract: one that does not match its
    schema, or a component nothing uses, fails the lint of make test."""
    text = (ROOT / "docs/openapi.yaml").read_text(encoding="utf-8")
    assert "phone: '081234567890'" in text
    good = tmp_path / "good.yaml"
    good.write_text(text, encoding="utf-8")
    r = _lint(good)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "warning" not in r.stdout, r.stdout
    # The phone number as YAML reads it unquoted: the integer 81234567890.
    bad = text.replace("phone: '081234567890'", "phone: 081234567890", 1)
    bad = bad.replace("\n  responses:\n", "\n  responses:\n"
                      "    Unused:\n      description: Nothing refers to this.\n",
                      1)
    assert bad.count("Unused:") == 1
    path = tmp_path / "bad.yaml"
    path.write_text(bad, encoding="utf-8")
    r = _lint(path)
    assert r.returncode != 0, r.stdout
    assert "no-invalid-media-type-examples" in r.stdout
    assert "no-unused-components" in r.stdout
