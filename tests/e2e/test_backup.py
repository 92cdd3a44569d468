"""rtrw-backup against the stack's real MariaDB (requirement 15).

Each test gets its own backup_dir (RTRW_BACKUP_DIR), so that what one
test writes, prunes or damages is invisible to the others.  Restores go
into a fresh scratch mariadbd started here under a temporary directory
(socket only, no network port), exactly like a new server a restore
would be run against.
"""
import json
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import time
from datetime import datetime, timedelta, timezone

import pymysql
import pytest

from support import (Client, bin_path, config_path, config_value,
                     mysql_connect, wait_healthy)
from test_customers import create as create_customer

ROOT = pathlib.Path(__file__).resolve().parents[2]
STACK_SH = str(ROOT / "tools" / "stack.sh")


# ---------------------------------------------------------------------------
# Helpers


def backup(*args, env=None, check=True, timeout=600):
    e = dict(os.environ)
    e.update(env or {})
    r = subprocess.run([bin_path("rtrw-backup"), "--config", str(config_path()),
                        *args], capture_output=True, text=True, env=e,
                       timeout=timeout)
    if check:
        assert r.returncode == 0, f"rtrw-backup {args}: {r.stdout}\n{r.stderr}"
    return r


@pytest.fixture
def bdir(tmp_path):
    """A backup_dir of this test only; returns (path, env)."""
    d = tmp_path / "backups"
    return d, {"RTRW_BACKUP_DIR": str(d)}


def clear_queue(mysql):
    """Nothing queued or running: the database holds at most one queued
    backup, and other tests (the role matrix, the API tests) may leave one
    behind, which `rtrw-backup run` would take instead of starting its
    own."""
    with mysql.cursor() as cur:
        cur.execute("UPDATE backups SET status = 'failed',"
                    " error = 'cleared by the test', finished_at ="
                    " UTC_TIMESTAMP() WHERE status IN ('queued', 'running')")
        cur.execute("UPDATE backups SET verify_status = 'failed',"
                    " verify_error = 'cleared by the test'"
                    " WHERE verify_status IN ('queued', 'running')")


@pytest.fixture(autouse=True)
def nothing_queued(mysql):
    """Every test of this file starts with nothing queued."""
    clear_queue(mysql)


@pytest.fixture
def clean(mysql):
    """Nothing queued or running, no open backup_failed alert."""
    clear_queue(mysql)
    with mysql.cursor() as cur:
        cur.execute("UPDATE platform_alerts SET status = 'resolved',"
                    " resolved_at = UTC_TIMESTAMP() WHERE status <> 'resolved'")
    return mysql


def run_backup(env):
    r = backup("run", env=env)
    m = re.search(r"backup (\d+) completed", r.stdout)
    assert m, r.stdout
    return int(m.group(1))


def manifest_path(d, bid):
    found = list((d / "full").glob(f"*-{bid}.rbk.json"))
    assert len(found) == 1, found
    return found[0]


def container_path(d, bid):
    return pathlib.Path(str(manifest_path(d, bid))[:-5])


def row(mysql, bid):
    with mysql.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute("SELECT * FROM backups WHERE id = %s", (bid,))
        return cur.fetchone()


def checksums(conn, db):
    """CHECKSUM TABLE of every base table of db."""
    out = {}
    with conn.cursor() as cur:
        cur.execute("SELECT table_name FROM information_schema.tables"
                    " WHERE table_schema = %s AND table_type = 'BASE TABLE'",
                    (db,))
        for (t,) in sorted(cur.fetchall()):
            cur.execute(f"CHECKSUM TABLE `{db}`.`{t}`")
            out[t] = cur.fetchone()[1]
    return out


def counts(conn, db, tables):
    with conn.cursor() as cur:
        out = {}
        for t in tables:
            cur.execute(f"SELECT COUNT(*) FROM `{db}`.`{t}`")
            out[t] = cur.fetchone()[0]
        return out


class Scratch:
    """A fresh MariaDB server under a temporary directory, socket only."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="rtrw-tgt-", dir="/tmp")
        self.socket = os.path.join(self.dir, "s.sock")
        self.proc = None
        user = ["--user=root"] if os.geteuid() == 0 else []
        subprocess.run(["mariadb-install-db", "--no-defaults",
                        "--datadir=" + self.dir + "/data",
                        "--auth-root-authentication-method=socket",
                        "--skip-test-db", *user], check=True,
                       capture_output=True, timeout=120)
        self.proc = subprocess.Popen(
            ["mariadbd", "--no-defaults", "--datadir=" + self.dir + "/data",
             "--socket=" + self.socket, "--skip-networking",
             "--log-error=" + self.dir + "/err.log",
             "--pid-file=" + self.dir + "/pid",
             "--character-set-server=utf8mb4",
             "--collation-server=utf8mb4_unicode_ci", *user],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                self.connect().close()
                return
            except pymysql.err.OperationalError:
                assert self.proc.poll() is None, open(
                    self.dir + "/err.log").read()
                time.sleep(0.1)
        raise AssertionError("the scratch server did not start")

    def connect(self, db=None):
        return pymysql.connect(unix_socket=self.socket, user="root",
                               database=db, autocommit=True,
                               charset="utf8mb4")

    def databases(self):
        with self.connect() as c, c.cursor() as cur:
            cur.execute("SHOW DATABASES")
            return {r[0] for r in cur.fetchall()}

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def target():
    s = Scratch()
    yield s
    s.stop()


def restore(ref, target, *extra, env=None, check=True):
    return backup("restore", str(ref), "--target-socket", target.socket,
                  "--target-user", "root", *extra, env=env, check=check)


def wait_next_second(margin=0.3):
    """Sleeps into the next whole UTC second (plus margin) and returns
    that second: every event logged before the call has an earlier
    binary log time."""
    now = time.time()
    second = int(now) + 1
    time.sleep(second + margin - now)
    return second


def utc(second):
    return datetime.fromtimestamp(second, timezone.utc).strftime(
        "%Y-%m-%d %H:%M:%S")


def add_payments(mysql, tenant_id, customer_id, n, note):
    with mysql.cursor() as cur:
        cur.executemany(
            "INSERT INTO payments (tenant_id, customer_id, amount, status,"
            " period, due_date, payment_date, method, notes)"
            " VALUES (%s, %s, %s, 'paid', '2026-01', '2026-01-10',"
            " '2026-01-09', 'cash', %s)",
            [(tenant_id, customer_id, f"{1000 + i}.50", f"{note} {i}")
             for i in range(n)])


def rewrite_manifest(path, **fields):
    m = json.loads(path.read_text())
    m.update(fields)
    path.write_text(json.dumps(m))


def days_ago(n):
    return (datetime.now(timezone.utc) - timedelta(days=n)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------
# Tests


def test_point_in_time_restore_gives_exactly_the_rows_as_of_t(
        tenant, mysql, bdir, target):
    d, env = bdir
    # Rows before the backup, through the API and in bulk.
    first = create_customer(tenant.operator, name="Sebelum Backup")
    add_payments(mysql, tenant.id, first["id"], 200, "before")
    before_backup = checksums(mysql, "rtrw")
    bid = run_backup(env)

    # More rows, then T, then more rows again.
    second = create_customer(tenant.operator, name="Sesudah Backup")
    add_payments(mysql, tenant.id, second["id"], 150, "between")
    with mysql.cursor() as cur:
        cur.execute("UPDATE customers SET notes = 'diubah' WHERE id = %s",
                    (first["id"],))
        cur.execute("DELETE FROM payments WHERE customer_id = %s AND"
                    " notes = 'before 7'", (first["id"],))
    t = wait_next_second()
    at_t = checksums(mysql, "rtrw")
    third = create_customer(tenant.operator, name="Sesudah T")
    add_payments(mysql, tenant.id, third["id"], 100, "after")
    with mysql.cursor() as cur:
        cur.execute("UPDATE customers SET notes = 'lagi' WHERE id = %s",
                    (first["id"],))
    now = checksums(mysql, "rtrw")
    # The source really changed after T, or the comparison proves nothing.
    assert now["customers"] != at_t["customers"]
    assert now["payments"] != at_t["payments"]

    r = backup("binlog", env=env)
    assert "failed=0" in r.stdout and "rotated=yes" in r.stdout, r.stdout
    r = restore(bid, target, "--until", utc(t), env=env)
    assert "binary logs replayed" in r.stdout, r.stdout
    with target.connect() as c:
        got = checksums(c, "rtrw")
        assert got == at_t
        with c.cursor() as cur:
            cur.execute("SELECT name, notes FROM rtrw.customers WHERE tenant_id"
                        " = %s ORDER BY id", (tenant.id,))
            got_rows = cur.fetchall()
            assert [n for n, _ in got_rows] == ["Sebelum Backup",
                                                "Sesudah Backup"]
            assert got_rows[0][1] == "diubah"
            cur.execute("SELECT COUNT(*) FROM rtrw.payments WHERE tenant_id = %s",
                        (tenant.id,))
            assert cur.fetchone()[0] == 200 - 1 + 150

    # The backup alone, into another database of the same server: the
    # state at the backup (the backups row itself changed after it).
    restore(bid, target, "--target-db", "rtrw_at_backup", env=env)
    with target.connect() as c:
        got = checksums(c, "rtrw_at_backup")
    want = {k: v for k, v in before_backup.items() if k != "backups"}
    assert {k: v for k, v in got.items() if k != "backups"} == want

    # The row and the manifest say what was done.
    r_ = row(mysql, bid)
    m = json.loads(manifest_path(d, bid).read_text())
    assert r_["status"] == "completed" and r_["source"] == "manual"
    assert r_["file_sha256"] == m["file_sha256"]
    assert r_["binlog_file"] == m["binlog_file"] and r_["binlog_pos"] > 0
    assert m["schema_version"] == r_["schema_version"] >= 10
    assert "customers" in m["tables"] and m["kind"] == "dump"
    assert m["tools"]["mariadb-dump"].startswith("mariadb-dump")
    # Nothing of the plaintext is readable in the file.
    raw = container_path(d, bid).read_bytes()
    assert raw.startswith(b"RTRWBAK\n")
    assert b"Sebelum Backup" not in raw and b"CREATE TABLE" not in raw


def test_restore_until_needs_archived_logs_and_a_later_time(
        tenant, mysql, bdir, target):
    d, env = bdir
    bid = run_backup(env)
    create_customer(tenant.operator, name="Belum Diarsip")
    t = wait_next_second()
    # Not archived yet: refused, nothing touched.
    r = restore(bid, target, "--until", utc(t), env=env, check=False)
    assert r.returncode == 1
    assert "not archived" in r.stdout or "reach" in r.stdout, r.stdout
    assert "rtrw" not in target.databases()
    # Before the backup: refused.
    r = restore(bid, target, "--until", utc(t - 3600), env=env, check=False)
    assert r.returncode == 1 and "after --until" in r.stdout, r.stdout
    r = restore(bid, target, "--until", "2026-02-30 10:00:00", env=env,
                check=False)
    assert r.returncode == 1 and "YYYY-MM-DD" in r.stdout
    assert "rtrw" not in target.databases()


def test_flipped_byte_is_refused_before_the_target_is_touched(
        tenant, mysql, bdir, target):
    d, env = bdir
    create_customer(tenant.operator, name="Data Lama")
    bid = run_backup(env)
    restore(bid, target, env=env)
    with target.connect() as c:
        with c.cursor() as cur:
            cur.execute("INSERT INTO rtrw.roles (name, `rank`) VALUES"
                        " ('marker', 99)")
        before = checksums(c, "rtrw")

    path = container_path(d, bid)
    data = bytearray(path.read_bytes())
    original = bytes(data)
    for pos in (len(data) // 2, 10, len(data) - 3):
        data[:] = original
        data[pos] ^= 0x01
        path.write_bytes(bytes(data))
        r = restore(bid, target, "--replace", env=env, check=False)
        assert r.returncode == 1, r.stdout
        assert "REFUSED" in r.stdout
        assert "authentication" in r.stdout or "header" in r.stdout, r.stdout
        with target.connect() as c:
            assert checksums(c, "rtrw") == before
        r = backup("verify", str(bid), env=env, check=False)
        assert r.returncode == 1 and "FAILED" in r.stdout
        assert row(mysql, bid)["verify_status"] == "failed"

    # Intact again: verify test-loads it and records the pass.
    path.write_bytes(original)
    r = backup("verify", str(bid), env=env)
    assert "passed" in r.stdout and "schema and tables match" in r.stdout
    assert row(mysql, bid)["verify_status"] == "passed"
    # An existing database is only replaced when asked to.
    r = restore(bid, target, env=env, check=False)
    assert r.returncode == 1 and "--replace" in r.stdout
    restore(bid, target, "--replace", env=env)
    with target.connect() as c, c.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM rtrw.roles WHERE name = 'marker'")
        assert cur.fetchone()[0] == 0


def test_truncated_and_swapped_files_are_refused(tenant, mysql, bdir, target):
    d, env = bdir
    add_payments(mysql, tenant.id,
                 create_customer(tenant.operator)["id"], 3000, "bulk")
    bid = run_backup(env)
    path = container_path(d, bid)
    original = path.read_bytes()
    for cut in (len(original) - 1, len(original) // 2, 100, 20):
        path.write_bytes(original[:cut])
        r = backup("verify", str(bid), "--no-load", env=env, check=False)
        assert r.returncode == 1, r.stdout
        assert any(s in r.stdout for s in (
            "truncated", "not a backup", "final chunk")), r.stdout
        r = restore(bid, target, env=env, check=False)
        assert r.returncode == 1, r.stdout
        assert "rtrw" not in target.databases()
    # Another backup's file in this one's place: intact, but not this
    # backup (its digests are in the manifest and the table).
    other = run_backup(env)
    path.write_bytes(container_path(d, other).read_bytes())
    r = backup("verify", str(bid), "--no-load", env=env, check=False)
    assert r.returncode == 1 and "does not match" in r.stdout, r.stdout
    path.write_bytes(original)
    backup("verify", str(bid), "--no-load", env=env)


def test_failed_dump_marks_the_row_failed(mysql, bdir):
    d, env = bdir
    # A view whose table is gone makes mariadb-dump stop halfway.
    with mysql.cursor() as cur:
        cur.execute("CREATE TABLE zz_backup_probe (a INT)")
        cur.execute("CREATE VIEW zz_backup_view AS SELECT a FROM"
                    " zz_backup_probe")
        cur.execute("DROP TABLE zz_backup_probe")
    try:
        r = backup("run", env=env, check=False)
    finally:
        with mysql.cursor() as cur:
            cur.execute("DROP VIEW IF EXISTS zz_backup_view")
    assert r.returncode == 1, r.stdout
    bid = int(re.search(r"backup (\d+) FAILED", r.stdout).group(1))
    got = row(mysql, bid)
    assert got["status"] == "failed" and got["finished_at"] is not None
    assert "mariadb-dump failed" in got["error"]
    assert "zz_backup_view" in got["error"]
    assert "backup failed: id=%d" % bid in r.stderr
    # No file, partial or whole, is left behind.
    assert list((d / "full").iterdir()) == []
    scratch = pathlib.Path(config_value("backup_scratch_dir"))
    assert not list(scratch.glob("rtrw-backup-*")), "option file left"

    # A missing key fails the same way, before anything is written.
    r = backup("run", env={**env, "RTRW_BACKUP_KEY_ID": "9"}, check=False)
    assert r.returncode == 1
    bid = int(re.search(r"backup (\d+) FAILED", r.stdout).group(1))
    assert "9.key" in row(mysql, bid)["error"]
    assert list((d / "full").iterdir()) == []


def test_backup_with_the_server_down_is_recorded_when_it_is_back(
        stack, mysql, bdir):
    d, env = bdir
    with mysql.cursor() as cur:
        cur.execute("SELECT COALESCE(MAX(id), 0) FROM backups")
        last = cur.fetchone()[0]
    subprocess.run([STACK_SH, "stop-mariadb", stack["STACK_DIR"]], check=True,
                   capture_output=True, timeout=120)
    try:
        r = backup("run", env=env, check=False)
        assert r.returncode == 1
        assert "unreachable" in r.stdout
        spool = (d / "failures.jsonl").read_text().splitlines()
        assert len(spool) == 1
        assert json.loads(spool[0])["error"] == \
            "the database server is unreachable"
    finally:
        subprocess.run([STACK_SH, "start-mariadb", stack["STACK_DIR"]],
                       check=True, capture_output=True, timeout=120)
    conn = mysql_connect()
    try:
        bid = run_backup(env)
        with conn.cursor() as cur:
            cur.execute("SELECT id, status, error FROM backups WHERE id > %s"
                        " ORDER BY id", (last,))
            rows = cur.fetchall()
    finally:
        conn.close()
    assert rows[0][1:] == ("failed", "the database server is unreachable")
    assert rows[-1][0] == bid and rows[-1][1] == "completed"
    assert not (d / "failures.jsonl").exists()
    assert wait_healthy(), "the API did not come back"
    # Each worker finds its connection gone once; let them all do so
    # here rather than in the next test's requests.
    for _ in range(40):
        Client().get("/health")


def test_retention_prunes_only_what_is_older_than_30_days(mysql, bdir):
    d, env = bdir
    ids = []
    # Each run writes its backups row, so each archiver pass closes a
    # log: every backup starts in a log of its own.
    for _ in range(4):
        ids.append(run_backup(env))
        backup("binlog", env=env)
    ages = {ids[0]: 45, ids[1]: 31, ids[2]: 29}  # ids[3]: now
    for bid, age in ages.items():
        rewrite_manifest(manifest_path(d, bid), started_at=days_ago(age),
                         finished_at=days_ago(age))
    kept_from = json.loads(manifest_path(d, ids[2]).read_text())["binlog_file"]
    logs = sorted((d / "binlog").glob("*/*.rbk.json"))
    assert len(logs) >= 4
    # Every archived log looks 40 days old.
    for p in logs:
        rewrite_manifest(p, last_event_at=days_ago(40))
    seq = lambda p: int(p.name.split(".")[1])  # noqa: E731
    needed = [p for p in logs if seq(p) >= int(kept_from.split(".")[1])]
    unneeded = [p for p in logs if p not in needed]
    assert needed and unneeded

    r = backup("prune", env=env)
    assert "removed 2 backups" in r.stdout, r.stdout
    for bid in ids[:2]:
        assert not list((d / "full").glob(f"*-{bid}.rbk*"))
        assert row(mysql, bid)["status"] == "pruned"
        assert row(mysql, bid)["pruned_at"] is not None
    for bid in ids[2:]:
        assert container_path(d, bid).exists()
        assert row(mysql, bid)["status"] == "completed"
    # Old logs a kept backup needs stay; the others go.
    assert all(p.exists() and pathlib.Path(str(p)[:-5]).exists()
               for p in needed)
    assert not any(p.exists() or pathlib.Path(str(p)[:-5]).exists()
                   for p in unneeded)
    # Running it again removes nothing more.
    assert "removed 0 backups and 0 binary logs" in \
        backup("prune", env=env).stdout

    # Even when everything is old, the newest backup stays.
    for bid in ids[2:]:
        rewrite_manifest(manifest_path(d, bid), finished_at=days_ago(60))
    r = backup("prune", env=env)
    assert "removed 1 backups" in r.stdout
    assert container_path(d, ids[3]).exists()
    assert not list((d / "full").glob(f"*-{ids[2]}.rbk*"))

    # Retention below 30 days is refused outright.
    r = backup("prune", env={**env, "RTRW_BACKUP_RETENTION_DAYS": "29"},
               check=False)
    assert r.returncode == 1 and "backup_retention_days" in r.stderr


def test_key_rotation(mysql, bdir, tmp_path):
    d, env = bdir
    old = run_backup(env)
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    src = pathlib.Path(config_value("backup_key_dir"))
    shutil.copy(src / "1.key", keys / "1.key")
    (keys / "2.key").write_text(os.urandom(32).hex() + "\n")
    for k in keys.iterdir():
        k.chmod(0o600)
    env2 = {**env, "RTRW_BACKUP_KEY_DIR": str(keys), "RTRW_BACKUP_KEY_ID": "2"}
    new = run_backup(env2)
    assert container_path(d, new).read_bytes()[10] == 2
    assert container_path(d, old).read_bytes()[10] == 1
    out = backup("keys", env=env2).stdout
    assert re.search(r"^1\s+1$", out, re.M) and \
        re.search(r"^2\s+yes\s+1$", out, re.M), out
    backup("verify", str(old), "--no-load", env=env2)
    backup("verify", str(new), "--no-load", env=env2)
    # Without key 1 the old backup cannot be opened, the new one can.
    (keys / "1.key").unlink()
    r = backup("verify", str(old), "--no-load", env=env2, check=False)
    assert r.returncode == 1 and "sealed with key 1" in r.stdout
    backup("verify", str(new), "--no-load", env=env2)
    assert "KEY FILE MISSING" in backup("keys", env=env2).stdout
    # A key file others can read is refused.
    (keys / "2.key").chmod(0o644)
    r = backup("verify", str(new), "--no-load", env=env2, check=False)
    assert r.returncode == 1 and "chmod 600" in r.stdout


def test_queued_backup_is_taken_by_the_next_run(clean, bdir):
    mysql = clean
    d, env = bdir
    assert backup("run", "--if-queued", env=env).stdout == ""
    with mysql.cursor() as cur:
        cur.execute("INSERT INTO backups (status, source) VALUES"
                    " ('queued', 'api')")
        qid = cur.lastrowid
    r = backup("run", "--if-queued", env=env)
    assert f"backup {qid} completed" in r.stdout
    got = row(mysql, qid)
    assert got["status"] == "completed" and got["source"] == "api"
    assert "mysql-bin" in got["binlog_file"]
    r = backup("verify", "latest", "--no-load", env=env)
    assert f"backup {qid} passed" in r.stdout, r.stdout
    listed = backup("list", env=env).stdout
    assert re.search(rf"^{qid}\s+completed\s+api", listed, re.M), listed
