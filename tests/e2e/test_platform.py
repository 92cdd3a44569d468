"""Platform administration, and that deleting a tenant removes every row
it owns in every table (found by walking information_schema, so tables
added later are covered too) and nothing of any other tenant."""
from support import Client, make_tenant


def tenant_tables(db):
    cur = db.cursor()
    cur.execute("SELECT table_name FROM information_schema.columns"
                " WHERE table_schema = DATABASE() AND column_name = 'tenant_id'")
    return sorted(r[0] for r in cur.fetchall())


def counts(db, tenant_id):
    cur = db.cursor()
    out = {}
    for t in tenant_tables(db):
        cur.execute(f"SELECT COUNT(*) FROM `{t}` WHERE tenant_id = %s", (tenant_id,))
        out[t] = cur.fetchone()[0]
    return out


def test_list_and_get(platform, tenant):
    r = platform.get("/platform/tenants?per_page=100")
    assert r.status_code == 200
    assert r.json()["meta"]["total"] >= 1
    r = platform.get(f"/platform/tenants/{tenant.id}")
    assert r.status_code == 200
    assert r.json()["data"]["slug"] == tenant.slug and r.json()["data"]["users"] == 4
    assert platform.get("/platform/tenants/999999999").status_code == 404


def test_every_tenant_table_cascades_from_tenants(mysql):
    cur = mysql.cursor()
    cur.execute("""
        SELECT c.table_name FROM information_schema.columns c
        WHERE c.table_schema = DATABASE() AND c.column_name = 'tenant_id'
          AND NOT EXISTS (
            SELECT 1 FROM information_schema.key_column_usage k
            JOIN information_schema.referential_constraints r
              ON r.constraint_schema = k.constraint_schema
             AND r.constraint_name = k.constraint_name
            WHERE k.table_schema = c.table_schema AND k.table_name = c.table_name
              AND k.column_name = 'tenant_id' AND k.referenced_table_name = 'tenants'
              AND r.delete_rule = 'CASCADE')""")
    without = {r[0] for r in cur.fetchall()}
    # The exception: the partitioned usage tables, on which MariaDB allows
    # no foreign key.  A deleted tenant's rows there go with the purge of
    # rtrw-monitor usage (test_usage.py, test_migrations.py check it).
    cur.execute("SELECT DISTINCT table_name FROM information_schema.partitions"
                " WHERE table_schema = DATABASE()"
                " AND partition_method IS NOT NULL")
    partitioned = {r[0] for r in cur.fetchall()}
    assert partitioned == {"usage_raw", "usage_5m", "usage_hourly",
                           "usage_daily"}
    assert without == partitioned
    # No reference between tenant tables may block a cascade.
    cur.execute("""
        SELECT r.table_name, r.constraint_name, r.delete_rule
        FROM information_schema.referential_constraints r
        WHERE r.constraint_schema = DATABASE()
          AND r.delete_rule NOT IN ('CASCADE', 'SET NULL')
          AND (r.referenced_table_name = 'tenants' OR r.referenced_table_name IN (
                SELECT table_name FROM information_schema.columns
                WHERE table_schema = DATABASE() AND column_name = 'tenant_id'))""")
    assert cur.fetchall() == ()


def test_delete_tenant_removes_all_its_rows_and_nothing_else(platform, mysql):
    victim = make_tenant()
    other = make_tenant()
    # Give the victim rows in as many tables as the API can reach.
    victim.admin.patch("/tenant", {"name": "Victim"})
    Client().post("/auth/login", {"tenant": victim.slug, "email": "x@y.id",
                                   "password": "wrong-password"})
    before_victim = counts(mysql, victim.id)
    before_other = counts(mysql, other.id)
    assert sum(before_victim.values()) > 10
    cur = mysql.cursor()
    cur.execute("SELECT COUNT(*) FROM audit_logs WHERE tenant_id <> %s", (victim.id,))
    others_audit = cur.fetchone()[0]

    r = platform.delete(f"/platform/tenants/{victim.id}")
    assert r.status_code == 204, r.text
    after = counts(mysql, victim.id)
    assert all(v == 0 for v in after.values()), after
    cur.execute("SELECT COUNT(*) FROM tenants WHERE id=%s", (victim.id,))
    assert cur.fetchone()[0] == 0
    assert counts(mysql, other.id) == before_other
    cur.execute("SELECT COUNT(*) FROM audit_logs WHERE tenant_id <> %s", (victim.id,))
    assert cur.fetchone()[0] == others_audit
    assert victim.admin.get("/auth/me").status_code == 401
    assert other.admin.get("/auth/me").status_code == 200
    assert platform.delete(f"/platform/tenants/{victim.id}").status_code == 404
