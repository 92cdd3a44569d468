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
"""
import contextlib
import itertools
import os
import pathlib
import re
import signal
import time
import uuid

import pymysql
import pytest
import requests
import urllib3

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
            return self.s.request(method, url, data=data,
                                  headers=self.headers(headers), timeout=30, **kw)
        return self.s.request(method, url, json=json,
                              headers=self.headers(headers), timeout=30, **kw)

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


def reload_api(old_workers):
    """SIGHUP the master and wait until every old worker has gone."""
    os.kill(api_master_pid(), signal.SIGHUP)
    deadline = time.time() + 20
    while time.time() < deadline:
        alive = [p for p in old_workers if os.path.exists(f"/proc/{p}")
                 and "Z" not in open(f"/proc/{p}/stat").read().split()[2]]
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
        path.write_text(text)
        reload_api(worker_pids())
        try:
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
    """Forgets counters in the stack's memcached (text protocol)."""
    import socket
    with socket.create_connection(("127.0.0.1", int(os.environ["MEMCACHED_PORT"])),
                                  timeout=2) as s:
        for k in keys:
            s.sendall(f"delete {k}\r\n".encode())
            s.recv(64)
