"""rtrw-migrate against real MariaDB and PostgreSQL databases.

Run with /usr/bin/python3 -m pytest tests/e2e/test_migrations.py.

Environment:
  RTRW_CONFIG  the test stack's config (required).  Its db_socket (or
               db_host/db_port) and db_admin_user/db_admin_password_file
               (falling back to db_user/db_password_file) reach MariaDB.
               The test works in its own database rtrw_migtest, which it
               creates and drops, so the stack's database is untouched.
  RTRW_BIN     directory holding rtrw-migrate (default build/asan/bin).
  PG_HOST, PG_PORT, PG_USER
               an existing PostgreSQL (socket dir or host, port, user
               default postgres); the test creates and drops the database
               rtrw_migtest there.  Without PG_PORT the test starts its own
               PostgreSQL 15 with tools/pg.sh in a temporary directory on
               a free port and stops it afterwards.
"""

import hashlib
import os
import shutil
import socket
import subprocess
import tempfile

import psycopg2
import pymysql
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("RTRW_BIN", os.path.join(ROOT, "build", "asan", "bin"))
MIGRATE = os.path.join(BIN, "rtrw-migrate")
TEST_DB = "rtrw_migtest"

APP_TABLES = {"roles", "tenants", "users", "refresh_tokens", "audit_logs"}
TENANT_TABLES = {"users", "refresh_tokens", "audit_logs"}
ROLES = {"admin", "operator", "technician", "viewer"}


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def read_config(path):
    """The keys of a "key = value" config file with RTRW_* overrides."""
    conf = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, sep, value = line.partition("=")
            if sep:
                conf[key.strip()] = value.strip()
    for key in list(conf) + [
        "db_socket", "db_host", "db_port", "db_user", "db_password_file",
        "db_admin_user", "db_admin_password_file",
    ]:
        env = os.environ.get("RTRW_" + key.upper())
        if env is not None:
            conf[key] = env
    return conf


def read_password(path):
    if not path:
        return ""
    with open(path, encoding="utf-8") as f:
        return f.read().rstrip("\r\n")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Dialect:
    """One database under test: runs rtrw-migrate and inspects the schema."""

    name = None
    sql_dir = None

    def run(self, *args, sql_dir=None):
        cmd = [MIGRATE] + self.conn_args() + ["--dir", sql_dir or self.sql_dir]
        cmd += list(args)
        return subprocess.run(cmd, cwd=ROOT, env=self.env(), text=True,
                              capture_output=True, timeout=120)

    def ok(self, *args, sql_dir=None):
        p = self.run(*args, sql_dir=sql_dir)
        assert p.returncode == 0, (args, p.stdout, p.stderr)
        assert p.stderr == "", p.stderr
        return p.stdout

    def env(self):
        return dict(os.environ)

    def query(self, sql, params=()):
        with self.connect() as conn:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                rows = cur.fetchall() if cur.description else []
            conn.commit()
        return [tuple(r) for r in rows]

    def count(self, table):
        return self.query("SELECT COUNT(*) FROM " + table)[0][0]

    def snapshot(self):
        return {t: (self.columns(t), self.indexes(t), self.fks(t))
                for t in sorted(self.tables())}


class MariaDB(Dialect):
    name = "mysql"
    sql_dir = os.path.join(ROOT, "sql", "mysql")

    def __init__(self, config_path):
        self.config_path = config_path
        conf = read_config(config_path)
        self.user = conf.get("db_admin_user") or conf.get("db_user", "rtrw")
        self.password = read_password(
            conf.get("db_admin_password_file")
            or conf.get("db_password_file", ""))
        self.socket = conf.get("db_socket", "")
        self.host = conf.get("db_host", "127.0.0.1")
        self.port = int(conf.get("db_port", "3306"))

    def conn_args(self):
        return ["--config", self.config_path, "--driver", "mysql"]

    def env(self):
        env = dict(os.environ)
        env["RTRW_DB_NAME"] = TEST_DB
        return env

    def connect(self, database=TEST_DB):
        kw = dict(user=self.user, password=self.password, database=database,
                  charset="utf8mb4", autocommit=True)
        if self.socket:
            kw["unix_socket"] = self.socket
        else:
            kw.update(host=self.host, port=self.port)
        return pymysql.connect(**kw)

    def reset(self):
        with self.connect(database=None) as conn, conn.cursor() as cur:
            cur.execute("DROP DATABASE IF EXISTS " + TEST_DB)
            cur.execute("CREATE DATABASE " + TEST_DB +
                        " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")

    def drop(self):
        with self.connect(database=None) as conn, conn.cursor() as cur:
            cur.execute("DROP DATABASE IF EXISTS " + TEST_DB)

    def tables(self):
        return {r[0] for r in self.query(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = DATABASE()")}

    def columns(self, table):
        return {r[0]: (r[1], r[2]) for r in self.query(
            "SELECT column_name, column_type, is_nullable"
            " FROM information_schema.columns"
            " WHERE table_schema = DATABASE() AND table_name = %s",
            (table,))}

    def indexes(self, table):
        out = {}
        for name, non_unique, col in self.query(
                "SELECT index_name, non_unique, column_name"
                " FROM information_schema.statistics"
                " WHERE table_schema = DATABASE() AND table_name = %s"
                " ORDER BY index_name, seq_in_index", (table,)):
            cols, _, _ = out.get(name, ((), False, False))
            out[name] = (cols + (col,), not non_unique, name == "PRIMARY")
        return out

    def fks(self, table):
        out = {}
        for name, ref, rule, col, refcol in self.query(
                "SELECT rc.constraint_name, rc.referenced_table_name,"
                " rc.delete_rule, k.column_name, k.referenced_column_name"
                " FROM information_schema.referential_constraints rc"
                " JOIN information_schema.key_column_usage k"
                "  ON k.constraint_schema = rc.constraint_schema"
                "  AND k.constraint_name = rc.constraint_name"
                "  AND k.table_name = rc.table_name"
                " WHERE rc.constraint_schema = DATABASE()"
                "  AND rc.table_name = %s"
                " ORDER BY rc.constraint_name, k.ordinal_position",
                (table,)):
            cols, _, refcols, _ = out.get(name, ((), ref, (), rule))
            out[name] = (cols + (col,), ref, refcols + (refcol,), rule)
        return {(v[0], v[1], v[2], v[3] == "CASCADE") for v in out.values()}


class Postgres(Dialect):
    name = "postgres"
    sql_dir = os.path.join(ROOT, "sql", "postgres")

    def __init__(self, host, port, user):
        self.host, self.port, self.user = host, port, user

    def conninfo(self, dbname=TEST_DB):
        return "host=%s port=%s user=%s dbname=%s" % (
            self.host, self.port, self.user, dbname)

    def conn_args(self):
        return ["--driver", "postgres", "--conninfo", self.conninfo()]

    def connect(self, database=TEST_DB):
        return psycopg2.connect(self.conninfo(database))

    def _admin(self, *stmts):
        conn = psycopg2.connect(self.conninfo("postgres"))
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                for s in stmts:
                    cur.execute(s)
        finally:
            conn.close()

    def reset(self):
        self._admin("DROP DATABASE IF EXISTS " + TEST_DB + " WITH (FORCE)",
                    "CREATE DATABASE " + TEST_DB)

    def drop(self):
        self._admin("DROP DATABASE IF EXISTS " + TEST_DB + " WITH (FORCE)")

    def tables(self):
        return {r[0] for r in self.query(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}

    def columns(self, table):
        return {r[0]: (r[1], r[2]) for r in self.query(
            "SELECT column_name, data_type, is_nullable"
            " FROM information_schema.columns"
            " WHERE table_schema = 'public' AND table_name = %s", (table,))}

    def indexes(self, table):
        return {r[0]: (tuple(r[3]), r[1], r[2]) for r in self.query(
            "SELECT i.relname, x.indisunique, x.indisprimary,"
            " ARRAY(SELECT a.attname::text"
            "  FROM unnest(x.indkey::int2[]) WITH ORDINALITY k(attnum, ord)"
            "  JOIN pg_attribute a ON a.attrelid = x.indrelid"
            "   AND a.attnum = k.attnum ORDER BY k.ord)"
            " FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
            " WHERE x.indrelid = %s::regclass", (table,))}

    def fks(self, table):
        rows = self.query(
            "SELECT c.confrelid::regclass::text, c.confdeltype,"
            " ARRAY(SELECT a.attname::text"
            "  FROM unnest(c.conkey) WITH ORDINALITY k(attnum, ord)"
            "  JOIN pg_attribute a ON a.attrelid = c.conrelid"
            "   AND a.attnum = k.attnum ORDER BY k.ord),"
            " ARRAY(SELECT a.attname::text"
            "  FROM unnest(c.confkey) WITH ORDINALITY k(attnum, ord)"
            "  JOIN pg_attribute a ON a.attrelid = c.confrelid"
            "   AND a.attnum = k.attnum ORDER BY k.ord)"
            " FROM pg_constraint c"
            " WHERE c.contype = 'f' AND c.conrelid = %s::regclass", (table,))
        return {(tuple(r[2]), r[0], tuple(r[3]), r[1] == "c") for r in rows}


@pytest.fixture(scope="session")
def mariadb():
    path = os.environ.get("RTRW_CONFIG")
    assert path, "RTRW_CONFIG must name the test stack's config file"
    d = MariaDB(path)
    yield d
    d.drop()


@pytest.fixture(scope="session")
def postgres():
    tmp = None
    if os.environ.get("PG_PORT"):
        host = os.environ.get("PG_HOST", "127.0.0.1")
        port = os.environ["PG_PORT"]
    else:
        tmp = tempfile.mkdtemp(prefix="rtrw-pg-")
        os.chmod(tmp, 0o755)  # the server runs as user postgres
        host, port = os.path.join(tmp, "pg"), str(free_port())
        p = subprocess.run([os.path.join(ROOT, "tools", "pg.sh"), "up", host,
                            port], capture_output=True, text=True,
                           timeout=120)
        assert p.returncode == 0, p.stdout + p.stderr
    d = Postgres(host, port, os.environ.get("PG_USER", "postgres"))
    try:
        yield d
        d.drop()
    finally:
        if tmp is not None:
            subprocess.run([os.path.join(ROOT, "tools", "pg.sh"), "down",
                            host], capture_output=True, timeout=120)
            shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(params=["mysql", "postgres"])
def db(request):
    """A fresh, empty rtrw_migtest database of each kind."""
    d = request.getfixturevalue("mariadb" if request.param == "mysql"
                                else "postgres")
    d.reset()
    return d


def assert_schema(db):
    assert db.tables() == APP_TABLES | {"schema_migrations"}

    expect_cols = {
        "roles": {"name", "rank", "description"},
        "tenants": {"id", "slug", "name", "timezone", "status", "settings",
                    "created_at", "updated_at"},
        "users": {"id", "tenant_id", "name", "email", "password_hash",
                  "role", "active", "last_login_at", "created_at",
                  "updated_at"},
        "refresh_tokens": {"id", "tenant_id", "user_id", "family_id",
                           "token_hash", "parent_id", "expires_at",
                           "revoked_at", "replaced_by_id", "created_at",
                           "created_ip", "user_agent"},
        "audit_logs": {"id", "tenant_id", "user_id", "action", "entity_type",
                       "entity_id", "old_values", "new_values", "ip_address",
                       "user_agent", "created_at", "prev_hash", "hash"},
    }
    for table, cols in expect_cols.items():
        assert set(db.columns(table)) == cols, table
    assert db.columns("audit_logs")["user_id"][1] == "YES"
    assert db.columns("tenants")["settings"][1] == "YES"

    if db.name == "mysql":
        rows = db.query("SELECT table_name, engine, table_collation"
                        " FROM information_schema.tables"
                        " WHERE table_schema = DATABASE()")
        for table, engine, coll in rows:
            assert engine == "InnoDB", table
            assert coll == "utf8mb4_unicode_ci", table
        assert db.columns("audit_logs")["created_at"][0] == "datetime(6)"
        assert db.columns("refresh_tokens")["token_hash"][0] == "binary(32)"
        assert db.columns("refresh_tokens")["family_id"][0] == "binary(16)"
    else:
        for table in ("tenants", "users", "audit_logs"):
            assert db.columns(table)["created_at"][0] == \
                "timestamp with time zone", table
        assert db.columns("tenants")["settings"][0] == "jsonb"
        assert db.columns("audit_logs")["new_values"][0] == "jsonb"
        assert db.columns("refresh_tokens")["token_hash"][0] == "bytea"

    fk = {t: db.fks(t) for t in APP_TABLES}
    assert (("tenant_id",), "tenants", ("id",), True) in fk["users"]
    assert (("role",), "roles", ("name",), False) in fk["users"]
    assert (("tenant_id",), "tenants", ("id",), True) in fk["refresh_tokens"]
    assert (("tenant_id", "user_id"), "users", ("tenant_id", "id"), True) \
        in fk["refresh_tokens"]
    assert fk["audit_logs"] == {(("tenant_id",), "tenants", ("id",), True)}
    assert fk["roles"] == set() and fk["tenants"] == set()

    idx = {t: db.indexes(t) for t in APP_TABLES}

    def has(table, cols, unique=None):
        return any(c == cols and (unique is None or u == unique)
                   for c, u, _ in idx[table].values())

    assert has("tenants", ("slug",), unique=True)
    assert has("users", ("tenant_id", "email"), unique=True)
    assert has("users", ("tenant_id", "role"))
    assert has("refresh_tokens", ("token_hash",), unique=True)
    assert has("refresh_tokens", ("tenant_id", "user_id"))
    assert has("refresh_tokens", ("tenant_id", "family_id"))
    for cols in (("tenant_id", "created_at"),
                 ("tenant_id", "entity_type", "entity_id"),
                 ("tenant_id", "user_id"), ("tenant_id", "action")):
        assert has("audit_logs", cols), cols

    # Every index of a tenant table leads with tenant_id, except the
    # primary key, the global token-hash lookup and (MariaDB only) the
    # index InnoDB requires behind the users.role foreign key.
    allowed = {("token_hash",)}
    if db.name == "mysql":
        allowed.add(("role",))
    for table in TENANT_TABLES:
        for name, (cols, _, primary) in idx[table].items():
            if primary or cols in allowed:
                continue
            assert cols[0] == "tenant_id", (table, name, cols)

    up = os.path.join(db.sql_dir, "0001_core.up.sql")
    rows = db.query("SELECT version, name, checksum FROM schema_migrations"
                    " ORDER BY version")
    assert [(r[0], r[1], r[2].strip()) for r in rows] == \
        [(1, "core", sha256_file(up))]


def test_up_down_up(db):
    out = db.ok("status")
    assert "0001_core" in out and "pending" in out
    assert "version 0000 of 0001 (1 pending)" in out

    out = db.ok("up")
    assert "applied  0001_core" in out
    assert "migrated from version 0000 to 0001 (1 applied)" in out
    assert_schema(db)
    before = db.snapshot()

    assert "nothing to do" in db.ok("up")
    out = db.ok("status")
    assert "applied 20" in out and "version 0001 of 0001 (0 pending)" in out

    out = db.ok("down", "all")
    assert "reverted 0001_core" in out
    assert db.tables() == {"schema_migrations"}
    assert db.count("schema_migrations") == 0
    if db.name == "postgres":
        assert db.query("SELECT proname FROM pg_proc"
                        " WHERE proname = 'rtrw_set_updated_at'") == []

    db.ok("to", "1")
    assert_schema(db)
    assert db.snapshot() == before
    db.ok("to", "0")
    assert db.tables() == {"schema_migrations"}
    db.ok("up")
    db.ok("down")
    assert db.tables() == {"schema_migrations"}
    assert "nothing to do" in db.ok("down")


def test_cascade_and_constraints(db):
    db.ok("up")
    db.ok("seed")
    ph = "%s"
    db.query("INSERT INTO tenants (slug, name) VALUES (%s, %s), (%s, %s)",
             ("a-net", "A", "b-net", "B"))
    ta = db.query("SELECT id FROM tenants WHERE slug = 'a-net'")[0][0]
    tb = db.query("SELECT id FROM tenants WHERE slug = 'b-net'")[0][0]
    for t in (ta, tb):
        db.query("INSERT INTO users (tenant_id, name, email, password_hash,"
                 " role) VALUES (%s, 'U', 'u@x.id', 'h', 'admin')", (t,))
    ua = db.query("SELECT id FROM users WHERE tenant_id = %s", (ta,))[0][0]
    ub = db.query("SELECT id FROM users WHERE tenant_id = %s", (tb,))[0][0]
    tok = (b"f" * 16, b"h" * 32)
    db.query("INSERT INTO refresh_tokens (tenant_id, user_id, family_id,"
             " token_hash, expires_at) VALUES (%s, %s, %s, %s, "
             + ("NOW() + INTERVAL 1 DAY" if db.name == "mysql"
                else "now() + interval '1 day'") + ")",
             (ta, ua, tok[0], tok[1]))
    db.query("INSERT INTO audit_logs (tenant_id, user_id, action,"
             " entity_type, hash) VALUES (%s, %s, 'create', 'user', %s)",
             (ta, ua, "0" * 64))

    # A token cannot point at a user of another tenant.
    with pytest.raises(Exception):
        db.query("INSERT INTO refresh_tokens (tenant_id, user_id,"
                 " family_id, token_hash, expires_at) VALUES"
                 " (" + ph + ", " + ph + ", " + ph + ", " + ph + ", "
                 + ("NOW()" if db.name == "mysql" else "now()") + ")",
                 (ta, ub, b"g" * 16, b"i" * 32))
    # Email is unique per tenant, not globally; role must exist.
    with pytest.raises(Exception):
        db.query("INSERT INTO users (tenant_id, name, email, password_hash,"
                 " role) VALUES (%s, 'U', 'u@x.id', 'h', 'admin')", (ta,))
    with pytest.raises(Exception):
        db.query("INSERT INTO users (tenant_id, name, email, password_hash,"
                 " role) VALUES (%s, 'U', 'v@x.id', 'h', 'owner')", (ta,))
    with pytest.raises(Exception):
        db.query("UPDATE tenants SET status = 'gone' WHERE id = %s", (ta,))

    db.query("DELETE FROM tenants WHERE id = %s", (ta,))
    for table in ("users", "refresh_tokens", "audit_logs"):
        assert db.query("SELECT COUNT(*) FROM " + table +
                        " WHERE tenant_id = %s", (ta,))[0][0] == 0, table
    assert db.query("SELECT COUNT(*) FROM users WHERE tenant_id = %s",
                    (tb,))[0][0] == 1


def test_seed_idempotent(db):
    p = db.run("seed")
    assert p.returncode != 0
    assert "run 'rtrw-migrate up' first" in p.stderr

    db.ok("up")
    db.ok("seed")
    assert {r[0] for r in db.query("SELECT name FROM roles")} == ROLES
    ranks = dict(db.query("SELECT name, " +
                          ("`rank`" if db.name == "mysql" else "rank") +
                          " FROM roles"))
    assert ranks["admin"] > ranks["operator"] > ranks["technician"] \
        > ranks["viewer"]
    assert db.count("tenants") == 0
    db.ok("seed")
    assert db.count("roles") == 4 and db.count("tenants") == 0

    out = db.ok("seed", "--demo")
    assert "demo tenant" in out
    rows = db.query("SELECT slug, name, timezone, status FROM tenants")
    assert rows == [("demo", "Demo RT/RW Net", "Asia/Jakarta", "active")]
    db.ok("seed", "--demo")
    db.ok("seed")
    assert db.count("roles") == 4 and db.count("tenants") == 1


def test_edited_migration_refused(db, tmp_path):
    sql = tmp_path / "sql"
    shutil.copytree(db.sql_dir, sql)
    db.ok("up", sql_dir=str(sql))
    with open(sql / "0001_core.up.sql", "a", encoding="utf-8") as f:
        f.write("\n-- an innocent-looking edit\n")
    for args in (["status"], ["up"], ["down"], ["seed"]):
        p = db.run(*args, sql_dir=str(sql))
        assert p.returncode != 0, args
        assert "0001_core.up.sql" in p.stderr and "edited" in p.stderr
        assert p.stderr.count("\n") == 1, p.stderr
    assert APP_TABLES <= db.tables()


def test_bad_directories_and_usage(db, tmp_path):
    sql = tmp_path / "sql"
    shutil.copytree(db.sql_dir, sql)
    (sql / "0003_three.up.sql").write_text("SELECT 1;\n")
    (sql / "0003_three.down.sql").write_text("SELECT 1;\n")
    p = db.run("up", sql_dir=str(sql))
    assert p.returncode != 0 and "0002 is missing" in p.stderr
    os.remove(sql / "0003_three.down.sql")
    os.rename(sql / "0003_three.up.sql", sql / "0002_two.up.sql")
    p = db.run("up", sql_dir=str(sql))
    assert p.returncode != 0 and "0002_two.down.sql" in p.stderr
    assert db.tables() <= {"schema_migrations"}

    p = db.run("to", "7")
    assert p.returncode != 0 and "no migration 0007" in p.stderr
    p = db.run("sideways")
    assert p.returncode == 2 and "unknown command" in p.stderr
    p = db.run("down", "-1")
    assert p.returncode != 0
    p = subprocess.run([MIGRATE, "--help"], capture_output=True, text=True)
    assert p.returncode == 0 and "down [N|all]" in p.stdout


def test_failed_migration_reports_and_stops(db, tmp_path):
    sql = tmp_path / "sql"
    shutil.copytree(db.sql_dir, sql)
    (sql / "0002_broken.up.sql").write_text(
        "CREATE TABLE broken_one (id INT);\nTHIS IS NOT SQL;\n")
    (sql / "0002_broken.down.sql").write_text("DROP TABLE broken_one;\n")
    p = db.run("up", sql_dir=str(sql))
    assert p.returncode != 0
    assert "applied  0001_core" in p.stdout
    assert "0002_broken.up.sql failed" in p.stderr
    rows = db.query("SELECT version FROM schema_migrations")
    assert rows == [(1,)]
    if db.name == "postgres":
        # The failed file ran in a transaction: nothing of it remains.
        assert "broken_one" not in db.tables()


TRIGGER_SQL = {
    "mysql": """
CREATE TABLE trig_counts (n INT NOT NULL) ENGINE=InnoDB;
INSERT INTO trig_counts VALUES (0);
CREATE TRIGGER tr_roles_count AFTER INSERT ON roles FOR EACH ROW
BEGIN
	UPDATE trig_counts SET n = n + 1;
	UPDATE trig_counts SET n = n + 0;
END;
SELECT 1;
""",
    "postgres": """
CREATE TABLE trig_counts (n int NOT NULL);
INSERT INTO trig_counts VALUES (0);
CREATE FUNCTION trig_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE trig_counts SET n = n + 1;
	RETURN NEW;
END;
$$;
CREATE TRIGGER tr_roles_count AFTER INSERT ON roles
	FOR EACH ROW EXECUTE FUNCTION trig_count();
SELECT 1;
""",
}


def test_multi_statement_file_with_trigger(db, tmp_path):
    """A file runs whole: compound trigger bodies need no DELIMITER."""
    sql = tmp_path / "sql"
    shutil.copytree(db.sql_dir, sql)
    (sql / "0002_trigger.up.sql").write_text(TRIGGER_SQL[db.name])
    (sql / "0002_trigger.down.sql").write_text(
        "DROP TRIGGER tr_roles_count" +
        (" ON roles;\nDROP FUNCTION trig_count();\n"
         if db.name == "postgres" else ";\n") +
        "DROP TABLE trig_counts;\n")
    out = db.ok("up", sql_dir=str(sql))
    assert "applied  0002_trigger" in out
    db.ok("seed", sql_dir=str(sql))
    assert db.query("SELECT n FROM trig_counts") == [(4,)]
    db.ok("down", sql_dir=str(sql))
    assert "trig_counts" not in db.tables()
    # The connection is still in sync after draining every result.
    assert "version 0001 of 0002" in db.ok("status", sql_dir=str(sql))
