"""/api/v1/routers: create and connection changes log in first, sealed
passwords, fingerprint pinning and learning, anonymous TLS, POST /test,
DELETE in_use, and what customers on a router must have."""
import json
import time

import pytest

from rtsupport import (SIM_PASSWORD, act, customer, make_router, plan,
                       router_body, start_sim, wait_for)


def logins_of(sim):
    return sim.stats()["stats"].get("logins", 0)


@pytest.fixture(scope="module")
def sim():
    s = start_sim(tls_port=0)
    yield s
    s.stop()


@pytest.fixture
def fresh_sim(sim):
    sim.reset()
    yield sim
    assert sim.alive()


def test_create_logs_in_and_records_the_router(tenant, fresh_sim, mysql):
    op = tenant.operator
    r = op.post("/routers", router_body(fresh_sim.port, uplink_capacity_kbps=100000))
    assert r.status_code == 201, r.text
    rt = r.json()["data"]
    assert rt["status"] == "online" and rt["last_error"] is None
    assert rt["identity"] == fresh_sim.state()["identity"]
    assert rt["routeros_version"].startswith("7.")
    assert rt["api_port"] == fresh_sim.port and rt["use_tls"] is False
    assert rt["last_seen"] and rt["uplink_capacity_kbps"] == 100000
    assert "password" not in rt and "password_enc" not in rt
    assert logins_of(fresh_sim) >= 1
    cur = mysql.cursor()
    cur.execute("SELECT password_enc FROM routers WHERE id=%s", (rt["id"],))
    enc = cur.fetchone()[0]
    assert enc and SIM_PASSWORD.encode() not in enc
    cur.execute("SELECT new_values FROM audit_logs WHERE entity_type='router'"
                " AND entity_id=%s", (rt["id"],))
    audit = cur.fetchone()[0]
    assert SIM_PASSWORD not in audit and json.loads(audit)["password_changed"]
    assert tenant.viewer.get(f"/routers/{rt['id']}").json()["data"] == \
        op.get(f"/routers/{rt['id']}").json()["data"]
    assert [x["id"] for x in tenant.viewer.get("/routers").json()["data"]] == [rt["id"]]
    assert tenant.viewer.get("/routers?status=offline").json()["data"] == []
    # Many per tenant.
    make_router(op, fresh_sim.port)
    assert tenant.viewer.get("/routers").json()["meta"]["total"] == 2


def test_create_refuses_what_does_not_log_in(tenant, fresh_sim, mysql):
    op = tenant.operator
    r = op.post("/routers", router_body(fresh_sim.port, password="wrong-one"))
    assert r.status_code == 422 and r.json()["error"]["code"] == "router_auth_failed"
    assert "invalid user name or password" in r.json()["error"]["message"]
    # A port nobody listens on (the simulator's, closed).
    fresh_sim.fault(refuse=True)
    r = op.post("/routers", router_body(fresh_sim.port))
    assert r.status_code == 422 and r.json()["error"]["code"] == "router_unreachable"
    fresh_sim.clear_faults()
    # A router that accepts and then says nothing costs a bounded time.
    fresh_sim.fault(hang=True)
    t0 = time.time()
    r = op.post("/routers", router_body(fresh_sim.port))
    took = time.time() - t0
    fresh_sim.clear_faults()
    assert r.status_code == 422 and r.json()["error"]["code"] == "router_unreachable"
    assert took < 9, took
    cur = mysql.cursor()
    cur.execute("SELECT COUNT(*) FROM routers WHERE tenant_id=%s", (tenant.id,))
    assert cur.fetchone()[0] == 0


@pytest.mark.parametrize("body,field", [
    ({"host": "router.example.id"}, "host"),
    ({"host": "127.0.0.1<script>"}, "host"),
    ({"api_port": 0}, "api_port"),
    ({"api_port": 70000}, "api_port"),
    ({"tls_fingerprint": "zz"}, "tls_fingerprint"),
    ({"tls_fingerprint": "learn"}, "tls_fingerprint"),
    ({"tls_anonymous": True, "tls_fingerprint": "learn"}, "tls_fingerprint"),
    ({"tls_fingerprint": "ab" * 32}, "tls_fingerprint"),
    ({"name": "<b>x</b>"}, "name"),
    ({"password": ""}, "password"),
    ({"colour": "red"}, "colour"),
])
def test_validation(tenant, body, field):
    b = router_body(1)
    b.update(body)
    r = tenant.operator.post("/routers", b)
    assert r.status_code == 422, r.text
    assert field in [d["field"] for d in r.json()["error"].get("details", [])], r.text


def test_roles(tenant, fresh_sim):
    assert tenant.viewer.post("/routers", {"x": 1}).status_code == 403
    assert tenant.technician.post("/routers", router_body(fresh_sim.port)).status_code == 403
    rt = make_router(tenant.operator, fresh_sim.port)
    assert tenant.operator.delete(f"/routers/{rt['id']}").status_code == 403
    assert tenant.viewer.post(f"/routers/{rt['id']}/test").status_code == 403


def test_fingerprint_learned_then_pinned(tenant, fresh_sim):
    op = tenant.operator
    rt = make_router(op, fresh_sim.tls_port, use_tls=True, tls_fingerprint="learn")
    assert rt["tls_fingerprint"] == fresh_sim.fingerprint
    # Pinned by value (openssl's colon form is accepted and normalised).
    colon = ":".join(fresh_sim.fingerprint[i:i + 2].upper() for i in range(0, 64, 2))
    rt2 = make_router(op, fresh_sim.tls_port, use_tls=True, tls_fingerprint=colon)
    assert rt2["tls_fingerprint"] == fresh_sim.fingerprint
    # Another certificate: refused before the password goes out.
    new_fp = fresh_sim.tls(new_cert=True)
    logins = logins_of(fresh_sim)
    r = op.post(f"/routers/{rt['id']}/test")
    assert r.status_code == 200 and r.json()["data"]["status"] == "offline"
    assert "certificate" in r.json()["data"]["last_error"]
    assert logins_of(fresh_sim) == logins
    r = op.post("/routers", router_body(fresh_sim.tls_port, use_tls=True,
                                        tls_fingerprint=colon))
    assert r.status_code == 422 and r.json()["error"]["code"] == "router_unreachable"
    # The operator accepts the new certificate.
    r = op.patch(f"/routers/{rt['id']}", {"tls_fingerprint": "learn"})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["tls_fingerprint"] == new_fp
    assert r.json()["data"]["status"] == "online"
    # null removes the pin.
    r = op.patch(f"/routers/{rt['id']}", {"tls_fingerprint": None})
    assert r.status_code == 200 and r.json()["data"]["tls_fingerprint"] is None


def test_anonymous_tls():
    from support import make_tenant
    t = make_tenant()
    with start_sim(port=None, tls_port=0, tls_mode="anon") as s:
        r = t.operator.post("/routers", router_body(s.tls_port, use_tls=True))
        assert r.status_code == 422  # a certificate is wanted by default
        rt = make_router(t.operator, s.tls_port, tls_anonymous=True)
        assert rt["use_tls"] is True and rt["tls_anonymous"] is True
        assert rt["status"] == "online" and rt["tls_fingerprint"] is None
        assert s.stats()["stats"].get("tls_connections", 0) >= 1


def test_default_port_follows_tls(tenant, fresh_sim):
    op = tenant.operator
    rt = make_router(op, fresh_sim.port)
    # A change of name only logs in nowhere.
    logins = logins_of(fresh_sim)
    r = op.patch(f"/routers/{rt['id']}", {"name": "Core"})
    assert r.status_code == 200 and r.json()["data"]["name"] == "Core"
    assert logins_of(fresh_sim) == logins
    # api_port null means the default: 8728 without TLS, nobody there.
    r = op.patch(f"/routers/{rt['id']}", {"api_port": None})
    assert r.status_code == 422 and r.json()["error"]["code"] == "router_unreachable"
    assert "8728" in r.json()["error"]["message"]
    assert op.get(f"/routers/{rt['id']}").json()["data"]["api_port"] == fresh_sim.port


def test_patch_connection_logs_in_first(tenant, fresh_sim, mysql):
    op = tenant.operator
    rt = make_router(op, fresh_sim.port)
    cur = mysql.cursor()
    cur.execute("SELECT password_enc FROM routers WHERE id=%s", (rt["id"],))
    enc = cur.fetchone()[0]
    r = op.patch(f"/routers/{rt['id']}", {"password": "not-the-password"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "router_auth_failed"
    cur.execute("SELECT password_enc FROM routers WHERE id=%s", (rt["id"],))
    assert cur.fetchone()[0] == enc
    # The router's password changes; the new one is accepted and sealed.
    fresh_sim.set_password("changed-Passw0rd")
    r = op.post(f"/routers/{rt['id']}/test")
    assert r.json()["data"]["status"] == "offline"
    assert "login refused" in r.json()["data"]["last_error"]
    r = op.patch(f"/routers/{rt['id']}", {"password": "changed-Passw0rd"})
    assert r.status_code == 200 and r.json()["data"]["status"] == "online"
    cur.execute("SELECT password_enc FROM routers WHERE id=%s", (rt["id"],))
    assert cur.fetchone()[0] != enc


def test_test_records_status_events_and_alerts(tenant, fresh_sim, mysql):
    op = tenant.operator
    rt = make_router(op, fresh_sim.port)
    fresh_sim.fault(refuse=True)
    r = op.post(f"/routers/{rt['id']}/test")
    assert r.status_code == 200
    d = r.json()["data"]
    assert d["status"] == "offline" and "unreachable" in d["last_error"]
    assert d["last_seen"] == rt["last_seen"]
    alerts = tenant.viewer.get("/alerts?type=router_offline").json()["data"]
    assert len(alerts) == 1 and alerts[0]["status"] == "open"
    fresh_sim.clear_faults()
    r = op.post(f"/routers/{rt['id']}/test", {})
    assert r.json()["data"]["status"] == "online"
    assert r.json()["data"]["last_error"] is None
    alerts = tenant.viewer.get("/alerts?type=router_offline").json()["data"]
    assert alerts[0]["status"] == "resolved"
    cur = mysql.cursor()
    cur.execute("SELECT data FROM events WHERE tenant_id=%s AND name='router:status'"
                " ORDER BY id", (tenant.id,))
    statuses = [(json.loads(d)["previous_status"], json.loads(d)["status"])
                for (d,) in cur.fetchall()]
    assert statuses == [("unknown", "online"), ("online", "offline"),
                        ("offline", "online")]
    assert op.post("/routers/987654321/test").status_code == 404


def test_delete_in_use(tenant, fresh_sim, mysql):
    op, admin = tenant.operator, tenant.admin
    rt = make_router(op, fresh_sim.port)
    p = plan(op)
    c = customer(op, p["id"], rt["id"], "del-user")
    r = admin.delete(f"/routers/{rt['id']}")
    assert r.status_code == 409 and r.json()["error"]["code"] == "in_use"
    act(op, c["id"], "terminate")
    assert admin.delete(f"/routers/{rt['id']}").status_code == 204
    assert tenant.viewer.get(f"/routers/{rt['id']}").status_code == 404
    assert admin.delete(f"/routers/{rt['id']}").status_code == 404
    cur = mysql.cursor()
    cur.execute("SELECT password_enc, deleted_at IS NOT NULL FROM routers WHERE id=%s",
                (rt["id"],))
    assert cur.fetchone() == (None, 1)


def test_customers_on_routers(tenant, tenant_b, fresh_sim, mysql):
    op = tenant.operator
    rt = make_router(op, fresh_sim.port)
    foreign = make_router(tenant_b.operator, fresh_sim.port)
    p = plan(op)
    body = {"name": "X", "phone": "081234567890", "address": "x",
            "service_plan_id": p["id"], "router_id": foreign["id"]}
    r = op.post("/customers", body)
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "router_id"
    body["router_id"] = 987654321
    assert op.post("/customers", body).status_code == 422
    c = customer(op, p["id"], rt["id"], username=None, password=None)
    r = op.patch(f"/customers/{c['id']}", {"router_id": foreign["id"]})
    assert r.status_code == 422
    # Activation on a router needs the PPPoE name and password.
    fresh_sim.log(clear=True)
    r = op.post(f"/customers/{c['id']}/activate")
    assert r.status_code == 422
    fields = sorted(d["field"] for d in r.json()["error"]["details"])
    assert fields == ["pppoe_password", "pppoe_username"]
    assert op.get(f"/customers/{c['id']}").json()["data"]["status"] == "pending"
    op.patch(f"/customers/{c['id']}", {"pppoe_username": "only-name"})
    r = op.post(f"/customers/{c['id']}/activate")
    assert [d["field"] for d in r.json()["error"]["details"]] == ["pppoe_password"]
    # A pending customer is never written to the router.
    op.patch(f"/customers/{c['id']}", {"pppoe_password": "pw-12345", "service_plan_id":
                                       plan(op)["id"]})
    act(op, c["id"], "terminate")
    cur = mysql.cursor()
    cur.execute("SELECT COUNT(*) FROM provisioning_jobs WHERE customer_id=%s", (c["id"],))
    assert cur.fetchone()[0] == 0
    time.sleep(1.5)
    assert [w for e in fresh_sim.log() for w in e["words"][:1]
            if w.startswith("/ppp/secret/") and w != "/ppp/secret/print"] == []
    # An active customer on a router cannot lose its PPPoE fields.
    c2 = customer(op, p["id"], rt["id"], "keeps-name")
    act(op, c2["id"], "activate")
    r = op.patch(f"/customers/{c2['id']}", {"pppoe_password": None})
    assert r.status_code == 422
    r = op.patch(f"/customers/{c2['id']}", {"pppoe_username": None})
    assert r.status_code == 422
    wait_for(lambda: fresh_sim.secret("keeps-name"), what="the secret")
