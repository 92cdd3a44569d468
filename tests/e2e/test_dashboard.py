"""GET /dashboard/stats (API.md "Dashboard", requirement 11)."""
import datetime
import os
import subprocess
import time
from zoneinfo import ZoneInfo

from support import memcache_delete
from test_customers import create as create_customer


def month_start(d, delta=0):
    y, m = d.year, d.month + delta
    while m < 1:
        y, m = y - 1, m + 12
    while m > 12:
        y, m = y + 1, m - 12
    return datetime.date(y, m, 1)


def fixtures(tenant, mysql):
    """Hand-computed: see the expectations in test_numbers."""
    op = tenant.operator
    today = datetime.datetime.now(ZoneInfo("Asia/Jakarta")).date()
    cur, prev, older = month_start(today), month_start(today, -1), month_start(today, -2)
    cs = [create_customer(op, phone=f"0877{i:08d}") for i in range(7)]
    for c in cs[:4]:
        op.post(f"/customers/{c['id']}/activate")
    op.post(f"/customers/{cs[3]['id']}/suspend")
    op.post(f"/customers/{cs[4]['id']}/terminate")
    tenant.admin.delete(f"/customers/{cs[6]['id']}")  # not counted
    # customers: total 6 = pending 1 (cs5), active 3, suspended 1, terminated 1.

    def paid(amount, date):
        r = op.post("/payments", {"customer_id": cs[0]["id"], "amount": amount,
                                  "payment_date": date.isoformat()})
        assert r.status_code == 201, r.text

    paid(300000, cur)
    paid(150000.50, cur)
    paid(250000, prev)
    paid(150000, prev)
    paid(999999, older)                              # two months ago: ignored
    r = op.post("/payments", {"customer_id": cs[1]["id"], "amount": 77777})
    assert r.status_code == 201                      # pending: ignored
    # current 450000.50, previous 400000.00, growth 12.500125% -> 12.50.
    with mysql.cursor() as c:
        c.executemany(
            "INSERT INTO tickets (tenant_id, ticket_number, customer_id, title,"
            " description, status) VALUES (%s, %s, %s, 't', 'd', %s)",
            [(tenant.id, f"T-X-{i}", cs[0]["id"], s) for i, s in
             enumerate(["open", "open", "in_progress", "resolved", "closed", "closed",
                        "closed"])])
    return cs


def test_numbers(tenant, mysql):
    fixtures(tenant, mysql)
    r = tenant.viewer.get("/dashboard/stats")
    assert r.status_code == 200, r.text
    assert r.headers["X-Cache"] == "MISS"
    d = r.json()["data"]
    assert d["customers"] == {"total": 6, "pending": 1, "active": 3,
                              "suspended": 1, "terminated": 1}
    assert d["revenue"] == {"current_month": 450000.5, "previous_month": 400000,
                            "growth_percent": 12.5}
    assert '"current_month":450000.50' in r.text and '"growth_percent":12.50' in r.text
    assert d["tickets"] == {"total": 7, "open": 2, "in_progress": 1,
                            "resolved": 1, "closed": 3}
    assert d["bandwidth"] == {"capacity_kbps": 0, "used_kbps": 0, "usage_percent": 0}
    assert d["generated_at"].endswith("Z")


def test_ticket_counts_follow_the_tickets(tenant, mysql):
    """ticket_counts (0016), which the dashboard reads, follows tickets
    created and moved through the API and changed or deleted in SQL."""
    op, tech = tenant.operator, tenant.technician
    c = create_customer(op)

    def counts():
        with mysql.cursor() as cur:
            cur.execute("SELECT n_open, n_in_progress, n_resolved, n_closed"
                        " FROM ticket_counts WHERE tenant_id = %s",
                        (tenant.id,))
            row = cur.fetchone()
        memcache_delete(f"rtrw:dashboard:{tenant.id}")
        r = tenant.viewer.get("/dashboard/stats")
        assert r.headers["X-Cache"] == "MISS"
        d = r.json()["data"]["tickets"]
        assert d == {"total": sum(row), "open": row[0],
                     "in_progress": row[1], "resolved": row[2],
                     "closed": row[3]}
        return row

    ids = []
    for i in range(3):
        r = tech.post("/tickets", {"customer_id": c["id"], "title": f"t{i}",
                                   "description": "d"})
        assert r.status_code == 201, r.text
        ids.append(r.json()["data"]["id"])
    with mysql.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM tickets WHERE tenant_id = %s"
                    " AND status = 'open'", (tenant.id,))
        assert cur.fetchone()[0] == 3
    assert counts() == (3, 0, 0, 0)
    for status in ("in_progress", "resolved"):
        r = tech.patch(f"/tickets/{ids[0]}", {"status": status})
        assert r.status_code == 200, r.text
    assert counts() == (2, 0, 1, 0)
    # A move that keeps the status changes nothing; a delete subtracts.
    with mysql.cursor() as cur:
        cur.execute("UPDATE tickets SET title = 'x' WHERE id = %s", (ids[1],))
        cur.execute("UPDATE tickets SET status = 'closed' WHERE id = %s",
                    (ids[2],))
    assert counts() == (1, 0, 1, 1)
    with mysql.cursor() as cur:
        cur.execute("DELETE FROM tickets WHERE id = %s", (ids[1],))
    assert counts() == (0, 0, 1, 1)


def test_empty_tenant(tenant):
    d = tenant.viewer.get("/dashboard/stats").json()["data"]
    assert d["customers"]["total"] == 0
    assert d["revenue"] == {"current_month": 0, "previous_month": 0, "growth_percent": None}
    assert d["tickets"] == {"total": 0, "open": 0, "in_progress": 0, "resolved": 0,
                            "closed": 0}


def test_negative_growth(tenant):
    op = tenant.operator
    today = datetime.datetime.now(ZoneInfo("Asia/Jakarta")).date()
    c = create_customer(op)
    for amount, date in ((100000, month_start(today)), (300000, month_start(today, -1))):
        op.post("/payments", {"customer_id": c["id"], "amount": amount,
                              "payment_date": date.isoformat()})
    d = tenant.viewer.get("/dashboard/stats").json()["data"]
    assert d["revenue"]["growth_percent"] == -66.67


def test_cache_hit_and_expiry(tenant, reconfigure):
    c = create_customer(tenant.operator)
    r1 = tenant.viewer.get("/dashboard/stats")
    assert r1.headers["X-Cache"] == "MISS"
    assert tenant.operator.post(f"/customers/{c['id']}/activate").status_code == 200
    r2 = tenant.admin.get("/dashboard/stats")
    assert r2.headers["X-Cache"] == "HIT"
    assert r2.json() == r1.json()          # cached per tenant, not per user
    assert r2.json()["data"]["customers"]["pending"] == 1


def test_cache_expiry_recomputes(tenant, reconfigure):
    c = create_customer(tenant.operator)
    # memcached expires in whole seconds, anywhere within the last one:
    # 3 s leaves room for the HIT and is surely gone after 4.1 s.
    with reconfigure(dashboard_cache_seconds=3):
        r1 = tenant.viewer.get("/dashboard/stats")
        assert r1.headers["X-Cache"] == "MISS"
        assert r1.json()["data"]["customers"]["pending"] == 1
        assert tenant.operator.post(f"/customers/{c['id']}/activate").status_code == 200
        r2 = tenant.viewer.get("/dashboard/stats")
        assert r2.headers["X-Cache"] == "HIT"
        assert r2.json()["data"]["customers"]["pending"] == 1
        time.sleep(4.1)
        r3 = tenant.viewer.get("/dashboard/stats")
        assert r3.headers["X-Cache"] == "MISS"
        assert r3.json()["data"]["customers"]["active"] == 1
        assert r3.json()["data"]["customers"]["pending"] == 0


def test_cache_is_per_tenant(tenant, tenant_b):
    create_customer(tenant.operator)
    assert tenant.viewer.get("/dashboard/stats").json()["data"]["customers"]["total"] == 1
    r = tenant_b.viewer.get("/dashboard/stats")
    assert r.headers["X-Cache"] == "MISS"
    assert r.json()["data"]["customers"]["total"] == 0


def stack(cmd):
    subprocess.run([os.environ.get("STACK_SH", "tools/stack.sh"), cmd,
                    os.environ["STACK_DIR"]], check=True, capture_output=True, timeout=60)


def test_works_without_memcached(tenant):
    create_customer(tenant.operator)
    stack("stop-memcached")
    try:
        for _ in range(2):
            r = tenant.viewer.get("/dashboard/stats")
            assert r.status_code == 200, r.text
            assert r.headers["X-Cache"] == "MISS"
            assert r.json()["data"]["customers"]["total"] == 1
    finally:
        stack("start-memcached")
    deadline = time.time() + 10
    while time.time() < deadline:
        if tenant.viewer.get("/dashboard/stats").headers["X-Cache"] == "HIT":
            break
        time.sleep(0.5)
    else:
        raise AssertionError("the cache did not come back")


def test_roles_and_auth(tenant, anon):
    for role in ("viewer", "technician", "operator", "admin"):
        assert getattr(tenant, role).get("/dashboard/stats").status_code == 200
    assert anon.get("/dashboard/stats").status_code == 401
    assert tenant.admin.post("/dashboard/stats").status_code == 405
