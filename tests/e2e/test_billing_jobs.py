"""rtrw-billing invoices|overdue (requirement 5.6)."""
import os
import pathlib
import subprocess
import threading

from test_customers import create as create_customer


def billing(*args, check=True):
    binary = pathlib.Path(os.environ["RTRW_BIN"]) / "rtrw-billing"
    r = subprocess.run([str(binary), *args], capture_output=True, text=True,
                       env=dict(os.environ), timeout=120)
    if check:
        assert r.returncode == 0, r.stdout + r.stderr
    return r


def summary(r):
    line = r.stdout.strip().splitlines()[-1]
    return dict(kv.split("=") for kv in line.split()[2:])


def active_customers(tenant, n, **kw):
    out = []
    for i in range(n):
        c = create_customer(tenant.operator, phone=f"0856{i:08d}", **kw)
        assert tenant.operator.post(f"/customers/{c['id']}/activate").status_code == 200
        out.append(c)
    return out


def test_invoices_idempotent(tenant, mysql):
    cs = active_customers(tenant, 3, billing_day=28)
    create_customer(tenant.operator)                      # pending: no invoice
    s = create_customer(tenant.operator, monthly_price=99000)
    tenant.operator.post(f"/customers/{s['id']}/activate")
    tenant.operator.post(f"/customers/{s['id']}/suspend")  # suspended: none
    d = active_customers(tenant, 1)[0]
    tenant.admin.delete(f"/customers/{d['id']}")            # deleted: none
    r = billing("invoices", "--tenant", str(tenant.id), "--period", "2026-02")
    assert r.stdout.startswith("rtrw-billing invoices:")
    assert summary(r)["created"] == "3" and summary(r)["failed"] == "0"
    r = billing("invoices", "--tenant", str(tenant.id), "--period", "2026-02")
    assert summary(r)["created"] == "0"
    with mysql.cursor() as cur:
        cur.execute("SELECT customer_id, amount, status, due_date, source FROM payments"
                    " WHERE tenant_id=%s ORDER BY customer_id", (tenant.id,))
        rows = cur.fetchall()
    assert [(r_[0], str(r_[1]), r_[2], str(r_[3]), r_[4]) for r_ in rows] == [
        (c["id"], "150000.00", "pending", "2026-02-28", "invoice") for c in cs]
    # A manual payment for the same period does not block the invoice.
    r = billing("invoices", "--tenant", str(tenant.id), "--period", "2026-03")
    assert summary(r)["created"] == "3"
    v = tenant.viewer.get("/payments?status=pending&per_page=100").json()
    assert v["meta"]["total"] == 6
    with mysql.cursor() as cur:
        cur.execute("SELECT new_values FROM audit_logs WHERE tenant_id=%s AND"
                    " entity_type='payment' AND action='create' ORDER BY id", (tenant.id,))
        vals = [x for (x,) in cur.fetchall()]
    assert len(vals) == 2 and '"created":3' in vals[0].replace(" ", "")


def test_invoices_concurrent_runs(tenant, mysql):
    pid = tenant.operator.get("/service-plans").json()["data"][0]["id"]
    with mysql.cursor() as cur:
        cur.executemany(
            "INSERT INTO customers (tenant_id, customer_code, name, phone, address,"
            " service_plan_id, monthly_price, status, billing_day)"
            " VALUES (%s,%s,%s,%s,%s,%s,%s,'active',%s)",
            [(tenant.id, f"C-8{i:05d}", f"Warga {i}", f"0857{i:08d}", "RW 2", pid,
              "150000.00", i % 28 + 1) for i in range(2000)])
    results = []

    def run():
        results.append(billing("invoices", "--tenant", str(tenant.id), "--period", "2026-05"))

    ts = [threading.Thread(target=run) for _ in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert sum(int(summary(r)["created"]) for r in results) == 2000
    with mysql.cursor() as cur:
        cur.execute("SELECT COUNT(*), COUNT(DISTINCT customer_id) FROM payments"
                    " WHERE tenant_id=%s AND period='2026-05'", (tenant.id,))
        assert cur.fetchone() == (2000, 2000)
        cur.execute("SELECT COUNT(*) FROM payments WHERE tenant_id=%s AND period='2026-05'"
                    " AND DAY(due_date) = 28", (tenant.id,))
        assert cur.fetchone()[0] == 2000 // 28 + (1 if 2000 % 28 >= 28 else 0)


def overdue(tenant, now):
    return summary(billing("overdue", "--tenant", str(tenant.id), "--now", now))


def test_overdue_in_tenant_timezone(tenant, tenant_b, mysql):
    # Asia/Jakarta is UTC+7: 2026-03-10 ends at 2026-03-10T17:00:00Z.
    assert tenant.admin.patch("/tenant", {"timezone": "Asia/Jakarta"}).status_code == 200
    c = create_customer(tenant.operator, billing_day=10, email="warga@example.id")
    p = tenant.operator.post("/payments", {"customer_id": c["id"], "amount": 150000,
                                           "period": "2026-03"}).json()["data"]
    paid = tenant.operator.post("/payments", {"customer_id": c["id"], "amount": 150000,
                                              "period": "2026-03",
                                              "payment_date": "2026-03-01"}).json()["data"]
    assert p["due_date"] == "2026-03-10"
    assert overdue(tenant, "2026-03-10T16:59:59Z")["overdue"] == "0"
    assert tenant.viewer.get(f"/payments/{p['id']}").json()["data"]["status"] == "pending"
    assert overdue(tenant, "2026-03-10T17:00:00Z")["overdue"] == "1"
    assert tenant.viewer.get(f"/payments/{p['id']}").json()["data"]["status"] == "overdue"
    assert tenant.viewer.get(f"/payments/{paid['id']}").json()["data"]["status"] == "paid"
    assert overdue(tenant, "2026-04-30T00:00:00Z")["overdue"] == "0"
    with mysql.cursor() as cur:
        cur.execute("SELECT action, old_values, new_values, user_id FROM audit_logs"
                    " WHERE entity_type='payment' AND entity_id=%s AND action='update'",
                    (p["id"],))
        rows = cur.fetchall()
        assert len(rows) == 1 and "overdue" in rows[0][2] and rows[0][3] is None
        # Queued exactly once; the stack's mailer service may already
        # have taken or sent it (tests/e2e/test_mailer.py covers that).
        cur.execute("SELECT template_key, recipient_email, dedupe_key,"
                    " status IN ('queued', 'sending', 'sent')"
                    " FROM notifications WHERE tenant_id=%s", (tenant.id,))
        assert cur.fetchall() == (("payment_overdue", "warga@example.id",
                                   f"payment_overdue:{p['id']}", 1),)

    # America/New_York (UTC-4 in March after DST): still 03-10 at 03:59Z on 03-11.
    assert tenant_b.admin.patch("/tenant", {"timezone": "America/New_York"}).status_code == 200
    cb = create_customer(tenant_b.operator, billing_day=10)  # no email: admins notified
    pb = tenant_b.operator.post("/payments", {"customer_id": cb["id"], "amount": 1,
                                              "period": "2026-03"}).json()["data"]
    assert overdue(tenant_b, "2026-03-11T03:59:59Z")["overdue"] == "0"
    assert overdue(tenant_b, "2026-03-11T04:00:00Z")["overdue"] == "1"
    with mysql.cursor() as cur:
        cur.execute("SELECT recipient_user_id, dedupe_key FROM notifications"
                    " WHERE tenant_id=%s", (tenant_b.id,))
        assert cur.fetchall() == ((tenant_b.admin.user["id"],
                                   f"payment_overdue:{pb['id']}:{tenant_b.admin.user['id']}"),)


def test_overdue_concurrent_runs(tenant, mysql):
    c = create_customer(tenant.operator, billing_day=1)
    with mysql.cursor() as cur:
        cur.executemany(
            "INSERT INTO payments (tenant_id, customer_id, amount, status, period, due_date)"
            " VALUES (%s,%s,'1000.00','pending',%s,%s)",
            [(tenant.id, c["id"], "2026-01", "2026-01-01")] * 1300)
    results = []

    def run():
        results.append(overdue(tenant, "2026-02-01T00:00:00Z"))

    ts = [threading.Thread(target=run) for _ in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert sum(int(r["overdue"]) for r in results) == 1300
    with mysql.cursor() as cur:
        cur.execute("SELECT status, COUNT(*) FROM payments WHERE tenant_id=%s GROUP BY status",
                    (tenant.id,))
        assert cur.fetchall() == (("overdue", 1300),)
        cur.execute("SELECT COUNT(*) FROM audit_logs WHERE tenant_id=%s AND"
                    " entity_type='payment' AND action='update'", (tenant.id,))
        assert cur.fetchone()[0] == 1300
        cur.execute("SELECT COUNT(*) FROM notifications WHERE tenant_id=%s", (tenant.id,))
        assert cur.fetchone()[0] == 1300


def test_bad_usage_exits_non_zero():
    assert billing("bogus", check=False).returncode == 2
    assert billing("invoices", "--period", "2026-13", check=False).returncode == 2
    assert billing("overdue", "--now", "yesterday", check=False).returncode == 2


def test_failure_exits_non_zero(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text(pathlib.Path(os.environ["RTRW_CONFIG"]).read_text()
                    + "\ndb_name = rtrw_does_not_exist\n")
    binary = pathlib.Path(os.environ["RTRW_BIN"]) / "rtrw-billing"
    r = subprocess.run([str(binary), "--config", str(conf), "invoices"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
