"""Alerts (requirement 10 and 13 alert parts): raised by other
features (here low stock), listed with type/status filters, one open
alert per (type, subject), acknowledged by technicians and up, isolated
per tenant."""
import json

from support import Client

TYPES = ("high_usage", "device_offline", "router_offline", "low_stock",
         "provisioning_failed", "backup_failed", "ip_blocked", "account_locked",
         "email_failed")


def low_stock_alert(tenant, name="Konektor RJ45"):
    c = tenant.technician
    r = c.post("/inventory", {"name": name, "type": "connector", "quantity": 2,
                              "min_quantity": 5})
    assert r.status_code == 201
    item = r.json()["data"]
    r = tenant.viewer.get("/alerts?type=low_stock&status=open")
    found = [a for a in r.json()["data"] if a["subject_id"] == str(item["id"])]
    assert len(found) == 1
    return item, found[0]


def status_of(mysql, alert_id):
    cur = mysql.cursor()
    cur.execute("SELECT status, acknowledged_by, acknowledged_at FROM alerts WHERE id=%s",
                (alert_id,))
    return cur.fetchone()


def test_list_get_and_filters(tenant, mysql):
    item, a = low_stock_alert(tenant)
    assert a["type"] == "low_stock" and a["status"] == "open"
    assert a["subject_type"] == "inventory" and a["occurrences"] == 1
    assert a["details"]["quantity"] == 2 and a["details"]["min_quantity"] == 5
    assert "Konektor RJ45" in a["message"]
    assert a["created_at"].endswith("Z") and a["acknowledged_at"] is None
    r = tenant.viewer.get(f"/alerts/{a['id']}")
    assert r.status_code == 200 and r.json()["data"] == a
    for t in TYPES:
        r = tenant.viewer.get(f"/alerts?type={t}")
        assert r.status_code == 200, t
        assert all(x["type"] == t for x in r.json()["data"])
    assert tenant.viewer.get("/alerts?type=device_offline").json()["meta"]["total"] == 0
    assert tenant.viewer.get("/alerts?status=resolved").json()["meta"]["total"] == 0
    assert tenant.viewer.get("/alerts").json()["meta"]["total"] == 1
    for bad in ("?type=fire", "?status=closed", "?per_page=500", "?sort=type"):
        assert tenant.viewer.get("/alerts" + bad).status_code == 422, bad
    assert tenant.viewer.get("/alerts/999999999").status_code == 404
    # Raising created an alert:created event.
    cur = mysql.cursor()
    cur.execute("SELECT data FROM events WHERE tenant_id=%s AND name='alert:created'"
                " AND entity_id=%s", (tenant.id, a["id"]))
    assert json.loads(cur.fetchone()[0])["type"] == "low_stock"


def test_acknowledge(tenant, mysql):
    item, a = low_stock_alert(tenant)
    p = f"/alerts/{a['id']}/acknowledge"
    assert tenant.viewer.post(p).status_code == 403
    assert status_of(mysql, a["id"])[0] == "open"
    r = tenant.technician.post(p)
    assert r.status_code == 200, r.text
    d = r.json()["data"]
    assert d["status"] == "acknowledged"
    assert d["acknowledged_by"] == tenant.users["technician"]["id"]
    assert d["acknowledged_at"].endswith("Z")
    # Again: nothing changes.
    r = tenant.admin.post(p)
    assert r.status_code == 200 and r.json()["data"] == d
    cur = mysql.cursor()
    cur.execute("SELECT action, user_id, old_values, new_values FROM audit_logs"
                " WHERE tenant_id=%s AND entity_type='alert' AND entity_id=%s",
                (tenant.id, a["id"]))
    rows = cur.fetchall()
    assert len(rows) == 1 and rows[0][0] == "acknowledge"
    assert rows[0][1] == tenant.users["technician"]["id"]
    assert json.loads(rows[0][2])["status"] == "open"
    assert json.loads(rows[0][3])["status"] == "acknowledged"
    # Still the one alert for the subject while low (acknowledged counts).
    tenant.technician.post(f"/inventory/{item['id']}/adjust", {"delta": 1, "reason": "x"})
    assert tenant.viewer.get("/alerts?type=low_stock").json()["meta"]["total"] == 1
    # Restocked: resolved, and a resolved alert cannot be acknowledged.
    tenant.technician.post(f"/inventory/{item['id']}/adjust", {"delta": 50, "reason": "x"})
    assert status_of(mysql, a["id"])[0] == "resolved"
    r = tenant.technician.post(p)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_transition"
    assert tenant.technician.post("/alerts/999999999/acknowledge").status_code == 404


def test_one_open_alert_per_subject(tenant, mysql):
    item, a = low_stock_alert(tenant)
    cur = mysql.cursor()
    # A second raise for the same subject (as any feature would) only counts.
    cur.execute("INSERT INTO alerts (tenant_id, type, subject_type, subject_id, message)"
                " VALUES (%s, 'low_stock', 'inventory', %s, 'again')"
                " ON DUPLICATE KEY UPDATE occurrences = occurrences + 1",
                (tenant.id, str(item["id"])))
    r = tenant.viewer.get("/alerts?type=low_stock")
    assert r.json()["meta"]["total"] == 1
    assert r.json()["data"][0]["occurrences"] == 2


def test_roles(tenant):
    item, a = low_stock_alert(tenant)
    for role in ("viewer", "technician", "operator", "admin"):
        assert getattr(tenant, role).get("/alerts").status_code == 200
        assert getattr(tenant, role).get(f"/alerts/{a['id']}").status_code == 200
    assert tenant.viewer.post(f"/alerts/{a['id']}/acknowledge").status_code == 403
    assert tenant.operator.post(f"/alerts/{a['id']}/acknowledge").status_code == 200
    assert Client().get("/alerts").status_code == 401


def test_other_tenant_gets_404_and_changes_nothing(tenant, tenant_b, mysql):
    item, a = low_stock_alert(tenant)
    before = status_of(mysql, a["id"])
    b = tenant_b.admin
    assert b.get(f"/alerts/{a['id']}").status_code == 404
    r = b.post(f"/alerts/{a['id']}/acknowledge")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert status_of(mysql, a["id"]) == before
    assert b.get("/alerts").json()["meta"]["total"] == 0
