"""The local stack's life cycle: `make run` stopped and started again at
once, a clone in a folder that nginx's workers cannot traverse, `stack.sh
up` on a stack that is serving, and `make bench` on a running stack.

The first test runs a second stack of its own (tools/run.sh, the program
behind `make run`, with the sanitizer builds) in a 0700 folder, on the
ports TEST_LIFECYCLE_HTTPS_PORT, TEST_LIFECYCLE_HTTP_PORT,
TEST_LIFECYCLE_MYSQL_PORT, TEST_LIFECYCLE_WS_PORT, TEST_LIFECYCLE_SMTP_PORT,
TEST_LIFECYCLE_ROUTEROS_SIM_PORT / _TLS_PORT and
TEST_LIFECYCLE_PROVISION_NUDGE_PORT (UDP), or on free ports when those are
not set.  The
others use the test stack and leave it as they found it.
"""
import os
import pathlib
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pymysql
import pytest
import requests

from support import mysql_connect, reload_api, wait_healthy, worker_pids

ROOT = pathlib.Path(__file__).resolve().parents[2]
STACK_SH = str(ROOT / "tools" / "stack.sh")
RUN_SH = str(ROOT / "tools" / "run.sh")
BENCH_SH = str(ROOT / "tools" / "bench.sh")


def free_port():
    """A port below ip_local_port_range (32768 and up on Linux), where no
    outgoing connection's TIME_WAIT can hold it when the stack restarts.
    It is free for TCP and UDP alike (rtrw-provision's nudge is UDP)."""
    for _ in range(1000):
        p = random.randrange(20000, 32000)
        try:
            with socket.socket() as s, \
                    socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", p))
                u.bind(("127.0.0.1", p))
        except OSError:
            continue
        if p not in TAKEN:
            TAKEN.add(p)
            return p
    raise RuntimeError("no free port below 32000")


TAKEN = set()


def port(name):
    return int(os.environ.get(f"TEST_LIFECYCLE_{name}") or free_port())


def processes_of(path):
    """Processes whose command line names path or that run inside it."""
    found = []
    for p in pathlib.Path("/proc").iterdir():
        if not p.name.isdigit() or int(p.name) == os.getpid():
            continue
        try:
            cmd = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            cwd = os.readlink(p / "cwd")
            state = (p / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, ValueError, IndexError):
            continue
        if state != "Z" and (path in cmd or cwd.startswith(path)):
            found.append(f"{p.name}: {cmd.strip()} (in {cwd})")
    return found


def group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


class RunStack:
    """tools/run.sh in the background, in a session of its own (as `make
    run` is in a terminal), with its output in a file."""

    def __init__(self, folder):
        self.dir = os.path.join(folder, "stack")
        self.out = os.path.join(folder, "run.out")
        self.https = port("HTTPS_PORT")
        self.env = dict(os.environ, RTRW_RUN_DIR=self.dir, ASAN="1",
                        HTTPS_PORT=str(self.https),
                        HTTP_PORT=str(port("HTTP_PORT")),
                        MYSQL_PORT=str(port("MYSQL_PORT")),
                        WS_PORT=str(port("WS_PORT")),
                        SMTP_PORT=str(port("SMTP_PORT")),
                        ROUTEROS_SIM_PORT=str(port("ROUTEROS_SIM_PORT")),
                        ROUTEROS_SIM_TLS_PORT=str(
                            port("ROUTEROS_SIM_TLS_PORT")),
                        PROVISION_NUDGE_PORT=str(
                            port("PROVISION_NUDGE_PORT")),
                        # As on a busy machine: each service execs late.
                        STACK_SPAWN_DELAY="0.3",
                        # The copy of the docs that a 0700 clone needs.
                        STACK_COPY_DOCS="1")
        self.url = f"https://127.0.0.1:{self.https}"
        self.proc = None

    def output(self):
        return pathlib.Path(self.out).read_text(errors="replace")

    def start(self, timeout=600):
        with open(self.out, "w") as out:
            self.proc = subprocess.Popen([RUN_SH], env=self.env, stdout=out,
                                         stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        deadline = time.time() + timeout
        while "Press Ctrl-C to stop." not in self.output():
            assert self.proc.poll() is None, \
                f"run.sh exited with {self.proc.returncode}:\n{self.output()}"
            assert time.time() < deadline, "no start:\n" + self.output()
            time.sleep(0.2)

    def stop(self, how):
        pgid = self.proc.pid
        if how == "ctrl-c":
            # A terminal's Ctrl-C: SIGINT to the whole foreground group.
            os.killpg(pgid, signal.SIGINT)
        else:
            self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=180)
        assert rc == 0, f"run.sh exited with {rc} on {how}:\n{self.output()}"
        assert f"stack: down: {self.dir}" in self.output()
        return pgid

    def get(self, path, **kw):
        return requests.request(kw.pop("method", "GET"), self.url + path,
                                verify=False, timeout=30, **kw)


def www_dir(stack_dir):
    env = pathlib.Path(stack_dir, "stack.env").read_text()
    return next(line.split("=", 1)[1] for line in env.splitlines()
                if line.startswith("export WWW_DIR="))


def assert_serves(s):
    r = s.get("/health")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ok", "db": "ok", "cache": "ok"}
    # The docs come from the copy that nginx's workers can read.
    r = s.get("/docs/")
    assert r.status_code == 200 and "swagger-ui" in r.text
    assert s.get("/docs/swagger-ui-bundle.js").status_code == 200
    r = s.get("/docs/openapi.yaml")
    assert r.status_code == 200
    assert r.text == (ROOT / "docs" / "openapi.yaml").read_text()
    # A body over client_body_buffer_size goes through nginx's temporary
    # files: the application must answer, not nginx with a 500.
    body = '{"tenant": "demo", "email": "x@example.id", "password": "%s"}' \
        % ("p" * 65536)
    r = s.get("/api/v1/auth/login", method="POST", data=body,
              headers={"Content-Type": "application/json"})
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["error"]["code"]
    r = s.get("/api/v1/auth/login", method="POST",
              json={"tenant": "demo", "email": "admin@demo.rtrw.id",
                    "password": "demo-password"})
    assert r.status_code == 200, r.text


def assert_nothing_left(s, pgid, www):
    assert not group_alive(pgid), "a process of run.sh's group is left"
    left = processes_of(s.dir)
    assert not left, "processes left:\n" + "\n".join(left)
    run = pathlib.Path(s.dir, "run")
    stale = [p.name for p in run.iterdir()
             if p.suffix == ".pid" or p.is_socket()]
    assert not stale, f"left in {run}: {stale}"
    assert not os.path.exists(www), f"{www} is left"


def test_make_run_restarts_at_once_from_a_0700_folder():
    folder = tempfile.mkdtemp(prefix="rtrw-lifecycle-")
    assert os.stat(folder).st_mode & 0o777 == 0o700
    s = RunStack(folder)
    try:
        s.start()
        assert_serves(s)
        www = www_dir(s.dir)
        # The sockets nginx needs are outside the folder it cannot enter.
        assert not www.startswith(folder)
        assert pathlib.Path(www, "api.sock").is_socket()
        for how in ("sigterm", "ctrl-c", "sigterm"):
            pgid = s.stop(how)
            assert_nothing_left(s, pgid, www)
            s.start(timeout=300)
            assert_serves(s)
        pgid = s.stop("sigterm")
        assert_nothing_left(s, pgid, www)
        reports = [p.name for p in pathlib.Path(s.dir, "log").iterdir()
                   if p.name.startswith(("asan.", "ubsan."))]
        assert not reports, f"sanitizer reports in {s.dir}/log: {reports}"
    finally:
        if s.proc and s.proc.poll() is None:
            s.proc.send_signal(signal.SIGTERM)
            s.proc.wait(timeout=180)
        subprocess.run([STACK_SH, "down", s.dir], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def grants(conn, user):
    with conn.cursor() as c:
        rows = []
        for host in ("localhost", "127.0.0.1"):
            c.execute(f"SHOW GRANTS FOR '{user}'@'{host}'")
            rows += sorted(r[0] for r in c.fetchall())
        return rows


def stack_pids(stack_dir):
    run = pathlib.Path(stack_dir, "run")
    return {p.name: p.read_text().strip() for p in run.glob("*.pid")}


def stack_files(stack_dir):
    names = ("rtrw.conf", "stack.env", "nginx/nginx.conf",
             "nginx/rtrw-site.conf")
    return {n: pathlib.Path(stack_dir, n).read_bytes() for n in names}


def put_back(stack_dir, files):
    for n, data in files.items():
        pathlib.Path(stack_dir, n).write_bytes(data)
    subprocess.run([STACK_SH, "reload", stack_dir], check=True,
                   capture_output=True)
    reload_api(worker_pids())


def test_up_on_a_live_stack_never_fails_its_queries(stack, mysql):
    """`stack.sh up` of a running stack (make bench does it) keeps the
    application account's privileges in place all along."""
    d = stack["STACK_DIR"]
    before = grants(mysql, "rtrw_app")
    pids = stack_pids(d)
    files = stack_files(d)
    password = pathlib.Path(d, "secrets", "rtrw_app.pass").read_text().strip()
    app = mysql_connect("rtrw_app", password)
    done = threading.Event()
    counts = {"ok": 0}
    errors = []

    def query():
        tables = ("customers", "tenants", "users", "payments", "audit_logs",
                  "schema_migrations")
        with app.cursor() as c:
            while not done.is_set():
                for t in tables:
                    try:
                        c.execute(f"SELECT COUNT(*) FROM {t}")
                        c.fetchall()
                        counts["ok"] += 1
                    except pymysql.MySQLError as e:
                        errors.append(f"{t}: {e}")

    t = threading.Thread(target=query)
    t.start()
    try:
        r = subprocess.run([STACK_SH, "up", d, "--asan"], capture_output=True,
                           text=True, timeout=300)
    finally:
        done.set()
        t.join()
        app.close()
    try:
        assert r.returncode == 0, r.stderr
        assert not errors, f"{len(errors)} failed queries, e.g. {errors[:3]}"
        assert counts["ok"] > 100
        assert grants(mysql, "rtrw_app") == before
        # Nothing was restarted either.
        assert stack_pids(d) == pids
    finally:
        put_back(d, files)


def test_bench_leaves_a_running_stack_as_protected_as_it_found_it(
        stack, tenant, reconfigure):
    d = stack["STACK_DIR"]
    with reconfigure(rate_limit_per_minute=30):
        files = stack_files(d)
        env = dict(os.environ, BENCH_DIR=d, BENCH_SECONDS="1",
                   BENCH_CUSTOMERS="20",
                   BENCH_ONLY="nginx-static hello select auth-me "
                              "dashboard-uncached")
        r = subprocess.run([BENCH_SH], env=env, capture_output=True,
                           text=True, timeout=600)
        assert r.returncode == 0, r.stdout + r.stderr
        # The benchmark ran, with its raised limits ...
        assert "| auth-me: /api/v1/auth/me |" in r.stdout
        assert "non-2xx" not in r.stdout, r.stdout
        assert "memcached " in r.stdout and " gets, mean " in r.stdout
        # ... and the stack has its own configuration back, in the files
        assert stack_files(d) == files
        # and in the running programs: no /bench/ in nginx ...
        api = requests.Session()
        api.verify = False
        r = api.get(stack["API_URL"] + "/bench/hello", timeout=10)
        assert r.status_code == 404
        # ... and the per-user limit of 30 a minute in rtrw-api (61
        # requests: a window that rolls over once still sees a 429).
        assert wait_healthy()
        seen = [tenant.viewer.get("/auth/me") for _ in range(61)]
        assert seen[0].status_code == 200, seen[0].text
        assert seen[0].headers["X-RateLimit-Limit"] == "30"
        assert 429 in [r.status_code for r in seen]
