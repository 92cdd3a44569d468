"""Payments (API.md "Payments", requirement 5)."""
import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from test_customers import create as create_customer


def pay(client, **kw):
    r = client.post("/payments", kw)
    assert r.status_code == 201, r.text
    return r.json()["data"]


def today_in(tz="Asia/Jakarta"):
    return datetime.datetime.now(ZoneInfo(tz)).date()


def test_create_pending_with_due_date(tenant, mysql):
    c = create_customer(tenant.operator, billing_day=28)
    p = pay(tenant.operator, customer_id=c["id"], amount=150000.5, period="2026-02",
            method="transfer", reference="BCA-123")
    assert p["status"] == "pending" and p["payment_date"] is None
    assert p["due_date"] == "2026-02-28" and p["period"] == "2026-02"
    assert p["amount"] == 150000.5 and p["source"] == "manual"
    with mysql.cursor() as cur:
        cur.execute("SELECT amount, due_date, tenant_id FROM payments WHERE id=%s", (p["id"],))
        assert cur.fetchone() == (Decimal("150000.50"), datetime.date(2026, 2, 28), tenant.id)
        cur.execute("SELECT action FROM audit_logs WHERE entity_type='payment'"
                    " AND entity_id=%s", (p["id"],))
        assert cur.fetchone()[0] == "create"


@pytest.mark.parametrize("day,period,due", [
    (28, "2026-02", "2026-02-28"),   # 28-day February
    (28, "2028-02", "2028-02-28"),   # 29-day February
    (28, "2026-04", "2026-04-28"),   # 30-day month
    (28, "2026-01", "2026-01-28"),   # 31-day month
    (1, "2026-12", "2026-12-01"),
    (28, "2026-12", "2026-12-28"),   # year end
    (1, "2027-01", "2027-01-01"),    # new year
    (15, "2026-06", "2026-06-15"),
])
def test_due_dates(tenant, day, period, due):
    c = create_customer(tenant.operator, billing_day=day)
    p = pay(tenant.operator, customer_id=c["id"], amount=1, period=period)
    assert p["due_date"] == due


def test_default_period_is_current_month(tenant):
    c = create_customer(tenant.operator, billing_day=5)
    p = pay(tenant.operator, customer_id=c["id"], amount=100)
    t = today_in()
    assert p["period"] == t.strftime("%Y-%m")
    assert p["due_date"] == t.replace(day=5).isoformat()


def test_create_with_payment_date_is_paid(tenant):
    c = create_customer(tenant.operator)
    p = pay(tenant.operator, customer_id=c["id"], amount="1" and 99000,
            payment_date="2026-03-02", period="2026-03")
    assert p["status"] == "paid" and p["payment_date"] == "2026-03-02"


@pytest.mark.parametrize("kw,field", [
    ({"amount": 0}, "amount"), ({"amount": -5}, "amount"), ({"amount": "100"}, "amount"),
    ({"amount": 1.005}, "amount"), ({"period": "2026-13"}, "period"),
    ({"period": "202601"}, "period"), ({"payment_date": "2026-02-30"}, "payment_date"),
    ({"status": "paid"}, "status"), ({"due_date": "2026-01-01"}, "due_date"),
])
def test_validation(tenant, kw, field):
    c = create_customer(tenant.operator)
    b = {"customer_id": c["id"], "amount": 1000}
    b.update(kw)
    r = tenant.operator.post("/payments", b)
    assert r.status_code == 422, r.text
    assert field in [d["field"] for d in r.json()["error"]["details"]]


def test_customer_must_exist(tenant):
    r = tenant.operator.post("/payments", {"customer_id": 987654321, "amount": 1})
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "customer_id"
    r = tenant.operator.post("/payments", {"amount": 1})
    assert r.status_code == 422


def test_mark_paid_records_date(tenant, mysql):
    c = create_customer(tenant.operator)
    p = pay(tenant.operator, customer_id=c["id"], amount=150000, period="2026-01")
    r = tenant.operator.patch(f"/payments/{p['id']}", {"status": "paid"})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["status"] == "paid"
    assert r.json()["data"]["payment_date"] == today_in().isoformat()
    p2 = pay(tenant.operator, customer_id=c["id"], amount=150000, period="2026-02")
    r = tenant.operator.patch(f"/payments/{p2['id']}",
                              {"status": "paid", "payment_date": "2026-02-03",
                               "method": "cash"})
    assert r.json()["data"]["payment_date"] == "2026-02-03"
    assert r.json()["data"]["method"] == "cash"
    # A payment date alone means paid.
    p3 = pay(tenant.operator, customer_id=c["id"], amount=150000, period="2026-03")
    r = tenant.operator.patch(f"/payments/{p3['id']}", {"payment_date": "2026-03-04"})
    assert r.json()["data"]["status"] == "paid"
    with mysql.cursor() as cur:
        cur.execute("SELECT status, payment_date FROM payments WHERE id=%s", (p2["id"],))
        assert cur.fetchone() == ("paid", datetime.date(2026, 2, 3))
        cur.execute("SELECT COUNT(*) FROM audit_logs WHERE entity_type='payment'"
                    " AND entity_id=%s AND action='update'", (p["id"],))
        assert cur.fetchone()[0] == 1


def test_transitions(tenant):
    c = create_customer(tenant.operator)
    p = pay(tenant.operator, customer_id=c["id"], amount=1000, payment_date="2026-01-05")
    r = tenant.operator.patch(f"/payments/{p['id']}", {"status": "pending"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_transition"
    r = tenant.operator.patch(f"/payments/{p['id']}", {"status": "cancelled"})
    assert r.status_code == 200
    r = tenant.operator.patch(f"/payments/{p['id']}", {"status": "paid"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_transition"
    q = pay(tenant.operator, customer_id=c["id"], amount=1000)
    r = tenant.operator.patch(f"/payments/{q['id']}", {"status": "overdue",
                                                      "payment_date": "2026-01-01"})
    assert r.status_code == 422
    r = tenant.operator.patch(f"/payments/{q['id']}", {"amount": 2000.25, "notes": "koreksi"})
    assert r.status_code == 200 and r.json()["data"]["amount"] == 2000.25
    assert tenant.operator.patch(f"/payments/{q['id']}", {"status": "lost"}).status_code == 422
    assert tenant.operator.patch(f"/payments/{q['id']}", {"period": "2026-01"}).status_code == 422


def test_filters(tenant):
    op = tenant.operator
    a = create_customer(op, billing_day=10)
    b = create_customer(op, billing_day=20)
    p1 = pay(op, customer_id=a["id"], amount=100, period="2026-01")          # due 01-10
    p2 = pay(op, customer_id=a["id"], amount=200, period="2026-02",
             payment_date="2026-02-25")                                       # due 02-10
    p3 = pay(op, customer_id=b["id"], amount=300, period="2026-02")          # due 02-20
    p4 = pay(op, customer_id=b["id"], amount=400, period="2026-03",
             payment_date="2026-03-01")                                       # due 03-20
    op.patch(f"/payments/{p3['id']}", {"status": "overdue"})

    def ids(**params):
        r = tenant.viewer.get("/payments", params=params)
        assert r.status_code == 200, r.text
        assert r.json()["meta"]["total"] == len(r.json()["data"])
        return sorted(x["id"] for x in r.json()["data"])

    assert ids() == sorted([p1["id"], p2["id"], p3["id"], p4["id"]])
    assert ids(customer_id=a["id"]) == sorted([p1["id"], p2["id"]])
    assert ids(status="paid") == sorted([p2["id"], p4["id"]])
    assert ids(status="overdue") == [p3["id"]]
    assert ids(status="pending") == [p1["id"]]
    assert ids(customer_id=b["id"], status="paid") == [p4["id"]]
    assert ids(**{"from": "2026-02-01", "to": "2026-02-28"}) == sorted([p2["id"], p3["id"]])
    assert ids(**{"from": "2026-02-15"}) == sorted([p3["id"], p4["id"]])
    assert ids(to="2026-01-10") == [p1["id"]]
    assert ids(date_field="payment_date", **{"from": "2026-02-01", "to": "2026-02-28"}) == [p2["id"]]
    assert ids(date_field="payment_date", **{"from": "2026-01-01"}) == sorted([p2["id"], p4["id"]])
    r = tenant.viewer.get("/payments?sort=amount")
    assert [x["amount"] for x in r.json()["data"]] == [100, 200, 300, 400]
    r = tenant.viewer.get("/payments?per_page=3&page=2&sort=-amount")
    assert [x["amount"] for x in r.json()["data"]] == [100]
    assert r.json()["meta"]["total_pages"] == 2
    for bad in ("status=x", "from=2026-1-1", "date_field=created_at", "customer_id=x",
                "per_page=101", "sort=foo"):
        assert tenant.viewer.get("/payments?" + bad).status_code == 422, bad


def test_roles(tenant):
    c = create_customer(tenant.operator)
    p = pay(tenant.operator, customer_id=c["id"], amount=1)
    for role in ("viewer", "technician"):
        cl = getattr(tenant, role)
        assert cl.get("/payments").status_code == 200
        assert cl.get(f"/payments/{p['id']}").status_code == 200
        assert cl.post("/payments", {"customer_id": c["id"], "amount": 1}).status_code == 403
        assert cl.patch(f"/payments/{p['id']}", {"status": "paid"}).status_code == 403
    assert tenant.admin.patch(f"/payments/{p['id']}", {"status": "paid"}).status_code == 200
    assert tenant.admin.delete(f"/payments/{p['id']}").status_code == 405


def test_cross_tenant(tenant, tenant_b, mysql):
    c = create_customer(tenant.operator)
    p = pay(tenant.operator, customer_id=c["id"], amount=5000)
    b = tenant_b.admin
    assert b.get(f"/payments/{p['id']}").status_code == 404
    assert b.patch(f"/payments/{p['id']}", {"status": "paid"}).status_code == 404
    assert b.get("/payments").json()["meta"]["total"] == 0
    assert b.get(f"/payments?customer_id={c['id']}").json()["data"] == []
    with mysql.cursor() as cur:
        cur.execute("SELECT status, payment_date FROM payments WHERE id=%s", (p["id"],))
        assert cur.fetchone() == ("pending", None)
