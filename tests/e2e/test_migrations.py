"""rtrw-migrate against real MariaDB and PostgreSQL databases.

Run with /usr/bin/python3 -m pytest tests/e2e/test_migrations.py.

Nothing here knows how many migrations exist: the versions, names and
tables are read from sql/mysql and sql/postgres, test-only migrations take
the next free number of a copied directory, and the schema rules are
checked on every table the migrations create.

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
import re
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
SQL_DIRS = {"mysql": os.path.join(ROOT, "sql", "mysql"),
            "postgres": os.path.join(ROOT, "sql", "postgres")}

# Tables of 0001 the tests below write to; every other table is found in
# the migration files.
CORE_TABLES = {"roles", "tenants", "users", "refresh_tokens", "audit_logs"}
ROLES = {"admin", "operator", "technician", "viewer"}

# Columns only MariaDB has: STORED generated columns that stand in for
# PostgreSQL's partial unique indexes (uq_alerts_tenant_open,
# uq_payments_tenant_invoice, uq_backups_queued, uq_platform_alerts_open).  Each must exist and be generated.
MYSQL_ONLY_COLUMNS = {
    ("alerts", "open_key"),
    ("payments", "invoice_customer_id"),
    # uq_backups_queued and uq_platform_alerts_open (0015).
    ("backups", "queued_key"),
    ("platform_alerts", "open_key"),
}

# Secondary indexes of tenant tables that may lead with something other
# than tenant_id: index name -> (dialects, what it must be, why).  Each
# entry must exist in its dialects, so the list cannot go stale.
INDEX_EXCEPTIONS = {
    ("refresh_tokens", "uq_refresh_tokens_hash"): (
        {"mysql", "postgres"}, ("token_hash",),
        "a refresh request carries only the token; the lookup by hash "
        "happens before the tenant is known (0001)"),
    ("users", "ix_users_role_fk"): (
        {"mysql"}, ("role",),
        "InnoDB needs an index leading with the column of fk_users_role "
        "(0001)"),
    ("notifications", "ix_notifications_status"): (
        {"mysql", "postgres"}, ("status", "send_after"),
        "the mailer job takes due rows of every tenant in one query "
        "(status = 'queued' AND send_after <= now), a queue across tenants "
        "(0003)"),
    ("speed_boosts", "ix_speed_boosts_status_end"): (
        {"mysql", "postgres"}, ("status", "end_at"),
        "rtrw-boost expire takes the ended boosts of every tenant in one "
        "query, a queue across tenants (0009)"),
    ("provisioning_jobs", "ix_provisioning_jobs_status"): (
        {"mysql", "postgres"}, ("status", "run_after"),
        "the provisioning worker takes due jobs of every tenant in one "
        "query, a queue across tenants (0003)"),
    ("reports", "ix_reports_queue"): (
        {"mysql", "postgres"}, ("status", "id"),
        "rtrw-reports takes the oldest queued (or silent running) report "
        "of every tenant in one query, a queue across tenants (0014)"),
    ("reports", "ix_reports_expiry"): (
        {"mysql", "postgres"}, ("status", "expires_at"),
        "the retention takes the expired reports of every tenant in one "
        "query (0014)"),
    ("report_schedules", "ix_report_schedules_due"): (
        {"mysql", "postgres"}, ("active", "next_run_at"),
        "rtrw-reports takes the due schedules of every tenant in one "
        "query (0014)"),
}

# Besides these, MariaDB may keep the index InnoDB creates by itself for a
# single-column foreign key (an optional reference ON DELETE SET NULL,
# 0003's rule): it has the foreign key's name and exactly its columns, and
# no SQL file declares it.  ix_users_role_fk above is the declared kind.

# Tenant tables partitioned by time range, the exception to rule (b):
# MariaDB allows no foreign keys on a partitioned table, so these have none
# in either dialect, and a tenant's deletion cannot cascade to them; the
# usage_purge() routine removes a deleted tenant's rows instead (called by
# rtrw-monitor usage every cycle; test_cascade_and_constraints checks it).
# Each must exist, be partitioned by RANGE on `at`, have no foreign key and
# a primary key (tenant_id, customer_id, at).  table -> why.
PARTITIONED = {
    "usage_raw": "1-minute usage samples, expired by dropping day partitions (0013)",
    "usage_5m": "5-minute usage rollups (0013)",
    "usage_hourly": "hourly usage rollups (0013)",
    "usage_daily": "daily usage rollups (0013)",
}

# ON DELETE rules allowed for a foreign key between two tenant tables.
TENANT_FK_RULES = {"CASCADE", "SET NULL"}

MIGRATION_RE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.(up|down)\.sql$")


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def migrations(sql_dir):
    """[(version, name)] of the migrations in sql_dir, in order."""
    found = {}
    for fname in os.listdir(sql_dir):
        m = MIGRATION_RE.match(fname)
        if m:
            found.setdefault((int(m.group(1)), m.group(2)), set()).add(
                m.group(3))
    out = sorted(found)
    assert out, "no migrations in " + sql_dir
    assert [v for v, _ in out] == list(range(1, len(out) + 1)), out
    for key, halves in found.items():
        assert halves == {"up", "down"}, (sql_dir, key, halves)
    return out


def latest(sql_dir):
    return migrations(sql_dir)[-1][0]


def next_free(sql_dir):
    """The version a migration added to sql_dir must take."""
    return latest(sql_dir) + 1


def up_path(sql_dir, version, name):
    return os.path.join(sql_dir, "%04d_%s.up.sql" % (version, name))


def strip_sql_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"--[^\n]*", " ", text)


TABLE_DDL_RE = re.compile(
    r"\b(?:(CREATE)\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?[`\"]?(\w+)\b"
    r"(?![`\"]?\s+PARTITION\s+OF\b)"
    r"|(DROP)\s+TABLE\s+(?:IF\s+EXISTS\s+)?[`\"]?(\w+)"
    r"|(RENAME)\s+TABLE\s+[`\"]?(\w+)[`\"]?\s+TO\s+[`\"]?(\w+)"
    r"|(ALTER)\s+TABLE\s+(?:IF\s+EXISTS\s+)?[`\"]?(\w+)[`\"]?\s+"
    r"RENAME\s+TO\s+[`\"]?(\w+))", re.I)


def expected_tables(sql_dir, upto=None):
    """The tables the up files of versions 1..upto leave behind, read
    from their CREATE/DROP/RENAME TABLE statements.  A PostgreSQL
    partition (CREATE TABLE x PARTITION OF y) is part of its table, not a
    table of its own."""
    tables = set()
    for version, name in migrations(sql_dir):
        if upto is not None and version > upto:
            break
        with open(up_path(sql_dir, version, name), encoding="utf-8") as f:
            text = strip_sql_comments(f.read())
        for m in TABLE_DDL_RE.finditer(text):
            if m.group(1):
                tables.add(m.group(2).lower())
            elif m.group(3):
                tables.discard(m.group(4).lower())
            elif m.group(5):
                tables.discard(m.group(6).lower())
                tables.add(m.group(7).lower())
            else:
                tables.discard(m.group(9).lower())
                tables.add(m.group(10).lower())
    return tables


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
    """One database under test: runs rtrw-migrate and inspects the schema.

    schema() reads the whole schema in a few queries:
      {table: {"columns": {name: (type, nullable, default, generated)},
               "indexes": {name: (cols, unique, primary, kind, where)},
               "fks": {name: (cols, ref_table, ref_cols, on_delete)},
               "checks": {name: clause}}}
    kind is "btree", "fulltext", "gin", ...; on_delete is CASCADE, SET
    NULL, RESTRICT, NO ACTION or SET DEFAULT.
    """

    name = None

    @property
    def sql_dir(self):
        return SQL_DIRS[self.name]

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

    def applied(self):
        return [(r[0], r[1], r[2].strip()) for r in self.query(
            "SELECT version, name, checksum FROM schema_migrations"
            " ORDER BY version")]

    def snapshot(self):
        """Everything a migration can create, comparable with ==."""
        return {"schema": self.schema(), "triggers": self.triggers(),
                "routines": self.routines(), "objects": self.objects()}


class MariaDB(Dialect):
    name = "mysql"

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

    def objects(self):
        """Every table and view (views are in information_schema.tables)."""
        return {(r[0], r[1]) for r in self.query(
            "SELECT table_name, table_type FROM information_schema.tables"
            " WHERE table_schema = DATABASE()")}

    def schema(self):
        out = {t: {"columns": {}, "indexes": {}, "fks": {}, "checks": {}}
               for t in self.tables()}
        for t, col, ctype, nullable, default, extra in self.query(
                "SELECT table_name, column_name, column_type, is_nullable,"
                " column_default, extra FROM information_schema.columns"
                " WHERE table_schema = DATABASE()"):
            out[t]["columns"][col] = (ctype, nullable == "YES", default,
                                      "GENERATED" in (extra or "").upper())
        for t, name, non_unique, col, itype in self.query(
                "SELECT table_name, index_name, non_unique, column_name,"
                " index_type FROM information_schema.statistics"
                " WHERE table_schema = DATABASE()"
                " ORDER BY table_name, index_name, seq_in_index"):
            cols = out[t]["indexes"].get(name, ((),))[0]
            out[t]["indexes"][name] = (cols + (col,), not non_unique,
                                       name == "PRIMARY", itype.lower(),
                                       None)
        for t, name, ref, rule, col, refcol in self.query(
                "SELECT rc.table_name, rc.constraint_name,"
                " rc.referenced_table_name, rc.delete_rule, k.column_name,"
                " k.referenced_column_name"
                " FROM information_schema.referential_constraints rc"
                " JOIN information_schema.key_column_usage k"
                "  ON k.constraint_schema = rc.constraint_schema"
                "  AND k.constraint_name = rc.constraint_name"
                "  AND k.table_name = rc.table_name"
                " WHERE rc.constraint_schema = DATABASE()"
                " ORDER BY rc.table_name, rc.constraint_name,"
                "  k.ordinal_position"):
            cols, _, refcols, _ = out[t]["fks"].get(name, ((), ref, (), rule))
            out[t]["fks"][name] = (cols + (col,), ref, refcols + (refcol,),
                                   rule)
        for t, name, clause in self.query(
                "SELECT table_name, constraint_name, check_clause"
                " FROM information_schema.check_constraints"
                " WHERE constraint_schema = DATABASE()"):
            out[t]["checks"][name] = clause
        return out

    def triggers(self):
        return {(r[0], r[1], r[2], r[3], r[4]) for r in self.query(
            "SELECT event_object_table, trigger_name, action_timing,"
            " event_manipulation, action_statement"
            " FROM information_schema.triggers"
            " WHERE trigger_schema = DATABASE()")}

    def routines(self):
        return {(r[0], r[1], r[2]) for r in self.query(
            "SELECT routine_name, routine_type, routine_definition"
            " FROM information_schema.routines"
            " WHERE routine_schema = DATABASE()")}

    def trigger_text(self, table, event):
        """The bodies of table's triggers on event, as one text."""
        return " ".join(r[4] for r in self.triggers()
                        if r[0] == table and r[3] == event)

    def partitioning(self, table):
        """("range", column) of a partitioned table, or None."""
        rows = self.query(
            "SELECT DISTINCT partition_method, partition_expression"
            " FROM information_schema.partitions"
            " WHERE table_schema = DATABASE() AND table_name = %s"
            "  AND partition_method IS NOT NULL", (table,))
        if not rows:
            return None
        assert len(rows) == 1, rows
        method, expr = rows[0]
        col = expr.replace("`", "")
        if method == "RANGE" and col.startswith("to_days(") and \
                col.endswith(")"):
            col = col[len("to_days("):-1]
        return method.lower(), col

    def partitions(self, table):
        """[(name, upper bound as a datetime, or None for MAXVALUE)]."""
        out = []
        for name, desc in self.query(
                "SELECT partition_name, partition_description"
                " FROM information_schema.partitions"
                " WHERE table_schema = DATABASE() AND table_name = %s"
                " ORDER BY partition_ordinal_position", (table,)):
            bound = None if desc == "MAXVALUE" else self.query(
                "SELECT CAST(FROM_DAYS(%s) AS DATETIME)", (int(desc),))[0][0]
            out.append((name, bound))
        return out


PG_FK_RULES = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE",
               "n": "SET NULL", "d": "SET DEFAULT"}


class Postgres(Dialect):
    name = "postgres"

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
        # Partitions are part of their partitioned table (PARTITIONED).
        return {r[0] for r in self.query(
            "SELECT relname FROM pg_class"
            " WHERE relnamespace = 'public'::regnamespace"
            "  AND relkind IN ('r', 'p') AND NOT relispartition")}

    def objects(self):
        """Every relation (tables, indexes, sequences, views) and type."""
        rels = {(r[0], r[1]) for r in self.query(
            "SELECT relname, relkind::text FROM pg_class"
            " WHERE relnamespace = 'public'::regnamespace")}
        # Types of their own (enums, domains), not the row and array
        # types that come with every table.
        types = {(r[0], "type") for r in self.query(
            "SELECT typname FROM pg_type"
            " WHERE typnamespace = 'public'::regnamespace"
            "  AND typrelid = 0 AND typcategory <> 'A'")}
        return rels | types

    def schema(self):
        out = {t: {"columns": {}, "indexes": {}, "fks": {}, "checks": {}}
               for t in self.tables()}
        for t, col, ctype, nullable, default, generated in self.query(
                "SELECT table_name, column_name, data_type, is_nullable,"
                " column_default, is_generated"
                " FROM information_schema.columns"
                " WHERE table_schema = 'public'"):
            if t in out:
                out[t]["columns"][col] = (ctype, nullable == "YES", default,
                                          generated != "NEVER")
        for t, name, unique, primary, kind, cols, where in self.query(
                "SELECT t.relname, i.relname, x.indisunique, x.indisprimary,"
                " am.amname,"
                " ARRAY(SELECT COALESCE(a.attname::text,"
                "   pg_get_indexdef(x.indexrelid, k.ord::int, true))"
                "  FROM unnest(x.indkey::int2[])"
                "   WITH ORDINALITY k(attnum, ord)"
                "  LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid"
                "   AND a.attnum = k.attnum AND k.attnum > 0"
                "  ORDER BY k.ord),"
                " pg_get_expr(x.indpred, x.indrelid)"
                " FROM pg_index x"
                " JOIN pg_class i ON i.oid = x.indexrelid"
                " JOIN pg_class t ON t.oid = x.indrelid"
                " JOIN pg_am am ON am.oid = i.relam"
                " WHERE t.relnamespace = 'public'::regnamespace"
                "  AND t.relkind IN ('r', 'p') AND NOT t.relispartition"):
            out[t]["indexes"][name] = (tuple(cols), unique, primary, kind,
                                       where)
        for t, name, ref, rule, cols, refcols in self.query(
                "SELECT c.conrelid::regclass::text, c.conname,"
                " c.confrelid::regclass::text, c.confdeltype::text,"
                " ARRAY(SELECT a.attname::text"
                "  FROM unnest(c.conkey) WITH ORDINALITY k(attnum, ord)"
                "  JOIN pg_attribute a ON a.attrelid = c.conrelid"
                "   AND a.attnum = k.attnum ORDER BY k.ord),"
                " ARRAY(SELECT a.attname::text"
                "  FROM unnest(c.confkey) WITH ORDINALITY k(attnum, ord)"
                "  JOIN pg_attribute a ON a.attrelid = c.confrelid"
                "   AND a.attnum = k.attnum ORDER BY k.ord)"
                " FROM pg_constraint c"
                " WHERE c.contype = 'f'"
                "  AND c.connamespace = 'public'::regnamespace"):
            out[t]["fks"][name] = (tuple(cols), ref, tuple(refcols),
                                   PG_FK_RULES[rule])
        for t, name, clause in self.query(
                "SELECT c.conrelid::regclass::text, c.conname,"
                " pg_get_constraintdef(c.oid)"
                " FROM pg_constraint c"
                " WHERE c.contype = 'c'"
                "  AND c.connamespace = 'public'::regnamespace"):
            if t in out:  # not a partition's inherited copy
                out[t]["checks"][name] = clause
        return out

    def triggers(self):
        return {(r[0], r[1], r[2], r[3], r[4]) for r in self.query(
            "SELECT event_object_table, trigger_name, action_timing,"
            " event_manipulation, action_statement"
            " FROM information_schema.triggers"
            " WHERE trigger_schema = 'public'")}

    def routines(self):
        return {(r[0], r[1], r[2]) for r in self.query(
            "SELECT p.proname, p.prokind::text, p.prosrc FROM pg_proc p"
            " WHERE p.pronamespace = 'public'::regnamespace")}

    def trigger_text(self, table, event):
        """The bodies of the functions table's triggers on event run."""
        return " ".join(r[0] for r in self.query(
            "SELECT p.prosrc FROM pg_trigger g"
            " JOIN pg_proc p ON p.oid = g.tgfoid"
            " JOIN information_schema.triggers t"
            "  ON t.trigger_name = g.tgname"
            " WHERE g.tgrelid = %s::regclass AND t.event_object_table = %s"
            "  AND t.event_manipulation = %s", (table, table, event)))

    def partitioning(self, table):
        rows = self.query(
            "SELECT p.partstrat::text, a.attname::text"
            " FROM pg_partitioned_table p"
            " JOIN pg_attribute a ON a.attrelid = p.partrelid"
            "  AND a.attnum = p.partattrs[0]"
            " WHERE p.partrelid = %s::regclass", (table,))
        if not rows:
            return None
        return {"r": "range", "l": "list", "h": "hash"}[rows[0][0]], rows[0][1]

    def partitions(self, table):
        """[(name, upper bound as a UTC datetime, or None for DEFAULT)],
        in the order of their bounds, DEFAULT last."""
        out = []
        for name, bound in self.query(
                "SELECT c.relname::text, pg_get_expr(c.relpartbound, c.oid)"
                " FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                " WHERE i.inhparent = %s::regclass", (table,)):
            if bound == "DEFAULT":
                out.append((name, None))
                continue
            up = self.query("SELECT (substring(%s FROM 'TO \\(''([^'']+)''\\)')"
                            "::timestamptz AT TIME ZONE 'UTC')", (bound,))[0][0]
            out.append((name, up))
        return sorted(out, key=lambda p: (p[1] is None, p[1]))


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


@pytest.fixture
def both(mariadb, postgres):
    """Fresh, empty rtrw_migtest databases of both kinds."""
    mariadb.reset()
    postgres.reset()
    return mariadb, postgres


def copy_sql(db, tmp_path):
    """A copy of db's migration directory and its next free version."""
    sql = tmp_path / "sql"
    shutil.copytree(db.sql_dir, sql)
    return sql, next_free(str(sql))


# ---------------------------------------------------------------------------
# Schema rules

def tenant_tables(schema):
    return {t for t, s in schema.items() if "tenant_id" in s["columns"]}


def assert_schema(db):
    """The schema of the newest version in db follows every rule."""
    n = latest(db.sql_dir)
    schema = db.schema()
    assert set(schema) == expected_tables(db.sql_dir) | {"schema_migrations"}
    assert CORE_TABLES <= set(schema)
    assert db.applied() == [
        (v, name, sha256_file(up_path(db.sql_dir, v, name)))
        for v, name in migrations(db.sql_dir)]
    assert len(db.applied()) == n

    tenants = tenant_tables(schema)
    assert {"users", "refresh_tokens", "audit_logs"} <= tenants
    assert "tenants" not in tenants and "roles" not in tenants

    # (b) Every tenant table hangs off tenants with ON DELETE CASCADE,
    # except the partitioned ones (PARTITIONED), which cannot.
    for t in sorted(PARTITIONED):
        assert t in tenants, "partitioned table %s no longer exists" % t
        assert schema[t]["fks"] == {}, (t, schema[t]["fks"])
        pk = [cols for cols, _, primary, _, _ in schema[t]["indexes"].values()
              if primary]
        assert pk == [("tenant_id", "customer_id", "at")], (t, pk)
        assert db.partitioning(t) == ("range", "at"), t
    for t in sorted(tenants - set(PARTITIONED)):
        fks = schema[t]["fks"].values()
        assert (("tenant_id",), "tenants", ("id",), "CASCADE") in \
            {(c, r, rc, rule) for c, r, rc, rule in fks}, (t, fks)
        assert schema[t]["columns"]["tenant_id"][1] is False, t

    # (c) Every secondary index of a tenant table leads with tenant_id,
    # except the few listed in INDEX_EXCEPTIONS.
    for (t, name), (dialects, what, why) in INDEX_EXCEPTIONS.items():
        if db.name not in dialects:
            continue
        assert name in schema[t]["indexes"], \
            "exception %s.%s (%s) no longer exists" % (t, name, why)
        cols, _, _, kind, _ = schema[t]["indexes"][name]
        assert cols == what, (t, name, cols)
    bad = []
    for t in sorted(tenants):
        for name, (cols, _, primary, _, _) in schema[t]["indexes"].items():
            if primary:
                continue
            ex = INDEX_EXCEPTIONS.get((t, name))
            if ex is not None and db.name in ex[0]:
                continue
            fk = schema[t]["fks"].get(name)
            if db.name == "mysql" and fk is not None and fk[0] == cols and \
                    len(cols) == 1 and fk[3] == "SET NULL":
                continue  # InnoDB's own index behind that foreign key
            if not cols or cols[0] != "tenant_id":
                bad.append("%s.%s%r" % (t, name, cols))
    assert bad == [], "%s indexes of tenant tables not led by tenant_id: %s" \
        % (db.name, ", ".join(bad))

    # (d) A foreign key between two tenant tables cascades or sets NULL,
    # never RESTRICT/NO ACTION (a tenant's deletion would trip on it).
    # A required reference is composite (tenant_id, x) -> (tenant_id, id);
    # a SET NULL reference is on nullable columns only.
    for t in sorted(tenants):
        for name, (cols, ref, refcols, rule) in schema[t]["fks"].items():
            if ref not in tenants:
                continue
            assert rule in TENANT_FK_RULES, (db.name, t, name, rule)
            if rule == "CASCADE":
                assert cols[0] == "tenant_id" and \
                    refcols[0] == "tenant_id", (db.name, t, name, cols)
            else:
                for c in cols:
                    assert schema[t]["columns"][c][1], (db.name, t, name, c)

    # (e) Full-text search on customer names (requirement 19.7) is the
    # word index of 0016: (tenant_id, word, customer_id) kept by triggers
    # on customers.  No FULLTEXT or GIN index is left: nothing reads one.
    words = schema["customer_words"]["indexes"]
    assert any(primary and cols == ("tenant_id", "word", "customer_id")
               for cols, _, primary, _, _ in words.values()), words
    kinds = {kind for s in schema.values()
             for _, _, _, kind, _ in s["indexes"].values()}
    assert not kinds & {"fulltext", "gin"}, kinds
    events = {event for table, _, timing, event, _ in db.triggers()
              if table == "customers" and timing == "AFTER"
              and "customer_words" in db.trigger_text(table, event)}
    assert events == {"INSERT", "UPDATE"}, events

    # (f) The audit log cannot be updated or deleted behind the
    # application's back: BEFORE UPDATE and BEFORE DELETE triggers.
    events = {(timing, event) for table, _, timing, event, _
              in db.triggers() if table == "audit_logs"}
    assert {("BEFORE", "UPDATE"), ("BEFORE", "DELETE")} <= events, events

    if db.name == "mysql":
        for table, engine, coll in db.query(
                "SELECT table_name, engine, table_collation"
                " FROM information_schema.tables"
                " WHERE table_schema = DATABASE()"):
            assert engine == "InnoDB", table
            assert coll == "utf8mb4_unicode_ci", table
        assert schema["audit_logs"]["columns"]["created_at"][0] == \
            "datetime(6)"
        rt = schema["refresh_tokens"]["columns"]
        assert rt["token_hash"][0] == "binary(32)"
        assert rt["family_id"][0] == "binary(16)"
    else:
        for t, s in schema.items():
            for col, (ctype, _, _, _) in s["columns"].items():
                if col.endswith("_at") and ctype.startswith("timestamp"):
                    assert ctype == "timestamp with time zone", (t, col)
        assert schema["tenants"]["columns"]["settings"][0] == "jsonb"
        assert schema["audit_logs"]["columns"]["new_values"][0] == "jsonb"
        assert schema["refresh_tokens"]["columns"]["token_hash"][0] == \
            "bytea"
    assert schema["audit_logs"]["columns"]["user_id"][1] is True
    assert schema["tenants"]["columns"]["settings"][1] is True
    return schema


def fk_shapes(table_schema):
    """The foreign keys of a table without their names; RESTRICT and NO
    ACTION are the same rule (each dialect reports its default as one)."""
    return {(cols, ref, refcols,
             "NO ACTION" if rule == "RESTRICT" else rule)
            for cols, ref, refcols, rule in table_schema["fks"].values()}


def assert_same_schema(my, pg):
    """(a) Both dialects have the same tables with the same columns (and
    the same nullability and foreign keys)."""
    ms, ps = my.schema(), pg.schema()
    assert set(ms) == set(ps), (set(ms) ^ set(ps))
    only_my = set()
    for t in sorted(ms):
        mc, pc = ms[t]["columns"], ps[t]["columns"]
        assert set(pc) <= set(mc), (t, "only in PostgreSQL",
                                    set(pc) - set(mc))
        only_my |= {(t, c) for c in set(mc) - set(pc)}
        for c in pc:
            assert mc[c][1] == pc[c][1], (t, c, "nullable differs")
        assert fk_shapes(ms[t]) == fk_shapes(ps[t]), t
    assert only_my == MYSQL_ONLY_COLUMNS, only_my
    for t, c in MYSQL_ONLY_COLUMNS:
        assert ms[t]["columns"][c][3], (t, c, "must be generated")


def assert_empty(db):
    """After `down all`: schema_migrations and nothing else."""
    assert db.tables() == {"schema_migrations"}
    assert db.count("schema_migrations") == 0
    assert db.triggers() == set()
    assert db.routines() == set()
    if db.name == "mysql":
        assert db.objects() == {("schema_migrations", "BASE TABLE")}
    else:
        assert db.objects() == {("schema_migrations", "r"),
                                ("schema_migrations_pkey", "i")}


# ---------------------------------------------------------------------------
# Tests

def test_dialects_have_the_same_migrations():
    my, pg = migrations(SQL_DIRS["mysql"]), migrations(SQL_DIRS["postgres"])
    assert my == pg
    assert expected_tables(SQL_DIRS["mysql"]) == \
        expected_tables(SQL_DIRS["postgres"])
    assert CORE_TABLES <= expected_tables(SQL_DIRS["mysql"], upto=1)


def test_up_down_up(db):
    migs = migrations(db.sql_dir)
    n = len(migs)
    out = db.ok("status")
    for v, name in migs:
        assert "%04d_%-40s pending" % (v, name) in out, out
    assert "version 0000 of %04d (%d pending)" % (n, n) in out

    out = db.ok("up")
    assert out.splitlines() == \
        ["applied  %04d_%s" % m for m in migs] + \
        ["migrated from version 0000 to %04d (%d applied)" % (n, n)]
    assert_schema(db)
    before = db.snapshot()

    assert "nothing to do" in db.ok("up")
    out = db.ok("status")
    assert out.count(" applied 20") == n
    assert "version %04d of %04d (0 pending)" % (n, n) in out

    out = db.ok("down", "all")
    assert out.splitlines() == \
        ["reverted %04d_%s" % m for m in reversed(migs)] + \
        ["migrated from version %04d to 0000 (%d reverted)" % (n, n)]
    assert_empty(db)
    assert "nothing to do" in db.ok("down", "all")

    db.ok("up")
    assert_schema(db)
    assert db.snapshot() == before

    db.ok("to", str(n))
    db.ok("to", "0")
    assert_empty(db)
    db.ok("to", str(n))
    assert db.snapshot() == before
    out = db.ok("down")
    assert out.splitlines()[0] == "reverted %04d_%s" % migs[-1]
    assert db.applied()[-1][0] == n - 1
    db.ok("down", "all")
    assert_empty(db)
    assert "nothing to do" in db.ok("down")


def test_each_down_reverts_its_up(db):
    """Step up one version at a time, then down: every down file leaves
    exactly what the version before it had, triggers and functions too."""
    migs = migrations(db.sql_dir)
    db.ok("status")  # creates schema_migrations
    seen = [db.snapshot()]
    for v, name in migs:
        out = db.ok("to", str(v))
        assert out.splitlines()[0] == "applied  %04d_%s" % (v, name)
        assert db.tables() == expected_tables(db.sql_dir, upto=v) | \
            {"schema_migrations"}, v
        assert [r[0] for r in db.applied()] == list(range(1, v + 1))
        seen.append(db.snapshot())
    for v, name in reversed(migs):
        out = db.ok("to", str(v - 1))
        assert out.splitlines()[0] == "reverted %04d_%s" % (v, name)
        assert db.snapshot() == seen[v - 1], \
            "%04d_%s.down.sql does not revert its up file" % (v, name)
    assert_empty(db)


def test_both_dialects_agree(both):
    """(a)-(f) on both databases after up, down all and up again."""
    my, pg = both
    for d in both:
        d.ok("up")
        assert_schema(d)
    assert_same_schema(my, pg)
    for d in both:
        d.ok("down", "all")
        assert_empty(d)
    for d in both:
        d.ok("up")
        assert_schema(d)
    assert_same_schema(my, pg)


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
    # The audit triggers refuse changes and early deletes.
    with pytest.raises(Exception, match="cannot be changed"):
        db.query("UPDATE audit_logs SET action = 'x' WHERE tenant_id = %s",
                 (ta,))
    with pytest.raises(Exception, match="cannot be deleted"):
        db.query("DELETE FROM audit_logs WHERE tenant_id = %s", (ta,))

    # Usage rows of both tenants: the partitioned tables have no foreign
    # key, so A's rows outlive A until usage_purge() (PARTITIONED).
    for t in (ta, tb):
        for table in sorted(PARTITIONED):
            extra = "" if table == "usage_raw" else ", 0, 0"
            for minute in range(3):
                db.query("INSERT INTO " + table + " VALUES (%s, 7, "
                         + ("'2026-11-27 10:0%d:00'" % minute) + ", 1, 2, 60"
                         + extra + ")", (t,))

    db.query("DELETE FROM tenants WHERE id = %s", (ta,))
    left = {table: db.query("SELECT COUNT(*) FROM " + table +
                            " WHERE tenant_id = %s", (ta,))[0][0]
            for table in sorted(PARTITIONED)}
    assert left == {table: 3 for table in PARTITIONED}
    purge = "CALL usage_purge(%s)" if db.name == "mysql" \
        else "SELECT usage_purge(%s)"
    db.query(purge, (2,))  # at most 2 rows of a table per call
    assert {table: db.query("SELECT COUNT(*) FROM " + table +
                            " WHERE tenant_id = %s", (ta,))[0][0]
            for table in sorted(PARTITIONED)} == \
        {table: 1 for table in PARTITIONED}
    db.query(purge, (1000,))
    for table in sorted(tenant_tables(db.schema())):
        assert db.query("SELECT COUNT(*) FROM " + table +
                        " WHERE tenant_id = %s", (ta,))[0][0] == 0, table
    assert db.query("SELECT COUNT(*) FROM users WHERE tenant_id = %s",
                    (tb,))[0][0] == 1
    for table in sorted(PARTITIONED):
        assert db.query("SELECT COUNT(*) FROM " + table +
                        " WHERE tenant_id = %s", (tb,))[0][0] == 3, table
    db.query(purge, (1000,))  # nothing left to purge: a no-op
    with pytest.raises(Exception, match="bad limit"):
        db.query(purge, (0,))


def test_usage_partitions_created_ahead_and_dropped_whole(db):
    """usage_partitions() (0013) on both databases: partitions of p_days
    days aligned on 1970-01-01, p_ahead of them after the current one,
    rows already in the catch-all moved into a new partition, expired
    partitions dropped with their rows, other tables refused."""
    import datetime as dt
    db.ok("up")
    call = ("CALL usage_partitions(%s, %s, %s, %s, %s)" if db.name == "mysql"
            else "SELECT usage_partitions(%s, %s, %s, %s, %s)")
    day = dt.datetime(2026, 11, 27)
    catch_all = "p_future" if db.name == "mysql" else "usage_raw_future"

    def name(d):
        return ("p" if db.name == "mysql" else "usage_raw_p") + \
            d.strftime("%Y%m%d")

    def at(d):
        return d.strftime("%Y-%m-%d %H:%M:%S") + \
            ("" if db.name == "mysql" else "+00")

    assert db.partitions("usage_raw") == [(catch_all, None)]
    # Rows that arrive before any partition exists land in the catch-all.
    for d in (day - dt.timedelta(days=3), day + dt.timedelta(hours=10),
              day + dt.timedelta(days=1, hours=1),
              day + dt.timedelta(days=9)):
        db.query("INSERT INTO usage_raw VALUES (1, 1, %s, 5, 6, 60)",
                 (at(d),))
    db.query(call, ("usage_raw", at(day + dt.timedelta(hours=10)), 1, 48, 2))
    assert db.partitions("usage_raw") == [
        (name(day), day + dt.timedelta(days=1)),
        (name(day + dt.timedelta(days=1)), day + dt.timedelta(days=2)),
        (name(day + dt.timedelta(days=2)), day + dt.timedelta(days=3)),
        (catch_all, None)]
    assert db.count("usage_raw") == 4  # moved, none lost
    # Idempotent.
    before = db.partitions("usage_raw")
    db.query(call, ("usage_raw", at(day + dt.timedelta(hours=10)), 1, 48, 2))
    assert db.partitions("usage_raw") == before

    # Three days later with 48 hours kept: the partitions ending on or
    # before now - 48 h go with their rows (the first one reached down to
    # the row three days before), the future one stays in the catch-all.
    later = day + dt.timedelta(days=3, hours=1)
    db.query(call, ("usage_raw", at(later), 1, 48, 2))
    parts = db.partitions("usage_raw")
    assert [p[0] for p in parts] == [
        name(day + dt.timedelta(days=d)) for d in (1, 2, 3, 4, 5)] + \
        [catch_all]
    rows = sorted(r[0] for r in db.query("SELECT at FROM usage_raw"))
    assert [r.replace(tzinfo=None) for r in rows] == [
        day + dt.timedelta(days=1, hours=1), day + dt.timedelta(days=9)]

    # Week-long partitions are aligned on multiples of 7 days since
    # 1970-01-01 (a Thursday): 2026-11-26 is one.
    db.query(call, ("usage_hourly", at(day), 7, 35 * 24, 1))
    week = dt.datetime(2026, 11, 26)
    assert [p[1] for p in db.partitions("usage_hourly")] == [
        week + dt.timedelta(days=7), week + dt.timedelta(days=14), None]

    for bad in (("users", at(day), 1, 48, 2), ("usage_raw", at(day), 0, 48, 2),
                ("usage_raw", at(day), 1, 48, 0)):
        with pytest.raises(Exception, match="usage_partitions"):
            db.query(call, bad)


def test_seed_idempotent(db):
    p = db.run("seed")
    assert p.returncode != 0
    assert "run 'rtrw-migrate up' first" in p.stderr

    db.ok("up")
    out = db.ok("seed")
    assert out.splitlines()[-1] == "seed complete"
    assert {r[0] for r in db.query("SELECT name FROM roles")} == ROLES
    ranks = dict(db.query("SELECT name, " +
                          ("`rank`" if db.name == "mysql" else "rank") +
                          " FROM roles"))
    assert ranks["admin"] > ranks["operator"] > ranks["technician"] \
        > ranks["viewer"]
    assert db.count("tenants") == 0
    assert db.ok("seed") == out
    assert db.count("roles") == 4 and db.count("tenants") == 0

    # The demo tenant moved to `rtrw-admin demo` (real password hashes).
    p = db.run("seed", "--demo")
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert "rtrw-admin demo" in p.stderr and p.stdout == ""
    p = db.run("seed", "demo")
    assert p.returncode == 2 and "seed takes no argument" in p.stderr
    assert db.count("roles") == 4 and db.count("tenants") == 0
    help_text = subprocess.run([MIGRATE, "--help"], capture_output=True,
                               text=True).stdout
    assert "--demo" not in help_text and "rtrw-admin demo" in help_text


def test_edited_migration_refused(db, tmp_path):
    sql, _ = copy_sql(db, tmp_path)
    migs = migrations(str(sql))
    db.ok("up", sql_dir=str(sql))
    # The first and the newest migration: any applied file is checked.
    for v, name in {migs[0], migs[-1]}:
        fname = "%04d_%s.up.sql" % (v, name)
        shutil.copy(sql / fname, tmp_path / fname)
        with open(sql / fname, "a", encoding="utf-8") as f:
            f.write("\n-- an innocent-looking edit\n")
        for args in (["status"], ["up"], ["down"], ["seed"]):
            p = db.run(*args, sql_dir=str(sql))
            assert p.returncode != 0, args
            assert fname in p.stderr and "edited" in p.stderr, p.stderr
            assert p.stderr.count("\n") == 1, p.stderr
        shutil.copy(tmp_path / fname, sql / fname)
    assert expected_tables(db.sql_dir) <= db.tables()
    assert len(db.applied()) == len(migs)
    assert "nothing to do" in db.ok("up", sql_dir=str(sql))


def test_bad_directories_and_usage(db, tmp_path):
    sql, nxt = copy_sql(db, tmp_path)
    gap = "%04d_gap" % (nxt + 1)
    (sql / (gap + ".up.sql")).write_text("SELECT 1;\n")
    (sql / (gap + ".down.sql")).write_text("SELECT 1;\n")
    p = db.run("up", sql_dir=str(sql))
    assert p.returncode != 0
    assert "%04d is missing" % nxt in p.stderr and gap in p.stderr
    os.remove(sql / (gap + ".down.sql"))
    half = "%04d_half" % nxt
    os.rename(sql / (gap + ".up.sql"), sql / (half + ".up.sql"))
    p = db.run("up", sql_dir=str(sql))
    assert p.returncode != 0 and half + ".down.sql" in p.stderr
    assert db.tables() <= {"schema_migrations"}

    n = latest(db.sql_dir)
    p = db.run("to", str(n + 1))
    assert p.returncode != 0
    assert "there is no migration %04d; the newest is %04d" % (n + 1, n) \
        in p.stderr
    p = db.run("sideways")
    assert p.returncode == 2 and "unknown command" in p.stderr
    p = db.run("down", "-1")
    assert p.returncode != 0
    p = subprocess.run([MIGRATE, "--help"], capture_output=True, text=True)
    assert p.returncode == 0 and "down [N|all]" in p.stdout


def test_failed_migration_reports_and_stops(db, tmp_path):
    sql, nxt = copy_sql(db, tmp_path)
    migs = migrations(str(sql))
    broken = "%04d_broken" % nxt
    (sql / (broken + ".up.sql")).write_text(
        "CREATE TABLE broken_one (id INT);\nTHIS IS NOT SQL;\n")
    (sql / (broken + ".down.sql")).write_text("DROP TABLE broken_one;\n")
    p = db.run("up", sql_dir=str(sql))
    assert p.returncode != 0
    assert p.stdout.splitlines() == ["applied  %04d_%s" % m for m in migs]
    assert broken + ".up.sql failed" in p.stderr
    assert [r[0] for r in db.applied()] == [v for v, _ in migs]
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
    sql, nxt = copy_sql(db, tmp_path)
    stem = "%04d_trigger" % nxt
    (sql / (stem + ".up.sql")).write_text(TRIGGER_SQL[db.name])
    (sql / (stem + ".down.sql")).write_text(
        "DROP TRIGGER tr_roles_count" +
        (" ON roles;\nDROP FUNCTION trig_count();\n"
         if db.name == "postgres" else ";\n") +
        "DROP TABLE trig_counts;\n")
    out = db.ok("up", sql_dir=str(sql))
    assert "applied  " + stem in out
    assert "to %04d (%d applied)" % (nxt, nxt) in out
    db.ok("seed", sql_dir=str(sql))
    assert db.query("SELECT n FROM trig_counts") == [(len(ROLES),)]
    db.ok("down", sql_dir=str(sql))
    assert "trig_counts" not in db.tables()
    # The connection is still in sync after draining every result.
    assert "version %04d of %04d" % (nxt - 1, nxt) in \
        db.ok("status", sql_dir=str(sql))


# Names for the word index of 0016.  MariaDB stores each word lower-cased
# and compares under its collation; PostgreSQL stores it folded (accents
# that Unicode decomposes removed, lower-cased).  Both must split alike.
WORD_NAMES = [
    "Budi Santoso", "Ségun Adébáyọ̀", "José JOSE jose", "O'Brien-Smith",
    "Budi_Wahyu", "A.B. C,D", "Budi\u2019s\u00a0Warung", "Zoë  Çakra/Ñoman",
    "-- / --", "RT05 Blok7", "Rina 100% Putri", "x" * 199 + "y",
    "Se\u0301gun Ade\u0300\u0301", "x \u0301\u0302 y",
]
WORD_SEPARATORS = re.compile(
    "[\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\xbf\xd7\xf7"
    "\u2000-\u206f\u3000-\u303f\ufeff]+")


def word_fold(w):
    import unicodedata
    d = unicodedata.normalize("NFD", w)
    return "".join(c for c in d if not 0x300 <= ord(c) <= 0x36f).lower()


def name_words(name):
    return {f for f in map(word_fold, WORD_SEPARATORS.split(name)) if f}


def test_customer_words_agree(both):
    """The word index of both dialects: filled from existing customers by
    the migration, kept by the triggers afterwards, the same words."""
    version = next(v for v, name in migrations(SQL_DIRS["mysql"])
                   if name == "search_and_dashboard")
    half = len(WORD_NAMES) // 2
    found = {}
    for d in both:
        d.ok("to", str(version - 1))
        d.query("INSERT INTO tenants (slug, name) VALUES ('w-net', 'W')")
        tid = d.query("SELECT id FROM tenants WHERE slug = 'w-net'")[0][0]
        d.query("INSERT INTO service_plans (tenant_id, name, speed_download,"
                " speed_upload, price, mikrotik_profile)"
                " VALUES (%s, 'P', 1000, 1000, 1.00, 'p')", (tid,))
        pid = d.query("SELECT id FROM service_plans")[0][0]

        def add(i, name):
            d.query("INSERT INTO customers (tenant_id, customer_code, name,"
                    " phone, address, service_plan_id, monthly_price)"
                    " VALUES (%s, %s, %s, '0811', 'A', %s, 1.00)",
                    (tid, "C-%06d" % i, name, pid))

        for i, name in enumerate(WORD_NAMES[:half]):
            add(i, name)
        d.query("UPDATE customers SET deleted_at = created_at"
                " WHERE customer_code = 'C-000001'")
        d.ok("up")  # the backfill
        for i, name in enumerate(WORD_NAMES[half:], half):
            add(i, name)  # the insert trigger
        d.query("UPDATE customers SET name = 'Ayu Ratna'"
                " WHERE customer_code = 'C-000000'")
        d.query("UPDATE customers SET deleted_at = NULL"
                " WHERE customer_code = 'C-000001'")
        d.query("UPDATE customers SET deleted_at = created_at"
                " WHERE customer_code = 'C-000002'")
        rows = d.query("SELECT c.customer_code, w.word FROM customer_words w"
                       " JOIN customers c ON c.id = w.customer_id"
                       " AND c.tenant_id = w.tenant_id")
        found[d.name] = {(code, word_fold(w)) for code, w in rows}
        assert len(rows) == len(found[d.name]), (d.name, rows)
    names = dict(enumerate(WORD_NAMES))
    names[0] = "Ayu Ratna"
    del names[2]
    want = {("C-%06d" % i, w) for i, n in names.items() for w in name_words(n)}
    assert found["mysql"] == want
    assert found["postgres"] == want


def test_ticket_counts_agree(both):
    """ticket_counts of 0016 in both dialects: filled from the tickets
    there are, then kept by the triggers."""
    version = next(v for v, name in migrations(SQL_DIRS["mysql"])
                   if name == "search_and_dashboard")
    for d in both:
        d.ok("to", str(version - 1))
        d.query("INSERT INTO tenants (slug, name) VALUES ('k-net', 'K')")
        tid = d.query("SELECT id FROM tenants WHERE slug = 'k-net'")[0][0]
        d.query("INSERT INTO service_plans (tenant_id, name, speed_download,"
                " speed_upload, price, mikrotik_profile)"
                " VALUES (%s, 'P', 1000, 1000, 1.00, 'p')", (tid,))
        pid = d.query("SELECT id FROM service_plans")[0][0]
        d.query("INSERT INTO customers (tenant_id, customer_code, name,"
                " phone, address, service_plan_id, monthly_price)"
                " VALUES (%s, 'C-1', 'N', '0811', 'A', %s, 1.00)", (tid, pid))
        cid = d.query("SELECT id FROM customers")[0][0]

        def ticket(n, status):
            d.query("INSERT INTO tickets (tenant_id, ticket_number,"
                    " customer_id, title, description, status)"
                    " VALUES (%s, %s, %s, 't', 'd', %s)",
                    (tid, "T-%d" % n, cid, status))

        ticket(1, "open")
        ticket(2, "closed")
        d.ok("up")  # the backfill
        ticket(3, "open")
        ticket(4, "resolved")
        d.query("UPDATE tickets SET status = 'in_progress'"
                " WHERE ticket_number = 'T-1'")
        d.query("UPDATE tickets SET title = 'x' WHERE ticket_number = 'T-3'")
        d.query("DELETE FROM tickets WHERE ticket_number = 'T-2'")
        assert d.query("SELECT n_open, n_in_progress, n_resolved, n_closed"
                       " FROM ticket_counts WHERE tenant_id = %s",
                       (tid,)) == [(1, 1, 1, 0)], d.name
