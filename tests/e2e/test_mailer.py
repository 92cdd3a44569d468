"""Email delivery (requirement 17, issue 10 section 2): rtrw-mailer
against real SMTP servers (Debian python3-aiosmtpd) on loopback.

The first test goes through the whole stack: a ticket assigned through
the API queues its email, the stack's own mailer service sends it, and it
lands in the stack's mail sink (STACK_DIR/mail/*.eml).  The others stop
that service for the module, start SMTP servers of their own (failing on
purpose where they must) and run `rtrw-mailer once` pointed at them, so
that the outcome of each attempt is known.
"""
import email
import email.policy
import json
import os
import pathlib
import re
import signal
import socket
import ssl
import subprocess
import threading
import time

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from support import bin_path, config_path, unique
from test_tickets import make_customer, new_ticket

ROOT = pathlib.Path(__file__).resolve().parents[2]
KEYS = ("payment_overdue", "ticket_created", "speed_boost_approved",
        "device_offline", "report_ready", "backup_failed")


# ---------------------------------------------------------------------------
# SMTP servers of the tests

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    """Accepts messages, or refuses the first fail_first DATA commands
    (always, with fail_first=None) with reply."""

    def __init__(self, fail_first=0, reply="451 4.3.0 try again later",
                 delay=0):
        self.fail_first = fail_first
        self.reply = reply
        self.delay = delay
        self.attempts = []      # time of each DATA
        self.messages = []      # (envelope, parsed message)
        self.auth = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.attempts.append(time.monotonic())
            n = len(self.attempts)
        if self.fail_first is None or n <= self.fail_first:
            return self.reply
        msg = email.message_from_bytes(envelope.original_content,
                                       policy=email.policy.default)
        with self.lock:
            self.messages.append((envelope, msg))
        if self.delay:
            # Stored before the reply: a client killed now leaves a
            # message the server accepted and nobody recorded.
            import asyncio
            await asyncio.sleep(self.delay)
        return "250 2.0.0 OK"


class Server:
    def __init__(self, handler, **kwargs):
        self.handler = handler
        self.port = free_port()
        self.c = Controller(handler, hostname="127.0.0.1", port=self.port,
                            **kwargs)

    def __enter__(self):
        self.c.start()
        return self

    def __exit__(self, *exc):
        self.c.stop()


# ---------------------------------------------------------------------------
# Helpers

def mailer(*args, env=None, port=None, check=True, stdin=None):
    """Runs rtrw-mailer against the stack's configuration; port points
    the platform's SMTP server at a test server."""
    e = dict(os.environ)
    e.update({"RTRW_SMTP_HOST": "127.0.0.1", "RTRW_SMTP_SECURITY": "none",
              "RTRW_SMTP_TIMEOUT_SECONDS": "10",
              "RTRW_SMTP_CONNECT_TIMEOUT_SECONDS": "2",
              "RTRW_MAIL_LEASE_SECONDS": "60",
              "RTRW_MAIL_RETRY_SECONDS": "0"})
    if port:
        e["RTRW_SMTP_PORT"] = str(port)
    e.update(env or {})
    r = subprocess.run([bin_path("rtrw-mailer"), "--config",
                        str(config_path()), *args], input=stdin,
                       capture_output=True, text=True, env=e, timeout=300)
    if check:
        assert r.returncode == 0, f"{args}: {r.stdout}\n{r.stderr}"
    return r


def summary(r):
    line = [x for x in r.stdout.splitlines() if x.startswith("rtrw-mailer")][-1]
    return {k: int(v) for k, v in (kv.split("=") for kv in line.split()[2:])}


def queue(mysql, tenant_id, key, email_addr=None, user_id=None, payload=None):
    with mysql.cursor() as cur:
        cur.execute("INSERT INTO notifications (tenant_id, template_key,"
                    " recipient_user_id, recipient_email, payload)"
                    " VALUES (%s, %s, %s, %s, %s)",
                    (tenant_id, key, user_id, email_addr,
                     json.dumps(payload) if payload is not None else None))
        return cur.lastrowid


def row(mysql, nid, table="notifications"):
    with mysql.cursor() as cur:
        cur.execute("SELECT status, attempts, last_error, message_id, sent_at,"
                    " claim_token, interrupted, send_started_at"
                    f" FROM {table} WHERE id = %s", (nid,))
        r = cur.fetchone()
    keys = ("status", "attempts", "last_error", "message_id", "sent_at",
            "claim_token", "interrupted", "send_started_at")
    return dict(zip(keys, r))


def parts(msg):
    assert msg.get_content_type() == "multipart/alternative"
    got = {p.get_content_type(): p.get_content() for p in msg.iter_parts()}
    assert set(got) == {"text/plain", "text/html"}, got
    return got["text/plain"], got["text/html"]


def stack_sh(*args):
    r = subprocess.run([os.environ["STACK_SH"], *args, os.environ["STACK_DIR"]],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


@pytest.fixture(scope="module")
def quiet_stack():
    """The stack's mailer service would race the tests' mailers (with its
    own retry timing) for the rows: it stops for the module's tests that
    use this fixture and starts again afterwards."""
    stack_sh("stop-mailer")
    yield
    stack_sh("start-mailer")


# ---------------------------------------------------------------------------
# Through the stack: API trigger, mailer service, sink

def test_ticket_email_reaches_the_stack_sink(tenant, mysql):
    stack_sh("start-mailer")
    tech = tenant.users["technician"]
    cust = make_customer(mysql, tenant.id)
    t = new_ticket(tenant.operator, cust, title="Kabel putus & lambat di RW 05",
                   assigned_to=tech["id"], priority="high")
    with mysql.cursor() as cur:
        cur.execute("SELECT id FROM notifications WHERE tenant_id = %s AND"
                    " template_key = 'ticket_created'", (tenant.id,))
        (nid,), = cur.fetchall()
    mail_dir = pathlib.Path(os.environ["STACK_DIR"]) / "mail"
    deadline, found = time.time() + 20, None
    while time.time() < deadline and not found:
        for f in mail_dir.glob("*.eml"):
            data = f.read_bytes()
            if b"X-Original-To: " + tech["email"].encode() + b"\r\n" in data:
                found = data
        time.sleep(0.2)
    assert found, "no message for the technician in " + str(mail_dir)
    msg = email.message_from_bytes(found, policy=email.policy.default)
    text, html = parts(msg)
    assert msg["Subject"] == f"Tiket {t['ticket_number']}: Kabel putus & lambat di RW 05"
    assert "Kabel putus & lambat di RW 05" in text and "Prioritas: high" in text
    assert "Kabel putus &amp; lambat di RW 05" in html
    assert "Halo Technician" in text
    assert msg["To"].addresses[0].addr_spec == tech["email"]
    r = row(mysql, nid)
    assert r["status"] == "sent" and r["attempts"] == 1 and r["sent_at"]
    assert msg["Message-ID"] == r["message_id"] == f"<rtrw.n{nid}.t{tenant.id}@rtrw.local>"


# ---------------------------------------------------------------------------
# The tests' own servers

def test_both_parts_and_escaped_variables(tenant, mysql, quiet_stack):
    payload = {"customer_name": "Budi <script>alert(1)</script> & 'Sari' Ünal",
               "customer_code": "C-000042", "amount": 150000.00,
               "period": "2026-02", "due_date": "2026-02-10", "payment_id": 7}
    nid = queue(mysql, tenant.id, "payment_overdue", "budi@example.com",
                payload=payload)
    with Server(Recorder()) as s:
        r = mailer("--tenant", str(tenant.id), "once", port=s.port)
    assert summary(r) == {"sent": 1, "retried": 0, "failed": 0, "lost": 0}
    assert len(s.handler.messages) == 1
    env, msg = s.handler.messages[0]
    assert env.mail_from == "noreply@rtrw.local"
    assert env.rcpt_tos == ["budi@example.com"]
    assert msg["Subject"] == "Tagihan 2026-02 sudah jatuh tempo (C-000042)"
    assert msg["From"].addresses[0].display_name == "RT/RW Net " + tenant.slug
    assert msg["Message-ID"] == f"<rtrw.n{nid}.t{tenant.id}@rtrw.local>"
    assert msg["Auto-Submitted"] == "auto-generated" and msg["Date"]
    text, html = parts(msg)
    assert "Yth. Budi <script>alert(1)</script> & 'Sari' Ünal," in text
    assert "Rp 150000.0" in text
    assert "<script>" not in html
    assert ("Yth. Budi &lt;script&gt;alert(1)&lt;/script&gt; &amp; "
            "&#39;Sari&#39; Ünal,") in html
    assert "<b>2026-02</b>" in html          # the template's own markup stays
    r = row(mysql, nid)
    assert r["status"] == "sent" and r["attempts"] == 1 and r["sent_at"]
    assert r["claim_token"] is None and r["last_error"] is None
    assert r["message_id"] == msg["Message-ID"]


def test_fails_twice_then_accepts(tenant, mysql, quiet_stack):
    nid = queue(mysql, tenant.id, "ticket_created", "tech@example.com",
                payload={"ticket_number": "T-202602-0001", "title": "Mati"})
    with Server(Recorder(fail_first=2)) as s:
        deadline = time.time() + 60
        while time.time() < deadline and row(mysql, nid)["status"] != "sent":
            mailer("--tenant", str(tenant.id), "once", port=s.port,
                   env={"RTRW_MAIL_RETRY_SECONDS": "1"})
            time.sleep(0.2)
    r = row(mysql, nid)
    assert r["status"] == "sent" and r["attempts"] == 3
    assert r["last_error"] is None
    assert len(s.handler.attempts) == 3 and len(s.handler.messages) == 1
    # Back-off: 1 s after the first failure, 4 s after the second (the
    # database counts whole seconds, so each wait may be up to 1 s short).
    a = s.handler.attempts
    assert a[2] - a[1] >= 3.0 and a[2] - a[1] > a[1] - a[0] + 2, a
    assert s.handler.messages[0][1]["Message-ID"] == r["message_id"]


def test_always_fails_three_attempts_then_failed_and_alert(tenant, mysql,
                                                           quiet_stack):
    nids = [queue(mysql, tenant.id, "device_offline", f"ops{i}@example.com",
                  payload={"name": "OLT-1", "ip_address": "10.0.0.2"})
            for i in range(2)]
    with Server(Recorder(fail_first=None, reply="554 5.7.1 rejected")) as s:
        r = mailer("--tenant", str(tenant.id), "once", port=s.port)
    assert summary(r)["failed"] == 2 and summary(r)["sent"] == 0
    assert len(s.handler.attempts) == 6 and not s.handler.messages
    for nid in nids:
        x = row(mysql, nid)
        assert x["status"] == "failed" and x["attempts"] == 3, x
        assert "554" in x["last_error"], x["last_error"]
    alerts = tenant.viewer.get("/alerts?type=email_failed").json()["data"]
    assert len(alerts) == 1, alerts
    a = alerts[0]
    assert a["status"] == "open" and a["subject_type"] == "email_template"
    assert a["subject_id"] == "device_offline" and a["occurrences"] == 2
    assert a["details"]["notification_id"] in nids
    assert a["details"]["attempts"] == 3
    # The API shows them as failed, with the server's reply.
    failed = tenant.operator.get("/notifications?status=failed").json()["data"]
    assert sorted(n["id"] for n in failed) == sorted(nids)
    assert all(n["attempts"] == 3 and "554" in n["last_error"] for n in failed)
    # Nothing is sent again, however often a mailer runs.
    with Server(Recorder()) as s:
        mailer("--tenant", str(tenant.id), "once", port=s.port)
    assert not s.handler.attempts


def test_no_recipient_fails_at_once(tenant, mysql, quiet_stack):
    nid = queue(mysql, tenant.id, "payment_overdue", None, payload={})
    bad = queue(mysql, tenant.id, "payment_overdue", "not an address")
    with Server(Recorder()) as s:
        mailer("--tenant", str(tenant.id), "once", port=s.port)
    assert not s.handler.attempts
    for n in (nid, bad):
        x = row(mysql, n)
        assert x["status"] == "failed" and x["attempts"] == 1, x
    assert "no recipient" in row(mysql, nid)["last_error"]


def test_two_mailers_send_each_message_once(tenant, mysql, quiet_stack):
    n = 300
    with mysql.cursor() as cur:
        cur.executemany(
            "INSERT INTO notifications (tenant_id, template_key,"
            " recipient_email, payload) VALUES (%s, 'ticket_created', %s, %s)",
            [(tenant.id, f"t{i}@example.com", '{"title": "x%d"}' % i)
             for i in range(n)])
    with Server(Recorder()) as s:
        env = dict(os.environ)
        env.update({"RTRW_SMTP_HOST": "127.0.0.1", "RTRW_SMTP_PORT": str(s.port),
                    "RTRW_SMTP_SECURITY": "none"})
        procs = [subprocess.Popen([bin_path("rtrw-mailer"), "--config",
                                   str(config_path()), "--tenant",
                                   str(tenant.id), "once"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env=env) for _ in range(2)]
        outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
    sent = [summary(type("R", (), {"stdout": o})())["sent"] for o, _ in outs]
    assert sum(sent) == n, sent
    ids = [m["Message-ID"] for _, m in s.handler.messages]
    assert len(ids) == n and len(set(ids)) == n
    with mysql.cursor() as cur:
        cur.execute("SELECT status, attempts, COUNT(*) FROM notifications"
                    " WHERE tenant_id = %s GROUP BY status, attempts", (tenant.id,))
        assert cur.fetchall() == (("sent", 1, n),)


def test_interrupted_send_repeats_at_most_once(tenant, mysql, quiet_stack):
    """A mailer killed after the server accepted the message but before it
    recorded that: the row stays 'sending' until its lease ends, is sent
    once more with the same Message-ID, and a second interruption ends it
    as failed instead of a third copy."""
    nid = queue(mysql, tenant.id, "ticket_created", "tech@example.com",
                payload={"title": "Crash"})
    with Server(Recorder(delay=30)) as s:
        env = dict(os.environ)
        env.update({"RTRW_SMTP_HOST": "127.0.0.1", "RTRW_SMTP_PORT": str(s.port),
                    "RTRW_SMTP_SECURITY": "none", "RTRW_SMTP_TIMEOUT_SECONDS": "20",
                    "RTRW_MAIL_LEASE_SECONDS": "60"})
        p = subprocess.Popen([bin_path("rtrw-mailer"), "--config",
                              str(config_path()), "--tenant", str(tenant.id),
                              "once"], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while time.time() < deadline and not s.handler.messages:
            time.sleep(0.05)
        assert s.handler.messages, "the server never got the message"
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
    first = s.handler.messages[0][1]["Message-ID"]
    r = row(mysql, nid)
    assert r["status"] == "sending" and r["send_started_at"] and r["attempts"] == 1
    # While the lease holds, nobody takes the row.
    with Server(Recorder()) as s2:
        mailer("--tenant", str(tenant.id), "once", port=s2.port)
        assert not s2.handler.attempts
        with mysql.cursor() as cur:
            cur.execute("UPDATE notifications SET send_after = NOW() - INTERVAL 1"
                        " SECOND WHERE id = %s", (nid,))
        mailer("--tenant", str(tenant.id), "once", port=s2.port)
    assert len(s2.handler.messages) == 1
    assert s2.handler.messages[0][1]["Message-ID"] == first
    r = row(mysql, nid)
    assert r["status"] == "sent" and r["interrupted"] == 1 and r["attempts"] == 2

    # Interrupted a second time: failed, not sent a third time.
    with mysql.cursor() as cur:
        cur.execute("UPDATE notifications SET status = 'sending', claim_token ="
                    " REPEAT('a', 32), send_started_at = NOW(), send_after ="
                    " NOW() - INTERVAL 1 SECOND WHERE id = %s", (nid,))
    with Server(Recorder()) as s3:
        mailer("--tenant", str(tenant.id), "once", port=s3.port)
    assert not s3.handler.attempts
    r = row(mysql, nid)
    assert r["status"] == "failed" and "interrupted twice" in r["last_error"]
    alerts = tenant.viewer.get("/alerts?type=email_failed").json()["data"]
    assert [a["subject_id"] for a in alerts] == ["ticket_created"]


# ---------------------------------------------------------------------------
# Tenant SMTP settings: STARTTLS, AUTH, sealed password, verification

@pytest.fixture
def tls_files(tmp_path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert), str(key))
    return ctx, cert


def auth_server(handler, ctx, user, password):
    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (auth_data.login.decode(), auth_data.password.decode()) == (user, password)
        handler.auth.append((mechanism, auth_data.login.decode(), ok))
        return AuthResult(success=ok)
    return Server(handler, tls_context=ctx, require_starttls=True,
                  auth_required=True, auth_require_tls=True,
                  authenticator=authenticator)


def test_tenant_smtp_starttls_auth_and_sealed_password(tenant, mysql, tls_files,
                                                        quiet_stack):
    ctx, cert = tls_files
    password = "pw-" + unique("smtp")
    with auth_server(Recorder(), ctx, "isp-user", password) as s:
        r = mailer("--tenant", str(tenant.id), "smtp-set", "--host", "127.0.0.1",
                   "--port", str(s.port), "--security", "starttls",
                   "--username", "isp-user", "--password-stdin",
                   "--from", "billing@rt05.example.id", "--from-name", "RT 05 Net",
                   "--no-verify-tls", stdin=password + "\n")
        shown = mailer("--tenant", str(tenant.id), "smtp-show").stdout
        assert password not in shown and "password_enc" not in shown
        shown = json.loads(shown)
        assert shown["password_set"] is True and "password" not in shown
        assert shown["security"] == "starttls" and shown["verify_tls"] is False
        with mysql.cursor() as cur:
            cur.execute("SELECT password_enc FROM tenant_smtp_settings"
                        " WHERE tenant_id = %s", (tenant.id,))
            (enc,), = cur.fetchall()
        assert enc and password.encode() not in enc
        nid = queue(mysql, tenant.id, "ticket_created", "tech@example.com",
                    payload={"title": "TLS"})
        # The platform's server is a closed port: only the tenant's works.
        mailer("--tenant", str(tenant.id), "once", port=free_port())
        assert row(mysql, nid)["status"] == "sent"
        assert s.handler.auth and s.handler.auth[-1][1:] == ("isp-user", True)
        env, msg = s.handler.messages[0]
        assert env.mail_from == "billing@rt05.example.id"
        assert msg["From"].addresses[0].display_name == "RT 05 Net"

        # Verification on (the default): a self-signed certificate fails.
        mailer("--tenant", str(tenant.id), "smtp-set", "--host", "127.0.0.1",
               "--port", str(s.port), "--security", "starttls",
               "--username", "isp-user", "--from", "billing@rt05.example.id")
        nid2 = queue(mysql, tenant.id, "ticket_created", "tech@example.com")
        mailer("--tenant", str(tenant.id), "once", port=free_port(),
               env={"RTRW_MAIL_RETRY_SECONDS": "600"})
        x = row(mysql, nid2)
        assert x["status"] == "queued" and x["attempts"] == 1
        assert re.search(r"certificate|SSL", x["last_error"]), x["last_error"]
        assert len(s.handler.messages) == 1
    # The password was kept by the second smtp-set (no --password-stdin).
    assert json.loads(mailer("--tenant", str(tenant.id),
                             "smtp-show").stdout)["password_set"] is True
    # Credentials never go over a connection without TLS.
    r = mailer("--tenant", str(tenant.id), "smtp-set", "--host", "127.0.0.1",
               "--port", "25", "--security", "none", "--username", "u",
               "--from", "a@b.co", check=False)
    assert r.returncode == 3 and "security" in r.stderr
    assert mailer("--tenant", str(tenant.id), "smtp-delete").stdout.strip() == "deleted"
    assert mailer("--tenant", str(tenant.id), "smtp-show").stdout.strip() == "null"


def test_tenant_smtp_set_through_the_api(tenant, mysql, tls_files, quiet_stack):
    """PUT /settings/smtp seals the password as the mailer opens it: the
    tenant's server gets AUTH with it over STARTTLS."""
    ctx, cert = tls_files
    password = "api-" + unique("smtp")
    with auth_server(Recorder(), ctx, "api-user", password) as s:
        r = tenant.admin.put("/settings/smtp", {
            "host": "127.0.0.1", "port": s.port, "security": "starttls",
            "username": "api-user", "password": password,
            "from_email": "noc@rt07.example.id", "verify_tls": False})
        assert r.status_code == 200, r.text
        assert password not in r.text and r.json()["data"]["password_set"]
        nid = queue(mysql, tenant.id, "ticket_created", "tech@example.com",
                    payload={"title": "API"})
        mailer("--tenant", str(tenant.id), "once", port=free_port())
        assert row(mysql, nid)["status"] == "sent"
        assert s.handler.auth[-1][1:] == ("api-user", True)
        env, msg = s.handler.messages[0]
        assert env.mail_from == "noc@rt07.example.id"
        # No from_name: the tenant's name.
        assert msg["From"].addresses[0].display_name == "RT/RW Net " + tenant.slug
    # Back on the platform's server once the settings are gone.
    assert tenant.admin.delete("/settings/smtp").status_code == 204
    nid = queue(mysql, tenant.id, "ticket_created", "tech@example.com")
    with Server(Recorder()) as plain:
        mailer("--tenant", str(tenant.id), "once", port=plain.port)
    assert row(mysql, nid)["status"] == "sent" and len(plain.handler.messages) == 1


def test_platform_smtp_verifies_with_a_ca_file(tenant, mysql, tls_files, quiet_stack):
    ctx, cert = tls_files
    with Server(Recorder(), tls_context=ctx, require_starttls=True) as s:
        nid = queue(mysql, tenant.id, "ticket_created", "tech@example.com")
        env = {"RTRW_SMTP_SECURITY": "starttls", "RTRW_SMTP_CA_FILE": str(cert)}
        mailer("--tenant", str(tenant.id), "once", port=s.port, env=env)
        assert row(mysql, nid)["status"] == "sent"
        # STARTTLS required: a server without it is refused.
    with Server(Recorder()) as plain:
        nid = queue(mysql, tenant.id, "ticket_created", "tech@example.com")
        mailer("--tenant", str(tenant.id), "once", port=plain.port,
               env={"RTRW_SMTP_SECURITY": "starttls", "RTRW_MAIL_RETRY_SECONDS": "600"})
        assert row(mysql, nid)["status"] == "queued" and not plain.handler.attempts


# ---------------------------------------------------------------------------
# Platform mail, templates

def test_platform_mail_to_platform_admins(platform_admin, mysql, quiet_stack):
    key = unique("bk")
    r = mailer("--dedupe", key, "platform-notify", "backup_failed",
               stdin='{"backup_id": 17, "host": "db1", "error": "disk <full>",'
                     ' "started_at": "2026-02-01T01:00:00Z"}')
    queued = int(r.stdout.split()[1])
    assert queued >= 1
    # The same dedupe key queues nothing again.
    r = mailer("--dedupe", key, "platform-notify", "backup_failed", stdin="{}")
    assert r.stdout.strip() == "queued 0"
    with Server(Recorder()) as s:
        r = mailer("--platform", "once", port=s.port)
    mine = [m for e, m in s.handler.messages
            if e.rcpt_tos == [platform_admin["email"]]]
    assert len(mine) == 1
    msg = mine[0]
    assert msg["Subject"] == "Backup 17 gagal di db1"
    assert re.fullmatch(r"<rtrw\.p\d+@rtrw\.local>", msg["Message-ID"])
    text, html = parts(msg)
    assert "disk <full>" in text and "disk &lt;full&gt;" in html
    assert "Halo Platform Ops" in text
    with mysql.cursor() as cur:
        cur.execute("SELECT status FROM platform_notifications WHERE dedupe_key"
                    " LIKE %s", (key + ":%",))
        assert {s_ for (s_,) in cur.fetchall()} == {"sent"}


def defaults_block(dialect):
    text = (ROOT / "sql" / dialect / "0011_mail.up.sql").read_text()
    return text.split("-- defaults begin")[1].split("-- defaults end")[0]


def test_templates_seeded_listed_and_validated(tenant, mysql, quiet_stack):
    assert defaults_block("mysql") == defaults_block("postgres")
    with mysql.cursor() as cur:
        cur.execute("SELECT template_key, subject, body_html, body_text"
                    " FROM email_templates WHERE tenant_id = %s"
                    " ORDER BY template_key", (tenant.id,))
        mine = cur.fetchall()
        cur.execute("SELECT template_key, subject, body_html, body_text"
                    " FROM email_template_defaults ORDER BY template_key")
        assert mine == cur.fetchall()
    assert sorted(k for k, *_ in mine) == sorted(KEYS)
    listed = json.loads(mailer("--tenant", str(tenant.id), "templates").stdout)
    po = [t for t in listed if t["key"] == "payment_overdue"][0]
    assert "customer_name" in po["variables"] and po["updated_at"].endswith("Z")

    bad = json.dumps({"subject": "Hi {{password}}", "body_html": "<p>x</p>",
                      "body_text": "x"})
    r = mailer("--tenant", str(tenant.id), "template-set", "payment_overdue",
               stdin=bad, check=False)
    assert r.returncode == 3 and "subject" in r.stderr and "{{password}}" in r.stderr
    r = mailer("--tenant", str(tenant.id), "template-set", "no_such_key",
               stdin=bad, check=False)
    assert r.returncode == 3
    with mysql.cursor() as cur:
        cur.execute("SELECT subject FROM email_templates WHERE tenant_id = %s"
                    " AND template_key = 'payment_overdue'", (tenant.id,))
        assert cur.fetchone()[0].startswith("Tagihan {{period}}")

    good = json.dumps({"subject": "Tagihan {{ period }} — segera dibayar, {{customer_name}}",
                       "body_html": "<h1>{{amount}}</h1>", "body_text": "{{amount}}"})
    mailer("--tenant", str(tenant.id), "template-set", "payment_overdue", stdin=good)
    nid = queue(mysql, tenant.id, "payment_overdue", "b@example.com",
                payload={"period": "2026-03", "amount": "99000.00",
                         "customer_name": "Śri"})
    with Server(Recorder()) as s:
        mailer("--tenant", str(tenant.id), "once", port=s.port)
    msg = s.handler.messages[0][1]
    assert msg["Subject"] == "Tagihan 2026-03 — segera dibayar, Śri"
    assert b"=?UTF-8?B?" in s.handler.messages[0][0].original_content
    assert parts(msg) == ("99000.00\n", "<h1>99000.00</h1>\n") or \
        [p.strip() for p in parts(msg)] == ["99000.00", "<h1>99000.00</h1>"]
    assert row(mysql, nid)["status"] == "sent"


def test_template_with_one_body_sends_one_part(tenant, mysql, quiet_stack):
    r = tenant.admin.put("/email-templates/device_offline", {
        "subject": "{{name}} mati",
        "body_text": "Perangkat {{name}} <{{ip_address}}> & {{location}} mati."})
    assert r.status_code == 200, r.text
    nid = queue(mysql, tenant.id, "device_offline", "noc@example.com",
                payload={"name": "OLT-2", "ip_address": "10.0.0.9",
                         "location": "Pos <RW> 05"})
    with Server(Recorder()) as s:
        mailer("--tenant", str(tenant.id), "once", port=s.port)
    (env, msg), = s.handler.messages
    assert msg["Subject"] == "OLT-2 mati"
    assert msg.get_content_type() == "text/plain" and not msg.is_multipart()
    # Text parts take values as they are.
    assert msg.get_content().strip() == \
        "Perangkat OLT-2 <10.0.0.9> & Pos <RW> 05 mati."
    assert row(mysql, nid)["status"] == "sent"
    # HTML only: one text/html part, values escaped.
    tenant.admin.put("/email-templates/device_offline", {
        "subject": "{{name}} mati", "body_html": "<p>{{location}}</p>"})
    nid = queue(mysql, tenant.id, "device_offline", "noc@example.com",
                payload={"name": "OLT-2", "location": "Pos <RW> 05"})
    with Server(Recorder()) as s:
        mailer("--tenant", str(tenant.id), "once", port=s.port)
    (env, msg), = s.handler.messages
    assert msg.get_content_type() == "text/html"
    assert msg.get_content().strip() == "<p>Pos &lt;RW&gt; 05</p>"


def test_triggers_render_their_variables(tenant, mysql, quiet_stack):
    """The triggers that exist (the overdue job, a device going offline)
    queue what their default templates use: the emails they cause carry
    the values, not empty placeholders."""
    from test_billing_jobs import create_customer, overdue
    from test_devices import listener, new_device

    assert tenant.admin.patch("/tenant", {"timezone": "Asia/Jakarta"}).status_code == 200
    c = create_customer(tenant.operator, name="Sari Wulandari", billing_day=10,
                        email="sari@example.id")
    p = tenant.operator.post("/payments", {"customer_id": c["id"], "amount": 175000,
                                           "period": "2026-03"}).json()["data"]
    assert overdue(tenant, "2026-03-11T00:00:00Z")["overdue"] == "1"
    lst = listener()
    d = new_device(tenant.technician, port=lst.getsockname()[1],
                   name="OLT Pos 05 & RW's")
    assert tenant.technician.post(f"/devices/{d['id']}/check").status_code == 200
    lst.close()
    r = tenant.technician.post(f"/devices/{d['id']}/check")
    assert r.json()["data"]["status"] == "offline"
    with Server(Recorder()) as s:
        mailer("--tenant", str(tenant.id), "once", port=s.port)
    got = {e.rcpt_tos[0]: m for e, m in s.handler.messages}
    assert set(got) == {"sari@example.id", tenant.users["admin"]["email"]}, got
    bill = got["sari@example.id"]
    assert bill["Subject"] == f"Tagihan 2026-03 sudah jatuh tempo ({c['customer_code']})"
    text, html = parts(bill)
    assert "Yth. Sari Wulandari," in text and "Rp 175000.00" in text
    assert "2026-03-10" in text and "RT/RW Net " + tenant.slug in text
    dev = got[tenant.users["admin"]["email"]]
    assert dev["Subject"] == "Perangkat OLT Pos 05 & RW's offline"
    text, html = parts(dev)
    assert "Halo Admin " + tenant.slug in text
    assert "OLT Pos 05 & RW's (127.0.0.1) di Pos RW 05" in text
    assert "OLT Pos 05 &amp; RW&#39;s" in html
    assert tenant.operator.get("/notifications?status=sent").json()["meta"]["total"] == 2
    (note,) = tenant.operator.get(
        "/notifications?template_key=payment_overdue").json()["data"]
    assert note["payload"]["payment_id"] == p["id"] and note["status"] == "sent"


def test_every_default_template_renders(tenant, mysql, quiet_stack):
    with mysql.cursor() as cur:
        cur.execute("SELECT template_key FROM email_template_defaults")
        keys = [k for (k,) in cur.fetchall()]
    listed = {t["key"]: t["variables"] for t in
              json.loads(mailer("--tenant", str(tenant.id), "templates").stdout)}
    nids = {}
    for k in keys:
        payload = {v: f"v-{v}" for v in listed[k]}
        nids[k] = queue(mysql, tenant.id, k, f"{k}@example.com", payload=payload)
    with Server(Recorder()) as s:
        mailer("--tenant", str(tenant.id), "once", port=s.port)
    assert len(s.handler.messages) == len(keys)
    for env, msg in s.handler.messages:
        text, html = parts(msg)
        for part in (msg["Subject"], text, html):
            assert "{{" not in part and "v-" in part, (env.rcpt_tos, part)
    assert all(row(mysql, n)["status"] == "sent" for n in nids.values())
