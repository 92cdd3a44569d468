"""rtrw-billing's events (issue 10): every invoice the invoices job creates
is a payment:created event, every payment the overdue job changes a
payment:updated one, written in the job's transaction, exactly once per
payment however often and however concurrently the job runs, and
delivered over the WebSocket like the API's own."""
import json
import threading
import time

from test_billing_jobs import active_customers, billing, overdue, summary
from test_events import conforms, connect, recv_events, silent


def payment_events(mysql, tenant_id, name):
    with mysql.cursor() as cur:
        cur.execute("SELECT entity_type, entity_id, data FROM events"
                    " WHERE tenant_id = %s AND name = %s ORDER BY id",
                    (tenant_id, name))
        return [(t, i, json.loads(d)) for t, i, d in cur.fetchall()]


def payments(mysql, tenant_id):
    with mysql.cursor() as cur:
        cur.execute("SELECT id, customer_id, amount, status, period, due_date"
                    " FROM payments WHERE tenant_id = %s ORDER BY id",
                    (tenant_id,))
        return cur.fetchall()


def test_invoices_emit_one_payment_created_each(tenant, tenant_b, mysql):
    cs = active_customers(tenant, 3, billing_day=12)
    active_customers(tenant_b, 1)
    r = billing("invoices", "--tenant", str(tenant.id), "--period", "2026-05")
    assert summary(r)["created"] == "3"
    rows = payments(mysql, tenant.id)
    evs = payment_events(mysql, tenant.id, "payment:created")
    assert [(t, i) for t, i, _ in evs] == [("payment", p[0]) for p in rows]
    assert sorted(p[1] for p in rows) == sorted(c["id"] for c in cs)
    for (_, pid, data), p in zip(evs, rows):
        assert (data["id"], data["customer_id"], data["status"], data["period"],
                data["due_date"], data["source"]) == \
            (p[0], p[1], "pending", "2026-05", "2026-05-12", "invoice")
        assert data["amount"] == 150000 and data["created_at"].endswith("Z")
    # Again: nothing new, no event.
    assert summary(billing("invoices", "--tenant", str(tenant.id),
                           "--period", "2026-05"))["created"] == "0"
    assert len(payment_events(mysql, tenant.id, "payment:created")) == 3
    # The other tenant was not part of the run.
    assert payment_events(mysql, tenant_b.id, "payment:created") == []


def test_concurrent_invoice_runs_emit_each_invoice_once(tenant, mysql):
    active_customers(tenant, 12)
    results = []

    def run():
        results.append(billing("invoices", "--tenant", str(tenant.id),
                               "--period", "2026-06"))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(int(summary(r)["created"]) for r in results) == 12, \
        [r.stdout for r in results]
    ids = [p[0] for p in payments(mysql, tenant.id)]
    evs = payment_events(mysql, tenant.id, "payment:created")
    assert len(ids) == 12 and sorted(i for _, i, _ in evs) == ids


def test_overdue_emits_payment_updated(tenant, mysql):
    cs = active_customers(tenant, 2, billing_day=10)
    billing("invoices", "--tenant", str(tenant.id), "--period", "2026-03")
    paid = tenant.operator.post("/payments", {
        "customer_id": cs[0]["id"], "amount": 1000, "period": "2026-03",
        "payment_date": "2026-03-01"}).json()["data"]
    ws = connect(tenant.viewer.token)
    try:
        time.sleep(0.3)
        assert overdue(tenant, "2026-03-20T00:00:00Z")["overdue"] == "2"
        got = [conforms(m) for m in recv_events(ws, 2)]
        silent(ws, 0.5)
    finally:
        ws.close()
    invoices = [p for p in payments(mysql, tenant.id) if p[0] != paid["id"]]
    evs = payment_events(mysql, tenant.id, "payment:updated")
    assert [i for _, i, _ in evs] == [p[0] for p in invoices]
    assert all(d["status"] == "overdue" and d["due_date"] == "2026-03-10"
               for _, _, d in evs)
    assert [(m["event"], m["data"]["id"], m["data"]["status"]) for m in got] == \
        [("payment:updated", p[0], "overdue") for p in invoices]
    # Nothing more to change, nothing more to say.
    assert overdue(tenant, "2026-03-21T00:00:00Z")["overdue"] == "0"
    assert len(payment_events(mysql, tenant.id, "payment:updated")) == 2
