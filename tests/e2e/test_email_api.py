"""The email endpoints (issue 10 section 2): /settings/smtp, /email-templates,
/notifications, through nginx against the stack's database.

What rtrw-mailer then does with these settings and templates is in
test_mailer.py; here every answer is checked with the rows it leaves (or
must not leave) behind, per tenant.
"""
import json

import pytest

KEYS = sorted(("payment_overdue", "ticket_created", "speed_boost_approved",
               "device_offline", "report_ready", "backup_failed"))


def smtp_row(mysql, tenant_id):
    with mysql.cursor() as cur:
        cur.execute("SELECT host, port, security, username, password_enc,"
                    " from_email, from_name, verify_tls"
                    " FROM tenant_smtp_settings WHERE tenant_id = %s",
                    (tenant_id,))
        return cur.fetchone()


def template_row(mysql, tenant_id, key):
    with mysql.cursor() as cur:
        cur.execute("SELECT subject, body_html, body_text FROM email_templates"
                    " WHERE tenant_id = %s AND template_key = %s",
                    (tenant_id, key))
        return cur.fetchone()


def audits(mysql, tenant_id, entity_type):
    with mysql.cursor() as cur:
        cur.execute("SELECT action, old_values, new_values FROM audit_logs"
                    " WHERE tenant_id = %s AND entity_type = %s ORDER BY id",
                    (tenant_id, entity_type))
        return [(a, json.loads(o) if o else None, json.loads(n) if n else None)
                for a, o, n in cur.fetchall()]


def error_fields(r):
    assert r.status_code == 422, (r.status_code, r.text)
    err = r.json()["error"]
    assert err["code"] == "validation_failed"
    return {d["field"]: d["message"] for d in err.get("details", [])}


# ---------------------------------------------------------------------------
# /settings/smtp

SMTP = {"host": "smtp.rt05.example.id", "username": "isp-user",
        "password": "Very-Secret-smtp-1", "from_email": "tagihan@rt05.example.id",
        "from_name": "RT 05 Net"}


def test_smtp_settings_lifecycle(tenant, mysql):
    a = tenant.admin
    r = a.get("/settings/smtp")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert a.delete("/settings/smtp").status_code == 404

    r = a.put("/settings/smtp", SMTP)
    assert r.status_code == 200, r.text
    d = r.json()["data"]
    assert SMTP["password"] not in r.text
    assert "password" not in d and "password_enc" not in d
    assert d == {**d, "host": "smtp.rt05.example.id", "port": 587,
                 "security": "starttls", "username": "isp-user",
                 "password_set": True, "from_email": "tagihan@rt05.example.id",
                 "from_name": "RT 05 Net", "verify_tls": True}
    assert d["created_at"].endswith("Z") and d["updated_at"].endswith("Z")
    row = smtp_row(mysql, tenant.id)
    sealed = row[4]
    assert row[:4] == ("smtp.rt05.example.id", 587, "starttls", "isp-user")
    assert sealed and SMTP["password"].encode() not in sealed
    assert a.get("/settings/smtp").json()["data"] == d

    # Without a password the stored one stays; port follows security.
    body = {k: v for k, v in SMTP.items() if k != "password"}
    r = a.put("/settings/smtp", {**body, "security": "tls", "verify_tls": False})
    assert r.status_code == 200, r.text
    d = r.json()["data"]
    assert (d["port"], d["security"], d["verify_tls"], d["password_set"]) == \
        (465, "tls", False, True)
    assert smtp_row(mysql, tenant.id)[4] == sealed

    # A username needs a password; credentials only travel over TLS.
    before = smtp_row(mysql, tenant.id)
    assert "password" in error_fields(a.put("/settings/smtp",
                                            {**body, "password": None}))
    assert "security" in error_fields(a.put("/settings/smtp",
                                            {**SMTP, "security": "none"}))
    assert "security" in error_fields(a.put(
        "/settings/smtp", {**SMTP, "security": "starttls_optional"}))
    assert "host" in error_fields(a.put("/settings/smtp",
                                        {**SMTP, "host": "bad host!"}))
    assert "from_email" in error_fields(a.put(
        "/settings/smtp", {**SMTP, "from_email": "ü@rt05.example.id"}))
    assert "port" in error_fields(a.put("/settings/smtp", {**SMTP, "port": 0}))
    assert "from_name" in error_fields(a.put(
        "/settings/smtp", {**SMTP, "from_name": "<script>x</script>"}))
    assert "passwd" in error_fields(a.put("/settings/smtp",
                                          {**SMTP, "passwd": "x"}))
    assert "host" in error_fields(a.put("/settings/smtp", {"from_email": "a@b.co"}))
    assert smtp_row(mysql, tenant.id) == before

    # No username: no AUTH, and null clears the stored password.
    r = a.put("/settings/smtp", {"host": "127.0.0.1", "security": "none",
                                 "from_email": "a@b.co", "password": None})
    assert r.status_code == 200, r.text
    d = r.json()["data"]
    assert (d["port"], d["username"], d["password_set"], d["from_name"]) == \
        (25, None, False, None)
    assert smtp_row(mysql, tenant.id)[4] is None

    # Every change is audited, never with the password.
    log = audits(mysql, tenant.id, "smtp_settings")
    assert [x[0] for x in log] == ["create", "update", "update"]
    assert log[0][1] is None and log[0][2]["host"] == "smtp.rt05.example.id"
    assert log[2][1]["security"] == "tls" and log[2][2]["host"] == "127.0.0.1"
    # The audit log masks every member named like a password.
    assert log[2][1]["password_set"] == log[2][2]["password_set"] == "***"
    assert SMTP["password"] not in json.dumps(log)

    r = a.delete("/settings/smtp")
    assert r.status_code == 204 and not r.content
    assert smtp_row(mysql, tenant.id) is None
    assert a.get("/settings/smtp").status_code == 404
    assert audits(mysql, tenant.id, "smtp_settings")[-1][0] == "delete"


def test_smtp_settings_are_per_tenant(tenant, tenant_b, mysql):
    assert tenant.admin.put("/settings/smtp", SMTP).status_code == 200
    mine = smtp_row(mysql, tenant.id)
    assert tenant_b.admin.get("/settings/smtp").status_code == 404
    assert tenant_b.admin.delete("/settings/smtp").status_code == 404
    r = tenant_b.admin.put("/settings/smtp", {**SMTP, "host": "b.example.id",
                                              "password": "other-pass-123"})
    assert r.status_code == 200
    assert smtp_row(mysql, tenant.id) == mine
    assert tenant.admin.get("/settings/smtp").json()["data"]["host"] == \
        "smtp.rt05.example.id"
    # The password is sealed for its tenant: B's sealed value is B's own.
    assert smtp_row(mysql, tenant_b.id)[4] != mine[4]


def test_only_admins_touch_smtp_settings(tenant, mysql):
    for role in ("operator", "technician", "viewer"):
        c = tenant.clients[role]
        for r in (c.get("/settings/smtp"), c.put("/settings/smtp", SMTP),
                  c.delete("/settings/smtp")):
            assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert smtp_row(mysql, tenant.id) is None


# ---------------------------------------------------------------------------
# /email-templates

def test_templates_list_every_key_with_its_variables(tenant):
    r = tenant.operator.get("/email-templates")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["meta"] == {"page": 1, "per_page": 20, "total": 6, "total_pages": 1}
    items = body["data"]
    assert [t["key"] for t in items] == KEYS
    by_key = {t["key"]: t for t in items}
    po = by_key["payment_overdue"]
    assert set(po) == {"key", "subject", "body_html", "body_text", "description",
                       "variables", "created_at", "updated_at"}
    assert po["subject"].startswith("Tagihan {{period}}")
    assert {"customer_name", "amount", "due_date", "tenant_name"} <= set(po["variables"])
    assert {"plan_name", "duration_hours", "price", "starts_at"} <= \
        set(by_key["speed_boost_approved"]["variables"])
    assert "tenant_name" not in by_key["backup_failed"]["variables"]
    assert "customer" in po["description"]
    assert po["updated_at"].endswith("Z")

    page = tenant.operator.get("/email-templates?per_page=4&page=2").json()
    assert [t["key"] for t in page["data"]] == KEYS[4:]
    assert page["meta"] == {"page": 2, "per_page": 4, "total": 6, "total_pages": 2}
    assert tenant.operator.get("/email-templates?per_page=101").status_code == 422

    r = tenant.operator.get("/email-templates/ticket_created")
    assert r.status_code == 200 and r.json()["data"] == by_key["ticket_created"]
    for path in ("/email-templates/no_such_key", "/email-templates/Ticket_Created",
                 "/email-templates/ticket.created"):
        r = tenant.admin.get(path)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    for role in ("technician", "viewer"):
        assert tenant.clients[role].get("/email-templates").status_code == 403
        assert tenant.clients[role].get(
            "/email-templates/ticket_created").status_code == 403


def test_template_put_validates_and_changes_only_that_template(tenant, tenant_b,
                                                              mysql):
    a = tenant.admin
    before = template_row(mysql, tenant.id, "payment_overdue")

    # Unknown placeholders: 422 naming each, nothing stored.
    r = a.put("/email-templates/payment_overdue", {
        "subject": "Tagihan {{period}}",
        "body_html": "<p>{{password}} {{customer_name}} {{token}} {{password}}</p>",
        "body_text": "x"})
    msg = error_fields(r)["body_html"]
    assert "{{password}}" in msg and "{{token}}" in msg and "customer_name" in msg
    for body, field in (({"body_text": "x"}, "subject"),
                        ({"subject": "s"}, "body_text"),
                        ({"subject": "s", "body_html": None, "body_text": None},
                         "body_text"),
                        ({"subject": "<b>bold</b>", "body_text": "x"}, "subject"),
                        ({"subject": "s", "body_text": ""}, "body_text"),
                        ({"subject": "s {{ oops", "body_text": "x"}, "subject"),
                        ({"subject": "s", "body_text": "x", "bcc": "y"}, "bcc"),
                        ({"subject": "s", "body_text": 5}, "body_text")):
        assert field in error_fields(a.put("/email-templates/payment_overdue",
                                           body)), body
    assert template_row(mysql, tenant.id, "payment_overdue") == before
    assert audits(mysql, tenant.id, "email_template") == []

    r = a.put("/email-templates/no_such_key", {"subject": "s", "body_text": "x"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = tenant.operator.put("/email-templates/payment_overdue",
                            {"subject": "s", "body_text": "x"})
    assert r.status_code == 403

    # One body is enough; the other becomes null.
    new = {"subject": "Tagihan {{ period }} belum dibayar",
           "body_text": "Yth. {{customer_name}}: Rp {{amount}} <https://x.id/bayar>"}
    r = a.put("/email-templates/payment_overdue", new)
    assert r.status_code == 200, r.text
    d = r.json()["data"]
    assert (d["key"], d["subject"], d["body_text"], d["body_html"]) == \
        ("payment_overdue", new["subject"], new["body_text"], None)
    assert "customer_name" in d["variables"]
    assert template_row(mysql, tenant.id, "payment_overdue") == \
        (new["subject"], None, new["body_text"])
    assert a.get("/email-templates/payment_overdue").json()["data"] == d
    (act, old, now), = audits(mysql, tenant.id, "email_template")
    assert act == "update" and old["subject"] == before[0]
    assert now["subject"] == new["subject"] and now["body_html"] is None

    # Other keys and other tenants keep theirs.
    assert template_row(mysql, tenant_b.id, "payment_overdue") == before
    assert template_row(mysql, tenant.id, "ticket_created")[0].startswith("Tiket")
    r = tenant_b.admin.put("/email-templates/payment_overdue",
                           {"subject": "B {{period}}", "body_html": "<p>B</p>"})
    assert r.status_code == 200
    assert template_row(mysql, tenant.id, "payment_overdue") == \
        (new["subject"], None, new["body_text"])


# ---------------------------------------------------------------------------
# /notifications

def queue(mysql, tenant_id, key, status="queued", email="x@example.com",
          attempts=0, error=None, payload=None):
    """A queue row as the mailer leaves it.  Rows it could still take
    (queued, sending) are due only tomorrow, so that the stack's mailer
    service leaves them alone during the test."""
    with mysql.cursor() as cur:
        cur.execute("INSERT INTO notifications (tenant_id, template_key,"
                    " recipient_email, status, attempts, last_error, payload,"
                    " claim_token, dedupe_key, send_after)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s,"
                    " NOW() + INTERVAL 1 DAY)",
                    (tenant_id, key, email, status, attempts, error,
                     json.dumps(payload) if payload is not None else None,
                     "c" * 32 if status == "sending" else None,
                     f"{key}:{status}:{attempts}"))
        return cur.lastrowid


def test_notifications_show_the_queue_and_failed_emails(tenant, tenant_b, mysql):
    ids = [queue(mysql, tenant.id, "payment_overdue", payload={"period": "2026-02"}),
           queue(mysql, tenant.id, "device_offline", "failed", attempts=3,
                 error="554 5.7.1 relay denied"),
           queue(mysql, tenant.id, "device_offline", "sent", attempts=1),
           queue(mysql, tenant.id, "ticket_created", "sending", attempts=1)]
    other = queue(mysql, tenant_b.id, "device_offline", "failed", attempts=3)

    r = tenant.operator.get("/notifications")
    assert r.status_code == 200, r.text
    body = r.json()
    assert [n["id"] for n in body["data"]] == ids[::-1]
    assert body["meta"]["total"] == 4
    first = body["data"][-1]
    assert set(first) == {"id", "template_key", "recipient_user_id",
                          "recipient_email", "payload", "status", "attempts",
                          "last_error", "message_id", "send_after", "sent_at",
                          "created_at"}
    assert first["payload"] == {"period": "2026-02"} and first["status"] == "queued"

    failed = tenant.admin.get("/notifications?status=failed").json()["data"]
    assert [(n["id"], n["attempts"], n["last_error"]) for n in failed] == \
        [(ids[1], 3, "554 5.7.1 relay denied")]
    dev = tenant.operator.get("/notifications?template_key=device_offline").json()
    assert [n["id"] for n in dev["data"]] == [ids[2], ids[1]]
    both = tenant.operator.get(
        "/notifications?template_key=device_offline&status=sent").json()["data"]
    assert [n["id"] for n in both] == [ids[2]]
    asc = tenant.operator.get("/notifications?sort=created_at&per_page=2").json()
    assert [n["id"] for n in asc["data"]] == ids[:2]
    assert asc["meta"] == {"page": 1, "per_page": 2, "total": 4, "total_pages": 2}
    for q in ("status=lost", "template_key=nope", "sort=-id", "per_page=0"):
        r = tenant.operator.get("/notifications?" + q)
        assert r.status_code == 422, q

    r = tenant.operator.get(f"/notifications/{ids[1]}")
    assert r.status_code == 200 and r.json()["data"] == failed[0]
    for c, nid in ((tenant.operator, other), (tenant_b.admin, ids[1]),
                   (tenant.admin, 999999999)):
        r = c.get(f"/notifications/{nid}")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert [n["id"] for n in tenant_b.admin.get("/notifications").json()["data"]] \
        == [other]
    for role in ("technician", "viewer"):
        assert tenant.clients[role].get("/notifications").status_code == 403
        assert tenant.clients[role].get(f"/notifications/{ids[0]}").status_code == 403
