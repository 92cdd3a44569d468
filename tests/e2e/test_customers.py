"""Customers (API.md "Customers", requirement 3)."""
import json
import re
import threading
from decimal import Decimal

import pytest

from rtsupport import stack_router
from test_service_plans import make_plan


def plan_id(client, name="Paket 10 Mbps"):
    plans = client.get("/service-plans").json()["data"]
    return next(p["id"] for p in plans if p["name"] == name)


def body(client, **kw):
    b = {"name": "Budi Santoso", "phone": "081234567890",
         "address": "Jl. Melati 1, RT 03/RW 05", "service_plan_id": plan_id(client)}
    b.update(kw)
    return b


def create(client, **kw):
    r = client.post("/customers", body(client, **kw))
    assert r.status_code == 201, r.text
    return r.json()["data"]


def router(client):
    """A router of the client's tenant (the stack's simulated one)."""
    return stack_router(client)["id"]


def pppoe(tenant, name):
    """PPPoE fields unique on the shared simulated router."""
    return {"pppoe_username": f"{name}-{tenant.slug}", "pppoe_password": "pw-12345"}


def jobs(mysql, cid):
    with mysql.cursor() as c:
        c.execute("SELECT action, status, router_id, payload FROM provisioning_jobs"
                  " WHERE customer_id=%s ORDER BY id", (cid,))
        return c.fetchall()


def test_create_defaults_and_code(tenant, mysql):
    r = tenant.operator.post("/customers", body(
        tenant.operator, email="budi@example.id", billing_day=15,
        installed_at="2026-01-10", notes="tiang 3"))
    assert r.status_code == 201, r.text
    c = r.json()["data"]
    assert re.fullmatch(r"C-\d{6}", c["customer_code"])
    assert c["customer_code"] == "C-000001"
    assert c["status"] == "pending"
    # Money goes out as the exact DECIMAL(14,2) literal, never through a
    # binary float: the body itself must read 150000.00.
    assert re.search(r'"monthly_price":\s*150000\.00[,}]', r.text), r.text
    assert r.json(parse_float=Decimal)["data"]["monthly_price"] == Decimal("150000.00")
    assert c["billing_day"] == 15 and c["installed_at"] == "2026-01-10"
    assert "pppoe_password" not in c and "pppoe_password_enc" not in c
    r2 = tenant.operator.post("/customers", body(
        tenant.operator, monthly_price=99000.5, phone="081234567891"))
    assert r2.status_code == 201, r2.text
    c2 = r2.json()["data"]
    assert c2["customer_code"] == "C-000002"
    assert re.search(r'"monthly_price":\s*99000\.50[,}]', r2.text), r2.text
    assert c2["billing_day"] == 1
    with mysql.cursor() as cur:
        cur.execute("SELECT CAST(monthly_price AS CHAR) FROM customers WHERE id IN (%s, %s)"
                    " ORDER BY id", (c["id"], c2["id"]))
        assert [row[0] for row in cur.fetchall()] == ["150000.00", "99000.50"]
    with mysql.cursor() as cur:
        cur.execute("SELECT action, entity_id FROM audit_logs WHERE entity_type='customer'"
                    " AND tenant_id=%s ORDER BY id", (tenant.id,))
        assert cur.fetchall() == (("create", c["id"]), ("create", c2["id"]))
        cur.execute("SELECT name FROM events WHERE entity_type='customer' AND entity_id=%s",
                    (c["id"],))
        assert cur.fetchone()[0] == "customer:created"


def test_code_never_reused_after_delete(tenant):
    a = create(tenant.operator)
    assert tenant.admin.delete(f"/customers/{a['id']}").status_code == 204
    b = create(tenant.operator)
    assert b["customer_code"] == "C-000002"


def test_parallel_creates_get_unique_codes(tenant, mysql):
    pid = plan_id(tenant.operator)
    results = []

    def worker(i):
        r = tenant.operator.post("/customers", {
            "name": f"Pelanggan {i}", "phone": f"0812000000{i:02d}",
            "address": "Gang Mawar", "service_plan_id": pid})
        results.append((r.status_code, r.json()))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [s for s, _ in results] == [201] * 20, results
    codes = sorted(j["data"]["customer_code"] for _, j in results)
    assert codes == [f"C-{n:06d}" for n in range(1, 21)]
    with mysql.cursor() as c:
        c.execute("SELECT COUNT(DISTINCT customer_code), COUNT(*) FROM customers"
                  " WHERE tenant_id=%s", (tenant.id,))
        assert c.fetchone() == (20, 20)
        c.execute("SELECT value FROM tenant_counters WHERE tenant_id=%s AND name='customer'",
                  (tenant.id,))
        assert c.fetchone()[0] == 20


@pytest.mark.parametrize("field", ["name", "phone", "address", "service_plan_id"])
def test_required_fields(tenant, field):
    b = body(tenant.operator)
    del b[field]
    r = tenant.operator.post("/customers", b)
    assert r.status_code == 422
    assert {"field": field, "message": "is required"} in r.json()["error"]["details"]


@pytest.mark.parametrize("kw,field", [
    ({"phone": "12ab"}, "phone"), ({"email": "nope"}, "email"),
    ({"billing_day": 29}, "billing_day"), ({"billing_day": 0}, "billing_day"),
    ({"monthly_price": -1}, "monthly_price"), ({"monthly_price": 1.001}, "monthly_price"),
    ({"service_plan_id": 999999999}, "service_plan_id"),
    ({"status": "active"}, "status"), ({"customer_code": "C-1"}, "customer_code"),
    ({"pppoe_username": "has space"}, "pppoe_username"),
    ({"name": "<b>x</b>"}, "name"), ({"installed_at": "2026-02-30"}, "installed_at"),
])
def test_validation(tenant, kw, field):
    r = tenant.operator.post("/customers", body(tenant.operator, **kw))
    assert r.status_code == 422, r.text
    assert field in [d["field"] for d in r.json()["error"]["details"]]


def test_inactive_plan_refused(tenant):
    p = make_plan(tenant.operator, active=False)
    r = tenant.operator.post("/customers", body(tenant.operator, service_plan_id=p["id"]))
    assert r.status_code == 422


def test_pppoe_password_sealed_and_username_unique(tenant, mysql):
    c = create(tenant.operator, pppoe_username="budi01", pppoe_password="rahasia123",
               router_id=None)
    with mysql.cursor() as cur:
        cur.execute("SELECT pppoe_password_enc FROM customers WHERE id=%s", (c["id"],))
        enc = cur.fetchone()[0]
    assert enc and b"rahasia123" not in enc and len(enc) == len("rahasia123") + 30
    assert enc[0] == 1 and enc[1] == 1  # version, key id
    r = tenant.viewer.get(f"/customers/{c['id']}")
    assert "rahasia" not in r.text and "pppoe_password" not in r.text
    # Without a router the name may repeat; on the same router it may not.
    create(tenant.operator, pppoe_username="budi01")
    r7, r8 = router(tenant.operator), router(tenant.operator)
    create(tenant.operator, pppoe_username="x01", router_id=r7)
    r = tenant.operator.post("/customers", body(tenant.operator, pppoe_username="x01",
                                                router_id=r7))
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    create(tenant.operator, pppoe_username="x01", router_id=r8)
    # Clearing the password.
    r = tenant.operator.patch(f"/customers/{c['id']}", {"pppoe_password": None})
    assert r.status_code == 200
    with mysql.cursor() as cur:
        cur.execute("SELECT pppoe_password_enc FROM customers WHERE id=%s", (c["id"],))
        assert cur.fetchone()[0] is None


def seed_search(client):
    pid = plan_id(client)
    out = {}
    for key, kw in {
        "budi": dict(name="Budi Santoso", phone="081111111111", email="budi@warga.id"),
        "siti": dict(name="Siti Nurhaliza", phone="082222222222", email="siti@warga.id"),
        "agus": dict(name="Agus Budiman", phone="083333333333"),
        "rina": dict(name="Rina 100% Putri", phone="6281444444444"),
    }.items():
        out[key] = create(client, service_plan_id=pid, **kw)
    return out


def search(client, q, **params):
    r = client.get("/customers", params=dict(q=q, **params))
    assert r.status_code == 200, r.text
    return sorted(c["id"] for c in r.json()["data"]), r.json()["meta"]


def test_search_by_name_code_phone_email(tenant):
    c = seed_search(tenant.operator)
    v = tenant.viewer
    # Name: word prefix, any word, case-insensitive, all words must match.
    assert search(v, "budi")[0] == sorted([c["budi"]["id"], c["agus"]["id"]])
    assert search(v, "Santo")[0] == [c["budi"]["id"]]
    assert search(v, "nurha")[0] == [c["siti"]["id"]]
    assert search(v, "budi santoso")[0] == [c["budi"]["id"]]
    assert search(v, "udi")[0] == []
    # Boolean operators in input are only separators.
    assert search(v, '-budi +"siti" (x*')[0] == []
    assert search(v, "siti*)")[0] == [c["siti"]["id"]]
    # Code: prefix.
    assert search(v, c["siti"]["customer_code"])[0] == [c["siti"]["id"]]
    assert len(search(v, "C-0000")[0]) == 4
    # Phone: prefix.
    assert search(v, "08222")[0] == [c["siti"]["id"]]
    assert search(v, "6281")[0] == [c["rina"]["id"]]
    assert search(v, "2222")[0] == []
    # Email: exact only.
    assert search(v, "siti@warga.id")[0] == [c["siti"]["id"]]
    assert search(v, "SITI@warga.id")[0] == [c["siti"]["id"]]
    # LIKE wildcards are literal.
    assert search(v, "%")[0] == []
    assert search(v, "_")[0] == []
    # Search combines with filters.
    ids, meta = search(v, "budi", status="active")
    assert ids == [] and meta["total"] == 0


def test_search_other_tenant_invisible(tenant, tenant_b):
    seed_search(tenant.operator)
    assert search(tenant_b.viewer, "budi")[0] == []


def test_filters(tenant, mysql):
    op = tenant.operator
    p20 = plan_id(op, "Paket 20 Mbps")
    a = create(op)
    r5, r6 = router(op), router(op)
    b = create(op, service_plan_id=p20, router_id=r5, **pppoe(tenant, "fb"))
    c = create(op, router_id=r6, **pppoe(tenant, "fc"))
    assert op.post(f"/customers/{b['id']}/activate").status_code == 200
    assert op.post(f"/customers/{c['id']}/activate").status_code == 200
    assert op.post(f"/customers/{c['id']}/suspend").status_code == 200

    def ids(**params):
        r = tenant.viewer.get("/customers", params=params)
        assert r.status_code == 200, r.text
        return sorted(x["id"] for x in r.json()["data"])

    assert ids() == sorted([a["id"], b["id"], c["id"]])
    assert ids(status="pending") == [a["id"]]
    assert ids(status="active") == [b["id"]]
    assert ids(status="suspended") == [c["id"]]
    assert ids(status="terminated") == []
    assert ids(service_plan_id=p20) == [b["id"]]
    assert ids(router_id=r6) == [c["id"]]
    assert ids(status="active", service_plan_id=p20) == [b["id"]]
    assert tenant.viewer.get("/customers?status=gone").status_code == 422
    assert tenant.viewer.get("/customers?service_plan_id=abc").status_code == 422
    assert tenant.viewer.get("/customers?router_id=0").status_code == 422


def test_pagination_edges_and_sort(tenant, mysql):
    pid = plan_id(tenant.operator)
    with mysql.cursor() as c:
        rows = [(tenant.id, f"C-9{i:05d}", f"Warga {i:03d}", f"0819{i:08d}", "RW 1",
                 pid, "150000.00") for i in range(105)]
        c.executemany("INSERT INTO customers (tenant_id, customer_code, name, phone,"
                      " address, service_plan_id, monthly_price)"
                      " VALUES (%s,%s,%s,%s,%s,%s,%s)", rows)
    v = tenant.viewer
    r = v.get("/customers")
    assert r.status_code == 200
    assert r.json()["meta"] == {"page": 1, "per_page": 20, "total": 105, "total_pages": 6}
    r = v.get("/customers?per_page=100&page=2")
    assert len(r.json()["data"]) == 5
    assert r.json()["meta"] == {"page": 2, "per_page": 100, "total": 105, "total_pages": 2}
    r = v.get("/customers?per_page=100")
    assert len(r.json()["data"]) == 100 and r.json()["meta"]["total"] == 105
    r = v.get("/customers?per_page=20&page=6")
    assert len(r.json()["data"]) == 5 and r.json()["meta"]["total"] == 105
    r = v.get("/customers?page=7")
    assert r.status_code == 200 and r.json()["data"] == []
    assert r.json()["meta"]["total"] == 105
    r = v.get("/customers?per_page=101")
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "per_page"
    assert v.get("/customers?page=0").status_code == 422
    assert v.get("/customers?per_page=0").status_code == 422
    assert v.get("/customers?sort=phone").status_code == 422
    names = [x["name"] for x in v.get("/customers?sort=name&per_page=3").json()["data"]]
    assert names == ["Warga 000", "Warga 001", "Warga 002"]
    names = [x["name"] for x in v.get("/customers?sort=-name&per_page=2").json()["data"]]
    assert names == ["Warga 104", "Warga 103"]
    codes = [x["customer_code"] for x in v.get("/customers?sort=code&per_page=2").json()["data"]]
    assert codes == ["C-900000", "C-900001"]
    # Default: newest first.
    first = v.get("/customers?per_page=1").json()["data"][0]
    assert first["name"] == "Warga 104"
    # Search pages too.
    r = v.get("/customers?q=warga&per_page=50&page=3")
    assert len(r.json()["data"]) == 5 and r.json()["meta"]["total"] == 105


def test_update_and_plan_change(tenant, mysql):
    op = tenant.operator
    p20 = plan_id(op, "Paket 20 Mbps")
    rt = router(op)
    c = create(op, router_id=rt, **pppoe(tenant, "budi"))
    r = op.patch(f"/customers/{c['id']}", {"phone": "089999999999", "email": None,
                                           "notes": "pindah rumah"})
    assert r.status_code == 200 and r.json()["data"]["phone"] == "089999999999"
    # Plan change of a pending customer: new price, no router job yet.
    r = op.patch(f"/customers/{c['id']}", {"service_plan_id": p20})
    assert r.status_code == 200 and r.json()["data"]["monthly_price"] == 250000
    assert jobs(mysql, c["id"]) == ()
    assert op.post(f"/customers/{c['id']}/activate").status_code == 200
    p10 = plan_id(op)
    r = op.patch(f"/customers/{c['id']}", {"service_plan_id": p10, "monthly_price": 120000})
    assert r.status_code == 200 and r.json()["data"]["monthly_price"] == 120000
    js = jobs(mysql, c["id"])
    assert [(a, r) for a, _, r, _ in js] == [("activate", rt), ("change_profile", rt)]
    payload = json.loads(js[1][3])
    assert payload["profile"] == "paket-10-mbps"
    assert payload["pppoe_username"] == "budi-" + tenant.slug
    # The plan must exist in this tenant.
    r = op.patch(f"/customers/{c['id']}", {"service_plan_id": 987654321})
    assert r.status_code == 422
    assert op.patch(f"/customers/{c['id']}", {"name": None}).status_code == 422
    assert op.patch(f"/customers/{c['id']}", {"status": "active"}).status_code == 422
    assert op.patch("/customers/987654321", {"name": "x"}).status_code == 404
    with mysql.cursor() as cur:
        cur.execute("SELECT action FROM audit_logs WHERE entity_type='customer'"
                    " AND entity_id=%s ORDER BY id", (c["id"],))
        assert [a for (a,) in cur.fetchall()] == ["create", "update", "update",
                                                   "activate", "update"]


def test_lifecycle(tenant, mysql):
    op = tenant.operator
    rt = router(op)
    c = create(op, router_id=rt, **pppoe(tenant, "siti"))
    nr = create(op)  # no router: no jobs

    def act(cid, action, code=200):
        r = op.post(f"/customers/{cid}/{action}")
        assert r.status_code == code, r.text
        return r.json()

    assert act(c["id"], "suspend", 422)["error"]["code"] == "invalid_transition"
    assert act(c["id"], "activate")["data"]["status"] == "active"
    assert act(c["id"], "activate", 422)["error"]["code"] == "invalid_transition"
    assert act(c["id"], "suspend")["data"]["status"] == "suspended"
    assert act(c["id"], "suspend", 422)["error"]["code"] == "invalid_transition"
    assert act(c["id"], "activate")["data"]["status"] == "active"
    assert act(c["id"], "terminate")["data"]["status"] == "terminated"
    for a in ("activate", "suspend", "terminate"):
        assert act(c["id"], a, 422)["error"]["code"] == "invalid_transition"
    assert [(a, r) for a, _, r, _ in jobs(mysql, c["id"])] == [
        ("activate", rt), ("suspend", rt), ("activate", rt), ("terminate", rt)]
    act(nr["id"], "activate")
    act(nr["id"], "terminate")
    assert jobs(mysql, nr["id"]) == ()
    # Pending straight to terminated is allowed.
    p = create(op)
    assert act(p["id"], "terminate")["data"]["status"] == "terminated"
    assert op.post("/customers/987654321/activate").status_code == 404
    # A body, when sent, must be an empty object.
    assert op.post(f"/customers/{p['id']}/activate", {"x": 1}).status_code == 422


def test_soft_delete_keeps_payments(tenant, mysql):
    op = tenant.operator
    c = create(op, router_id=router(op), **pppoe(tenant, "del"))
    op.post(f"/customers/{c['id']}/activate")
    r = op.post("/payments", {"customer_id": c["id"], "amount": 150000,
                              "period": "2026-01"})
    assert r.status_code == 201
    pay = r.json()["data"]
    assert tenant.operator.delete(f"/customers/{c['id']}").status_code == 403
    assert tenant.admin.delete(f"/customers/{c['id']}").status_code == 204
    assert tenant.viewer.get(f"/customers/{c['id']}").status_code == 404
    assert tenant.admin.delete(f"/customers/{c['id']}").status_code == 404
    assert c["id"] not in [x["id"] for x in tenant.viewer.get("/customers").json()["data"]]
    assert tenant.viewer.get(f"/payments/{pay['id']}").status_code == 200
    r = tenant.viewer.get(f"/payments?customer_id={c['id']}")
    assert [p["id"] for p in r.json()["data"]] == [pay["id"]]
    with mysql.cursor() as cur:
        cur.execute("SELECT deleted_at IS NOT NULL FROM customers WHERE id=%s", (c["id"],))
        assert cur.fetchone()[0] == 1
        cur.execute("SELECT COUNT(*) FROM payments WHERE customer_id=%s", (c["id"],))
        assert cur.fetchone()[0] == 1
    assert jobs(mysql, c["id"])[-1][0] == "terminate"
    r = op.post("/payments", {"customer_id": c["id"], "amount": 1})
    assert r.status_code == 422


def test_stats(tenant):
    op = tenant.operator
    ids = [create(op)["id"] for _ in range(6)]
    op.post(f"/customers/{ids[0]}/activate")
    op.post(f"/customers/{ids[1]}/activate")
    op.post(f"/customers/{ids[2]}/activate")
    op.post(f"/customers/{ids[2]}/suspend")
    op.post(f"/customers/{ids[3]}/terminate")
    tenant.admin.delete(f"/customers/{ids[5]}")
    r = tenant.viewer.get("/customers/stats")
    assert r.status_code == 200
    assert r.json()["data"] == {"total": 5, "pending": 1, "active": 2,
                                "suspended": 1, "terminated": 1}


def test_roles(tenant):
    c = create(tenant.operator)
    for role in ("viewer", "technician"):
        cl = getattr(tenant, role)
        assert cl.get("/customers").status_code == 200
        assert cl.get("/customers/stats").status_code == 200
        assert cl.get(f"/customers/{c['id']}").status_code == 200
        assert cl.post("/customers", {}).status_code == 403
        assert cl.patch(f"/customers/{c['id']}", {"name": "x"}).status_code == 403
        assert cl.delete(f"/customers/{c['id']}").status_code == 403
        for a in ("activate", "suspend", "terminate"):
            assert cl.post(f"/customers/{c['id']}/{a}").status_code == 403
    assert tenant.operator.delete(f"/customers/{c['id']}").status_code == 403


def test_cross_tenant(tenant, tenant_b, mysql):
    c = create(tenant.operator, router_id=router(tenant.operator))
    b = tenant_b.admin
    for path in (f"/customers/{c['id']}",):
        assert b.get(path).status_code == 404
        assert b.patch(path, {"name": "Hacked"}).status_code == 404
        assert b.delete(path).status_code == 404
    for a in ("activate", "suspend", "terminate"):
        assert b.post(f"/customers/{c['id']}/{a}").status_code == 404
    assert b.get("/customers/stats").json()["data"]["total"] == 0
    assert b.get("/customers").json()["meta"]["total"] == 0
    assert b.post("/payments", {"customer_id": c["id"], "amount": 1}).status_code == 422
    with mysql.cursor() as cur:
        cur.execute("SELECT name, status, deleted_at FROM customers WHERE id=%s", (c["id"],))
        assert cur.fetchone() == ("Budi Santoso", "pending", None)
    assert jobs(mysql, c["id"]) == ()
