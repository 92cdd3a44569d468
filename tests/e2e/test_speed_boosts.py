"""Speed boosts (API.md "Speed boosts" and its details, requirement 9):
validation, the price formula in exact cents, approve/reject/cancel and
their 409s, overlapping boosts and the effective plan, expiry by
rtrw-boost with --now, the change_profile jobs and their order, the
speed_boost_approved notification (and the email the stack's mailer
renders from it), speed_boost:updated events, audit entries, roles and
tenant isolation, and a boost applied and reverted on a simulated router
by the stack's rtrw-provision.

The effective plan (what the provisioning daemon applies) is read with
`rtrw-boost plan`, which asks store_boost_effective_plan() exactly as the
daemon does."""
import datetime
import email
import email.policy
import json
import os
import pathlib
import subprocess
import threading
import time
import uuid
from decimal import Decimal

import jsonschema
import pytest
import yaml

from rtsupport import act, make_router, start_sim, wait_for, wait_settled
from support import Client, run_tool

HOUR = datetime.timedelta(hours=1)
ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs/openapi.yaml"


def _decimals(v):
    """The schema with its float keywords (multipleOf 0.01) as exact
    decimals, so that it checks the exact decimals of a response."""
    if isinstance(v, dict):
        return {k: _decimals(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_decimals(x) for x in v]
    return Decimal(str(v)) if isinstance(v, float) else v


VALIDATOR = jsonschema.Draft202012Validator(
    _decimals(yaml.safe_load(DOCS.read_text(encoding="utf-8"))
              ["components"]["schemas"]["SpeedBoost"]),
    format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def dec(r):
    """The response body with numbers as exact decimals; every speed boost
    in a success answer must match its documented schema exactly
    (additionalProperties: false, so no undocumented member)."""
    body = json.loads(r.text, parse_float=Decimal)
    if r.status_code < 300 and "data" in body:
        data = body["data"]
        for item in data if isinstance(data, list) else [data]:
            VALIDATOR.validate(item)
    return body


def utc(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)


def rfc3339(t):
    return t.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def plan(t, down, price, up=None, **kw):
    r = t.operator.post("/service-plans", dict(
        name=f"Boost {down} {uuid.uuid4().hex[:6]}", speed_download=down,
        speed_upload=up or down // 2, price=float(price), **kw))
    assert r.status_code == 201, r.text
    return r.json()["data"]["id"]


def router(mysql, tenant_id):
    # No password and loopback port 1: rtrw-provision cannot log in, so
    # these jobs wait (the router is paused) and never leave the machine;
    # the tests of this file read the queued rows, not their outcome.
    with mysql.cursor() as c:
        c.execute("INSERT INTO routers (tenant_id, name, host, api_port, username)"
                  " VALUES (%s, %s, '127.0.0.1', 1, 'admin')",
                  (tenant_id, "R-" + uuid.uuid4().hex[:6]))
        return c.lastrowid


def customer(t, plan_id, router_id=None, activate=True, **kw):
    body = {"name": "Budi Santoso", "phone": "0812" + str(uuid.uuid4().int)[:8],
            "address": "Jl. Melati 1, RT 03/RW 05", "service_plan_id": plan_id,
            "email": "budi@example.id"}
    if router_id:
        body.update(router_id=router_id,
                    pppoe_username="budi" + uuid.uuid4().hex[:6],
                    pppoe_password="rahasia-123")
    body.update(kw)
    r = t.operator.post("/customers", body)
    assert r.status_code == 201, r.text
    c = r.json()["data"]
    if activate:
        r = t.operator.post(f"/customers/{c['id']}/activate")
        assert r.status_code == 200, r.text
    return c["id"]


def request(t, cid, pid, hours=24, client=None):
    r = (client or t.operator).post("/speed-boosts", {
        "customer_id": cid, "boost_plan_id": pid, "duration_hours": hours})
    assert r.status_code == 201, r.text
    return dec(r)["data"]


def approve(t, bid):
    r = t.operator.post(f"/speed-boosts/{bid}/approve")
    assert r.status_code == 200, r.text
    return dec(r)["data"]


def boost_jobs(mysql, cid):
    """The change_profile jobs of a customer, oldest first."""
    with mysql.cursor() as c:
        c.execute("SELECT router_id, payload FROM provisioning_jobs"
                  " WHERE customer_id=%s AND action='change_profile' ORDER BY id",
                  (cid,))
        return [(rid, json.loads(p)) for rid, p in c.fetchall()]


def reasons(mysql, cid):
    """(reason, boost) of the customer's boost jobs (a plan change queues
    change_profile jobs too, without a boost)."""
    return [(p["reason"], p["speed_boost_id"]) for _, p in boost_jobs(mysql, cid)
            if "speed_boost_id" in p]


def audit(mysql, tenant_id, bid):
    with mysql.cursor() as c:
        c.execute("SELECT action, user_id, old_values, new_values, user_agent"
                  " FROM audit_logs WHERE tenant_id=%s AND entity_type='speed_boost'"
                  " AND entity_id=%s ORDER BY id", (tenant_id, bid))
        return [(a, u, json.loads(o) if o else None, json.loads(n) if n else None, ua)
                for a, u, o, n, ua in c.fetchall()]


def events(mysql, tenant_id, bid):
    with mysql.cursor() as c:
        c.execute("SELECT name, data FROM events WHERE tenant_id=%s"
                  " AND entity_type='speed_boost' AND entity_id=%s ORDER BY id",
                  (tenant_id, bid))
        return [(n, json.loads(d)) for n, d in c.fetchall()]


# The variables rtrw-mailer adds to every tenant email (lib/notify.h).
MAILER_ADDS = {"tenant_name", "recipient_name"}


def template_variables(t):
    """The variables GET /email-templates documents for the approval."""
    r = t.operator.get("/email-templates/speed_boost_approved")
    assert r.status_code == 200, r.text
    return set(r.json()["data"]["variables"])


def notifications(mysql, tenant_id):
    with mysql.cursor() as c:
        c.execute("SELECT template_key, recipient_user_id, recipient_email, payload,"
                  " dedupe_key FROM notifications WHERE tenant_id=%s"
                  " AND template_key='speed_boost_approved' ORDER BY id", (tenant_id,))
        return [(k, u, e, json.loads(p), d) for k, u, e, p, d in c.fetchall()]


def db_row(mysql, bid):
    with mysql.cursor() as c:
        c.execute("SELECT status, price, start_at, end_at, rejection_reason,"
                  " requested_by, decided_by FROM speed_boosts WHERE id=%s", (bid,))
        return c.fetchone()


def effective(t, cid, now=None):
    args = ["plan", "--tenant", str(t.id), "--customer", str(cid)]
    if now:
        args += ["--now", rfc3339(now)]
    out = run_tool("rtrw-boost", *args).stdout.strip()
    assert out.startswith(f"rtrw-boost plan: customer={cid} plan="), out
    return int(out.rsplit("=", 1)[1])


def expire(t=None, now=None, check=True):
    args = ["expire"]
    if t:
        args += ["--tenant", str(t.id)]
    if now:
        args += ["--now", rfc3339(now)]
    r = run_tool("rtrw-boost", *args, check=check)
    line = r.stdout.strip().splitlines()[-1]
    assert line.startswith("rtrw-boost expire:"), r.stdout + r.stderr
    return {k: v for k, v in (kv.split("=") for kv in line.split()[2:])}


@pytest.fixture
def setup(tenant, mysql):
    """A 10 Mbps plan at 150000.00, a 20 Mbps boost plan at 200000.00 and
    an active customer with an email on a router."""
    base = plan(tenant, 10000, "150000.00")
    fast = plan(tenant, 20000, "200000.00")
    rid = router(mysql, tenant.id)
    cid = customer(tenant, base, rid)
    return {"base": base, "fast": fast, "router": rid, "customer": cid}


# ---- create ---------------------------------------------------------------

def test_create_quotes_the_price_and_waits_for_approval(tenant, setup, mysql):
    before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    r = tenant.operator.post("/speed-boosts", {
        "customer_id": setup["customer"], "boost_plan_id": setup["fast"],
        "duration_hours": 24})
    assert r.status_code == 201, r.text
    assert '"price":1666.67' in r.text          # exact decimal on the wire
    b = dec(r)["data"]
    assert b["price"] == Decimal("1666.67")      # 50000.00 * 24 / 720
    assert b["status"] == "pending"
    assert b["customer_id"] == setup["customer"]
    assert b["boost_plan_id"] == setup["fast"] and b["base_plan_id"] == setup["base"]
    assert b["duration_hours"] == 24
    assert b["start_at"] is None and b["end_at"] is None
    assert b["rejection_reason"] is None and b["decided_by"] is None
    assert b["requested_by"] == tenant.users["operator"]["id"]
    after = datetime.datetime.now(datetime.timezone.utc)
    assert before - HOUR / 60 <= utc(b["requested_at"]) <= after + HOUR / 60
    assert set(b) == {"id", "customer_id", "boost_plan_id", "base_plan_id",
                      "duration_hours", "price", "status", "requested_at",
                      "requested_by", "decided_by", "start_at", "end_at",
                      "rejection_reason", "created_at", "updated_at"}
    assert db_row(mysql, b["id"])[:2] == ("pending", Decimal("1666.67"))
    # Audited, announced; nothing for the router yet.
    acts = audit(mysql, tenant.id, b["id"])
    assert [(a[0], a[1]) for a in acts] == [("create", tenant.users["operator"]["id"])]
    assert acts[0][3]["status"] == "pending"
    ev = events(mysql, tenant.id, b["id"])
    assert [e[0] for e in ev] == ["speed_boost:updated"]
    assert ev[0][1]["status"] == "pending" and ev[0][1]["id"] == b["id"]
    assert boost_jobs(mysql, setup["customer"]) == []
    assert effective(tenant, setup["customer"]) == setup["base"]
    g = tenant.viewer.get(f"/speed-boosts/{b['id']}")
    assert g.status_code == 200 and dec(g)["data"] == b


@pytest.mark.parametrize("base_price,boost_price,hours,expected", [
    ("150000.00", "200000.00", 24, "1666.67"),   # 1666.666... up
    ("150000.00", "250000.00", 1, "138.89"),     # 138.888... up
    ("150000.00", "250000.00", 720, "100000.00"),  # a whole month
    ("100.00", "100.01", 360, "0.01"),           # 0.005 exactly: half up
    ("100.00", "100.01", 359, "0.00"),           # 0.00498...: down
    ("100.00", "100.03", 120, "0.01"),           # 0.005 again
    ("100.00", "100.03", 119, "0.00"),
    ("99.99", "100.00", 720, "0.01"),
    ("150000.00", "175000.50", 7, "243.06"),     # 243.0597...: up
    ("150000.00", "100000.00", 24, "0.00"),      # cheaper boost plan: free
    ("150000.00", "150000.00", 24, "0.00"),      # same price: free
])
def test_price_formula_and_cents_rounding(tenant, mysql, base_price, boost_price,
                                          hours, expected):
    base = plan(tenant, 10000, base_price)
    fast = plan(tenant, 20000, boost_price)
    # monthly_price differs from the plan's price: the formula uses the plan's.
    cid = customer(tenant, base, monthly_price=1)
    b = request(tenant, cid, fast, hours)
    assert b["price"] == Decimal(expected)
    assert db_row(mysql, b["id"])[1] == Decimal(expected)


def test_price_uses_the_plans_current_prices(tenant, setup, mysql):
    r = tenant.operator.patch(f"/service-plans/{setup['base']}", {"price": 180000})
    assert r.status_code == 200, r.text
    r = tenant.operator.patch(f"/service-plans/{setup['fast']}", {"price": 252000})
    assert r.status_code == 200, r.text
    # (252000 - 180000) * 10 / 720 = 1000.00
    b = request(tenant, setup["customer"], setup["fast"], 10)
    assert b["price"] == Decimal("1000.00")
    # A quote stays what it was when later prices change.
    tenant.operator.patch(f"/service-plans/{setup['fast']}", {"price": 900000})
    assert dec(tenant.viewer.get(f"/speed-boosts/{b['id']}"))["data"]["price"] == \
        Decimal("1000.00")


def count_rows(mysql, tenant_id):
    with mysql.cursor() as c:
        c.execute("SELECT COUNT(*) FROM speed_boosts WHERE tenant_id=%s", (tenant_id,))
        n = c.fetchone()[0]
        c.execute("SELECT COUNT(*) FROM audit_logs WHERE tenant_id=%s"
                  " AND entity_type='speed_boost'", (tenant_id,))
        a = c.fetchone()[0]
        c.execute("SELECT COUNT(*) FROM events WHERE tenant_id=%s"
                  " AND entity_type='speed_boost'", (tenant_id,))
        return n, a, c.fetchone()[0]


def details(r):
    return {d["field"]: d["message"] for d in r.json()["error"].get("details", [])}


def test_create_validation_changes_nothing(tenant, tenant_b, setup, mysql):
    c, cid, fast = tenant.operator, setup["customer"], setup["fast"]
    good = {"customer_id": cid, "boost_plan_id": fast, "duration_hours": 24}

    def bad(body, fields, code="validation_failed"):
        r = c.post("/speed-boosts", body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"]["code"] == code
        assert set(details(r)) == set(fields), (body, r.text)
        return r

    bad({}, {"customer_id", "boost_plan_id", "duration_hours"})
    for hours in (0, 721, -1, "24", 1.5, None, True):
        bad(dict(good, duration_hours=hours), {"duration_hours"})
    bad(dict(good, customer_id=0), {"customer_id"})
    bad(dict(good, boost_plan_id="x"), {"boost_plan_id"})
    bad(dict(good, price=1), {"price"})                      # not writable
    bad(dict(good, status="active"), {"status"})
    # Objects that are not this tenant's, or not there.
    other_plan = plan(tenant_b, 50000, "300000.00")
    other_customer = customer(tenant_b, other_plan, activate=False)
    bad(dict(good, customer_id=other_customer), {"customer_id"})
    bad(dict(good, customer_id=999999999), {"customer_id"})
    bad(dict(good, boost_plan_id=other_plan), {"boost_plan_id"})
    bad(dict(good, boost_plan_id=999999999), {"boost_plan_id"})
    bad(dict(good, customer_id=other_customer, boost_plan_id=other_plan),
        {"customer_id", "boost_plan_id"})
    # Not faster by download: slower, equal, or faster upload only.
    r = bad(dict(good, boost_plan_id=plan(tenant, 5000, "100000.00")), {"boost_plan_id"})
    assert "10000 kbps" in details(r)["boost_plan_id"]
    bad(dict(good, boost_plan_id=plan(tenant, 10000, "200000.00", up=9000)),
        {"boost_plan_id"})
    bad(dict(good, boost_plan_id=setup["base"]), {"boost_plan_id"})
    # An inactive or deleted boost plan.
    inactive = plan(tenant, 40000, "400000.00", active=False)
    bad(dict(good, boost_plan_id=inactive), {"boost_plan_id"})
    gone = plan(tenant, 40000, "400000.00")
    assert tenant.admin.delete(f"/service-plans/{gone}").status_code == 204
    bad(dict(good, boost_plan_id=gone), {"boost_plan_id"})
    # A terminated or deleted customer.
    term = customer(tenant, setup["base"])
    assert c.post(f"/customers/{term}/terminate").status_code == 200
    bad(dict(good, customer_id=term), {"customer_id"})
    deleted = customer(tenant, setup["base"])
    assert tenant.admin.delete(f"/customers/{deleted}").status_code == 204
    bad(dict(good, customer_id=deleted), {"customer_id"})
    # Malformed bodies.
    r = c.post("/speed-boosts", data="{")
    assert r.status_code == 400
    r = c.post("/speed-boosts", data="[]")
    assert r.status_code == 400
    assert count_rows(mysql, tenant.id) == (0, 0, 0)
    # The good body works, once the bad ones are gone.
    assert c.post("/speed-boosts", good).status_code == 201
    assert count_rows(mysql, tenant.id) == (1, 1, 1)


# ---- approve, reject, cancel ----------------------------------------------

def test_approve_activates_queues_the_router_change_and_the_email(tenant, setup, mysql):
    cid = setup["customer"]
    b = request(tenant, cid, setup["fast"], 36)
    t0 = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    a = approve(tenant, b["id"])
    t1 = datetime.datetime.now(datetime.timezone.utc)
    assert a["status"] == "active"
    start, end = utc(a["start_at"]), utc(a["end_at"])
    assert t0 - HOUR / 60 <= start <= t1 + HOUR / 60
    assert end - start == 36 * HOUR
    assert a["decided_by"] == tenant.users["operator"]["id"]
    assert a["price"] == b["price"] and a["requested_at"] == b["requested_at"]
    row = db_row(mysql, b["id"])
    assert row[0] == "active" and row[3] - row[2] == 36 * HOUR
    # One change_profile job for the customer's router, without a profile:
    # the daemon applies the effective plan when it runs it.
    jobs = boost_jobs(mysql, cid)
    assert len(jobs) == 1
    rid, payload = jobs[0]
    assert rid == setup["router"]
    assert payload["customer_id"] == cid and payload["speed_boost_id"] == b["id"]
    assert payload["reason"] == "boost_started"
    assert "profile" not in payload and "service_plan_id" not in payload
    with mysql.cursor() as c:
        c.execute("SELECT router_id, status FROM provisioning_jobs WHERE customer_id=%s"
                  " AND action='change_profile'", (cid,))
        assert c.fetchone()[0] == setup["router"]
    assert effective(tenant, cid) == setup["fast"]
    # The customer's email, with the template's variables.
    n = notifications(mysql, tenant.id)
    assert len(n) == 1
    key, user, email, p, dedupe = n[0]
    assert (key, user, email) == ("speed_boost_approved", None, "budi@example.id")
    assert dedupe == f"speed_boost_approved:{b['id']}"
    assert p["boost_id"] == b["id"] and p["customer_id"] == cid
    assert p["customer_name"] == "Budi Santoso" and p["customer_code"].startswith("C-")
    assert p["speed_download"] == 20000 and p["speed_upload"] == 10000
    assert p["starts_at"] == a["start_at"] and p["ends_at"] == a["end_at"]
    assert p["duration_hours"] == 36 and Decimal(str(p["price"])) == b["price"]
    # Exactly the variables the template documents, less the two the
    # mailer adds itself.
    assert set(p) == template_variables(tenant) - MAILER_ADDS
    # Audit with old and new values, and the event.
    acts = audit(mysql, tenant.id, b["id"])
    assert [x[0] for x in acts] == ["create", "approve"]
    assert acts[1][1] == tenant.users["operator"]["id"]
    assert acts[1][2]["status"] == "pending" and acts[1][3]["status"] == "active"
    ev = events(mysql, tenant.id, b["id"])
    assert [e[0] for e in ev] == ["speed_boost:updated"] * 2
    assert ev[1][1]["status"] == "active" and ev[1][1]["end_at"] == a["end_at"]
    # Approving again is a conflict and changes nothing.
    r = tenant.operator.post(f"/speed-boosts/{b['id']}/approve")
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    assert "active" in r.json()["error"]["message"]
    assert len(boost_jobs(mysql, cid)) == 1 and len(notifications(mysql, tenant.id)) == 1
    assert len(audit(mysql, tenant.id, b["id"])) == 2
    assert dec(tenant.viewer.get(f"/speed-boosts/{b['id']}"))["data"] == a


def test_approve_without_email_router_or_active_customer(tenant, setup, mysql):
    # No email: no notification.  No router: no job.
    bare = customer(tenant, setup["base"], email=None)
    approve(tenant, request(tenant, bare, setup["fast"])["id"])
    assert notifications(mysql, tenant.id) == []
    assert boost_jobs(mysql, bare) == []
    assert effective(tenant, bare) == setup["fast"]
    # A pending customer on a router may get a boost; nothing is written to
    # the router for it (activation applies the effective plan).
    pending = customer(tenant, setup["base"], setup["router"], activate=False)
    a = approve(tenant, request(tenant, pending, setup["fast"])["id"])
    assert a["status"] == "active" and boost_jobs(mysql, pending) == []
    with mysql.cursor() as c:
        c.execute("SELECT COUNT(*) FROM provisioning_jobs WHERE customer_id=%s",
                  (pending,))
        assert c.fetchone()[0] == 0
    # A suspended one: no change_profile either.
    susp = customer(tenant, setup["base"], setup["router"])
    assert tenant.operator.post(f"/customers/{susp}/suspend").status_code == 200
    approve(tenant, request(tenant, susp, setup["fast"])["id"])
    assert boost_jobs(mysql, susp) == []
    assert len(notifications(mysql, tenant.id)) == 2


def test_approval_email_renders_every_variable(tenant, setup, mysql):
    """The stack's rtrw-mailer sends the approval to its mail sink with a
    template of the tenant that uses every documented variable, so each
    one must arrive with its value (a missing one renders as nothing)."""
    names = sorted(template_variables(tenant))
    text = "\n".join(f"{v}=[{{{{{v}}}}}]" for v in names)
    html = "".join(f"<p>{v}=[{{{{{v}}}}}]</p>" for v in names)
    r = tenant.admin.put("/email-templates/speed_boost_approved", {
        "subject": "Boost {{boost_id}} for {{customer_code}}",
        "body_text": text, "body_html": html})
    assert r.status_code == 200, r.text
    addr = f"boost-{uuid.uuid4().hex[:10]}@example.id"
    cid = customer(tenant, setup["base"], setup["router"], name="Sari & Budi",
                   email=addr)
    b = request(tenant, cid, setup["fast"], 24)
    a = approve(tenant, b["id"])
    c = tenant.viewer.get(f"/customers/{cid}").json()["data"]
    want = {"boost_id": str(b["id"]), "customer_id": str(cid),
            "customer_name": "Sari & Budi", "customer_code": c["customer_code"],
            "plan_name": tenant.viewer.get(f"/service-plans/{setup['fast']}")
            .json()["data"]["name"],
            "speed_download": "20000", "speed_upload": "10000",
            "duration_hours": "24", "price": "1666.67",
            "starts_at": a["start_at"], "ends_at": a["end_at"],
            "tenant_name": tenant.viewer.get("/tenant").json()["data"]["name"],
            # Sent to an address, not a user: nobody's name.
            "recipient_name": ""}
    assert set(want) == set(names)
    subprocess.run([os.environ["STACK_SH"], "start-mailer", os.environ["STACK_DIR"]],
                   check=True, capture_output=True, timeout=120)
    sink = pathlib.Path(os.environ["STACK_DIR"]) / "mail"
    mark = f"X-Original-To: {addr}\r\n".encode()
    deadline, found = time.time() + 30, None
    while not found and time.time() < deadline:
        found = next((f.read_bytes() for f in sink.glob("*.eml")
                      if mark in f.read_bytes()), None)
        time.sleep(0.2)
    assert found, f"no approval email for {addr} in {sink}"
    msg = email.message_from_bytes(found, policy=email.policy.default)
    assert msg["Subject"] == f"Boost {b['id']} for {c['customer_code']}"
    parts = {p.get_content_type(): p.get_content() for p in msg.iter_parts()}
    got_text = dict(line.split("=", 1) for line in
                    parts["text/plain"].strip().splitlines())
    assert got_text == {k: f"[{v}]" for k, v in want.items()}
    assert "<p>customer_name=[Sari &amp; Budi]</p>" in parts["text/html"]
    with mysql.cursor() as cur:
        cur.execute("SELECT status FROM notifications WHERE tenant_id=%s"
                    " AND recipient_email=%s", (tenant.id, addr))
        assert cur.fetchall() == (("sent",),)


def test_approve_refuses_what_the_customer_no_longer_allows(tenant, setup, mysql):
    cid = setup["customer"]
    # The customer's plan changed after the request: the quote is stale.
    stale = request(tenant, cid, setup["fast"])
    mid = plan(tenant, 15000, "170000.00")
    assert tenant.operator.patch(f"/customers/{cid}",
                                 {"service_plan_id": mid}).status_code == 200
    r = tenant.operator.post(f"/speed-boosts/{stale['id']}/approve")
    assert r.status_code == 409, r.text
    assert "plan has changed" in r.json()["error"]["message"]
    assert db_row(mysql, stale["id"])[0] == "pending"
    # Terminated, deleted customer; deleted boost plan.
    other = customer(tenant, setup["base"], setup["router"])
    b1 = request(tenant, other, setup["fast"])
    tenant.operator.post(f"/customers/{other}/terminate")
    r = tenant.operator.post(f"/speed-boosts/{b1['id']}/approve")
    assert r.status_code == 409 and "terminated" in r.json()["error"]["message"]
    gone = customer(tenant, setup["base"])
    b2 = request(tenant, gone, setup["fast"])
    assert tenant.admin.delete(f"/customers/{gone}").status_code == 204
    r = tenant.operator.post(f"/speed-boosts/{b2['id']}/approve")
    assert r.status_code == 409 and "deleted" in r.json()["error"]["message"]
    # The boost of a deleted customer stays readable (history) and cancellable.
    assert tenant.viewer.get(f"/speed-boosts/{b2['id']}").status_code == 200
    assert tenant.operator.post(f"/speed-boosts/{b2['id']}/cancel").status_code == 200
    p = plan(tenant, 60000, "500000.00")
    third = customer(tenant, setup["base"])
    b3 = request(tenant, third, p)
    assert tenant.admin.delete(f"/service-plans/{p}").status_code == 204
    r = tenant.operator.post(f"/speed-boosts/{b3['id']}/approve")
    assert r.status_code == 409 and "boost plan" in r.json()["error"]["message"]
    for b in (stale, b1, b3):
        assert db_row(mysql, b["id"])[0] == "pending"
        assert [a[0] for a in audit(mysql, tenant.id, b["id"])] == ["create"]
    assert notifications(mysql, tenant.id) == []


def test_reject_needs_a_reason_and_only_pending(tenant, setup, mysql):
    b = request(tenant, setup["customer"], setup["fast"])
    path = f"/speed-boosts/{b['id']}/reject"
    for body in ({}, {"reason": ""}, {"reason": None}, {"reason": 5},
                 {"reason": "x" * 501}, {"reason": "<script>alert(1)</script>"},
                 {"reason": "ok", "extra": 1}):
        r = tenant.operator.post(path, body)
        assert r.status_code == 422, (body, r.text)
        assert "reason" in details(r) or "extra" in details(r)
    assert tenant.operator.post(path).status_code == 400   # no body at all
    assert db_row(mysql, b["id"])[0] == "pending"
    r = tenant.operator.post(path, {"reason": "Kuota jaringan penuh minggu ini"})
    assert r.status_code == 200, r.text
    d = dec(r)["data"]
    assert d["status"] == "rejected"
    assert d["rejection_reason"] == "Kuota jaringan penuh minggu ini"
    assert d["decided_by"] == tenant.users["operator"]["id"]
    assert d["start_at"] is None and d["end_at"] is None
    assert db_row(mysql, b["id"])[4] == "Kuota jaringan penuh minggu ini"
    acts = audit(mysql, tenant.id, b["id"])
    assert [a[0] for a in acts] == ["create", "reject"]
    assert acts[1][3]["rejection_reason"] == "Kuota jaringan penuh minggu ini"
    assert [e[1]["status"] for e in events(mysql, tenant.id, b["id"])] == \
        ["pending", "rejected"]
    # Nothing moves a rejected boost any more.
    for verb, body in (("approve", None), ("reject", {"reason": "again"}),
                       ("cancel", None)):
        r = tenant.operator.post(f"/speed-boosts/{b['id']}/{verb}", body)
        assert r.status_code == 409, (verb, r.text)
        assert r.json()["error"]["code"] == "conflict"
    assert db_row(mysql, b["id"])[0] == "rejected"
    assert boost_jobs(mysql, setup["customer"]) == []
    assert notifications(mysql, tenant.id) == []
    # Reject of an active boost is 409 too.
    a = approve(tenant, request(tenant, setup["customer"], setup["fast"])["id"])
    r = tenant.operator.post(f"/speed-boosts/{a['id']}/reject", {"reason": "late"})
    assert r.status_code == 409 and db_row(mysql, a["id"])[0] == "active"


def test_cancel_pending_and_active(tenant, setup, mysql):
    cid = setup["customer"]
    p = request(tenant, cid, setup["fast"])
    r = tenant.operator.post(f"/speed-boosts/{p['id']}/cancel")
    assert r.status_code == 200, r.text
    assert dec(r)["data"]["status"] == "cancelled" and dec(r)["data"]["end_at"] is None
    assert boost_jobs(mysql, cid) == []              # the router never knew
    a = approve(tenant, request(tenant, cid, setup["fast"], 48)["id"])
    assert effective(tenant, cid) == setup["fast"]
    t0 = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    r = tenant.operator.post(f"/speed-boosts/{a['id']}/cancel", {})
    assert r.status_code == 200, r.text
    c = dec(r)["data"]
    assert c["status"] == "cancelled" and c["start_at"] == a["start_at"]
    # end_at becomes the moment it really ended.
    assert t0 - HOUR / 60 <= utc(c["end_at"]) <= \
        datetime.datetime.now(datetime.timezone.utc) + HOUR / 60
    assert utc(c["end_at"]) < utc(a["end_at"])
    assert reasons(mysql, cid) == [("boost_started", a["id"]),
                                   ("boost_cancelled", a["id"])]
    assert effective(tenant, cid) == setup["base"]
    acts = audit(mysql, tenant.id, a["id"])
    assert [x[0] for x in acts] == ["create", "approve", "cancel"]
    assert acts[2][2]["status"] == "active" and acts[2][3]["status"] == "cancelled"
    assert [e[1]["status"] for e in events(mysql, tenant.id, a["id"])] == \
        ["pending", "active", "cancelled"]
    for verb in ("cancel", "approve"):
        r = tenant.operator.post(f"/speed-boosts/{a['id']}/{verb}")
        assert r.status_code == 409, r.text
    r = tenant.operator.post(f"/speed-boosts/{a['id']}/cancel", {"reason": "x"})
    assert r.status_code == 422                       # cancel takes no fields
    assert len(boost_jobs(mysql, cid)) == 2
    # The expiry job leaves a cancelled boost alone.
    assert expire(tenant, now=utc(a["end_at"]) + HOUR)["expired"] == "0"
    assert db_row(mysql, a["id"])[0] == "cancelled"


def test_concurrent_approvals_of_one_boost(tenant, setup, mysql):
    b = request(tenant, setup["customer"], setup["fast"])
    token = tenant.operator.token
    codes = []
    lock = threading.Lock()

    def go():
        r = Client(token).post(f"/speed-boosts/{b['id']}/approve")
        with lock:
            codes.append(r.status_code)

    ts = [threading.Thread(target=go) for _ in range(12)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert sorted(codes) == [200] + [409] * 11, codes
    assert len(boost_jobs(mysql, setup["customer"])) == 1
    assert len(notifications(mysql, tenant.id)) == 1
    assert [a[0] for a in audit(mysql, tenant.id, b["id"])] == ["create", "approve"]


# ---- overlap, effective plan, expiry --------------------------------------

def test_overlapping_boosts_fastest_wins_and_jobs_follow(tenant, setup, mysql):
    cid, base = setup["customer"], setup["base"]
    p20, p50, p30 = setup["fast"], plan(tenant, 50000, "400000.00"), \
        plan(tenant, 30000, "250000.00")
    a = approve(tenant, request(tenant, cid, p20, 48)["id"])     # base -> 20
    assert effective(tenant, cid) == p20
    b = approve(tenant, request(tenant, cid, p50, 24)["id"])     # 20 -> 50
    assert effective(tenant, cid) == p50
    c = approve(tenant, request(tenant, cid, p30, 72)["id"])     # 50 stays
    assert effective(tenant, cid) == p50
    # Two requests for the same plan: the second changes nothing either.
    d = approve(tenant, request(tenant, cid, p50, 1)["id"])
    assert reasons(mysql, cid) == [("boost_started", a["id"]),
                                   ("boost_started", b["id"])]
    start = utc(a["start_at"])
    # d (50, 1 h) ends first: b (50) still runs, nothing changes.
    s = expire(tenant, now=utc(d["end_at"]))
    assert s == {"expired": "1", "jobs": "0", "failed": "0", "seconds": s["seconds"]}
    # b ends at +24 h: c (30) is now the fastest.
    s = expire(tenant, now=utc(b["end_at"]))
    assert (s["expired"], s["jobs"]) == ("1", "1")
    assert effective(tenant, cid, now=start + 25 * HOUR) == p30
    # a (20) ends at +48 h under c (30): nothing changes.
    s = expire(tenant, now=utc(a["end_at"]) + HOUR / 2)
    assert (s["expired"], s["jobs"]) == ("1", "0")
    assert effective(tenant, cid, now=start + 49 * HOUR) == p30
    # c ends at +72 h: back to the customer's own plan.
    s = expire(tenant, now=utc(c["end_at"]))
    assert (s["expired"], s["jobs"]) == ("1", "1")
    assert effective(tenant, cid) == base
    assert reasons(mysql, cid) == [("boost_started", a["id"]),
                                   ("boost_started", b["id"]),
                                   ("boost_expired", b["id"]),
                                   ("boost_expired", c["id"])]
    assert {x["id"]: db_row(mysql, x["id"])[0] for x in (a, b, c, d)} == \
        {x["id"]: "expired" for x in (a, b, c, d)}
    assert expire(tenant, now=utc(c["end_at"]) + 100 * HOUR)["expired"] == "0"


def test_expiry_boundaries_audit_and_events(tenant, setup, mysql):
    cid = setup["customer"]
    a = approve(tenant, request(tenant, cid, setup["fast"], 5)["id"])
    end = utc(a["end_at"])
    # One second early: nothing; at end_at exactly: expired.
    assert expire(tenant, now=end - HOUR / 3600)["expired"] == "0"
    assert db_row(mysql, a["id"])[0] == "active"
    # Without --now the effective plan already ignores a boost past
    # end_at; before it, the boost counts.
    assert effective(tenant, cid, now=end - HOUR / 3600) == setup["fast"]
    assert effective(tenant, cid, now=end) == setup["base"]
    s = expire(tenant, now=end)
    assert (s["expired"], s["jobs"], s["failed"]) == ("1", "1", "0")
    assert db_row(mysql, a["id"])[0] == "expired"
    g = dec(tenant.viewer.get(f"/speed-boosts/{a['id']}"))["data"]
    assert g["status"] == "expired" and g["end_at"] == a["end_at"]
    acts = audit(mysql, tenant.id, a["id"])
    assert [(x[0], x[1]) for x in acts][-1] == ("expire", None)
    assert acts[-1][4] == "rtrw-boost"
    assert acts[-1][2]["status"] == "active" and acts[-1][3]["status"] == "expired"
    ev = events(mysql, tenant.id, a["id"])
    assert ev[-1][0] == "speed_boost:updated" and ev[-1][1]["status"] == "expired"
    assert reasons(mysql, cid)[-1] == ("boost_expired", a["id"])
    # A second run finds nothing; nor does cancel find it cancellable.
    assert expire(tenant, now=end + HOUR)["expired"] == "0"
    assert tenant.operator.post(f"/speed-boosts/{a['id']}/cancel").status_code == 409
    assert len(boost_jobs(mysql, cid)) == 2


def test_expiry_on_the_real_clock_and_for_every_tenant(tenant, tenant_b, setup, mysql):
    cid = setup["customer"]
    a = approve(tenant, request(tenant, cid, setup["fast"], 2)["id"])
    bp = plan(tenant_b, 10000, "150000.00")
    bfast = plan(tenant_b, 20000, "200000.00")
    bc = customer(tenant_b, bp, router(mysql, tenant_b.id))
    b = approve(tenant_b, request(tenant_b, bc, bfast, 2)["id"])
    # Move both ends into the past; the job without --now or --tenant
    # (as the timer runs it) expires both.
    with mysql.cursor() as c:
        c.execute("UPDATE speed_boosts SET start_at = UTC_TIMESTAMP() - INTERVAL 2 HOUR"
                  " - INTERVAL 1 SECOND, end_at = UTC_TIMESTAMP() - INTERVAL 1 SECOND"
                  " WHERE id IN (%s, %s)", (a["id"], b["id"]))
    assert effective(tenant, cid) == setup["base"]   # already, before the job
    s = expire()
    assert int(s["expired"]) >= 2 and s["failed"] == "0"
    assert db_row(mysql, a["id"])[0] == "expired" and db_row(mysql, b["id"])[0] == "expired"
    assert reasons(mysql, cid)[-1] == ("boost_expired", a["id"])
    assert reasons(mysql, bc)[-1] == ("boost_expired", b["id"])
    # Each tenant's rows stayed in its tenant.
    assert audit(mysql, tenant_b.id, a["id"]) == []
    assert events(mysql, tenant.id, b["id"]) == []


def test_expiry_of_suspended_deleted_and_terminated_customers(tenant, setup, mysql):
    rid = setup["router"]
    susp = customer(tenant, setup["base"], rid)
    term = customer(tenant, setup["base"], rid)
    gone = customer(tenant, setup["base"], rid)
    bs = [approve(tenant, request(tenant, c, setup["fast"], 3)["id"])
          for c in (susp, term, gone)]
    assert all(len(boost_jobs(mysql, c)) == 1 for c in (susp, term, gone))
    tenant.operator.post(f"/customers/{susp}/suspend")
    tenant.operator.post(f"/customers/{term}/terminate")
    assert tenant.admin.delete(f"/customers/{gone}").status_code == 204
    s = expire(tenant, now=max(utc(b["end_at"]) for b in bs))
    assert (s["expired"], s["jobs"], s["failed"]) == ("3", "0", "0")
    assert all(db_row(mysql, b["id"])[0] == "expired" for b in bs)
    assert all(len(boost_jobs(mysql, c)) == 1 for c in (susp, term, gone))


def test_concurrent_expiry_runs_expire_each_boost_once(tenant, setup, mysql):
    cids = [customer(tenant, setup["base"], setup["router"]) for _ in range(12)]
    bs = [approve(tenant, request(tenant, c, setup["fast"], 4)["id"]) for c in cids]
    now = max(utc(b["end_at"]) for b in bs)
    results = []
    lock = threading.Lock()

    def run():
        s = expire(tenant, now=now)
        with lock:
            results.append(s)

    ts = [threading.Thread(target=run) for _ in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert len(results) == 3 and all(s["failed"] == "0" for s in results)
    assert sum(int(s["expired"]) for s in results) == 12
    assert sum(int(s["jobs"]) for s in results) == 12
    for b, c in zip(bs, cids):
        assert db_row(mysql, b["id"])[0] == "expired"
        assert [a[0] for a in audit(mysql, tenant.id, b["id"])].count("expire") == 1
        assert reasons(mysql, c) == [("boost_started", b["id"]),
                                     ("boost_expired", b["id"])]


def test_own_faster_plan_beats_a_slower_boost(tenant, setup, mysql):
    cid = setup["customer"]
    a = approve(tenant, request(tenant, cid, setup["fast"], 48)["id"])
    assert effective(tenant, cid) == setup["fast"]
    # The customer moves up to 50 Mbps during the boost: never slowed down.
    big = plan(tenant, 50000, "400000.00")
    assert tenant.operator.patch(f"/customers/{cid}",
                                 {"service_plan_id": big}).status_code == 200
    assert effective(tenant, cid) == big
    # Expiring the slower boost then changes nothing on the router.
    n = len(boost_jobs(mysql, cid))
    s = expire(tenant, now=utc(a["end_at"]))
    assert (s["expired"], s["jobs"]) == ("1", "0")
    assert len(boost_jobs(mysql, cid)) == n
    assert effective(tenant, cid) == big


def test_bad_job_usage():
    for args in ([], ["bogus"], ["expire", "--now", "yesterday"],
                 ["expire", "--tenant", "x"], ["expire", "--tenant"],
                 ["expire", "--frobnicate", "1"], ["plan", "--customer", "1"],
                 ["plan", "--tenant", "1"], ["expire", "--customer", "1"],
                 ["expire", "extra", "words"]):
        r = run_tool("rtrw-boost", *args, check=False)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert "usage" in r.stderr
    r = run_tool("rtrw-boost", "plan", "--tenant", "1", "--customer", "999999999",
                 check=False)
    assert r.returncode == 1 and "no customer" in r.stderr


# ---- lists, roles, tenants ------------------------------------------------

def test_list_filters_sort_and_pages(tenant, setup, mysql):
    c1 = setup["customer"]
    c2 = customer(tenant, setup["base"])
    a = request(tenant, c1, setup["fast"], 10)
    b = approve(tenant, request(tenant, c1, setup["fast"], 5)["id"])
    c = request(tenant, c2, setup["fast"], 30)
    tenant.operator.post(f"/speed-boosts/{c['id']}/reject", {"reason": "no"})
    v = tenant.viewer

    def ids(q):
        r = v.get("/speed-boosts" + q)
        assert r.status_code == 200, r.text
        body = dec(r)
        return [x["id"] for x in body["data"]], body["meta"]

    got, meta = ids("")
    assert got == [c["id"], b["id"], a["id"]]        # newest first
    assert meta == {"page": 1, "per_page": 20, "total": 3, "total_pages": 1}
    assert ids(f"?customer_id={c1}")[0] == [b["id"], a["id"]]
    assert ids(f"?customer_id={c2}&status=rejected")[0] == [c["id"]]
    assert ids("?status=active")[0] == [b["id"]]
    assert ids("?status=pending")[0] == [a["id"]]
    assert ids("?status=expired")[0] == []
    assert ids("?sort=requested_at")[0] == [a["id"], b["id"], c["id"]]
    assert ids("?sort=end_at")[0][0] == b["id"]      # the only end_at first
    got, meta = ids("?per_page=2&page=2&sort=requested_at")
    assert got == [c["id"]] and meta["total"] == 3 and meta["total_pages"] == 2
    for q in ("?status=bogus", "?customer_id=x", "?customer_id=0", "?sort=name",
              "?per_page=101", "?page=0"):
        r = v.get("/speed-boosts" + q)
        assert r.status_code == 422, (q, r.text)
    r = v.get("/speed-boosts?status=active")
    assert dec(r)["data"][0] == dec(v.get(f"/speed-boosts/{b['id']}"))["data"]
    assert v.get("/speed-boosts/999999999").status_code == 404
    assert v.get("/speed-boosts/999999999").json()["error"]["message"] == \
        "speed boost not found"


def test_roles(tenant, setup, mysql):
    b = request(tenant, setup["customer"], setup["fast"], client=tenant.admin)
    body = {"customer_id": setup["customer"], "boost_plan_id": setup["fast"],
            "duration_hours": 24}
    for role in ("viewer", "technician"):
        c = tenant.clients[role]
        assert c.get("/speed-boosts").status_code == 200
        assert c.get(f"/speed-boosts/{b['id']}").status_code == 200
        for path, payload in (("/speed-boosts", body), ("/speed-boosts", {"x": 1}),
                              (f"/speed-boosts/{b['id']}/approve", None),
                              (f"/speed-boosts/{b['id']}/reject", {"reason": "r"}),
                              (f"/speed-boosts/{b['id']}/reject", {}),
                              (f"/speed-boosts/{b['id']}/cancel", None)):
            r = c.post(path, payload)
            assert r.status_code == 403, (role, path, r.text)
            assert r.json()["error"]["code"] == "forbidden"
    assert db_row(mysql, b["id"])[0] == "pending"
    assert count_rows(mysql, tenant.id)[0] == 1
    # Operators and admins write.
    assert tenant.admin.post(f"/speed-boosts/{b['id']}/approve").status_code == 200
    assert tenant.admin.post(f"/speed-boosts/{b['id']}/cancel").status_code == 200
    assert Client().get("/speed-boosts").status_code == 401


def test_tenants_see_only_their_own(tenant, tenant_b, setup, mysql):
    b = request(tenant, setup["customer"], setup["fast"])
    before = db_row(mysql, b["id"])
    other = tenant_b.admin
    assert other.get("/speed-boosts").json()["data"] == []
    assert other.get(f"/speed-boosts?customer_id={setup['customer']}").json()["data"] == []
    for method, path, body in (("GET", "", None), ("POST", "/approve", None),
                               ("POST", "/reject", {"reason": "probe"}),
                               ("POST", "/cancel", None)):
        r = other.request(method, f"/speed-boosts/{b['id']}{path}", json=body)
        assert r.status_code == 404, (path, r.text)
        assert r.json()["error"]["code"] == "not_found"
    assert db_row(mysql, b["id"]) == before
    assert audit(mysql, tenant_b.id, b["id"]) == []
    # B cannot request a boost for A's customer or with A's plan.
    bplan = plan(tenant_b, 90000, "900000.00")
    r = other.post("/speed-boosts", {"customer_id": setup["customer"],
                                     "boost_plan_id": bplan, "duration_hours": 1})
    assert r.status_code == 422 and "customer_id" in details(r)
    bcust = customer(tenant_b, plan(tenant_b, 1000, "1000.00"))
    r = other.post("/speed-boosts", {"customer_id": bcust,
                                     "boost_plan_id": setup["fast"], "duration_hours": 1})
    assert r.status_code == 422 and set(details(r)) == {"boost_plan_id"}
    # The job run for B's tenant leaves A's boosts alone.
    a = approve(tenant, b["id"])
    assert expire(tenant_b, now=utc(a["end_at"]) + HOUR)["expired"] == "0"
    assert db_row(mysql, b["id"])[0] == "active"
    assert run_tool("rtrw-boost", "plan", "--tenant", str(tenant_b.id), "--customer",
                    str(setup["customer"]), check=False).returncode == 1


# ---- on a simulated router ------------------------------------------------

def test_boost_applied_and_reverted_on_the_router(tenant, mysql):
    """A boost's profile reaches the router (the stack's rtrw-provision
    applies the jobs) with the session dropped, and its end (the expiry
    job, then a cancel) puts back the plan the customer has at that
    moment, not the one it had at approval."""
    op = tenant.operator
    with start_sim(state={"profiles": [], "secrets": []}) as sim:
        rt = make_router(op, sim.port)
        base = plan(tenant, 10000, "150000.00", up=2000)
        mid = plan(tenant, 15000, "175000.00", up=3000)
        fast = plan(tenant, 50000, "400000.00", up=10000)
        prof = {p: op.get(f"/service-plans/{p}").json()["data"]["mikrotik_profile"]
                for p in (base, mid, fast)}
        user = "boost" + uuid.uuid4().hex[:6]
        cid = customer(tenant, base, activate=False, router_id=rt["id"],
                       pppoe_username=user, pppoe_password="rahasia-123")
        act(op, cid, "activate")
        wait_settled(mysql, cid)
        assert sim.secret(user)["profile"] == prof[base]
        sim.connect(user)
        first = sim.session(user)[".id"]

        # Approval: the boost's own profile, created on the router with
        # the boost plan's rate-limit, and the session ends so that the
        # CPE dials in at the new speed.
        a = approve(tenant, request(tenant, cid, fast, 24)["id"])
        js = wait_settled(mysql, cid)
        assert js[-1][1:3] == ("change_profile", "done"), js
        assert sim.secret(user)["profile"] == prof[fast]
        assert sim.profile(prof[fast])["rate-limit"] == "10000k/50000k"
        s = sim.session(user)
        assert s is None or s[".id"] != first
        assert op.get(f"/customers/{cid}").json()["data"]["router_state"] == "synced"

        # The plan changes during the boost: the boost still wins.
        assert op.patch(f"/customers/{cid}", {"service_plan_id": mid}).status_code == 200
        wait_settled(mysql, cid)
        assert sim.secret(user)["profile"] == prof[fast]

        # Expiry reverts to the plan of that moment (mid, not base).
        sim.connect(user)
        assert expire(tenant, now=utc(a["end_at"]))["jobs"] == "1"
        js = wait_settled(mysql, cid)
        assert js[-1][1:3] == ("change_profile", "done"), js
        assert sim.secret(user)["profile"] == prof[mid]
        assert sim.session(user) is None

        # A cancelled boost reverts at once.
        b = approve(tenant, request(tenant, cid, fast, 48)["id"])
        wait_for(lambda: sim.secret(user)["profile"] == prof[fast], 10,
                 what="the second boost's profile")
        r = op.post(f"/speed-boosts/{b['id']}/cancel")
        assert r.status_code == 200, r.text
        js = wait_settled(mysql, cid)
        assert sim.secret(user)["profile"] == prof[mid]
        assert [j[1:3] for j in js] == [("activate", "done")] + \
            [("change_profile", "done")] * 5
        assert [x[0] for x in reasons(mysql, cid)] == [
            "boost_started", "boost_expired", "boost_started", "boost_cancelled"]
