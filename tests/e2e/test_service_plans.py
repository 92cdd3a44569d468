"""Service plans (API.md "Service plans", requirement 4)."""
from decimal import Decimal

import pytest

PLAN = {"name": "Paket Uji 15 Mbps", "speed_download": 15000,
        "speed_upload": 7000, "price": 175000.50}


def make_plan(client, **kw):
    body = dict(PLAN, **kw)
    r = client.post("/service-plans", body)
    assert r.status_code == 201, r.text
    return r.json()["data"]


def make_customer(client, plan_id, **kw):
    body = {"name": "Budi Santoso", "phone": "081234567890",
            "address": "Jl. Melati 1, RT 03/RW 05", "service_plan_id": plan_id}
    body.update(kw)
    r = client.post("/customers", body)
    assert r.status_code == 201, r.text
    return r.json()["data"]


def test_new_tenant_has_default_plans(tenant, mysql):
    r = tenant.viewer.get("/service-plans")
    assert r.status_code == 200
    plans = r.json()["data"]
    assert [p["name"] for p in plans] == ["Paket 10 Mbps", "Paket 20 Mbps",
                                          "Paket 30 Mbps", "Paket 50 Mbps"]
    p10 = plans[0]
    assert p10["speed_download"] == 10000 and p10["speed_upload"] == 5000
    assert '"price":150000.00' in r.text
    assert p10["mikrotik_profile"] == "paket-10-mbps"
    assert p10["active"] is True and p10["priority"] == 8
    with mysql.cursor() as c:
        c.execute("SELECT COUNT(*) FROM plan_price_history WHERE tenant_id=%s"
                  " AND old_price IS NULL", (tenant.id,))
        assert c.fetchone()[0] == 4


def test_create_get_and_fields(tenant, mysql):
    p = make_plan(tenant.operator, burst_download=20000, burst_upload=9000,
                  burst_threshold_download=12000, burst_threshold_upload=5000,
                  burst_time=16, priority=3, queue_type="pcq-download")
    assert p["name"] == PLAN["name"]
    assert p["price"] == 175000.5
    assert p["mikrotik_profile"] == "paket-uji-15-mbps"
    assert p["burst_download"] == 20000 and p["burst_time"] == 16
    assert p["priority"] == 3 and p["queue_type"] == "pcq-download"
    r = tenant.viewer.get(f"/service-plans/{p['id']}")
    assert r.status_code == 200 and r.json()["data"] == p
    with mysql.cursor() as c:
        c.execute("SELECT price, tenant_id FROM service_plans WHERE id=%s", (p["id"],))
        price, tid = c.fetchone()
        assert price == Decimal("175000.50") and tid == tenant.id
        c.execute("SELECT action FROM audit_logs WHERE entity_type='service_plan'"
                  " AND entity_id=%s", (p["id"],))
        assert [row[0] for row in c.fetchall()] == ["create"]


@pytest.mark.parametrize("body,field", [
    ({"speed_download": 1, "speed_upload": 1, "price": 1}, "name"),
    ({"name": "x", "speed_upload": 1, "price": 1}, "speed_download"),
    ({"name": "x", "speed_download": 1, "price": 1}, "speed_upload"),
    ({"name": "x", "speed_download": 1, "speed_upload": 1}, "price"),
    (dict(PLAN, speed_download=0), "speed_download"),
    (dict(PLAN, speed_upload=-5), "speed_upload"),
    (dict(PLAN, price=0), "price"),
    (dict(PLAN, price=-1000), "price"),
    (dict(PLAN, price=1.234), "price"),
    (dict(PLAN, price="1000"), "price"),
    (dict(PLAN, priority=0), "priority"),
    (dict(PLAN, priority=9), "priority"),
    (dict(PLAN, burst_download=10000, burst_threshold_download=5000,
          burst_time=8), "burst_download"),
    (dict(PLAN, burst_download=20000, burst_threshold_download=16000,
          burst_time=8), "burst_threshold_download"),
    (dict(PLAN, burst_download=20000, burst_time=8), "burst_threshold_download"),
    (dict(PLAN, burst_download=20000, burst_threshold_download=10000),
     "burst_time"),
    (dict(PLAN, nmae="typo"), "nmae"),
    (dict(PLAN, name="<script>x</script>"), "name"),
])
def test_validation(tenant, body, field):
    r = tenant.operator.post("/service-plans", body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "validation_failed"
    assert field in [d["field"] for d in r.json()["error"]["details"]]


def test_list_active_only_unless_asked(tenant):
    p = make_plan(tenant.admin, name="Paket Lama", active=False)
    r = tenant.viewer.get("/service-plans?per_page=100")
    ids = [x["id"] for x in r.json()["data"]]
    assert p["id"] not in ids
    assert r.json()["meta"]["total"] == len(ids) == 4
    r = tenant.viewer.get("/service-plans?include_inactive=true&per_page=100")
    assert p["id"] in [x["id"] for x in r.json()["data"]]
    assert r.json()["meta"]["total"] == 5
    assert tenant.viewer.get("/service-plans?include_inactive=maybe").status_code == 422


def test_sort_and_pagination(tenant):
    r = tenant.viewer.get("/service-plans?sort=-price&per_page=2&page=2")
    assert r.status_code == 200
    prices = [p["price"] for p in r.json()["data"]]
    assert prices == [250000, 150000]
    assert r.json()["meta"] == {"page": 2, "per_page": 2, "total": 4, "total_pages": 2}
    assert tenant.viewer.get("/service-plans?sort=bogus").status_code == 422
    assert tenant.viewer.get("/service-plans?per_page=101").status_code == 422


def test_price_change_keeps_customer_price_and_history(tenant, mysql):
    p = make_plan(tenant.operator)
    c = make_customer(tenant.operator, p["id"])
    assert c["monthly_price"] == 175000.5
    r = tenant.operator.patch(f"/service-plans/{p['id']}", {"price": 199000})
    assert r.status_code == 200 and r.json()["data"]["price"] == 199000
    r = tenant.operator.patch(f"/service-plans/{p['id']}", {"price": 210000.25})
    assert r.status_code == 200
    # A change without a new price writes no history row.
    r = tenant.operator.patch(f"/service-plans/{p['id']}", {"name": "Renamed"})
    assert r.status_code == 200 and r.json()["data"]["price"] == 210000.25
    assert tenant.viewer.get(f"/customers/{c['id']}").json()["data"]["monthly_price"] == 175000.5
    r = tenant.viewer.get(f"/service-plans/{p['id']}/price-history")
    assert r.status_code == 200
    rows = r.json()["data"]
    assert [(h["old_price"], h["new_price"]) for h in rows] == [
        (199000, 210000.25), (175000.5, 199000), (None, 175000.5)]
    assert rows[0]["changed_by"] == tenant.operator.user["id"]
    with mysql.cursor() as c_:
        c_.execute("SELECT COUNT(*) FROM plan_price_history WHERE service_plan_id=%s",
                   (p["id"],))
        assert c_.fetchone()[0] == 3


def test_patch_validates_merged_row(tenant):
    p = make_plan(tenant.operator, burst_download=20000,
                  burst_threshold_download=10000, burst_time=8)
    # Raising the base speed above the burst breaks the burst rule.
    r = tenant.operator.patch(f"/service-plans/{p['id']}", {"speed_download": 25000})
    assert r.status_code == 422
    assert "burst_download" in [d["field"] for d in r.json()["error"]["details"]]
    r = tenant.operator.patch(f"/service-plans/{p['id']}",
                              {"burst_download": None, "burst_threshold_download": None,
                               "burst_time": None, "speed_download": 25000})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["burst_download"] is None
    assert tenant.operator.patch(f"/service-plans/{p['id']}", {"active": "yes"}).status_code == 422
    assert tenant.operator.patch(f"/service-plans/{p['id']}", {"price": None}).status_code == 422


def test_delete_blocked_while_in_use(tenant, mysql):
    p = make_plan(tenant.operator)
    c = make_customer(tenant.operator, p["id"])
    r = tenant.admin.delete(f"/service-plans/{p['id']}")
    assert r.status_code == 409 and r.json()["error"]["code"] == "in_use"
    # A deleted customer no longer holds the plan.
    assert tenant.admin.delete(f"/customers/{c['id']}").status_code == 204
    r = tenant.admin.delete(f"/service-plans/{p['id']}")
    assert r.status_code == 204
    assert tenant.viewer.get(f"/service-plans/{p['id']}").status_code == 404
    assert tenant.admin.delete(f"/service-plans/{p['id']}").status_code == 404
    r = tenant.viewer.get("/service-plans?include_inactive=true&per_page=100")
    assert p["id"] not in [x["id"] for x in r.json()["data"]]
    with mysql.cursor() as c_:
        c_.execute("SELECT deleted_at IS NOT NULL FROM service_plans WHERE id=%s", (p["id"],))
        assert c_.fetchone()[0] == 1
        c_.execute("SELECT action FROM audit_logs WHERE entity_type='service_plan'"
                   " AND entity_id=%s ORDER BY id", (p["id"],))
        assert [r_[0] for r_ in c_.fetchall()] == ["create", "delete"]


def test_roles(tenant):
    p = make_plan(tenant.operator)
    for role in ("viewer", "technician"):
        cl = getattr(tenant, role)
        assert cl.get("/service-plans").status_code == 200
        assert cl.get(f"/service-plans/{p['id']}").status_code == 200
        assert cl.get(f"/service-plans/{p['id']}/price-history").status_code == 200
        assert cl.post("/service-plans", PLAN).status_code == 403
        assert cl.post("/service-plans", {"bad": 1}).status_code == 403
        assert cl.patch(f"/service-plans/{p['id']}", {"price": 1}).status_code == 403
        assert cl.delete(f"/service-plans/{p['id']}").status_code == 403
    assert tenant.operator.delete(f"/service-plans/{p['id']}").status_code == 403
    assert tenant.admin.post("/service-plans", PLAN).status_code == 201


def test_cross_tenant(tenant, tenant_b, mysql):
    p = make_plan(tenant.operator)
    b = tenant_b.admin
    assert b.get(f"/service-plans/{p['id']}").status_code == 404
    assert b.get(f"/service-plans/{p['id']}/price-history").status_code == 404
    assert b.patch(f"/service-plans/{p['id']}", {"price": 1}).status_code == 404
    assert b.delete(f"/service-plans/{p['id']}").status_code == 404
    ids = [x["id"] for x in b.get("/service-plans?include_inactive=true&per_page=100").json()["data"]]
    assert p["id"] not in ids
    # Tenant B cannot put its customers on A's plan.
    r = b.post("/customers", {"name": "X", "phone": "081234567899", "address": "A",
                              "service_plan_id": p["id"]})
    assert r.status_code == 422
    with mysql.cursor() as c:
        c.execute("SELECT price, deleted_at FROM service_plans WHERE id=%s", (p["id"],))
        assert c.fetchone() == (Decimal("175000.50"), None)


def test_unauthenticated(anon):
    assert anon.get("/service-plans").status_code == 401
