"""Infrastructure inventory (requirement 13): required fields,
positive quantity, types, stock movements with audit of old and new
quantity, the low_stock alert (raised once, resolved when restocked),
filters, soft delete, roles and tenant isolation."""
import json

import pytest

from support import Client

TYPES = ("cable", "router", "switch", "antenna", "connector", "tools")


def new_item(client, **kw):
    body = {"name": "Kabel UTP Cat6", "type": "cable", "quantity": 100,
            "unit": "m", "location": "Gudang A"}
    body.update(kw)
    r = client.post("/inventory", body)
    assert r.status_code == 201, r.text
    return r.json()["data"]


def qty(mysql, item_id):
    cur = mysql.cursor()
    cur.execute("SELECT quantity, deleted_at FROM inventory WHERE id=%s", (item_id,))
    return cur.fetchone()


def alerts(mysql, tenant_id, item_id):
    cur = mysql.cursor()
    cur.execute("SELECT status, occurrences FROM alerts WHERE tenant_id=%s"
                " AND type='low_stock' AND subject_type='inventory' AND subject_id=%s"
                " ORDER BY id", (tenant_id, str(item_id)))
    return cur.fetchall()


def audits(mysql, tenant_id, item_id):
    cur = mysql.cursor()
    cur.execute("SELECT action, old_values, new_values FROM audit_logs"
                " WHERE tenant_id=%s AND entity_type='inventory' AND entity_id=%s"
                " ORDER BY id", (tenant_id, item_id))
    return [(a, json.loads(o) if o else None, json.loads(n) if n else None)
            for a, o, n in cur.fetchall()]


def test_create_validates_required_positive_and_types(tenant, mysql):
    c = tenant.technician
    r = c.post("/inventory", {})
    assert r.status_code == 422
    assert {d["field"] for d in r.json()["error"]["details"]} == {"name", "type", "quantity"}
    base = {"name": "x", "type": "cable", "quantity": 1}
    for bad in ({"quantity": 0}, {"quantity": -5}, {"quantity": 1.5},
                {"quantity": "3"}, {"type": "cables"}, {"type": "olt"},
                {"min_quantity": -1}, {"name": "<b>x</b>"}, {"colour": "red"}):
        r = c.post("/inventory", {**base, **bad})
        assert r.status_code == 422, (bad, r.text)
    for t in TYPES:
        assert new_item(c, type=t, quantity=1)["type"] == t
    item = new_item(c, min_quantity=10, notes="roll 305m")
    assert item["quantity"] == 100 and item["unit"] == "m"
    assert item["min_quantity"] == 10 and item["location"] == "Gudang A"
    assert set(item) >= {"id", "name", "type", "quantity", "unit", "min_quantity",
                         "location", "notes", "created_at", "updated_at"}
    assert new_item(c, unit=None if False else "pcs")["unit"] == "pcs"
    assert qty(mysql, item["id"]) == (100, None)
    a = audits(mysql, tenant.id, item["id"])
    assert a[0][0] == "create" and a[0][2]["quantity"] == 100
    r = c.get(f"/inventory/{item['id']}/movements")
    assert r.status_code == 200
    mv = r.json()["data"]
    assert len(mv) == 1 and mv[0]["delta"] == 100 and mv[0]["quantity_before"] == 0
    assert mv[0]["quantity_after"] == 100 and mv[0]["reason"] == "initial stock"


def test_adjust_moves_stock_and_never_goes_negative(tenant, mysql):
    c = tenant.technician
    item = new_item(c, quantity=10)
    path = f"/inventory/{item['id']}/adjust"
    r = c.post(path, {"delta": -4, "reason": "pasang di pelanggan C-000012"})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["quantity"] == 6
    r = c.post(path, {"delta": 20, "reason": "restock"})
    assert r.json()["data"]["quantity"] == 26
    r = c.post(path, {"delta": -27, "reason": "too much"})
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "delta"
    assert qty(mysql, item["id"])[0] == 26
    for bad in ({"delta": 0, "reason": "x"}, {"delta": 1}, {"reason": "x"},
                {"delta": 1, "reason": ""}, {"delta": "1", "reason": "x"},
                {"delta": 1, "reason": "x", "extra": 1}):
        assert c.post(path, bad).status_code == 422, bad
    assert c.post(path, {"delta": -26, "reason": "all used"}).json()["data"]["quantity"] == 0
    assert qty(mysql, item["id"])[0] == 0
    # History and audit: each change with old and new quantity.
    mv = c.get(f"/inventory/{item['id']}/movements").json()["data"]
    assert [(m["delta"], m["quantity_before"], m["quantity_after"]) for m in mv] == [
        (-26, 26, 0), (20, 6, 26), (-4, 10, 6), (10, 0, 10)]
    assert mv[2]["reason"] == "pasang di pelanggan C-000012"
    assert mv[0]["user_id"] == tenant.users["technician"]["id"]
    adj = [x for x in audits(mysql, tenant.id, item["id"]) if x[0] == "adjust"]
    assert [(o["quantity"], n["quantity"], n["delta"]) for _, o, n in adj] == [
        (10, 6, -4), (6, 26, 20), (26, 0, -26)]


def test_patch_quantity_is_audited_and_not_negative(tenant, mysql):
    c = tenant.technician
    item = new_item(c, quantity=7)
    p = f"/inventory/{item['id']}"
    assert c.patch(p, {"quantity": -1}).status_code == 422
    r = c.patch(p, {"quantity": 3, "location": "Gudang B", "notes": None})
    assert r.status_code == 200
    d = r.json()["data"]
    assert d["quantity"] == 3 and d["location"] == "Gudang B" and d["notes"] is None
    upd = [x for x in audits(mysql, tenant.id, item["id"]) if x[0] == "update"][0]
    assert upd[1]["quantity"] == 7 and upd[2]["quantity"] == 3
    mv = c.get(f"/inventory/{item['id']}/movements").json()["data"]
    assert (mv[0]["quantity_before"], mv[0]["quantity_after"]) == (7, 3)
    assert c.patch(p, {"bogus": 1}).status_code == 422


def test_low_stock_alert_raised_once_and_resolved_on_restock(tenant, mysql):
    c = tenant.technician
    item = new_item(c, quantity=10, min_quantity=5)
    path = f"/inventory/{item['id']}/adjust"
    assert alerts(mysql, tenant.id, item["id"]) == ()
    c.post(path, {"delta": -4, "reason": "a"})          # 6: above the threshold
    assert alerts(mysql, tenant.id, item["id"]) == ()
    c.post(path, {"delta": -1, "reason": "b"})          # 5: reaches it
    assert alerts(mysql, tenant.id, item["id"]) == (("open", 1),)
    c.post(path, {"delta": -2, "reason": "c"})          # 3: stays low
    c.post(path, {"delta": 1, "reason": "d"})           # 4: still low
    assert alerts(mysql, tenant.id, item["id"]) == (("open", 1),)
    r = tenant.viewer.get("/alerts?type=low_stock&status=open")
    assert [a["subject_id"] for a in r.json()["data"]] == [str(item["id"])]
    assert r.json()["data"][0]["details"]["quantity"] == 5
    c.post(path, {"delta": 10, "reason": "restock"})    # 14: resolved
    assert alerts(mysql, tenant.id, item["id"]) == (("resolved", 1),)
    c.post(path, {"delta": -10, "reason": "again"})     # 4: a new alert
    assert alerts(mysql, tenant.id, item["id"]) == (("resolved", 1), ("open", 1))
    # Raising the threshold over the stock also counts as becoming low.
    other = new_item(c, quantity=8, min_quantity=2)
    c.patch(f"/inventory/{other['id']}", {"min_quantity": 8})
    assert alerts(mysql, tenant.id, other["id"]) == (("open", 1),)
    # Created already low: raised at once; deleting resolves it.
    low = new_item(c, quantity=1, min_quantity=3)
    assert alerts(mysql, tenant.id, low["id"]) == (("open", 1),)
    assert tenant.admin.delete(f"/inventory/{low['id']}").status_code == 204
    assert alerts(mysql, tenant.id, low["id"]) == (("resolved", 1),)


def test_filters_by_type_and_location(tenant):
    c = tenant.technician
    a = new_item(c, type="cable", location="Gudang A")
    b = new_item(c, type="router", name="MikroTik hAP", location="Gudang A", quantity=3)
    d = new_item(c, type="router", name="RB750", location="Pos RW 05", quantity=2,
                 min_quantity=2)

    def ids(q):
        r = tenant.viewer.get("/inventory" + q)
        assert r.status_code == 200, r.text
        return [x["id"] for x in r.json()["data"]]

    assert sorted(ids("?type=router")) == sorted([b["id"], d["id"]])
    assert sorted(ids("?location=Gudang%20A")) == sorted([a["id"], b["id"]])
    assert ids("?type=router&location=Pos%20RW%2005") == [d["id"]]
    assert ids("?low_stock=true") == [d["id"]]
    assert ids("?sort=-quantity")[0] == a["id"]
    assert tenant.viewer.get("/inventory?type=olt").status_code == 422
    assert tenant.viewer.get("/inventory?sort=colour").status_code == 422


def test_soft_delete(tenant, mysql):
    item = new_item(tenant.technician)
    p = f"/inventory/{item['id']}"
    assert tenant.technician.delete(p).status_code == 403
    assert tenant.operator.delete(p).status_code == 403
    r = tenant.admin.delete(p)
    assert r.status_code == 204 and r.content == b""
    assert tenant.admin.get(p).status_code == 404
    assert tenant.admin.delete(p).status_code == 404
    assert tenant.technician.patch(p, {"quantity": 1}).status_code == 404
    assert tenant.technician.post(p + "/adjust", {"delta": 1, "reason": "x"}).status_code == 404
    assert item["id"] not in [x["id"] for x in tenant.admin.get("/inventory").json()["data"]]
    q, deleted = qty(mysql, item["id"])
    assert q == 100 and deleted is not None
    assert audits(mysql, tenant.id, item["id"])[-1][0] == "delete"


def test_roles(tenant):
    body = {"name": "x", "type": "tools", "quantity": 1}
    assert tenant.viewer.post("/inventory", body).status_code == 403
    assert tenant.viewer.post("/inventory", {"junk": True}).status_code == 403
    item = new_item(tenant.technician)
    assert tenant.viewer.patch(f"/inventory/{item['id']}", {"quantity": 1}).status_code == 403
    assert tenant.viewer.post(f"/inventory/{item['id']}/adjust",
                              {"delta": 1, "reason": "x"}).status_code == 403
    assert tenant.viewer.delete(f"/inventory/{item['id']}").status_code == 403
    for role in ("viewer", "technician", "operator", "admin"):
        assert getattr(tenant, role).get("/inventory").status_code == 200
        assert getattr(tenant, role).get(f"/inventory/{item['id']}/movements").status_code == 200
    for role in ("technician", "operator", "admin"):
        assert getattr(tenant, role).post("/inventory", body).status_code == 201
    assert Client().get("/inventory").status_code == 401


def test_other_tenant_gets_404_and_changes_nothing(tenant, tenant_b, mysql):
    item = new_item(tenant.technician, quantity=9)
    p = f"/inventory/{item['id']}"
    b = tenant_b.admin
    for r in (b.get(p), b.patch(p, {"quantity": 1}), b.delete(p),
              b.post(p + "/adjust", {"delta": -9, "reason": "steal"}),
              b.get(p + "/movements")):
        assert r.status_code == 404, r.text
        assert r.json()["error"]["code"] == "not_found"
    assert qty(mysql, item["id"]) == (9, None)
    assert b.get("/inventory").json()["data"] == []
    assert [x[0] for x in audits(mysql, tenant.id, item["id"])] == ["create"]
