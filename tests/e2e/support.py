"""Shared helpers and fixtures of the end-to-end tests.

Everything goes through nginx over HTTPS, against the stack that
tools/stack.sh started (its stack.env is in the environment).  Each test
gets fresh tenants, so tests never depend on each other's data.

Fixtures (imported by conftest.py):
  tenant, tenant_b   a new tenant each: .admin/.operator/.technician/.viewer
                     are Clients logged in with that role; .id, .slug
  new_tenant         factory making more of them
  anon               a Client without a token
  mysql              a pymysql connection to the stack's database (root)
  reconfigure        context manager: change rtrw.conf keys, SIGHUP the
                     API, restore afterwards

Every response that a Client (or conftest's api session) receives from
/api/v1 or /health is checked against docs/openapi.yaml before the test
sees it (check_response): the documented response of that operation and
status, its media type, and the body against its JSON schema, with every
documented object closed (additionalProperties: false), so that a member
the server sends and the docs do not name fails the test that got it.
"""
import contextlib
import copy
import datetime
import functools
import itertools
import json as jsonlib
import os
import pathlib
import re
import signal
import time
import urllib.parse
import uuid

import jsonschema
import pymysql
import pytest
import requests
import urllib3
import yaml

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

API = os.environ.get("API_URL", "https://127.0.0.1:18443")
ROLES = ("admin", "operator", "technician", "viewer")
PASSWORD = "s3cret-Passw0rd"
_counter = itertools.count()


class Client:
    """A logged-in (or anonymous) API client: c.get('/customers')."""

    def __init__(self, token=None, user=None, tenant=None):
        self.token = token
        self.user = user or {}
        self.tenant = tenant
        self.s = requests.Session()
        self.s.verify = False

    def headers(self, extra=None):
        h = {"Content-Type": "application/json; charset=utf-8"}
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        h.update(extra or {})
        return h

    def request(self, method, path, json=None, data=None, headers=None, **kw):
        url = API + ("" if path.startswith("/health") else "/api/v1") + path
        if data is not None:
            r = self.s.request(method, url, data=data,
                               headers=self.headers(headers), timeout=30, **kw)
        else:
            r = self.s.request(method, url, json=json,
                               headers=self.headers(headers), timeout=30, **kw)
        check_response(r)
        return r

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, json=None, **kw):
        return self.request("POST", path, json=json, **kw)

    def patch(self, path, json=None, **kw):
        return self.request("PATCH", path, json=json, **kw)

    def put(self, path, json=None, **kw):
        return self.request("PUT", path, json=json, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


def unique(prefix="t"):
    return f"{prefix}{os.getpid() % 1000}-{next(_counter)}-{uuid.uuid4().hex[:6]}"


def login(slug, email, password=PASSWORD):
    r = Client().post("/auth/login", {"tenant": slug, "email": email,
                                       "password": password})
    assert r.status_code == 200, r.text
    return r.json()["data"]


class Tenant:
    def __init__(self, id, slug, clients, users):
        self.id = id
        self.slug = slug
        self.clients = clients
        self.users = users

    def __getattr__(self, role):
        if role in ROLES:
            return self.clients[role]
        raise AttributeError(role)


def make_tenant():
    slug = unique("t")
    email = f"admin@{slug}.example.id"
    r = Client().post("/tenants/register", {
        "tenant_name": "RT/RW Net " + slug, "tenant_slug": slug,
        "admin_name": "Admin " + slug, "admin_email": email,
        "admin_password": PASSWORD})
    assert r.status_code == 201, r.text
    tid = r.json()["data"]["tenant"]["id"]
    users = {"admin": r.json()["data"]["user"]}
    admin = Client(login(slug, email)["access_token"], users["admin"], tid)
    clients = {"admin": admin}
    for role in ROLES[1:]:
        e = f"{role}@{slug}.example.id"
        r = admin.post("/users", {"name": role.title(), "email": e,
                                  "password": PASSWORD, "role": role})
        assert r.status_code == 201, r.text
        users[role] = r.json()["data"]
        clients[role] = Client(login(slug, e)["access_token"], users[role], tid)
    return Tenant(tid, slug, clients, users)


@pytest.fixture
def new_tenant():
    return make_tenant


@pytest.fixture
def tenant():
    return make_tenant()


@pytest.fixture
def tenant_b():
    return make_tenant()


@pytest.fixture
def anon():
    return Client()


def make_router(tenant, db, name=None, host="192.0.2.1"):
    """A routers row of tenant, written straight into the database (no
    login is tried): for tests about customers on a router, not about
    routers.  Returns its id."""
    cur = db.cursor()
    cur.execute("INSERT INTO routers (tenant_id, name, host, api_port,"
                " username) VALUES (%s, %s, %s, 8728, 'api')",
                (tenant.id, name or unique("router"), host))
    db.commit()
    return cur.lastrowid


def mysql_connect(user="root", password=None, database="rtrw"):
    return pymysql.connect(unix_socket=os.environ["MYSQL_SOCKET"], user=user,
                           password=password or "", database=database,
                           autocommit=True, charset="utf8mb4")


@pytest.fixture
def mysql():
    conn = mysql_connect()
    yield conn
    conn.close()


def config_path():
    return pathlib.Path(os.environ["RTRW_CONFIG"])


def api_master_pid():
    return int(pathlib.Path(os.environ["API_PID_FILE"]).read_text().split()[0])


def worker_pids():
    out = pathlib.Path(f"/proc/{api_master_pid()}/task/{api_master_pid()}/children")
    return sorted(int(p) for p in out.read_text().split())


def wait_healthy(timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if Client().get("/health").status_code == 200:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.1)
    return False


def _running(pid):
    # A worker may be reaped between any two looks at /proc: reading its
    # stat then fails (ENOENT or ESRCH), which means it has gone.
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def reload_api(old_workers):
    """SIGHUP the master and wait until every old worker has gone."""
    os.kill(api_master_pid(), signal.SIGHUP)
    deadline = time.time() + 20
    while time.time() < deadline:
        alive = [p for p in old_workers if _running(p)]
        if not alive and len(worker_pids()) >= 1:
            break
        time.sleep(0.05)
    assert wait_healthy()


@pytest.fixture
def reconfigure():
    """reconfigure(key=value, ...): rewrite rtrw.conf and reload."""
    path = config_path()
    original = path.read_text()

    @contextlib.contextmanager
    def apply(**changes):
        text = original
        for k, v in changes.items():
            line = f"{k} = {v}"
            if re.search(rf"^{k}\s*=", text, re.M):
                text = re.sub(rf"^{k}\s*=.*$", line, text, flags=re.M)
            else:
                text += "\n" + line + "\n"
        try:
            # Inside the try: a reload that fails must not leave the
            # changed configuration to the tests that follow.
            path.write_text(text)
            reload_api(worker_pids())
            yield
        finally:
            path.write_text(original)
            reload_api(worker_pids())

    return apply


def config_value(key):
    for line in config_path().read_text().splitlines():
        m = re.match(rf"^\s*{key}\s*=\s*(.*?)\s*$", line)
        if m:
            return m.group(1)
    return None


def jwt_key():
    return pathlib.Path(config_value("jwt_secret_file")).read_bytes().rstrip(b"\r\n")


def _b64(data):
    import base64
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge_jwt(claims, key=None, header=None):
    """An HS256 token signed like the server signs (for expiry and
    tampering tests)."""
    import hashlib
    import hmac
    import json as _json
    head = _b64(_json.dumps(header or {"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(_json.dumps(claims).encode())
    signing = f"{head}.{body}".encode()
    sig = hmac.new(key if key is not None else jwt_key(), signing,
                   hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(sig)}"


def bin_path(name):
    return str(pathlib.Path(os.environ.get("RTRW_BIN", "build/asan/bin")) / name)


def run_tool(name, *args, input=None, check=True, env=None):
    """Runs one of the project's executables against the stack's config."""
    import subprocess
    e = dict(os.environ)
    e.update(env or {})
    r = subprocess.run([bin_path(name), "--config", str(config_path()), *args],
                       input=input, capture_output=True, text=True, env=e, timeout=300)
    if check:
        assert r.returncode == 0, f"{name} {args}: {r.stdout}\n{r.stderr}"
    return r


@pytest.fixture
def platform_admin():
    email = f"{unique('ops')}@platform.example.id"
    password = "platform-" + uuid.uuid4().hex[:12]
    run_tool("rtrw-admin", "platform-admin", "create", "--email", email,
             "--name", "Platform Ops", input=password + "\n")
    return {"email": email, "password": password}


@pytest.fixture
def platform(platform_admin):
    data = login("platform", platform_admin["email"], platform_admin["password"])
    return Client(data["access_token"])


def memcache_delete(*keys):
    """Forgets counters in the stack's memcached (text protocol, over its
    Unix socket)."""
    import socket
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(2)
        s.connect(os.environ["MEMCACHED_SOCKET"])
        for k in keys:
            s.sendall(f"delete {k}\r\n".encode())
            s.recv(64)


# ---- OpenAPI: the documented schemas and the check of every response ----

ROOT = pathlib.Path(__file__).resolve().parents[2]
OPENAPI = ROOT / "docs/openapi.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch",
                "trace")


@functools.lru_cache(maxsize=None)
def openapi():
    """docs/openapi.yaml, parsed once per test run."""
    with open(OPENAPI, encoding="utf-8") as f:
        return yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def deref(node, spec=None):
    """node with its $ref (a chain of them) followed within the document."""
    spec = spec or openapi()
    seen = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/") and ref not in seen, f"bad $ref {ref}"
        seen.add(ref)
        node = spec
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def flatten(schema, spec=None):
    """A schema with $ref followed and allOf merged into one object
    schema (properties and required joined), at its top level only."""
    schema = deref(schema, spec)
    if not isinstance(schema, dict) or "allOf" not in schema:
        return schema
    out = {k: v for k, v in schema.items() if k != "allOf"}
    props = dict(out.get("properties", {}))
    required = list(out.get("required", []))
    for part in schema["allOf"]:
        part = flatten(part, spec)
        for k, v in part.items():
            if k == "properties":
                props.update(v)
            elif k == "required":
                required += [r for r in v if r not in required]
            elif k not in out:
                out[k] = v
    out["properties"] = props
    if required:
        out["required"] = required
    return out


def strict(schema, spec=None):
    """A self-contained copy of schema for validating what the server
    sends: references resolved, allOf merged, and every object that lists
    its properties closed with additionalProperties: false unless it says
    otherwise (free-form objects such as audit values have no properties
    and stay open)."""
    schema = copy.deepcopy(flatten(schema, spec))
    if not isinstance(schema, dict):
        return schema
    if "properties" in schema:
        schema["properties"] = {k: strict(v, spec)
                                for k, v in schema["properties"].items()}
        schema.setdefault("additionalProperties", False)
    for key in ("items", "not"):
        if isinstance(schema.get(key), dict):
            schema[key] = strict(schema[key], spec)
    for key in ("oneOf", "anyOf"):
        if key in schema:
            schema[key] = [strict(s, spec) for s in schema[key]]
    if isinstance(schema.get("additionalProperties"), dict):
        schema["additionalProperties"] = strict(schema["additionalProperties"],
                                                spec)
    return schema


RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")
FORMATS = jsonschema.FormatChecker(())


@FORMATS.checks("date-time")
def _is_time(value):
    """API.md: times are RFC 3339 in UTC, written with Z."""
    if not isinstance(value, str):
        return True
    if not RFC3339_UTC.match(value):
        return False
    datetime.datetime.fromisoformat(value[:19])
    return True


@FORMATS.checks("date", raises=ValueError)
def _is_date(value):
    if isinstance(value, str):
        datetime.date.fromisoformat(value)
        if len(value) != 10:
            raise ValueError(value)
    return True


@FORMATS.checks("email")
def _is_email(value):
    return not isinstance(value, str) or value.count("@") == 1


def validator(schema):
    return jsonschema.Draft202012Validator(strict(schema),
                                           format_checker=FORMATS)


@functools.lru_cache(maxsize=None)
def _path_table():
    """(regex, template) of every documented path, literal segments
    before parameters so that /customers/stats is not /customers/{id}."""
    table = []
    for template in openapi()["paths"]:
        parts = template.strip("/").split("/")
        rx = "^/" + "/".join("[^/]+" if p.startswith("{") else re.escape(p)
                             for p in parts) + "$"
        table.append((tuple(p.startswith("{") for p in parts), rx, template))
    table.sort()
    return [(re.compile(rx), template) for _, rx, template in table]


def find_operation(method, path):
    """(template, operation or None) for a request path, or (None, None)."""
    for rx, template in _path_table():
        if rx.match(path):
            item = openapi()["paths"][template]
            return template, item.get(method.lower())
    return None, None


@functools.lru_cache(maxsize=None)
def _validator_for(template, method, status):
    """The response object and a validator for its JSON body."""
    spec = openapi()
    op = spec["paths"][template][method] if template else None
    responses = op["responses"] if op else {}
    resp = responses.get(str(status)) or responses.get("default")
    if resp is None:
        if status < 400:
            return None, None
        # An error status that the operation does not list still has the
        # one envelope of every error (API.md); nginx's own errors too.
        resp = {"content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Error"}}}}
    resp = deref(resp)
    media = (resp.get("content") or {}).get("application/json")
    return resp, (validator(media["schema"]) if media and "schema" in media
                  else None)


def check_response(r):
    """Fails the calling test when r is not what docs/openapi.yaml says
    that operation answers with that status."""
    req = r.request
    path = urllib.parse.urlsplit(r.url).path
    if not (path.startswith("/api/") or path == "/health"):
        return
    method = req.method.lower()
    if method == "options":
        # CORS preflights are nginx's (README "What nginx does").
        return
    where = f"{req.method} {path} -> {r.status_code}"
    template, op = find_operation(method, path)
    if op is None and r.status_code < 400:
        raise AssertionError(f"{where}: not an operation of docs/openapi.yaml")
    resp, v = _validator_for(template if op else None, method, r.status_code)
    if resp is None:
        raise AssertionError(f"{where}: status not documented for "
                             f"{req.method} {template} in docs/openapi.yaml")
    if method == "head":
        return
    content = resp.get("content")
    if not content:
        assert not r.content, f"{where}: documented without a body, got {r.text[:200]!r}"
        return
    ctype = r.headers.get("Content-Type", "").split(";")[0].strip()
    assert ctype in content, (f"{where}: Content-Type {ctype!r}, documented "
                              f"{sorted(content)}")
    if ctype != "application/json" or v is None:
        return
    try:
        body = r.json()
    except ValueError:
        raise AssertionError(f"{where}: body is not JSON: {r.text[:200]!r}")
    errors = sorted(v.iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"  at /{'/'.join(map(str, e.absolute_path))}: {e.message}"
                 for e in errors[:5]]
        raise AssertionError(f"{where}: body does not match docs/openapi.yaml:\n"
                             + "\n".join(lines)
                             + f"\n  body: {jsonlib.dumps(body)[:600]}")
