"""The backups API (platform administrators) and the failure alert.

Each test goes through the API, then runs the job the way the
rtrw-backup-queued timer does (`rtrw-backup queued`) in a backup_dir of
its own, and checks the row, the file and what the API answers.  The
database holds at most one queued backup, and other tests (the role
matrix) may leave one behind: each test first fails whatever is still
queued or running, and resolves open backup_failed platform alerts, so
that it starts from a known state.
"""
import email
import email.policy
import json
import os
import pathlib
import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pymysql
import pytest

from support import Client, config_value, mysql_connect
from test_backup import (backup, bdir, clean, container_path,  # noqa: F401
                         manifest_path, row)


def queued(env, check=True):
    """One pass of the queued-backup service."""
    return backup("queued", env=env, check=check)


def admin_id(mysql, email):
    with mysql.cursor() as cur:
        cur.execute("SELECT id FROM platform_admins WHERE email = %s", (email,))
        return cur.fetchone()[0]


def audit_rows(mysql, entity_type, entity_id):
    with mysql.cursor() as cur:
        cur.execute("SELECT admin_id, action, old_values, new_values,"
                    " ip_address FROM platform_audit_logs WHERE entity_type"
                    " = %s AND entity_id = %s ORDER BY id",
                    (entity_type, entity_id))
        return cur.fetchall()


def stack_mailer():
    """The stack's own rtrw-mailer (test_mailer stops it for a module):
    the email must go through it to the stack's mail sink."""
    r = subprocess.run([os.environ["STACK_SH"], "start-mailer",
                        os.environ["STACK_DIR"]], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def sink_mail(addr, subject):
    """The messages for addr with subject that the stack's mail sink
    (tools/mail_sink.py) wrote to STACK_DIR/mail."""
    found = []
    for f in sorted((pathlib.Path(os.environ["STACK_DIR"]) / "mail")
                    .glob("*.eml")):
        data = f.read_bytes()
        if b"X-Original-To: " + addr.encode() + b"\r\n" not in data:
            continue
        msg = email.message_from_bytes(data, policy=email.policy.default)
        if msg["Subject"] == subject:
            found.append(msg)
    return found


def wait_mail(addr, subject, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = sink_mail(addr, subject)
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"no message {subject!r} for {addr} in the sink")


def mail_rows(mysql, alert_id):
    """The platform mail queued for alert_id: (admin email, status,
    payload) for each recipient."""
    with mysql.cursor() as cur:
        cur.execute("SELECT a.email, n.status, n.payload FROM"
                    " platform_notifications n JOIN platform_admins a ON"
                    " a.id = n.recipient_admin_id WHERE n.template_key ="
                    " 'backup_failed' AND n.dedupe_key LIKE %s ORDER BY n.id",
                    (f"backup_failed:alert:{alert_id}:%",))
        return cur.fetchall()


def last_platform_mail(mysql):
    with mysql.cursor() as cur:
        cur.execute("SELECT COALESCE(MAX(id), 0) FROM platform_notifications")
        return cur.fetchone()[0]


def body_text(msg):
    return msg.get_body(preferencelist=("plain",)).get_content()


def open_alerts(mysql):
    with mysql.cursor() as cur:
        cur.execute("SELECT id, status, subject_id, occurrences, details"
                    " FROM platform_alerts WHERE type = 'backup_failed'"
                    " AND status <> 'resolved' ORDER BY id")
        return cur.fetchall()


def test_queue_take_list_get_and_verify(platform, platform_admin, clean,
                                        bdir):  # noqa: F811
    mysql = clean
    d, env = bdir
    me = admin_id(mysql, platform_admin["email"])

    r = platform.post("/platform/backups")
    assert r.status_code == 202, r.text
    b = r.json()["data"]
    bid = b["id"]
    assert b["status"] == "queued" and b["source"] == "api"
    assert b["requested_by"] == me and b["manifest"] is None
    assert b["file_name"] is None and b["started_at"] is None
    got = row(mysql, bid)
    assert got["status"] == "queued" and got["requested_by"] == me
    # Audited in the platform's trail, with the new row.
    (who, action, old, new, ip), = audit_rows(mysql, "backup", bid)
    assert (who, action, old) == (me, "create", None)
    assert json.loads(new)["status"] == "queued" and ip

    # A second request while it is queued changes nothing.
    r = platform.post("/platform/backups")
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "conflict"
    assert f"backup {bid} is queued" in r.json()["error"]["message"]
    with mysql.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM backups WHERE status = 'queued'")
        assert cur.fetchone()[0] == 1
    assert len(audit_rows(mysql, "backup", bid)) == 1

    r = platform.get("/platform/backups?status=queued")
    assert r.status_code == 200
    assert [x["id"] for x in r.json()["data"]] == [bid]
    assert r.json()["meta"]["total"] == 1

    # The service takes it.
    r = queued(env)
    assert f"backup {bid} completed" in r.stdout, r.stdout
    r = platform.get(f"/platform/backups/{bid}")
    assert r.status_code == 200
    b = r.json()["data"]
    m = json.loads(manifest_path(d, bid).read_text())
    assert b["status"] == "completed" and b["error"] is None
    assert b["file_name"] == container_path(d, bid).name == m["file"]
    assert b["file_sha256"] == m["file_sha256"] == row(mysql, bid)["file_sha256"]
    assert b["plain_bytes"] == m["plain_bytes"] > 0
    assert b["binlog_file"] == m["binlog_file"] and b["binlog_pos"] > 0
    assert b["manifest"]["file_sha256"] == m["file_sha256"]
    assert b["manifest"]["tables"] == m["tables"]
    assert b["started_at"] and b["finished_at"] and b["verify_status"] is None
    assert container_path(d, bid).read_bytes().startswith(b"RTRWBAK\n")
    # Nothing queued is left: the next pass does nothing.
    assert queued(env).stdout == ""

    # Lists: newest first, filters, sorts; the list row has no manifest.
    second = platform.post("/platform/backups").json()["data"]["id"]
    assert second > bid
    r = platform.get("/platform/backups?per_page=100")
    ids = [x["id"] for x in r.json()["data"]]
    assert ids == sorted(ids, reverse=True) and ids[0] == second
    assert "manifest" not in r.json()["data"][0]
    r = platform.get("/platform/backups?sort=created_at&per_page=100")
    assert [x["id"] for x in r.json()["data"]] == sorted(ids)
    r = platform.get("/platform/backups?status=completed&per_page=100")
    assert bid in [x["id"] for x in r.json()["data"]]
    assert all(x["status"] == "completed" for x in r.json()["data"])
    for bad in ("status=done", "sort=-size", "per_page=101", "page=0"):
        r = platform.get(f"/platform/backups?{bad}")
        assert r.status_code == 422, (bad, r.text)
    assert platform.get("/platform/backups/999999999").status_code == 404
    # The second one is queued: a verification of it is refused.
    r = platform.post(f"/platform/backups/{second}/verify")
    assert r.status_code == 409 and "only a completed backup" in r.text
    assert row(mysql, second)["verify_status"] is None
    assert f"backup {second} completed" in queued(env).stdout

    # A verification, queued and taken by the same service.
    r = platform.post(f"/platform/backups/{bid}/verify")
    assert r.status_code == 202, r.text
    assert r.json()["data"]["verify_status"] == "queued"
    assert row(mysql, bid)["verify_status"] == "queued"
    r = platform.post(f"/platform/backups/{bid}/verify")
    assert r.status_code == 409
    assert "already queued" in r.json()["error"]["message"]
    entries = audit_rows(mysql, "backup", bid)
    assert [e[1] for e in entries] == ["create", "verify"]
    assert json.loads(entries[1][2])["verify_status"] is None
    assert json.loads(entries[1][3])["verify_status"] == "queued"
    r = queued(env)
    assert f"backup {bid} passed" in r.stdout, r.stdout
    assert "schema and tables match" in r.stdout
    b = platform.get(f"/platform/backups/{bid}").json()["data"]
    assert b["verify_status"] == "passed" and b["verify_error"] is None
    assert b["verified_at"] is not None
    assert platform.post("/platform/backups/999999999/verify").status_code == 404


def test_a_failed_backup_raises_the_platform_alert(platform, platform_admin,
                                                   clean, bdir):  # noqa: F811
    mysql = clean
    d, env = bdir
    me = admin_id(mysql, platform_admin["email"])
    # A key id without a key file fails the backup before it writes.
    bad = {**env, "RTRW_BACKUP_KEY_ID": "9"}

    first = platform.post("/platform/backups").json()["data"]["id"]
    r = queued(bad, check=False)
    assert r.returncode == 1 and f"backup {first} FAILED" in r.stdout, r.stdout
    b = platform.get(f"/platform/backups/{first}").json()["data"]
    assert b["status"] == "failed" and "9.key" in b["error"]
    assert b["finished_at"] is not None and b["file_name"] is None
    assert not list((d / "full").glob("*"))
    r = platform.get("/platform/alerts?type=backup_failed&status=open")
    assert r.status_code == 200, r.text
    (alert,) = r.json()["data"]
    assert alert["subject_type"] == "backup"
    assert alert["subject_id"] == str(first) and alert["occurrences"] == 1
    assert alert["message"].startswith(f"Backup {first} failed: ")
    assert alert["details"]["backup_id"] == first
    assert alert["details"]["kind"] == "backup"
    assert alert["details"]["source"] == "api"
    assert "9.key" in alert["details"]["error"]
    # A failed backup cannot be verified.
    r = platform.post(f"/platform/backups/{first}/verify")
    assert r.status_code == 409 and "is failed" in r.text

    # Failing again while it is open: the same alert, one more occurrence.
    second = platform.post("/platform/backups").json()["data"]["id"]
    assert queued(bad, check=False).returncode == 1
    (again,) = platform.get("/platform/alerts?status=open").json()["data"]
    assert again["id"] == alert["id"] and again["occurrences"] == 2
    assert again["subject_id"] == str(second)

    # Acknowledged: recorded and audited; twice changes nothing.
    r = platform.post(f"/platform/alerts/{alert['id']}/acknowledge")
    assert r.status_code == 200, r.text
    ack = r.json()["data"]
    assert ack["status"] == "acknowledged" and ack["acknowledged_by"] == me
    assert ack["acknowledged_at"] is not None
    r = platform.post(f"/platform/alerts/{alert['id']}/acknowledge")
    assert r.status_code == 200 and r.json()["data"] == ack
    (who, action, old, new, _), = audit_rows(mysql, "platform_alert",
                                            alert["id"])
    assert (who, action) == (me, "acknowledge")
    assert json.loads(old)["status"] == "open"
    assert json.loads(new)["status"] == "acknowledged"

    # A failure after someone looked is news again: a new alert.
    third = platform.post("/platform/backups").json()["data"]["id"]
    assert queued(bad, check=False).returncode == 1
    rows = open_alerts(mysql)
    assert [(s, sub, n) for _, s, sub, n, _ in rows] == [
        ("acknowledged", str(second), 2), ("open", str(third), 1)]
    newer = rows[1][0]
    assert platform.get(f"/platform/alerts/{newer}").json()["data"][
        "status"] == "open"
    r = platform.get("/platform/alerts?type=backup_failed&per_page=100")
    assert [a["id"] for a in r.json()["data"]][:2] == [newer, alert["id"]]

    # The next good backup resolves both.
    platform.post("/platform/backups")
    assert re.search(r"backup \d+ completed", queued(env).stdout)
    assert open_alerts(mysql) == ()
    for aid in (alert["id"], newer):
        a = platform.get(f"/platform/alerts/{aid}").json()["data"]
        assert a["status"] == "resolved" and a["resolved_at"] is not None
    r = platform.post(f"/platform/alerts/{newer}/acknowledge")
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_transition"
    r = platform.get("/platform/alerts?status=resolved&per_page=100")
    assert {alert["id"], newer} <= {a["id"] for a in r.json()["data"]}
    for bad_q in ("type=device_offline", "status=closed", "sort=id"):
        assert platform.get(f"/platform/alerts?{bad_q}").status_code == 422
    assert platform.get("/platform/alerts/999999999").status_code == 404
    assert platform.post(
        "/platform/alerts/999999999/acknowledge").status_code == 404


def test_a_failed_verification_raises_the_alert(platform, platform_admin,
                                                clean, bdir):  # noqa: F811
    mysql = clean
    d, env = bdir
    bid = platform.post("/platform/backups").json()["data"]["id"]
    assert f"backup {bid} completed" in queued(env).stdout
    path = container_path(d, bid)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))

    assert platform.post(f"/platform/backups/{bid}/verify").status_code == 202
    r = queued(env, check=False)
    assert r.returncode == 1 and f"backup {bid} FAILED" in r.stdout, r.stdout
    b = platform.get(f"/platform/backups/{bid}").json()["data"]
    assert b["verify_status"] == "failed" and b["verified_at"] is not None
    assert "authentication" in b["verify_error"]
    # The backup itself stays completed: the file is what failed.
    assert b["status"] == "completed"
    (alert,) = platform.get("/platform/alerts?status=open").json()["data"]
    assert alert["details"]["kind"] == "verify"
    assert alert["subject_id"] == str(bid)
    assert alert["message"].startswith(f"Verification of backup {bid} failed")
    # Its email says that the verification failed.
    stack_mailer()
    (addr, _, payload), = [r for r in mail_rows(mysql, alert["id"])
                           if r[0] == platform_admin["email"]]
    payload = json.loads(payload)
    assert payload["backup_id"] == bid
    assert payload["error"].startswith("verification failed: ")
    (msg,) = wait_mail(addr, f"Backup {bid} gagal di {payload['host']}")
    assert "verification failed: " in body_text(msg)
    # A verification whose file is gone fails the same way, and the row
    # says so (it does not stay queued or running).
    path.unlink()
    assert platform.post(f"/platform/backups/{bid}/verify").status_code == 202
    assert queued(env, check=False).returncode == 1
    got = row(mysql, bid)
    assert got["verify_status"] == "failed" and got["verify_error"]


def test_tenant_users_cannot_reach_backups(tenant):
    """Besides the role matrix: even a tenant admin gets 403, and no row."""
    for method, path in (("GET", "/platform/backups"),
                         ("POST", "/platform/backups"),
                         ("GET", "/platform/alerts")):
        r = tenant.admin.request(method, path)
        assert r.status_code == 403, (method, path, r.text)
        assert r.json()["error"]["code"] == "forbidden"
    assert Client().get("/platform/backups").status_code == 401


def test_concurrent_requests_queue_one_backup(platform, clean):
    """Eight requests at once: the unique key of queued rows lets exactly
    one through, the others get 409 (none 500)."""
    mysql = clean
    with mysql.cursor() as cur:
        cur.execute("SELECT COALESCE(MAX(id), 0) FROM backups")
        last = cur.fetchone()[0]
    with ThreadPoolExecutor(8) as pool:
        codes = sorted(pool.map(
            lambda _: platform.post("/platform/backups").status_code,
            range(8)))
    assert codes == [202] + [409] * 7, codes
    with mysql.cursor() as cur:
        cur.execute("SELECT status FROM backups WHERE id > %s", (last,))
        assert cur.fetchall() == (("queued",),)


def test_what_the_backup_account_may_write(clean):
    """rtrw-backup's account writes its rows and the failure alert, and
    nothing of any tenant; the application account cannot change the
    platform's audit trail."""
    mysql = clean
    secrets = pathlib.Path(config_value("db_backup_password_file")).parent
    conn = mysql_connect("rtrw_backup",
                         (secrets / "rtrw_backup.pass").read_text().strip())
    try:
        with conn.cursor() as cur:
            cur.execute("INSERT INTO backups (status, source) VALUES"
                        " ('failed', 'manual')")
            bid = cur.lastrowid
            cur.execute("UPDATE backups SET error = 'probe' WHERE id = %s",
                        (bid,))
            cur.execute("INSERT INTO platform_alerts (type, subject_type,"
                        " subject_id, message, status) VALUES"
                        " ('backup_failed', 'backup', %s, 'probe',"
                        " 'resolved')", (str(bid),))
            for sql in ("DELETE FROM backups WHERE id = %d" % bid,
                        "UPDATE customers SET notes = 'x'",
                        "INSERT INTO audit_logs (tenant_id, action,"
                        " entity_type, hash) VALUES (1, 'x', 'x', 'x')",
                        "UPDATE platform_admins SET name = 'x'",
                        "INSERT INTO platform_audit_logs (action,"
                        " entity_type) VALUES ('x', 'x')"):
                with pytest.raises(pymysql.err.OperationalError) as e:
                    cur.execute(sql)
                assert e.value.args[0] in (1142, 1143), (sql, e.value)
    finally:
        conn.close()
    app = mysql_connect("rtrw_app",
                        (secrets / "rtrw_app.pass").read_text().strip())
    try:
        with app.cursor() as cur:
            cur.execute("INSERT INTO platform_audit_logs (action,"
                        " entity_type) VALUES ('probe', 'backup')")
            for sql in ("UPDATE platform_audit_logs SET action = 'x'",
                        "DELETE FROM platform_audit_logs"):
                with pytest.raises(pymysql.err.OperationalError) as e:
                    cur.execute(sql)
                assert e.value.args[0] == 1142, (sql, e.value)
    finally:
        app.close()
    # Even the schema owner cannot change it: the triggers refuse.
    with mysql.cursor() as cur:
        for sql in ("UPDATE platform_audit_logs SET action = 'x'",
                    "DELETE FROM platform_audit_logs"):
            with pytest.raises(pymysql.err.OperationalError) as e:
                cur.execute(sql)
            assert "cannot be" in str(e.value), (sql, e.value)


def test_a_failed_backup_mails_the_platform_admins_once_per_episode(
        platform, platform_admin, clean, bdir):  # noqa: F811
    """The backup_failed email goes through the stack's mailer to its
    sink, to every active platform admin, once when the alert opens:
    failures while it is open only count, and after an acknowledgement
    the next failure mails again."""
    mysql = clean
    d, env = bdir
    addr = platform_admin["email"]
    stack_mailer()
    with mysql.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM platform_admins WHERE active = 1")
        admins = cur.fetchone()[0]
    bad = {**env, "RTRW_BACKUP_KEY_ID": "9"}

    first = platform.post("/platform/backups").json()["data"]["id"]
    assert queued(bad, check=False).returncode == 1
    (alert,) = platform.get("/platform/alerts?status=open").json()["data"]
    assert alert["subject_id"] == str(first)
    host = alert["details"]["host"]
    assert host
    rows = mail_rows(mysql, alert["id"])
    assert len(rows) == admins and addr in [r[0] for r in rows]
    # The payload is exactly the template's variables (the mailer adds
    # recipient_name).
    payload = json.loads([r for r in rows if r[0] == addr][0][2])
    assert set(payload) == {"backup_id", "source", "started_at", "host",
                            "error"}
    assert payload["backup_id"] == first and payload["source"] == "api"
    assert payload["host"] == host and "9.key" in payload["error"]
    b = platform.get(f"/platform/backups/{first}").json()["data"]
    assert payload["started_at"] == b["started_at"]

    subject = f"Backup {first} gagal di {host}"
    (msg,) = wait_mail(addr, subject)
    assert msg["To"].addresses[0].addr_spec == addr
    text = body_text(msg)
    assert "Halo Platform Ops" in text and "9.key" in text
    assert f"Backup {first} yang dimulai {payload['started_at']}" in text

    # Two more failures while it is open: occurrences, no mail.
    mark = last_platform_mail(mysql)
    for _ in range(2):
        n = platform.post("/platform/backups").json()["data"]["id"]
        assert queued(bad, check=False).returncode == 1
    (again,) = platform.get("/platform/alerts?status=open").json()["data"]
    assert again["id"] == alert["id"] and again["occurrences"] == 3
    assert last_platform_mail(mysql) == mark
    assert len(mail_rows(mysql, alert["id"])) == admins
    # The first message was delivered once (the mailer had every second
    # since to send a second one, and nothing for the later backups).
    deadline = time.time() + 30
    while time.time() < deadline and any(
            s_ != "sent" for _, s_, _ in mail_rows(mysql, alert["id"])):
        time.sleep(0.2)
    assert {s_ for _, s_, _ in mail_rows(mysql, alert["id"])} == {"sent"}
    assert len(sink_mail(addr, subject)) == 1
    assert sink_mail(addr, f"Backup {n} gagal di {host}") == []

    # Acknowledged: the next failure is a new episode, mailed again.
    assert platform.post(
        f"/platform/alerts/{alert['id']}/acknowledge").status_code == 200
    third = platform.post("/platform/backups").json()["data"]["id"]
    assert queued(bad, check=False).returncode == 1
    (newer,) = platform.get("/platform/alerts?status=open").json()["data"]
    assert newer["id"] != alert["id"] and newer["subject_id"] == str(third)
    assert len(mail_rows(mysql, newer["id"])) == admins
    (msg,) = wait_mail(addr, f"Backup {third} gagal di {host}")
    assert "9.key" in body_text(msg)
