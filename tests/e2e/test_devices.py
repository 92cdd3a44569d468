"""Network devices (requirement 6): validation, encrypted
write-only secrets, reachability checks, the device:status event, the
device_offline alert and email, dependencies on delete, roles and tenant
isolation.

Every device any test here creates has a loopback address (127.0.0.1 or
::1), and checks only ever go to ports on loopback that the test itself
opened or just closed: nothing leaves the machine."""
import json
import os
import pathlib
import socket
import subprocess
import uuid

import pytest

from support import Client, config_path


def listener(family=socket.AF_INET, host="127.0.0.1"):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.bind((host, 0))
    s.listen(16)
    return s


def closed_port(family=socket.AF_INET, host="127.0.0.1"):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def new_device(client, **kw):
    body = {"name": "OLT Pos RW 05", "type": "olt", "ip_address": "127.0.0.1",
            "port": closed_port(), "location": "Pos RW 05"}
    body.update(kw)
    r = client.post("/devices", body)
    assert r.status_code == 201, r.text
    return r.json()["data"]


def db_device(mysql, device_id):
    cur = mysql.cursor()
    cur.execute("SELECT status, last_seen, last_checked_at, name, password_enc,"
                " snmp_community_enc, deleted_at FROM devices WHERE id=%s", (device_id,))
    return cur.fetchone()


def count(mysql, sql, *args):
    cur = mysql.cursor()
    cur.execute(sql, args)
    return cur.fetchone()[0]


def test_create_validates_fields(tenant):
    c = tenant.technician
    r = c.post("/devices", {})
    assert r.status_code == 422
    assert {d["field"] for d in r.json()["error"]["details"]} == {"name", "type", "ip_address"}
    base = {"name": "sw", "type": "switch", "ip_address": "127.0.0.1"}
    for bad in ({"ip_address": "999.1.1.1"}, {"ip_address": "127.0.0"},
                {"ip_address": "localhost"}, {"ip_address": "127.0.0.1/24"},
                {"ip_address": " 127.0.0.1"}, {"ip_address": "::1::"},
                {"port": 0}, {"port": 65536}, {"port": "22"}, {"type": "modem"},
                {"name": "<script>x</script>"}, {"password": ""}, {"color": "red"},
                {"uplink_id": 0}):
        r = c.post("/devices", {**base, **bad})
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["error"]["code"] == "validation_failed"
    for t in ("router", "olt", "switch", "ap", "server", "other"):
        assert new_device(c, type=t)["type"] == t
    d = new_device(c, ip_address="::1", port=65535, username="admin")
    assert d["ip_address"] == "::1" and d["port"] == 65535
    assert d["status"] == "unknown" and d["last_seen"] is None
    assert d["last_checked_at"] is None and d["username"] == "admin"
    d = new_device(c, port=None)
    assert d["port"] is None


def test_secrets_are_encrypted_and_never_returned(tenant, mysql, stack):
    c = tenant.technician
    pw = "pw-" + uuid.uuid4().hex
    community = "snmp-" + uuid.uuid4().hex
    r = c.post("/devices", {"name": "core switch", "type": "switch",
                            "ip_address": "127.0.0.1", "username": "admin",
                            "password": pw, "snmp_community": community})
    assert r.status_code == 201
    d = r.json()["data"]
    texts = [r.text]
    texts.append(c.get(f"/devices/{d['id']}").text)
    texts.append(c.get("/devices").text)
    r = c.patch(f"/devices/{d['id']}", {"password": pw + "2", "name": "core"})
    assert r.status_code == 200
    texts.append(r.text)
    texts.append(c.post(f"/devices/{d['id']}/check").text)
    for t in texts:
        assert pw not in t and community not in t
        for key in ("password", "snmp_community", "password_enc", "secret"):
            assert f'"{key}":' not in t, (key, t)
    audit = tenant.admin.get("/audit-logs?entity_type=device").text
    assert pw not in audit and community not in audit
    # Stored sealed: binary, not the plain text, and different per write.
    row = db_device(mysql, d["id"])
    assert row[4] and row[5]
    assert pw.encode() not in row[4] and community.encode() not in row[5]
    assert len(row[4]) == len(pw) + 1 + 30
    cur = mysql.cursor()
    cur.execute("SELECT CONCAT_WS(' ', old_values, new_values) FROM audit_logs"
                " WHERE tenant_id=%s", (tenant.id,))
    for (text,) in cur.fetchall():
        assert pw not in (text or "") and community not in (text or "")
    cur.execute("SELECT new_values FROM audit_logs WHERE tenant_id=%s AND"
                " entity_type='device' AND action='update'", (tenant.id,))
    assert json.loads(cur.fetchone()[0])["credentials_changed"] == ["password"]
    # Nothing in the stack's logs either.
    for f in pathlib.Path(stack["LOG_DIR"]).rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            assert pw.encode() not in data and community.encode() not in data, f
    # null clears a secret.
    assert c.patch(f"/devices/{d['id']}", {"snmp_community": None}).status_code == 200
    assert db_device(mysql, d["id"])[5] is None


def test_check_online_then_offline_then_online(tenant, mysql):
    lst = listener()
    port = lst.getsockname()[1]
    c = tenant.technician
    d = new_device(c, port=port)
    p = f"/devices/{d['id']}/check"
    r = c.post(p)
    assert r.status_code == 200, r.text
    on = r.json()["data"]
    assert on["status"] == "online" and on["last_seen"] and on["last_checked_at"]
    assert on["check"]["tcp"] == "open"
    assert on["check"]["icmp"] in ("reply", "unavailable", "no_reply")
    first_seen = db_device(mysql, d["id"])[1]
    assert count(mysql, "SELECT COUNT(*) FROM events WHERE tenant_id=%s AND"
                 " name='device:status' AND entity_id=%s", tenant.id, d["id"]) == 1
    # The port closes: offline, last_seen kept, alert, event, email.
    lst.close()
    r = c.post(p)
    assert r.status_code == 200
    off = r.json()["data"]
    assert off["status"] == "offline" and off["check"]["tcp"] == "refused"
    assert off["last_seen"] == on["last_seen"]
    row = db_device(mysql, d["id"])
    assert row[0] == "offline" and row[1] == first_seen
    assert count(mysql, "SELECT COUNT(*) FROM events WHERE tenant_id=%s AND"
                 " name='device:status' AND entity_id=%s", tenant.id, d["id"]) == 2
    cur = mysql.cursor()
    cur.execute("SELECT data FROM events WHERE tenant_id=%s AND name='device:status'"
                " AND entity_id=%s ORDER BY id DESC LIMIT 1", (tenant.id, d["id"]))
    ev = json.loads(cur.fetchone()[0])
    assert ev["status"] == "offline" and ev["previous_status"] == "online"
    alerts = tenant.viewer.get("/alerts?type=device_offline").json()["data"]
    assert len(alerts) == 1 and alerts[0]["status"] == "open"
    assert alerts[0]["subject_type"] == "device" and alerts[0]["subject_id"] == str(d["id"])
    cur.execute("SELECT recipient_user_id, payload FROM notifications WHERE tenant_id=%s"
                " AND template_key='device_offline'", (tenant.id,))
    notes = cur.fetchall()
    assert [n[0] for n in notes] == [tenant.users["admin"]["id"]]
    assert json.loads(notes[0][1])["device_id"] == d["id"]
    # Still offline: no second event, alert or email.
    c.post(p)
    assert count(mysql, "SELECT COUNT(*) FROM events WHERE tenant_id=%s AND"
                 " name='device:status' AND entity_id=%s", tenant.id, d["id"]) == 2
    assert count(mysql, "SELECT COUNT(*) FROM alerts WHERE tenant_id=%s AND"
                 " type='device_offline'", tenant.id) == 1
    assert count(mysql, "SELECT COUNT(*) FROM notifications WHERE tenant_id=%s AND"
                 " template_key='device_offline'", tenant.id) == 1
    # Audited: every manual check, with old and new status.
    cur.execute("SELECT old_values, new_values FROM audit_logs WHERE tenant_id=%s AND"
                " entity_type='device' AND action='check' ORDER BY id", (tenant.id,))
    checks = [(json.loads(o)["status"], json.loads(n)["status"]) for o, n in cur.fetchall()]
    assert checks == [("unknown", "online"), ("online", "offline"), ("offline", "offline")]
    # Back online on a new port: the alert resolves.
    lst = listener()
    assert c.patch(f"/devices/{d['id']}", {"port": lst.getsockname()[1]}).status_code == 200
    r = c.post(p)
    assert r.json()["data"]["status"] == "online"
    assert r.json()["data"]["last_seen"] >= on["last_seen"]
    lst.close()
    assert tenant.viewer.get("/alerts?type=device_offline").json()["data"][0]["status"] == "resolved"


def test_never_seen_device_goes_offline_without_last_seen(tenant, mysql):
    d = new_device(tenant.technician)
    r = tenant.technician.post(f"/devices/{d['id']}/check")
    assert r.status_code == 200
    assert r.json()["data"]["status"] == "offline"
    assert r.json()["data"]["last_seen"] is None
    assert r.json()["data"]["last_checked_at"] is not None


def test_check_ipv6_loopback(tenant):
    try:
        lst = listener(socket.AF_INET6, "::1")
    except OSError:
        pytest.skip("no IPv6 loopback")
    d = new_device(tenant.technician, ip_address="::1", port=lst.getsockname()[1])
    r = tenant.technician.post(f"/devices/{d['id']}/check")
    lst.close()
    assert r.json()["data"]["status"] == "online"


def test_monitor_job_checks_every_device(tenant, mysql):
    lst = listener()
    up = new_device(tenant.technician, port=lst.getsockname()[1], name="up")
    down = new_device(tenant.technician, name="down")
    binary = pathlib.Path(os.environ.get("RTRW_BIN", "build/asan/bin")) / "rtrw-monitor"
    r = subprocess.run([str(binary), "--config", str(config_path()), "--tenant",
                        str(tenant.id), "--timeout-ms", "1000", "devices"],
                       capture_output=True, text=True, timeout=60)
    lst.close()
    assert r.returncode == 0, r.stderr
    assert "checked=2" in r.stderr and "online=1" in r.stderr
    assert db_device(mysql, up["id"])[0] == "online"
    assert db_device(mysql, down["id"])[0] == "offline"
    assert count(mysql, "SELECT COUNT(*) FROM alerts WHERE tenant_id=%s AND"
                 " type='device_offline' AND subject_id=%s", tenant.id, str(down["id"])) == 1
    # A job's check is audited only when the status changed (user_id NULL).
    assert count(mysql, "SELECT COUNT(*) FROM audit_logs WHERE tenant_id=%s AND"
                 " entity_type='device' AND action='status' AND user_id IS NULL",
                 tenant.id) == 2
    r = subprocess.run([str(binary), "bogus"], capture_output=True, text=True)
    assert r.returncode == 2


def test_delete_refused_while_in_use(tenant, mysql):
    c = tenant.technician
    olt = new_device(c, name="OLT")
    ap = new_device(c, name="AP 1", type="ap", uplink_id=olt["id"])
    assert ap["uplink_id"] == olt["id"]
    r = tenant.admin.delete(f"/devices/{olt['id']}")
    assert r.status_code == 409 and r.json()["error"]["code"] == "in_use"
    assert db_device(mysql, olt["id"])[6] is None
    # Uplinks must be live devices of the tenant and never make a loop.
    assert c.patch(f"/devices/{olt['id']}", {"uplink_id": ap["id"]}).status_code == 422
    assert c.patch(f"/devices/{olt['id']}", {"uplink_id": olt["id"]}).status_code == 422
    assert c.post("/devices", {"name": "x", "type": "ap", "ip_address": "127.0.0.1",
                               "uplink_id": 999999999}).status_code == 422
    assert tenant.technician.delete(f"/devices/{ap['id']}").status_code == 403
    assert tenant.admin.delete(f"/devices/{ap['id']}").status_code == 204
    assert tenant.admin.get(f"/devices/{ap['id']}").status_code == 404
    assert tenant.admin.delete(f"/devices/{olt['id']}").status_code == 204
    row = db_device(mysql, olt["id"])
    assert row[6] is not None and row[4] is None
    assert count(mysql, "SELECT COUNT(*) FROM audit_logs WHERE tenant_id=%s AND"
                 " entity_type='device' AND action='delete'", tenant.id) == 2


def test_filters_and_roles(tenant):
    c = tenant.technician
    a = new_device(c, type="switch", location="RW 01")
    new_device(c, type="ap", location="RW 02")
    r = tenant.viewer.get("/devices?type=switch")
    assert [x["id"] for x in r.json()["data"]] == [a["id"]]
    assert tenant.viewer.get("/devices?location=RW%2002").json()["meta"]["total"] == 1
    assert tenant.viewer.get("/devices?status=unknown").json()["meta"]["total"] == 2
    assert tenant.viewer.get("/devices?status=down").status_code == 422
    body = {"name": "x", "type": "ap", "ip_address": "127.0.0.1"}
    assert tenant.viewer.post("/devices", body).status_code == 403
    assert tenant.viewer.patch(f"/devices/{a['id']}", {"name": "y"}).status_code == 403
    assert tenant.viewer.post(f"/devices/{a['id']}/check").status_code == 403
    assert tenant.operator.delete(f"/devices/{a['id']}").status_code == 403
    for role in ("technician", "operator", "admin"):
        assert getattr(tenant, role).post("/devices", body).status_code == 201
    for role in ("viewer", "technician", "operator", "admin"):
        assert getattr(tenant, role).get(f"/devices/{a['id']}").status_code == 200
    assert Client().get("/devices").status_code == 401


def test_other_tenant_gets_404_and_changes_nothing(tenant, tenant_b, mysql):
    d = new_device(tenant.technician)
    before = db_device(mysql, d["id"])
    b = tenant_b.admin
    p = f"/devices/{d['id']}"
    for r in (b.get(p), b.patch(p, {"name": "hacked"}), b.delete(p), b.post(p + "/check")):
        assert r.status_code == 404, r.text
        assert r.json()["error"]["code"] == "not_found"
    # Nor can another tenant's device be used as an uplink.
    r = b.post("/devices", {"name": "x", "type": "ap", "ip_address": "127.0.0.1",
                            "uplink_id": d["id"]})
    assert r.status_code == 422
    assert db_device(mysql, d["id"]) == before
    assert b.get("/devices").json()["meta"]["total"] == 0
