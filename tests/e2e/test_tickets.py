"""Tickets (requirement 8): numbers, required fields, priorities,
the forward-only status machine, assignment, filters, comments, roles and
tenant isolation.  Customers are inserted straight into the database so
that these tests do not depend on the customer routes."""
import datetime
import json
import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from support import Client

NUMBER = re.compile(r"^T-(\d{6})-(\d{4,})$")


def make_customer(mysql, tenant_id, name="Budi"):
    cur = mysql.cursor()
    cur.execute("INSERT INTO service_plans (tenant_id, name, speed_download,"
                " speed_upload, price, mikrotik_profile)"
                " VALUES (%s, 'Plan 10M', 10000, 5000, 150000, 'p10')", (tenant_id,))
    plan = cur.lastrowid
    code = "C-" + uuid.uuid4().hex[:8]
    cur.execute("INSERT INTO customers (tenant_id, customer_code, name, phone,"
                " address, service_plan_id, monthly_price)"
                " VALUES (%s, %s, %s, '081234567890', 'Jl. Mawar 1', %s, 150000)",
                (tenant_id, code, name, plan))
    return cur.lastrowid


def new_ticket(client, customer_id, **extra):
    body = {"customer_id": customer_id, "title": "Internet mati",
            "description": "Sejak pagi tidak bisa connect"}
    body.update(extra)
    r = client.post("/tickets", body)
    assert r.status_code == 201, r.text
    return r.json()["data"]


def row(mysql, ticket_id):
    cur = mysql.cursor(dictionary=True) if hasattr(mysql, "dictionary") else mysql.cursor()
    cur.execute("SELECT status, priority, title, assigned_to, resolved_at, closed_at,"
                " ticket_number, tenant_id FROM tickets WHERE id=%s", (ticket_id,))
    return cur.fetchone()


def audit_rows(mysql, tenant_id, entity_type, entity_id):
    cur = mysql.cursor()
    cur.execute("SELECT action, old_values, new_values, user_id FROM audit_logs"
                " WHERE tenant_id=%s AND entity_type=%s AND entity_id=%s ORDER BY id",
                (tenant_id, entity_type, entity_id))
    return cur.fetchall()


@pytest.fixture
def customer(tenant, mysql):
    return make_customer(mysql, tenant.id)


def test_create_starts_open_with_unique_number(tenant, customer, mysql):
    t = new_ticket(tenant.technician, customer)
    assert t["status"] == "open"
    assert t["priority"] == "medium"
    assert t["customer_id"] == customer
    assert t["resolved_at"] is None and t["closed_at"] is None
    m = NUMBER.match(t["ticket_number"])
    assert m, t["ticket_number"]
    jakarta = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=7)))
    assert m.group(1) == jakarta.strftime("%Y%m")
    assert m.group(2) == "0001"
    t2 = new_ticket(tenant.technician, customer)
    assert NUMBER.match(t2["ticket_number"]).group(2) == "0002"
    # Stored, audited, announced; the counter is per tenant and month.
    assert row(mysql, t["id"])[0] == "open"
    acts = audit_rows(mysql, tenant.id, "ticket", t["id"])
    assert [a[0] for a in acts] == ["create"]
    assert acts[0][3] == tenant.users["technician"]["id"]
    cur = mysql.cursor()
    cur.execute("SELECT COUNT(*) FROM events WHERE tenant_id=%s AND name='ticket:created'"
                " AND entity_id=%s", (tenant.id, t["id"]))
    assert cur.fetchone()[0] == 1
    cur.execute("SELECT value FROM tenant_counters WHERE tenant_id=%s AND name=%s",
                (tenant.id, "ticket:" + m.group(1)))
    assert cur.fetchone()[0] == 2
    assert tenant.viewer.get(f"/tickets/{t['id']}").json()["data"] == t


def test_numbers_are_per_tenant(tenant, tenant_b, mysql):
    a = new_ticket(tenant.technician, make_customer(mysql, tenant.id))
    b = new_ticket(tenant_b.technician, make_customer(mysql, tenant_b.id))
    assert a["ticket_number"] == b["ticket_number"]


def test_twenty_parallel_creates_get_distinct_numbers(tenant, customer, mysql):
    token = tenant.technician.token
    local = threading.local()

    def create(i):
        if not hasattr(local, "c"):
            local.c = Client(token)
        r = local.c.post("/tickets", {"customer_id": customer, "title": f"t{i}",
                                      "description": "parallel"})
        assert r.status_code == 201, r.text
        return r.json()["data"]["ticket_number"]

    with ThreadPoolExecutor(max_workers=20) as ex:
        numbers = list(ex.map(create, range(20)))
    assert len(set(numbers)) == 20
    seqs = sorted(int(NUMBER.match(n).group(2)) for n in numbers)
    assert seqs == list(range(1, 21))
    cur = mysql.cursor()
    cur.execute("SELECT COUNT(DISTINCT ticket_number) FROM tickets WHERE tenant_id=%s",
                (tenant.id,))
    assert cur.fetchone()[0] == 20


def test_required_fields_and_validation(tenant, customer, tenant_b, mysql):
    c = tenant.technician
    r = c.post("/tickets", {})
    assert r.status_code == 422
    fields = {d["field"] for d in r.json()["error"]["details"]}
    assert fields == {"customer_id", "title", "description"}
    base = {"customer_id": customer, "title": "x", "description": "y"}
    for bad in ({"priority": "critical"}, {"priority": 3}, {"title": ""},
                {"title": "<script>alert(1)</script>"}, {"statuss": "open"},
                {"status": "open"}, {"customer_id": 0}, {"customer_id": "1"}):
        r = c.post("/tickets", {**base, **bad})
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["error"]["code"] == "validation_failed"
    # A customer of another tenant, or none at all, is a 422 on the field.
    other = make_customer(mysql, tenant_b.id)
    for cid in (other, 999999999):
        r = c.post("/tickets", {**base, "customer_id": cid})
        assert r.status_code == 422
        assert r.json()["error"]["details"][0]["field"] == "customer_id"
    cur = mysql.cursor()
    cur.execute("SELECT COUNT(*) FROM tickets WHERE tenant_id=%s", (tenant.id,))
    assert cur.fetchone()[0] == 0


def test_priorities(tenant, customer):
    for p in ("low", "medium", "high", "urgent"):
        assert new_ticket(tenant.technician, customer, priority=p)["priority"] == p
    r = tenant.technician.get("/tickets?priority=urgent")
    assert [t["priority"] for t in r.json()["data"]] == ["urgent"]
    r = tenant.viewer.get("/tickets?sort=-priority")
    assert [t["priority"] for t in r.json()["data"]] == ["urgent", "high", "medium", "low"]


def test_status_moves_forward_one_step(tenant, customer, mysql):
    c = tenant.technician
    t = new_ticket(c, customer)
    path = f"/tickets/{t['id']}"
    for bad in ("resolved", "closed", "open"):
        r = c.patch(path, {"status": bad})
        assert r.status_code == 422, bad
        assert r.json()["error"]["code"] == "invalid_transition"
    assert row(mysql, t["id"])[0] == "open"
    r = c.patch(path, {"status": "in_progress"})
    assert r.status_code == 200 and r.json()["data"]["status"] == "in_progress"
    assert r.json()["data"]["resolved_at"] is None
    for bad in ("open", "in_progress", "closed"):
        assert c.patch(path, {"status": bad}).json()["error"]["code"] == "invalid_transition"
    r = c.patch(path, {"status": "resolved"})
    assert r.status_code == 200
    d = r.json()["data"]
    assert d["status"] == "resolved" and d["resolved_at"] and d["closed_at"] is None
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", d["resolved_at"])
    assert c.patch(path, {"status": "in_progress"}).status_code == 422
    r = c.patch(path, {"status": "closed"})
    assert r.status_code == 200
    d2 = r.json()["data"]
    assert d2["status"] == "closed" and d2["closed_at"] and d2["resolved_at"] == d["resolved_at"]
    for bad in ("open", "in_progress", "resolved", "closed"):
        assert c.patch(path, {"status": bad}).status_code == 422
    db = row(mysql, t["id"])
    assert db[0] == "closed" and db[4] is not None and db[5] is not None
    acts = audit_rows(mysql, tenant.id, "ticket", t["id"])
    assert [a[0] for a in acts] == ["create", "update", "update", "update"]
    old, new = json.loads(acts[1][1]), json.loads(acts[1][2])
    assert old["status"] == "open" and new["status"] == "in_progress"
    cur = mysql.cursor()
    cur.execute("SELECT COUNT(*) FROM events WHERE tenant_id=%s AND name='ticket:updated'"
                " AND entity_id=%s", (tenant.id, t["id"]))
    assert cur.fetchone()[0] == 3


def test_assignment_must_be_active_user_of_tenant(tenant, tenant_b, customer, mysql):
    c = tenant.operator
    tech = tenant.users["technician"]["id"]
    t = new_ticket(c, customer, assigned_to=tech)
    assert t["assigned_to"] == tech
    cur = mysql.cursor()
    cur.execute("SELECT recipient_user_id, template_key, payload FROM notifications"
                " WHERE tenant_id=%s AND template_key='ticket_created'", (tenant.id,))
    rows = cur.fetchall()
    assert len(rows) == 1 and rows[0][0] == tech
    assert json.loads(rows[0][2])["ticket_number"] == t["ticket_number"]
    # Another tenant's user, a missing one, a deactivated one: 422.
    other = tenant_b.users["technician"]["id"]
    viewer = tenant.users["viewer"]["id"]
    assert tenant.admin.delete(f"/users/{viewer}").status_code == 204
    for uid in (other, 999999999, viewer):
        r = c.post("/tickets", {"customer_id": customer, "title": "a",
                                "description": "b", "assigned_to": uid})
        assert r.status_code == 422, uid
        assert r.json()["error"]["details"][0]["field"] == "assigned_to"
        r = c.patch(f"/tickets/{t['id']}", {"assigned_to": uid})
        assert r.status_code == 422
    assert row(mysql, t["id"])[3] == tech
    # Reassigning queues the email for the new assignee; null unassigns.
    op = tenant.users["operator"]["id"]
    r = c.patch(f"/tickets/{t['id']}", {"assigned_to": op})
    assert r.status_code == 200 and r.json()["data"]["assigned_to"] == op
    cur.execute("SELECT recipient_user_id FROM notifications WHERE tenant_id=%s"
                " AND template_key='ticket_created' ORDER BY id", (tenant.id,))
    assert [x[0] for x in cur.fetchall()] == [tech, op]
    r = c.patch(f"/tickets/{t['id']}", {"assigned_to": None})
    assert r.status_code == 200 and r.json()["data"]["assigned_to"] is None


def test_filters_and_pagination(tenant, mysql):
    c = tenant.technician
    c1, c2 = make_customer(mysql, tenant.id), make_customer(mysql, tenant.id)
    tech = tenant.users["technician"]["id"]
    a = new_ticket(c, c1, priority="high", assigned_to=tech)
    b = new_ticket(c, c2, priority="low")
    new_ticket(c, c2, priority="low")
    c.patch(f"/tickets/{b['id']}", {"status": "in_progress"})

    def ids(q):
        r = tenant.viewer.get("/tickets" + q)
        assert r.status_code == 200, r.text
        return {t["id"] for t in r.json()["data"]}

    assert ids(f"?customer_id={c1}") == {a["id"]}
    assert ids("?status=in_progress") == {b["id"]}
    assert ids("?priority=high") == {a["id"]}
    assert ids(f"?assigned_to={tech}") == {a["id"]}
    assert len(ids(f"?customer_id={c2}&priority=low")) == 2
    r = tenant.viewer.get("/tickets?per_page=2&page=2")
    assert r.json()["meta"] == {"page": 2, "per_page": 2, "total": 3, "total_pages": 2}
    assert len(r.json()["data"]) == 1
    for bad in ("?status=done", "?priority=x", "?per_page=101", "?customer_id=abc",
                "?sort=title"):
        assert tenant.viewer.get("/tickets" + bad).status_code == 422, bad


def test_comments(tenant, customer, mysql):
    t = new_ticket(tenant.technician, customer)
    path = f"/tickets/{t['id']}/comments"
    r = tenant.technician.post(path, {"body": "Sudah dicek, kabel putus"})
    assert r.status_code == 201, r.text
    cm = r.json()["data"]
    assert cm["body"] == "Sudah dicek, kabel putus"
    assert cm["author_id"] == tenant.users["technician"]["id"]
    assert cm["author_name"] == "Technician"
    assert cm["created_at"].endswith("Z") and cm["ticket_id"] == t["id"]
    tenant.admin.post(path, {"body": "Ok"})
    r = tenant.viewer.get(path)
    assert r.status_code == 200
    assert [x["body"] for x in r.json()["data"]] == ["Sudah dicek, kabel putus", "Ok"]
    assert r.json()["meta"]["total"] == 2
    assert tenant.viewer.post(path, {"body": "no"}).status_code == 403
    for bad in ({}, {"body": ""}, {"body": "<img src=x>"}, {"body": "a", "x": 1}):
        assert tenant.technician.post(path, bad).status_code == 422
    assert tenant.technician.post("/tickets/999999999/comments", {"body": "a"}).status_code == 404
    assert tenant.viewer.get("/tickets/999999999/comments").status_code == 404
    acts = audit_rows(mysql, tenant.id, "ticket_comment", cm["id"])
    assert [a[0] for a in acts] == ["create"]


def test_roles(tenant, customer):
    body = {"customer_id": customer, "title": "a", "description": "b"}
    r = tenant.viewer.post("/tickets", body)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert tenant.viewer.post("/tickets", {"bogus": 1}).status_code == 403
    t = new_ticket(tenant.technician, customer)
    assert tenant.viewer.patch(f"/tickets/{t['id']}", {"status": "in_progress"}).status_code == 403
    for role in ("technician", "operator", "admin"):
        assert getattr(tenant, role).post("/tickets", body).status_code == 201
    for role in ("viewer", "technician", "operator", "admin"):
        assert getattr(tenant, role).get("/tickets").status_code == 200
        assert getattr(tenant, role).get(f"/tickets/{t['id']}").status_code == 200
    assert Client().get("/tickets").status_code == 401


def test_other_tenant_gets_404_and_changes_nothing(tenant, tenant_b, customer, mysql):
    t = new_ticket(tenant.technician, customer)
    tenant.technician.post(f"/tickets/{t['id']}/comments", {"body": "mine"})
    before = row(mysql, t["id"])
    b = tenant_b.admin
    for r in (b.get(f"/tickets/{t['id']}"),
              b.patch(f"/tickets/{t['id']}", {"status": "in_progress"}),
              b.patch(f"/tickets/{t['id']}", {"title": "hacked"}),
              b.get(f"/tickets/{t['id']}/comments"),
              b.post(f"/tickets/{t['id']}/comments", {"body": "hacked"})):
        assert r.status_code == 404, r.text
        assert r.json()["error"]["code"] == "not_found"
    assert row(mysql, t["id"]) == before
    assert b.get("/tickets").json()["meta"]["total"] == 0
    cur = mysql.cursor()
    cur.execute("SELECT body FROM ticket_comments WHERE ticket_id=%s", (t["id"],))
    assert [x[0] for x in cur.fetchall()] == ["mine"]
