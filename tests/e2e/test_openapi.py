"""The OpenAPI document and the code must say the same thing.

The code's side is read from the binary itself (`rtrw-api --schema`, see
fcgi/schema.h): the route tables with each route's role, summary, body
fields, query parameters and response row type.  Each test compares one
aspect with docs/openapi.yaml, so a route, field, filter, sort key or
column added to the code without its documentation (or documented and not
there) fails here with the route and the name.

What --schema cannot say (responses that are no one row type: login, me,
stats, dashboard, health, devices check) is documented by hand; every
response the e2e tests receive is validated against the docs (support.py
check_response), which covers those, and the examples here.
"""
import decimal
import json
import os
import pathlib
import re
import subprocess

import pytest

from support import deref, flatten, openapi, validator

ROOT = pathlib.Path(__file__).resolve().parents[2]
METHODS = {"get", "post", "put", "patch", "delete"}

# The keywords of a field's or parameter's schema that state a rule the
# server enforces.  --schema prints exactly the ones that apply, and the
# docs must give exactly those (no missing bound, no invented one).
RULES = ("type", "minLength", "maxLength", "minimum", "maximum",
         "exclusiveMinimum", "multipleOf", "enum", "format", "pattern",
         "writeOnly", "minItems", "maxItems")


def _binary():
    return pathlib.Path(os.environ.get("RTRW_BIN", ROOT / "build/asan/bin")) / "rtrw-api"


_cache = {}


def code():
    """{(method, path): route} from rtrw-api --schema."""
    if "routes" not in _cache:
        out = subprocess.run([str(_binary()), "--schema"], check=True,
                             capture_output=True, text=True).stdout
        doc = json.loads(out, parse_float=decimal.Decimal)
        _cache["routes"] = {(r["method"].lower(), r["path"]): r
                            for r in doc["routes"]}
    return _cache["routes"]


def operations():
    for path, item in openapi()["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield method, path, item, op


def documented():
    """[(method, path, path item, operation, route)] for every route."""
    routes = code()
    return [(m, p, item, op, routes[(m, p)])
            for m, p, item, op in operations() if (m, p) in routes]


def label(method, path):
    return f"{method.upper()} {path}"


def types(schema):
    t = schema.get("type")
    if t is None:
        return None
    return frozenset([t] if isinstance(t, str) else t)


def norm(key, value):
    """A rule's value in a form that compares equal across YAML and JSON."""
    if key == "type":
        return frozenset([value] if isinstance(value, str) else value)
    if key == "enum":
        return list(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float, decimal.Decimal)):
        return decimal.Decimal(str(value))
    return value


def rules(schema):
    out = {k: norm(k, schema[k]) for k in RULES if k in schema}
    # Stated defaults of JSON Schema: the same as not saying anything.
    if out.get("minLength") == 0:
        del out["minLength"]
    if out.get("writeOnly") is False:
        del out["writeOnly"]
    return out


def compare_rules(where, want, got):
    """Differences between the code's schema (want) and the docs' (got).
    The one thing the docs may add is a pattern where the code's table
    states none: a check the handler makes itself (pppoe_username's
    characters, a payment's period), which --schema cannot see."""
    w, g = rules(want), rules(flatten(got))
    out = []
    for k in RULES:
        if k == "pattern" and "pattern" not in w:
            continue
        if w.get(k) != g.get(k):
            out.append(f"{where}: {k} is {g.get(k, '(absent)')!s} in the docs, "
                       f"{w.get(k, '(absent)')!s} in the code")
    return out


def test_every_route_is_documented_and_nothing_else():
    routes = code()
    docs = {(m, p) for m, p, _, _ in operations()}
    assert routes, "rtrw-api --schema printed no routes"
    missing = sorted(set(routes) - docs)
    extra = sorted(docs - set(routes))
    assert not missing, f"routes missing from docs/openapi.yaml: {missing}"
    assert not extra, f"documented routes that do not exist: {extra}"


def test_security_and_roles_match():
    """security: [] exactly for public routes; x-role names the least role
    the route table asks for, x-platform-too the routes that platform
    administrators may call as well; protected routes document 401/403."""
    bad = []
    for m, p, _, op, rt in documented():
        where = label(m, p)
        public = op.get("security") == []
        if public != (rt["role"] == "public"):
            bad.append(f"{where}: role {rt['role']} but security "
                       f"{op.get('security')}")
        if op.get("x-role") != rt["role"]:
            bad.append(f"{where}: x-role {op.get('x-role')!r}, route table "
                       f"{rt['role']!r}")
        if bool(op.get("x-platform-too")) != ("platform_too" in rt["flags"]):
            bad.append(f"{where}: x-platform-too {op.get('x-platform-too')!r}")
        if rt["role"] != "public":
            for code_ in ("401", "403"):
                if code_ not in op["responses"]:
                    bad.append(f"{where} lacks {code_}")
    assert not bad, "\n".join(bad)


def test_summaries_match():
    bad = [f"{label(m, p)}: docs say {op.get('summary')!r}, the route table "
           f"{rt['summary']!r}"
           for m, p, _, op, rt in documented() if op.get("summary") != rt["summary"]]
    assert not bad, "\n".join(bad)


def test_request_bodies_match_the_field_tables():
    bad = []
    for m, p, _, op, rt in documented():
        where = label(m, p)
        req = rt["request"]
        body = op.get("requestBody")
        if req is None:
            if body:
                bad.append(f"{where}: documents a body the route does not read")
            continue
        if not body:
            bad.append(f"{where}: takes a JSON body; document it")
            continue
        body = deref(body)
        if bool(body.get("required")) != req["required"]:
            bad.append(f"{where}: requestBody.required is "
                       f"{body.get('required')!r}, the code {req['required']}")
        media = body.get("content", {}).get("application/json")
        if not media:
            bad.append(f"{where}: body not documented as application/json")
            continue
        schema = flatten(media["schema"])
        if schema.get("type") != "object":
            bad.append(f"{where}: body schema is not an object")
        if schema.get("additionalProperties") is not False:
            bad.append(f"{where}: body must say additionalProperties: false "
                       "(unknown fields are 422)")
        props = schema.get("properties", {})
        fields = {f["name"]: f for f in req["fields"]}
        for name in sorted(set(fields) - set(props)):
            bad.append(f"{where}: field {name} is not documented")
        for name in sorted(set(props) - set(fields)):
            bad.append(f"{where}: documented field {name} does not exist")
        want_req = sorted(n for n, f in fields.items() if f["required"])
        got_req = sorted(schema.get("required", []))
        if want_req != got_req:
            bad.append(f"{where}: required is {got_req} in the docs, "
                       f"{want_req} in the code")
        for name in sorted(set(fields) & set(props)):
            bad += compare_rules(f"{where} field {name}",
                                 fields[name]["schema"], props[name])
    assert not bad, "\n".join(bad)


def parameters(item, op):
    """{(in, name): parameter} of an operation, path item's included."""
    out = {}
    for p in item.get("parameters", []) + op.get("parameters", []):
        p = deref(p)
        out[(p["in"], p["name"])] = p
    return out


def test_query_and_path_parameters_match():
    bad = []
    for m, p, item, op, rt in documented():
        where = label(m, p)
        params = parameters(item, op)
        path_names = re.findall(r"\{(\w+)\}", p)
        for name in path_names:
            prm = params.get(("path", name))
            if not prm or not prm.get("required"):
                bad.append(f"{where}: path parameter {name} not documented "
                           "as required")
            elif name in rt.get("words", []):
                # A {name} segment: a word of [a-z0-9_-], at most 64.
                schema = flatten(prm["schema"])
                words = schema.get("enum") or []
                if schema.get("type") != "string" or not words or not all(
                        re.fullmatch(r"[a-z0-9_-]{1,64}", w) for w in words):
                    bad.append(f"{where}: path parameter {name} is a word "
                               "segment (lib/router.c): a string enum of "
                               "lower-case words")
            elif rules(flatten(prm["schema"])) != rules(
                    {"type": "integer", "minimum": 1}):
                bad.append(f"{where}: path parameter {name} must be an "
                           "integer with minimum 1 (lib/router.c)")
        for (where_in, name) in params:
            if where_in == "path" and name not in path_names:
                bad.append(f"{where}: path parameter {name} is not in the path")
            if where_in not in ("path", "query", "header"):
                bad.append(f"{where}: parameter {name} in {where_in}")
        query = {q["name"]: q for q in rt["query"]}
        doc_q = {n: prm for (i, n), prm in params.items() if i == "query"}
        for name in sorted(set(query) - set(doc_q)):
            bad.append(f"{where}: query parameter {name} is not documented")
        for name in sorted(set(doc_q) - set(query)):
            bad.append(f"{where}: documented query parameter {name} is not "
                       "read by the route")
        for name in sorted(set(query) & set(doc_q)):
            q, prm = query[name], doc_q[name]
            schema = flatten(prm.get("schema", {}))
            bad += compare_rules(f"{where} ?{name}", q["schema"], schema)
            if "default" in q["schema"] and \
                    norm("default", schema.get("default")) != \
                    norm("default", q["schema"]["default"]):
                bad.append(f"{where} ?{name}: default is "
                           f"{schema.get('default')!r} in the docs, "
                           f"{q['schema']['default']!r} in the code")
            if bool(q.get("required")) != bool(prm.get("required")):
                bad.append(f"{where} ?{name}: required is "
                           f"{bool(prm.get('required'))} in the docs, "
                           f"{bool(q.get('required'))} in the code")
            if q.get("doc") and \
                    q["doc"].lower() not in prm.get("description", "").lower():
                bad.append(f"{where} ?{name}: the description must contain "
                           f"the filter's doc line {q['doc']!r}")
    assert not bad, "\n".join(bad)


def success_responses(op):
    return {c: deref(r) for c, r in op["responses"].items()
            if str(c).startswith("2")}


def compare_row(where, columns, schema, more=False):
    """The documented object of a row type against its columns."""
    bad = []
    schema = flatten(schema)
    if schema.get("type") != "object" and not more:
        bad.append(f"{where}: not documented as an object")
    props = {k: flatten(v) for k, v in schema.get("properties", {}).items()}
    cols = {c["name"]: c for c in columns}
    for name in sorted(set(cols) - set(props)):
        bad.append(f"{where}: column {name} is not documented")
    if not more:
        for name in sorted(set(props) - set(cols)):
            bad.append(f"{where}: documented {name} is not a column of the row")
    required = set(schema.get("required", []))
    for name in sorted(set(cols) - required):
        bad.append(f"{where}: {name} is always present; list it in required")
    for name in sorted(set(cols) & set(props)):
        c, prop = cols[name], props[name]
        t = types(prop) or frozenset()
        if c["type"] == "json":
            # JSON columns hold whatever JSON the code stored.
            nullable = "null" in t if t else None
            if nullable is not None and nullable != c["nullable"]:
                bad.append(f"{where}.{name}: nullable is {nullable} in the "
                           f"docs, {c['nullable']} in the code")
            continue
        want = {c["type"]} | ({"null"} if c["nullable"] else set())
        if t != want:
            bad.append(f"{where}.{name}: type {sorted(t)} in the docs, "
                       f"{sorted(want)} in the code")
        if c.get("format") != prop.get("format") and \
                (c.get("format") or prop.get("format") in ("date", "date-time")):
            bad.append(f"{where}.{name}: format {prop.get('format')!r} in the "
                       f"docs, {c.get('format')!r} in the code")
    return bad


def test_responses_match_the_row_types():
    bad = []
    for m, p, _, op, rt in documented():
        where = label(m, p)
        resp = rt["response"]
        ok = success_responses(op)
        if resp["kind"] == "empty":
            if list(ok) != ["204"] or ok["204"].get("content"):
                bad.append(f"{where}: answers 204 without a body; the docs "
                           f"say {sorted(ok)}")
            continue
        if "204" in ok or not ok:
            bad.append(f"{where}: answers a body; the docs say {sorted(ok)}")
            continue
        if resp["kind"] == "file":
            for status, r in ok.items():
                content = r.get("content") or {}
                # A JSON file (a report) may be one of the media types,
                # with the schema of the file: never the only one.
                json_file = (content.get("application/json") or {}).get("schema")
                if not content or ("application/json" in content and
                                   (len(content) == 1 or not json_file)):
                    bad.append(f"{where} {status}: a file download names "
                               "its media types, not application/json")
                if "Content-Disposition" not in (r.get("headers") or {}):
                    bad.append(f"{where} {status}: a file download "
                               "documents its Content-Disposition header")
            continue
        for status, r in ok.items():
            w = f"{where} {status}"
            media = (r.get("content") or {}).get("application/json")
            if not media or "schema" not in media:
                bad.append(f"{w}: no application/json schema")
                continue
            top = flatten(media["schema"])
            props = top.get("properties", {})
            if resp["kind"] == "hand" and "columns" not in resp:
                # Checked by the e2e client's validation of every answer.
                if not props or not top.get("required"):
                    bad.append(f"{w}: documented by hand; list its "
                               "properties and which are required")
                continue
            if "data" not in props or "data" not in top.get("required", []):
                bad.append(f"{w}: the body is {{\"data\": ...}}; document "
                           "data and list it in required")
                continue
            data = flatten(props["data"])
            if resp["kind"] == "list":
                if sorted(props) != ["data", "meta"] or \
                        sorted(top.get("required", [])) != ["data", "meta"]:
                    bad.append(f"{w}: a list is {{data, meta}}, both required")
                meta = props.get("meta", {})
                if deref(meta) is not deref({"$ref": "#/components/schemas/Meta"}):
                    bad.append(f"{w}: meta must be #/components/schemas/Meta")
                if data.get("type") != "array":
                    bad.append(f"{w}: data of a list is an array")
                    continue
                bad += compare_row(f"{w} data[]", resp["columns"],
                                   data.get("items", {}))
            else:
                if sorted(props) != ["data"]:
                    bad.append(f"{w}: an object answer is {{data}} only")
                bad += compare_row(f"{w} data", resp["columns"], data,
                                   more=resp["kind"] == "hand")
    assert not bad, "\n".join(bad)


def media_examples(media):
    if "example" in media:
        yield "example", media["example"]
    for name, ex in (media.get("examples") or {}).items():
        ex = deref(ex)
        if "value" in ex:
            yield name, ex["value"]


def test_every_operation_has_examples_and_ids():
    ids = set()
    bad = []
    for method, path, _, op in operations():
        where = label(method, path)
        if not op.get("operationId"):
            bad.append(f"{where} has no operationId")
        elif op["operationId"] in ids:
            bad.append(f"{where}: operationId {op['operationId']} twice")
        ids.add(op.get("operationId"))
        for code_, resp in success_responses(op).items():
            for media in (resp.get("content") or {}).values():
                # A binary file (an XLSX) has no example to show.
                if deref(media.get("schema", {})).get("format") == "binary":
                    continue
                if not list(media_examples(media)):
                    bad.append(f"{where} {code_} has no example")
        body = op.get("requestBody")
        if body:
            for media in deref(body)["content"].values():
                if not list(media_examples(media)):
                    bad.append(f"{where} request body has no example")
    assert not bad, "\n".join(bad)


def test_examples_match_their_schemas():
    """Every example, request and response, is valid for its schema, with
    response objects closed as the e2e client checks them."""
    bad = []
    spec = openapi()
    where_media = []
    for method, path, _, op in operations():
        body = op.get("requestBody")
        if body:
            for mt, media in deref(body)["content"].items():
                where_media.append((f"{label(method, path)} request", media))
        for code_, resp in op["responses"].items():
            for mt, media in (deref(resp).get("content") or {}).items():
                where_media.append((f"{label(method, path)} {code_}", media))
    for name, resp in spec["components"].get("responses", {}).items():
        for mt, media in (resp.get("content") or {}).items():
            where_media.append((f"components/responses/{name}", media))
    for where, media in where_media:
        if "schema" not in media:
            continue
        v = validator(media["schema"])
        for ex_name, value in media_examples(media):
            for e in v.iter_errors(value):
                bad.append(f"{where} example {ex_name} at "
                           f"/{'/'.join(map(str, e.absolute_path))}: {e.message}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("path", ["/api/v1/customers/stats",
                                  "/api/v1/customers/12"])
def test_the_response_check_finds_the_right_operation(path):
    """support.check_response matches literal segments before {id}."""
    from support import find_operation
    template, op = find_operation("get", path)
    assert template == ("/api/v1/customers/stats" if path.endswith("stats")
                        else "/api/v1/customers/{id}")
    assert op["operationId"]


def fake_response(method, path, status, body, ctype="application/json"):
    """A requests.Response as if the server had answered, for the check."""
    import requests
    r = requests.Response()
    r.status_code = status
    r._content = b"" if body is None else json.dumps(body).encode()
    if body is not None:
        r.headers["Content-Type"] = ctype + "; charset=utf-8"
    r.url = "https://127.0.0.1" + path
    r.request = requests.Request(method, r.url).prepare()
    return r


def test_the_response_check_can_fail():
    """support.check_response, which every e2e request goes through,
    refuses a member the docs do not name, a missing one, a time not in
    RFC 3339 UTC, an undocumented status and an error with extra members."""
    import copy as _copy
    from support import check_response
    op = openapi()["paths"]["/api/v1/customers/{id}"]["get"]
    good = deref(op["responses"]["200"])["content"]["application/json"]["example"]
    check_response(fake_response("GET", "/api/v1/customers/12", 200, good))

    def refused(body, status=200, method="GET", path="/api/v1/customers/12"):
        with pytest.raises(AssertionError):
            check_response(fake_response(method, path, status, body))

    extra = _copy.deepcopy(good)
    extra["data"]["pppoe_password_enc"] = "c2VjcmV0"
    refused(extra)
    missing = _copy.deepcopy(good)
    del missing["data"]["customer_code"]
    refused(missing)
    local = _copy.deepcopy(good)
    local["data"]["created_at"] = "2026-11-27 10:15:00"
    refused(local)
    refused(good, status=201)
    refused({"error": {"code": "not_found", "message": "customer not found",
                       "trace": "db.c:42"}}, status=404)
    refused({"data": []}, status=204, method="DELETE")
    check_response(fake_response("DELETE", "/api/v1/customers/12", 204, None))


def test_the_limits_held_in_code_agree_with_the_validators(tenant):
    """--schema states a few bounds that live in code, not in a field
    table (fcgi/schema.c): per_page, the email length, the money maximum.
    The server must accept each bound and refuse one past it."""
    from test_service_plans import PLAN
    routes = code()
    q = {x["name"]: x for x in routes[("get", "/api/v1/customers")]["query"]}
    top = int(q["per_page"]["schema"]["maximum"])
    assert tenant.viewer.get(f"/customers?per_page={top}").status_code == 200
    assert tenant.viewer.get(f"/customers?per_page={top + 1}").status_code == 422

    plan = {f["name"]: f for f in
            routes[("post", "/api/v1/service-plans")]["request"]["fields"]}
    most = plan["price"]["schema"]["maximum"]
    r = tenant.operator.post("/service-plans", dict(PLAN, name="Top", price=float(most)))
    assert r.status_code == 201, r.text
    assert f'"price":{most}' in r.text.replace(" ", "")
    r = tenant.operator.post("/service-plans", dict(PLAN, name="Over",
                                                    price=int(most) + 1))
    assert r.status_code == 422, r.text

    cust = {f["name"]: f for f in
            routes[("post", "/api/v1/customers")]["request"]["fields"]}
    n = int(cust["email"]["schema"]["maxLength"])
    email = "a" * 64 + "@" + "b" * (n - 64 - 1 - 4) + ".com"
    assert len(email) == n
    plans = tenant.operator.get("/service-plans").json()["data"]
    plan_id = plans[0]["id"]
    base = {"name": "Batas", "phone": "081234567890", "address": "Gang 1",
            "service_plan_id": plan_id}
    r = tenant.operator.post("/customers", dict(base, email=email))
    assert r.status_code == 201, r.text
    r = tenant.operator.post("/customers", dict(base, email="a" + email,
                                                phone="081234567891"))
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"][0]["field"] == "email"


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
