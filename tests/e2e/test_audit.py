"""The audit log: what gets written, filters, immutability (API, the
application's database account, and direct SQL), the hash chain, and
archiving past retention."""
import datetime
import json
import os
import pathlib

import pymysql
import pytest

from support import Client, config_value, mysql_connect, run_tool


def test_entries_carry_who_what_where(tenant, mysql):
    r = tenant.admin.post("/users", {"name": "Audit Me", "email": "audit@x.id",
                                     "password": "0123456789", "role": "viewer"},
                          headers={"User-Agent": "audit-test/1.0",
                                   "X-Forwarded-For": "6.6.6.6", "X-Real-IP": "6.6.6.6"})
    uid = r.json()["data"]["id"]
    r = tenant.admin.get(f"/audit-logs?entity_type=user&entity_id={uid}")
    assert r.status_code == 200
    (e,) = r.json()["data"]
    assert e["action"] == "create" and e["user_id"] == tenant.users["admin"]["id"]
    assert e["user_agent"] == "audit-test/1.0"
    # The address comes from nginx, never from a client header.
    assert e["ip_address"] == "127.0.0.1"
    assert e["new_values"]["email"] == "audit@x.id"
    assert "password" not in json.dumps(e["new_values"])
    assert e["created_at"].endswith("Z")


def test_filters(tenant):
    tenant.admin.patch(f"/users/{tenant.users['viewer']['id']}", {"name": "V2"})
    a = tenant.admin
    all_ = a.get("/audit-logs?per_page=100").json()
    assert all_["meta"]["total"] == len(all_["data"]) >= 5
    upd = a.get("/audit-logs?action=update").json()["data"]
    assert upd and all(e["action"] == "update" for e in upd)
    mine = a.get(f"/audit-logs?user_id={tenant.users['admin']['id']}").json()["data"]
    assert mine and all(e["user_id"] == tenant.users["admin"]["id"] for e in mine)
    today = datetime.datetime.utcnow().date().isoformat()
    assert a.get(f"/audit-logs?from={today}&to={today}").json()["meta"]["total"] == \
        all_["meta"]["total"]
    assert a.get("/audit-logs?to=2000-01-01").json()["meta"]["total"] == 0
    assert a.get("/audit-logs?from=2026-02-30").status_code == 422
    assert a.get("/audit-logs?user_id=abc").status_code == 422
    asc = a.get("/audit-logs?sort=id").json()["data"]
    assert [e["id"] for e in asc] == sorted(e["id"] for e in asc)


def test_api_cannot_change_or_delete(tenant):
    eid = tenant.admin.get("/audit-logs").json()["data"][0]["id"]
    for method in ("PUT", "PATCH", "DELETE"):
        r = tenant.admin.request(method, f"/audit-logs/{eid}", json={})
        assert r.status_code == 405
        assert "GET" in r.headers["Allow"]
    assert tenant.admin.post("/audit-logs", {}).status_code == 405


def test_database_refuses_changes(tenant, mysql):
    cur = mysql.cursor()
    cur.execute("SELECT id FROM audit_logs WHERE tenant_id=%s LIMIT 1", (tenant.id,))
    eid = cur.fetchone()[0]
    # Root goes through the triggers.
    for sql in ("UPDATE audit_logs SET action='x' WHERE id=%s",
                "DELETE FROM audit_logs WHERE id=%s"):
        with pytest.raises(pymysql.err.MySQLError):
            cur.execute(sql, (eid,))
    # The application's own account has no such privilege at all.
    app = mysql_connect(config_value("db_user"),
                        pathlib.Path(config_value("db_password_file")).read_text().strip())
    acur = app.cursor()
    for sql in ("UPDATE audit_logs SET action='x' WHERE id=%s",
                "DELETE FROM audit_logs WHERE id=%s"):
        with pytest.raises(pymysql.err.OperationalError) as e:
            acur.execute(sql, (eid,))
        assert e.value.args[0] == 1142  # command denied
    acur.execute("SELECT action FROM audit_logs WHERE id=%s", (eid,))
    assert acur.fetchone()[0] != "x"
    app.close()


def test_chain_verifies_and_detects_tampering(tenant, mysql):
    r = run_tool("rtrw-admin", "audit", "verify", "--tenant", str(tenant.id))
    assert "chain intact" in r.stdout
    cur = mysql.cursor()
    cur.execute("SELECT id FROM audit_logs WHERE tenant_id=%s ORDER BY id LIMIT 1 OFFSET 1",
                (tenant.id,))
    eid = cur.fetchone()[0]
    # Simulate an attacker with the power to bypass the trigger.
    cur.execute("DROP TRIGGER tr_audit_logs_no_update")
    try:
        cur.execute("UPDATE audit_logs SET ip_address='10.9.9.9' WHERE id=%s", (eid,))
    finally:
        cur.execute("CREATE TRIGGER tr_audit_logs_no_update BEFORE UPDATE ON audit_logs"
                    " FOR EACH ROW SIGNAL SQLSTATE '45000'"
                    " SET MESSAGE_TEXT = 'audit_logs rows cannot be changed'")
    r = run_tool("rtrw-admin", "audit", "verify", "--tenant", str(tenant.id), check=False)
    assert r.returncode == 1
    assert f"BROKEN at entry {eid}" in r.stdout


def test_archive_moves_only_old_entries(tenant, mysql, tmp_path):
    cur = mysql.cursor()
    cur.execute("INSERT INTO audit_logs (tenant_id, action, entity_type, created_at, hash)"
                " VALUES (%s, 'create', 'old', UTC_TIMESTAMP() - INTERVAL 400 DAY, %s)",
                (tenant.id, "0" * 64))
    old_id = cur.lastrowid
    cur.execute("SELECT COUNT(*) FROM audit_logs WHERE tenant_id=%s", (tenant.id,))
    total = cur.fetchone()[0]
    # The maintenance account may not delete young rows either.
    maint = mysql_connect(config_value("db_maint_user"),
                          pathlib.Path(config_value("db_maint_password_file")).read_text().strip())
    mcur = maint.cursor()
    cur.execute("SELECT MAX(id) FROM audit_logs WHERE tenant_id=%s AND id<>%s",
                (tenant.id, old_id))
    young = cur.fetchone()[0]
    with pytest.raises(pymysql.err.MySQLError):
        mcur.execute("DELETE FROM audit_logs WHERE id=%s", (young,))
    maint.close()
    out = tmp_path / "archive.jsonl"
    r = run_tool("rtrw-admin", "audit", "archive", "--out", str(out))
    assert "archived" in r.stdout
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert old_id in [x["id"] for x in lines]
    cur.execute("SELECT COUNT(*) FROM audit_logs WHERE tenant_id=%s", (tenant.id,))
    assert cur.fetchone()[0] == total - 1
    r = run_tool("rtrw-admin", "audit", "archive", "--out", str(out),
                 "--older-than-days", "30", check=False)
    assert r.returncode == 2  # retention is at least 365 days


def test_secrets_are_masked(tenant, mysql):
    tenant.admin.patch(f"/users/{tenant.users['viewer']['id']}",
                       {"password": "brand-new-secret-9"})
    cur = mysql.cursor()
    cur.execute("SELECT CONCAT(COALESCE(old_values,''), COALESCE(new_values,''))"
                " FROM audit_logs WHERE tenant_id=%s", (tenant.id,))
    text = " ".join(r[0] for r in cur.fetchall())
    assert "brand-new-secret-9" not in text
    assert "$argon2id$" not in text
