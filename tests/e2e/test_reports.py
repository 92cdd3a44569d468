"""Reports and report schedules (API.md "Exports and reports", issue 11
section 2) against the real stack: the API queues, the stack's own
rtrw-reports (started by tools/stack.sh) builds, and the tests run the
binary themselves with --now for the schedules and the retention.

Every figure is computed here from the data the test made (with
Decimal, and zoneinfo for the tenant's months) and compared with what the
files say, parsed back with the csv module, openpyxl and json.

Controlling the service: the queue picks lock a report together with its
tenant's row (FOR UPDATE SKIP LOCKED), so a test that holds a share lock
on its tenant's row keeps its reports queued; and finishing a report
emits its event, which takes the tenant's audit chain row, so a test that
holds that row catches a report running with its last progress.
"""
import csv
import datetime
import email
import email.policy
import hashlib
import io
import json
import os
import pathlib
import re
import subprocess
import time
import urllib.parse
from collections import defaultdict
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import requests

from support import Client, mysql_connect, run_tool, unique

UTC = datetime.timezone.utc
FORMATS = ("csv", "xlsx", "json")


# ---------------------------------------------------------------------------
# Helpers

def wait_report(client, rid, statuses=("done", "failed"), timeout=60):
    deadline = time.time() + timeout
    while True:
        r = client.get(f"/reports/{rid}")
        assert r.status_code == 200, r.text
        rep = r.json()["data"]
        if rep["status"] in statuses:
            return rep
        assert time.time() < deadline, f"report {rid} stayed {rep['status']}"
        time.sleep(0.1)


def queue(client, type_, from_, to, fmt, status=202):
    r = client.post("/reports", {"type": type_, "from": from_, "to": to,
                                 "format": fmt})
    assert r.status_code == status, r.text
    return r.json()["data"] if status == 202 else r.json()


def build(client, type_, from_, to, fmt):
    rep = queue(client, type_, from_, to, fmt)
    assert rep["status"] == "queued" and rep["progress"] == 0
    done = wait_report(client, rep["id"])
    assert done["status"] == "done", done
    return done


def download(client, rid):
    r = client.get(f"/reports/{rid}/download")
    assert r.status_code == 200, r.text[:300]
    return r


def rows_of(fmt, body):
    """(header keys, rows as lists of strings/numbers) of a file."""
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))
        return rows[0], rows[1:]
    if fmt == "xlsx":
        wb = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
        rows = [list(r) for r in wb.active.iter_rows(values_only=True)]
        return rows[0], rows[1:]
    doc = json.loads(body, parse_float=Decimal)
    cols = doc["report"]["columns"]
    return cols, [[row[c] for c in cols] for row in doc["rows"]]


def dec(v):
    """A cell as an exact decimal: CSV text and JSON literals are exact;
    XLSX holds doubles, which are exact to the cent for these amounts."""
    if isinstance(v, float):
        return Decimal(repr(v)).quantize(Decimal("0.01"))
    return Decimal(str(v))


def tenant_lock(tenant):
    """A connection holding a share lock on the tenant's row: the service
    passes over the tenant's reports while it is open."""
    conn = mysql_connect()
    conn.autocommit(False)
    cur = conn.cursor()
    cur.execute("START TRANSACTION")
    cur.execute("SELECT id FROM tenants WHERE id = %s LOCK IN SHARE MODE",
                (tenant.id,))
    return conn


def reports(*args, check=True):
    return run_tool("rtrw-reports", *args, check=check)


def summary(r):
    line = r.stdout.strip().splitlines()[-1]
    return dict(kv.split("=") for kv in line.split()[2:])


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=UTC)


# The link of a report_ready email: public_url, the public route, the token.
LINK = re.compile(r"https://[^\s\"<>]+/api/v1/report-files\?token=[0-9]+-[0-9]+-[0-9a-f]+")


def start_mailer():
    """The stack's rtrw-mailer, started again should an earlier test have
    stopped it (test_mailer's quiet_stack)."""
    r = subprocess.run([os.environ["STACK_SH"], "start-mailer",
                        os.environ["STACK_DIR"]], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def sink_mail(addr, report_id, timeout=30):
    """The message the stack's mail sink (tools/mail_sink.py, DIR/mail)
    took for addr about report report_id: (message, text, html).  Many
    tests mail the same addresses, so the report's id in the link picks
    the message."""
    mail_dir = pathlib.Path(os.environ["STACK_DIR"]) / "mail"
    rcpt = b"x-original-to: " + addr.lower().encode() + b"\r\n"
    deadline = time.time() + timeout
    while True:
        for f in sorted(mail_dir.glob("*.eml")):
            data = f.read_bytes()
            if rcpt not in data.lower():
                continue
            msg = email.message_from_bytes(data, policy=email.policy.default)
            text = msg.get_body(("plain",)).get_content()
            html = msg.get_body(("html",)).get_content()
            m = LINK.search(text)
            if m and f"-{report_id}-" in m.group(0):
                return msg, text, html
        assert time.time() < deadline, \
            f"no report {report_id} email for {addr} in {mail_dir}"
        time.sleep(0.2)


def link_of(text, html):
    """The download link of an email, the same in both parts."""
    (url,) = set(LINK.findall(text))
    assert set(LINK.findall(html)) == {url}
    return url


# ---------------------------------------------------------------------------
# Data

def make_plan(client, name, price):
    r = client.post("/service-plans", {"name": name, "speed_download": 10000,
                                       "speed_upload": 5000, "price": price})
    assert r.status_code == 201, r.text
    return r.json()["data"]


def make_customer(client, plan, name, phone):
    r = client.post("/customers", {"name": name, "phone": phone,
                                   "address": "Jl. Kenanga 7",
                                   "service_plan_id": plan["id"]})
    assert r.status_code == 201, r.text
    return r.json()["data"]


def pay(client, customer, amount, date=None, method=None, period="2026-01"):
    body = {"customer_id": customer["id"], "amount": amount, "period": period}
    if date:
        body["payment_date"] = date
    if method:
        body["method"] = method
    r = client.post("/payments", body)
    assert r.status_code == 201, r.text
    return r.json()["data"]


@pytest.fixture
def books(tenant):
    """Two plans, three customers and payments around 2026-01..02: paid
    ones by transfer and cash, one without a method, one pending, one
    cancelled after it was paid, one before and one after the range."""
    op = tenant.operator
    a = make_plan(op, "Paket 10 Mbps", 150000)
    b = make_plan(op, "=Paket Ségun 20", 250000)  # non-ASCII, formula-like
    c1 = make_customer(op, a, "Budi", "081200000001")
    c2 = make_customer(op, a, "Siti", "081200000002")
    c3 = make_customer(op, b, "Agus", "081200000003")
    pay(op, c1, 150000.10, "2026-01-05", "transfer")
    pay(op, c1, 150000.5, "2026-02-05", "cash", period="2026-02")
    pay(op, c2, 149999.75, "2026-01-31", "transfer")
    pay(op, c3, 250000.25, "2026-01-15", "transfer")
    pay(op, c3, 0.01, "2026-02-28")                         # no method
    pay(op, c3, 999.99, period="2026-02")                   # pending
    gone = pay(op, c2, 77.5, "2026-02-10", "cash", period="2026-02")
    r = op.patch(f"/payments/{gone['id']}", {"status": "cancelled"})
    assert r.status_code == 200 and r.json()["data"]["payment_date"], r.text
    pay(op, c1, 1.00, "2025-12-31", "cash", period="2025-12")   # before
    pay(op, c1, 2.00, "2026-03-01", "cash", period="2026-03")   # after
    # What the reports must say is computed from what the API now holds.
    payments = op.get("/payments?per_page=100").json()["data"]
    customers = {c["id"]: c for c in op.get("/customers?per_page=100")
                 .json()["data"]}
    plans = {p["id"]: p for p in (a, b)}
    return {"payments": payments, "customers": customers, "plans": plans,
            "from": "2026-01-01", "to": "2026-02-28"}


def in_range(p, books):
    return p["payment_date"] and books["from"] <= p["payment_date"] <= books["to"]


def expected_revenue(books):
    groups = defaultdict(lambda: [0, Decimal("0")])
    for p in books["payments"]:
        if p["status"] != "paid" or not in_range(p, books):
            continue
        plan = books["plans"][books["customers"][p["customer_id"]]
                              ["service_plan_id"]]
        g = groups[(p["payment_date"][:7], plan["name"], plan["id"])]
        g[0] += 1
        g[1] += Decimal(str(p["amount"]))
    return [[m, pid, name, n, s.quantize(Decimal("0.01"))]
            for (m, name, pid), (n, s) in sorted(groups.items())]


def expected_payments(books):
    groups = defaultdict(lambda: [0, Decimal("0")])
    for p in books["payments"]:
        if in_range(p, books):
            g = groups[(p["status"], p["method"] or "")]
            g[0] += 1
            g[1] += Decimal(str(p["amount"]))
    return [[st, m, n, s.quantize(Decimal("0.01"))]
            for (st, m), (n, s) in sorted(groups.items())]


# ---------------------------------------------------------------------------
# Figures, in every format

def normal(fmt, row, kinds):
    """A parsed row in comparable form: text as str ('' for empty),
    integers as int, money as Decimal."""
    out = []
    for v, k in zip(row, kinds):
        if k == "money":
            out.append(dec(v))
        elif k == "int":
            out.append(int(v))
        else:
            out.append("" if v is None else str(v))
    return out


@pytest.mark.parametrize("fmt", FORMATS)
def test_revenue_by_month_and_plan(tenant, books, fmt):
    rep = build(tenant.operator, "revenue", books["from"], books["to"], fmt)
    want = expected_revenue(books)
    assert len(want) == 4  # both plans in both months
    r = download(tenant.operator, rep["id"])
    head, rows = rows_of(fmt, r.content)
    kinds = ("text", "int", "text", "int", "money")
    got = [normal(fmt, row, kinds) for row in rows]
    if fmt == "json":
        assert head == ["month", "plan_id", "plan_name", "payments", "revenue"]
    else:
        assert head == ["Month", "Plan id", "Plan", "Payments", "Revenue"]
    # The plan's name is text: its "=" start is neutralised in CSV/XLSX.
    if fmt != "json":
        want = [w[:2] + ["'" + w[2] if w[2].startswith("=") else w[2]] + w[3:]
                for w in want]
    assert "'=Paket Ségun 20" in [w[2] for w in want] or fmt == "json"
    assert sorted(got) == sorted(want)
    assert rep["row_count"] == len(want)
    assert rep["size_bytes"] == len(r.content)
    assert rep["sha256"] == hashlib.sha256(r.content).hexdigest()
    if fmt == "json":
        doc = json.loads(r.content, parse_float=Decimal)
        assert doc["report"]["id"] == rep["id"]
        assert doc["report"]["timezone"] == "Asia/Jakarta"
        assert doc["totals"] == {"payments": sum(w[3] for w in want),
                                 "revenue": sum(w[4] for w in want)}
        # Exact decimals in the file itself, not binary floats.
        for w in want:
            assert f'"revenue":{w[4]}'.encode() in r.content


@pytest.mark.parametrize("fmt", FORMATS)
def test_payments_by_status_and_method(tenant, books, fmt):
    rep = build(tenant.operator, "payments", books["from"], books["to"], fmt)
    want = expected_payments(books)
    statuses = {w[0] for w in want}
    assert statuses == {"paid", "cancelled"}  # unpaid ones have no date
    r = download(tenant.operator, rep["id"])
    head, rows = rows_of(fmt, r.content)
    got = [normal(fmt, row, ("text", "text", "int", "money")) for row in rows]
    assert sorted(got) == want
    if fmt == "json":
        doc = json.loads(r.content, parse_float=Decimal)
        assert None in [row["method"] for row in doc["rows"]]
        assert doc["totals"] == {"payments": sum(w[2] for w in want),
                                 "amount": sum(w[3] for w in want)}


def set_times(mysql, customer_id, created=None, left=None):
    with mysql.cursor() as cur:
        if created:
            cur.execute("UPDATE customers SET created_at = %s WHERE id = %s",
                        (created, customer_id))
        if left:
            cur.execute("UPDATE customers SET left_at = %s WHERE id = %s",
                        (left, customer_id))


def test_customer_growth_by_local_month(tenant, mysql):
    """New, churned and net by month of the tenant's calendar (Jakarta,
    UTC+7): a customer created at 17:30 UTC on Jan 31 is February's."""
    op = tenant.operator
    plan = make_plan(op, "Paket", 100000)
    made = {}
    times = {
        "before": ("2025-12-20 03:00:00", "2026-01-20 02:00:00"),
        "jan": ("2026-01-10 05:00:00", None),
        "edge": ("2026-01-31 17:30:00", None),      # Feb 1 00:30 local
        "feb": ("2026-02-15 08:00:00", "2026-03-05 01:00:00"),
        "late": ("2026-03-31 16:59:59", None),      # Mar 31 23:59 local
        "next": ("2026-03-31 17:00:00", None),      # Apr 1 00:00 local
    }
    for i, key in enumerate(times):
        made[key] = make_customer(op, plan, key, f"08130000{i:04d}")
    # Leaving stamps left_at through the trigger, whichever way it goes.
    assert op.post(f"/customers/{made['feb']['id']}/terminate").status_code == 200
    assert tenant.admin.delete(f"/customers/{made['before']['id']}").status_code == 204
    with mysql.cursor() as cur:
        cur.execute("SELECT id, left_at FROM customers WHERE tenant_id = %s",
                    (tenant.id,))
        left = {i: l for i, l in cur.fetchall()}
    assert left[made["feb"]["id"]] and left[made["before"]["id"]]
    assert left[made["jan"]["id"]] is None
    for key, (created, gone) in times.items():
        set_times(mysql, made[key]["id"], created, gone)

    zone = ZoneInfo("Asia/Jakarta")

    def month(s):
        t = datetime.datetime.strptime(s, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        return t.astimezone(zone).strftime("%Y-%m")

    months = ["2026-01", "2026-02", "2026-03"]
    new = {m: sum(1 for c, _ in times.values() if month(c) == m) for m in months}
    churn = {m: sum(1 for _, l in times.values() if l and month(l) == m)
             for m in months}
    start = sum(1 for c, l in times.values() if month(c) < "2026-01"
                and not (l and month(l) < "2026-01"))
    assert new == {"2026-01": 1, "2026-02": 2, "2026-03": 1}
    assert churn == {"2026-01": 1, "2026-02": 0, "2026-03": 1}
    want, count = [], start
    for m in months:
        count += new[m] - churn[m]
        want.append([m, new[m], churn[m], new[m] - churn[m], count])
    for fmt in FORMATS:
        rep = build(op, "customer_growth", "2026-01-01", "2026-03-31", fmt)
        head, rows = rows_of(fmt, download(op, rep["id"]).content)
        got = [normal(fmt, r, ("text", "int", "int", "int", "int")) for r in rows]
        assert got == want, fmt
        if fmt == "json":
            doc = json.loads(download(op, rep["id"]).content)
            assert doc["totals"] == {
                "new": 4, "churned": 2, "net": 2,
                "customers_at_start": start, "customers_at_end": count}


def test_empty_range_and_one_day(tenant, books):
    rep = build(tenant.operator, "revenue", "2020-01-01", "2020-01-01", "json")
    doc = json.loads(download(tenant.operator, rep["id"]).content)
    assert doc["rows"] == [] and doc["totals"] == {"payments": 0, "revenue": 0}
    assert rep["row_count"] == 0
    rep = build(tenant.operator, "payments", "2026-01-31", "2026-01-31", "csv")
    head, rows = rows_of("csv", download(tenant.operator, rep["id"]).content)
    assert rows == [["paid", "transfer", "1", "149999.75"]]


# ---------------------------------------------------------------------------
# Lifecycle

def test_status_progress_and_409_before_done(tenant, mysql):
    op = tenant.operator
    hold = tenant_lock(tenant)
    try:
        rep = queue(op, "customer_growth", "2025-01-01", "2026-06-30", "csv")
        time.sleep(1.0)  # several polls of the service
        got = op.get(f"/reports/{rep['id']}").json()["data"]
        assert got["status"] == "queued" and got["progress"] == 0
        assert got["started_at"] is None and got["attempts"] == 0
        r = op.get(f"/reports/{rep['id']}/download")
        assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
        assert "queued" in r.json()["error"]["message"]
        # Hold the tenant's audit chain: the build goes through its rows
        # and then waits to record the outcome.
        chain = mysql_connect()
        chain.autocommit(False)
        cur = chain.cursor()
        cur.execute("START TRANSACTION")
        cur.execute("SELECT last_id FROM audit_chain WHERE tenant_id = %s"
                    " FOR UPDATE", (tenant.id,))
        hold.commit()
        try:
            deadline = time.time() + 30
            while True:
                got = op.get(f"/reports/{rep['id']}").json()["data"]
                if got["status"] == "running" and got["progress"] == 95:
                    break
                assert time.time() < deadline, got
                assert got["status"] in ("queued", "running"), got
                assert 0 <= got["progress"] <= 95
                time.sleep(0.05)
            assert got["started_at"] and got["attempts"] == 1
            assert got["finished_at"] is None and got["size_bytes"] is None
            r = op.get(f"/reports/{rep['id']}/download")
            assert r.status_code == 409 and "running" in r.text
        finally:
            chain.commit()
            chain.close()
    finally:
        hold.close()
    done = wait_report(op, rep["id"])
    assert done["status"] == "done" and done["progress"] == 100
    assert done["finished_at"] and done["expires_at"]
    assert download(op, rep["id"]).content.startswith(b"Month,New")


def test_done_event_email_and_link(tenant, tenant_b, mysql, anon):
    from test_events import GRACE, connect, recv_events, silent
    ws_op = connect(tenant.operator.token)
    ws_viewer = connect(tenant.viewer.token)
    try:
        time.sleep(GRACE)
        rep = build(tenant.operator, "revenue", "2026-01-01", "2026-01-31",
                    "json")
        ev = recv_events(ws_op, 1)[0]
        assert ev["event"] == "report:completed"
        assert ev["data"] == {"id": rep["id"], "type": "revenue",
                              "format": "json", "from": "2026-01-01",
                              "to": "2026-01-31", "status": "done"}
        silent(ws_viewer, 0.7)  # viewers do not see reports
    finally:
        ws_op.close()
        ws_viewer.close()
    with mysql.cursor() as cur:
        cur.execute("SELECT recipient_user_id, recipient_email, payload"
                    " FROM notifications WHERE tenant_id = %s"
                    " AND template_key = 'report_ready'", (tenant.id,))
        rows = cur.fetchall()
    assert len(rows) == 1
    uid, email, payload = rows[0]
    assert uid == tenant.users["operator"]["id"] and email is None
    payload = json.loads(payload)
    assert {k: payload[k] for k in ("report_id", "report_type", "date_from",
                                    "date_to")} == {
        "report_id": rep["id"], "report_type": "revenue",
        "date_from": "2026-01-01", "date_to": "2026-01-31"}
    url = urllib.parse.urlsplit(payload["download_url"])
    assert url.path == "/api/v1/report-files"
    assert url.scheme == "https" and url.netloc == urllib.parse.urlsplit(
        os.environ["API_URL"]).netloc
    token = urllib.parse.parse_qs(url.query)["token"][0]
    assert token.startswith(f"{tenant.id}-{rep['id']}-")
    # The link works without a session and gives the same bytes.
    r = anon.get("/report-files?token=" + token)
    assert r.status_code == 200
    assert r.content == download(tenant.operator, rep["id"]).content
    assert r.headers["Content-Type"].startswith("application/json")
    # Only a hash of the secret is stored.
    with mysql.cursor() as cur:
        cur.execute("SELECT link_hash FROM reports WHERE id = %s", (rep["id"],))
        (stored,) = cur.fetchone()
    secret = bytes.fromhex(token.rsplit("-", 1)[1])
    assert stored == hashlib.sha256(secret).digest()
    # A changed digit, another report's id, another tenant: all 404.
    flipped = token[:-1] + ("0" if token[-1] != "0" else "1")
    other = build(tenant_b.operator, "revenue", "2026-01-01", "2026-01-31",
                  "csv")
    for bad in (flipped, token.replace(f"{tenant.id}-", f"{tenant_b.id}-", 1),
                token.replace(f"-{rep['id']}-", f"-{other['id']}-", 1),
                "garbage", token + "0"):
        r = anon.get("/report-files?token=" + urllib.parse.quote(bad))
        assert r.status_code == 404, bad
        assert r.json()["error"]["code"] == "not_found"
    assert anon.get("/report-files").status_code == 422


def test_report_email_reaches_the_sink_with_a_working_link(tenant, mysql):
    """The whole way: the API queues, the stack's rtrw-reports builds and
    queues report_ready, the stack's rtrw-mailer renders the tenant's
    template and sends it to the sink, and the link in the message
    downloads the file without an account."""
    start_mailer()
    op = tenant.operator
    # The payload carries exactly the template's variables but the two
    # the mailer adds itself.
    r = op.get("/email-templates/report_ready")
    assert r.status_code == 200, r.text
    variables = set(r.json()["data"]["variables"])
    rep = build(op, "payments", "2026-01-01", "2026-01-31", "csv")
    with mysql.cursor() as cur:
        cur.execute("SELECT id, payload FROM notifications WHERE tenant_id = %s"
                    " AND template_key = 'report_ready'", (tenant.id,))
        ((nid, payload),) = cur.fetchall()
    assert set(json.loads(payload)) | {"tenant_name", "recipient_name"} == variables
    me = tenant.users["operator"]
    msg, text, html = sink_mail(me["email"], rep["id"])
    assert msg["To"].addresses[0].addr_spec == me["email"]
    assert msg["Subject"] == "Laporan payments siap diunduh"
    assert f"Halo {me['name']}," in text
    assert "Laporan payments (2026-01-01 sampai 2026-01-31)" in text
    url = link_of(text, html)
    assert url.startswith(os.environ["API_URL"] + "/api/v1/report-files?token=")
    with mysql.cursor() as cur:
        cur.execute("SELECT status, message_id FROM notifications WHERE id = %s",
                    (nid,))
        status, message_id = cur.fetchone()
    assert status == "sent" and msg["Message-ID"] == message_id
    # No session, no headers: the link alone gives the report's bytes.
    r = requests.get(url, verify=False, timeout=30)
    assert r.status_code == 200, r.text[:300]
    assert r.headers["Content-Type"].startswith("text/csv")
    assert r.content == download(op, rep["id"]).content
    assert r.content.startswith(b"Status,Method")


def test_failure_is_recorded_with_its_event(tenant, mysql):
    """A tenant directory that cannot be made (a file in its place) fails
    the report: status failed with a sentence, the event, no email."""
    base = pathlib.Path(os.environ["STACK_DIR"]) / "reports"
    base.mkdir(exist_ok=True)
    blocker = base / str(tenant.id)
    blocker.write_text("not a directory")
    try:
        rep = queue(tenant.operator, "payments", "2026-01-01", "2026-01-31",
                    "csv")
        got = wait_report(tenant.operator, rep["id"])
    finally:
        blocker.unlink()
    assert got["status"] == "failed"
    assert got["error"] == "the report file could not be written"
    assert got["finished_at"] and got["size_bytes"] is None
    r = tenant.operator.get(f"/reports/{rep['id']}/download")
    assert r.status_code == 409 and "failed" in r.text
    with mysql.cursor() as cur:
        cur.execute("SELECT data FROM events WHERE tenant_id = %s AND"
                    " name = 'report:completed'", (tenant.id,))
        (data,) = cur.fetchone()
        cur.execute("SELECT COUNT(*) FROM notifications WHERE tenant_id = %s",
                    (tenant.id,))
        (mails,) = cur.fetchone()
    assert json.loads(data)["status"] == "failed" and mails == 0


def test_silent_service_is_taken_over_then_given_up(tenant, mysql):
    """A running report whose heartbeat stopped (its service died) is
    claimed again; at the third silent attempt it is failed."""
    op = tenant.operator
    hold = tenant_lock(tenant)
    try:
        a = queue(op, "payments", "2026-01-01", "2026-01-31", "csv")
        b = queue(op, "payments", "2026-01-01", "2026-01-31", "json")
        with mysql.cursor() as cur:
            cur.execute("UPDATE reports SET status = 'running', attempts = 1,"
                        " heartbeat_at = UTC_TIMESTAMP() - INTERVAL 1 HOUR"
                        " WHERE id = %s", (a["id"],))
            cur.execute("UPDATE reports SET status = 'running', attempts = 3,"
                        " heartbeat_at = UTC_TIMESTAMP() - INTERVAL 1 HOUR"
                        " WHERE id = %s", (b["id"],))
    finally:
        hold.close()
    got = wait_report(op, a["id"])
    assert got["status"] == "done" and got["attempts"] == 2
    got = wait_report(op, b["id"])
    assert got["status"] == "failed" and got["attempts"] == 3
    assert "given up after 3 attempts" in got["error"]


def test_validation_and_limits(tenant):
    op = tenant.operator
    bad = [
        ({"type": "revenue", "from": "2026-02-01", "to": "2026-01-31",
          "format": "csv"}, "to"),
        ({"type": "revenue", "from": "2016-01-01", "to": "2026-01-31",
          "format": "csv"}, "to"),
        ({"type": "revenue", "from": "1800-01-01", "to": "1800-01-31",
          "format": "csv"}, "from"),
        ({"type": "profit", "from": "2026-01-01", "to": "2026-01-31",
          "format": "csv"}, "type"),
        ({"type": "revenue", "from": "2026-01-01", "to": "2026-01-31",
          "format": "pdf"}, "format"),
        ({"type": "revenue", "from": "2026-02-30", "to": "2026-03-01",
          "format": "csv"}, "from"),
        ({"type": "revenue", "to": "2026-01-31", "format": "csv"}, "from"),
        ({"type": "revenue", "from": "2026-01-01", "to": "2026-01-31",
          "format": "csv", "email": "x@y.id"}, "email"),
    ]
    for body, field in bad:
        r = op.post("/reports", body)
        assert r.status_code == 422, (body, r.text)
        assert field in [d["field"] for d in r.json()["error"]["details"]], body
    assert op.get("/reports").json()["meta"]["total"] == 0
    # The longest range is 3660 days.
    hold = tenant_lock(tenant)
    try:
        queue(op, "payments", "2016-01-01", "2026-01-07", "csv")
        for _ in range(9):
            queue(op, "payments", "2026-01-01", "2026-01-31", "csv")
        r = op.post("/reports", {"type": "payments", "from": "2026-01-01",
                                 "to": "2026-01-31", "format": "csv"})
        assert r.status_code == 429 and r.headers["Retry-After"] == "30"
        assert r.json()["error"]["code"] == "rate_limited"
        assert op.get("/reports?status=queued").json()["meta"]["total"] == 10
    finally:
        hold.close()
    for rep in op.get("/reports?per_page=100").json()["data"]:
        assert wait_report(op, rep["id"])["status"] == "done"


def test_roles_list_filters_and_tenants(tenant, tenant_b):
    for role in ("viewer", "technician"):
        r = tenant.clients[role].post("/reports", {
            "type": "revenue", "from": "2026-01-01", "to": "2026-01-31",
            "format": "csv"})
        assert r.status_code == 403, role
        assert tenant.clients[role].get("/reports").status_code == 403
    a = build(tenant.admin, "revenue", "2026-01-01", "2026-01-31", "csv")
    b = build(tenant.operator, "payments", "2026-01-01", "2026-01-31", "json")
    ids = [r["id"] for r in tenant.operator.get("/reports").json()["data"]]
    assert ids == [b["id"], a["id"]]  # newest first
    ids = [r["id"] for r in tenant.operator.get("/reports?sort=created_at")
           .json()["data"]]
    assert ids == [a["id"], b["id"]]
    got = tenant.operator.get("/reports?type=payments").json()
    assert [r["id"] for r in got["data"]] == [b["id"]]
    assert tenant.operator.get("/reports?status=failed").json()["data"] == []
    assert tenant.operator.get("/reports?status=nope").status_code == 422
    # Tenant B sees none of it, and A's ids are 404 for B.
    assert tenant_b.operator.get("/reports").json()["meta"]["total"] == 0
    for path in (f"/reports/{a['id']}", f"/reports/{a['id']}/download"):
        r = tenant_b.admin.get(path)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


# ---------------------------------------------------------------------------
# Schedules

def local_next(zone, hour, now):
    """The first hour:00 local time after now (UTC) in zone, as UTC."""
    z = ZoneInfo(zone)
    day = now.astimezone(z).date() - datetime.timedelta(days=1)
    while True:
        t = datetime.datetime(day.year, day.month, day.day, hour, tzinfo=z)
        if t > now:
            return t.astimezone(UTC)
        day += datetime.timedelta(days=1)


def far_hour(zone):
    """An hour at least 6 hours from now in zone, so that the stack's own
    service (on the real clock) does not run the test's schedule."""
    return (datetime.datetime.now(ZoneInfo(zone)).hour + 12) % 24


def schedule(client, **kw):
    body = {"name": "Harian", "type": "payments", "format": "csv",
            "frequency": "daily", "recipients": ["owner@isp.example.id",
                                                  "Akuntan@Example.id"]}
    body.update(kw)
    r = client.post("/report-schedules", body)
    assert r.status_code == 201, r.text
    return r.json()["data"]


def test_schedules_run_at_the_tenants_local_time(new_tenant, mysql):
    east, west = new_tenant(), new_tenant()
    r = east.admin.patch("/tenant", {"timezone": "Asia/Jayapura"})
    assert r.status_code == 200, r.text
    hour = far_hour("Asia/Jayapura")
    now = datetime.datetime.now(UTC)
    e = schedule(east.operator, hour=hour)
    w = schedule(west.operator, hour=hour)
    assert e["date_range"] == "previous_day" and e["active"] is True
    assert e["day_of_week"] is None and e["day_of_month"] is None
    # The same local hour, two hours apart in UTC.
    e_next, w_next = parse_time(e["next_run_at"]), parse_time(w["next_run_at"])
    assert e_next == local_next("Asia/Jayapura", hour, now)
    assert w_next == local_next("Asia/Jakarta", hour, now)

    def run(t, at):
        return summary(reports("run-once", "--tenant", str(t.id),
                               "--now", iso(at)))

    # A second early: nothing.  At the local hour: one run, in the east
    # only (the west's hour has not come there yet).
    assert run(east, e_next - datetime.timedelta(seconds=1))["scheduled"] == "0"
    assert run(east, e_next)["scheduled"] == "1"
    assert w_next == e_next + datetime.timedelta(hours=2)
    assert run(west, e_next)["scheduled"] == "0"
    # Running again at the same instant runs nothing twice.
    assert run(east, e_next)["scheduled"] == "0"
    runs = east.operator.get(f"/reports?schedule_id={e['id']}").json()["data"]
    assert len(runs) == 1
    rep = wait_report(east.operator, runs[0]["id"])
    assert rep["status"] == "done" and rep["requested_by"] is None
    run_day = e_next.astimezone(ZoneInfo("Asia/Jayapura")).date()
    yesterday = (run_day - datetime.timedelta(days=1)).isoformat()
    assert (rep["from"], rep["to"]) == (yesterday, yesterday)
    after = east.operator.get(f"/report-schedules/{e['id']}").json()["data"]
    assert after["last_report_id"] == rep["id"]
    assert parse_time(after["last_run_at"]) == e_next
    assert parse_time(after["next_run_at"]) == e_next + datetime.timedelta(days=1)
    # One email per recipient, each with the link.
    with mysql.cursor() as cur:
        cur.execute("SELECT recipient_email, payload FROM notifications"
                    " WHERE tenant_id = %s AND template_key = 'report_ready'"
                    " ORDER BY recipient_email", (east.id,))
        mails = cur.fetchall()
    assert [m[0] for m in mails] == ["Akuntan@Example.id", "owner@isp.example.id"]
    for addr, payload in mails:
        p = json.loads(payload)
        assert p["report_id"] == rep["id"] and "token=" in p["download_url"]
        assert p["recipient_name"] == addr  # an address has no name
    # The stack's mailer delivers both to the sink; each message carries
    # the link, which downloads the run's file without an account.
    start_mailer()
    body = download(east.operator, rep["id"]).content
    for addr, _ in mails:
        msg, text, html = sink_mail(addr, rep["id"])
        assert msg["To"].addresses[0].addr_spec == addr
        assert f"Halo {addr}," in text
        r = requests.get(link_of(text, html), verify=False, timeout=30)
        assert r.status_code == 200 and r.content == body
    # Editing the schedule later does not change who that run mailed.
    east.operator.patch(f"/report-schedules/{e['id']}",
                        {"recipients": ["new@example.id"]})
    # The west runs at its own hour.
    assert run(west, w_next)["scheduled"] == "1"


def test_missed_runs_run_once_for_the_newest(tenant):
    hour = far_hour("Asia/Jakarta")
    s = schedule(tenant.operator, hour=hour, frequency="weekly",
                 day_of_week=3, type="revenue", format="json")
    first = parse_time(s["next_run_at"])
    assert first.astimezone(ZoneInfo("Asia/Jakarta")).isoweekday() == 3
    assert s["date_range"] == "previous_week"
    # Three weeks late: one run, for the newest week, then on to the next.
    late = first + datetime.timedelta(weeks=2, hours=1)
    r = reports("run-once", "--tenant", str(tenant.id), "--now", iso(late))
    assert summary(r)["scheduled"] == "1"
    after = tenant.operator.get(f"/report-schedules/{s['id']}").json()["data"]
    assert parse_time(after["next_run_at"]) == first + datetime.timedelta(weeks=3)
    rep = tenant.operator.get(f"/reports?schedule_id={s['id']}").json()["data"][0]
    run_day = (first + datetime.timedelta(weeks=2)).astimezone(
        ZoneInfo("Asia/Jakarta")).date()  # a Wednesday
    monday = run_day - datetime.timedelta(days=2)
    assert rep["from"] == (monday - datetime.timedelta(days=7)).isoformat()
    assert rep["to"] == (monday - datetime.timedelta(days=1)).isoformat()


def test_schedule_crud_and_validation(tenant, tenant_b):
    op = tenant.operator
    s = schedule(op, frequency="monthly", day_of_month=28, hour=0,
                 date_range="last_30_days", format="xlsx")
    assert s["day_of_month"] == 28 and s["day_of_week"] is None
    nxt = parse_time(s["next_run_at"]).astimezone(ZoneInfo("Asia/Jakarta"))
    assert (nxt.day, nxt.hour, nxt.minute) == (28, 0, 0)
    assert s["recipients"] == ["owner@isp.example.id", "Akuntan@Example.id"]
    # Frequency change: the other day goes, the new one gets its default.
    r = op.patch(f"/report-schedules/{s['id']}", {"frequency": "weekly"})
    assert r.status_code == 200, r.text
    w = r.json()["data"]
    assert (w["day_of_week"], w["day_of_month"]) == (1, None)
    assert parse_time(w["next_run_at"]).astimezone(
        ZoneInfo("Asia/Jakarta")).isoweekday() == 1
    assert w["date_range"] == "last_30_days"  # kept: it was chosen
    # A rename keeps the next run; inactive has none; active again gets one.
    r = op.patch(f"/report-schedules/{s['id']}", {"name": "Mingguan"})
    assert r.json()["data"]["next_run_at"] == w["next_run_at"]
    r = op.patch(f"/report-schedules/{s['id']}", {"active": False})
    assert r.json()["data"]["next_run_at"] is None
    r = op.patch(f"/report-schedules/{s['id']}", {"active": True})
    assert r.json()["data"]["next_run_at"] == w["next_run_at"]
    bad = [
        ({"frequency": "daily", "day_of_week": 2}, "day_of_week"),
        ({"frequency": "weekly", "day_of_month": 2}, "day_of_month"),
        ({"hour": 24}, "hour"),
        ({"day_of_month": 29, "frequency": "monthly"}, "day_of_month"),
        ({"recipients": []}, "recipients"),
        ({"recipients": ["not-an-address"]}, "recipients"),
        ({"recipients": ["a@x.id", "A@X.id"]}, "recipients"),
        ({"recipients": [f"r{i}@x.id" for i in range(21)]}, "recipients"),
        ({"recipients": "a@x.id"}, "recipients"),
        ({"name": "<script>x</script>"}, "name"),
        ({"date_range": "forever"}, "date_range"),
    ]
    before = op.get(f"/report-schedules/{s['id']}").json()["data"]
    for body, field in bad:
        r = op.patch(f"/report-schedules/{s['id']}", body)
        assert r.status_code == 422, (body, r.text)
        assert field in [d["field"] for d in r.json()["error"]["details"]], body
    assert op.get(f"/report-schedules/{s['id']}").json()["data"] == before
    r = op.post("/report-schedules", {"name": "x", "type": "revenue",
                                      "format": "csv", "frequency": "daily"})
    assert r.status_code == 422
    # Lists, filters, roles, tenants.
    d = schedule(op, name="Anggota baru", type="customer_growth")
    names = [x["name"] for x in op.get("/report-schedules").json()["data"]]
    assert names == ["Anggota baru", "Mingguan"]
    got = op.get("/report-schedules?type=customer_growth").json()["data"]
    assert [x["id"] for x in got] == [d["id"]]
    got = op.get("/report-schedules?frequency=weekly").json()["data"]
    assert [x["id"] for x in got] == [s["id"]]
    assert tenant.viewer.get("/report-schedules").status_code == 403
    assert tenant_b.admin.get(f"/report-schedules/{s['id']}").status_code == 404
    assert tenant_b.admin.patch(f"/report-schedules/{s['id']}",
                                {"name": "x"}).status_code == 404
    assert tenant_b.admin.delete(f"/report-schedules/{s['id']}").status_code == 404
    # Deleting is for admins; the schedule's reports stay.
    assert op.delete(f"/report-schedules/{s['id']}").status_code == 403
    assert tenant.admin.delete(f"/report-schedules/{s['id']}").status_code == 204
    assert op.get(f"/report-schedules/{s['id']}").status_code == 404
    assert tenant.admin.delete(f"/report-schedules/{s['id']}").status_code == 404


# ---------------------------------------------------------------------------
# Retention

def file_of(mysql, rid):
    with mysql.cursor() as cur:
        cur.execute("SELECT tenant_id, file_name FROM reports WHERE id = %s",
                    (rid,))
        tid, name = cur.fetchone()
    return pathlib.Path(os.environ["STACK_DIR"]) / "reports" / str(tid) / name


def test_retention_removes_files_and_expires(tenant, mysql, anon):
    op = tenant.operator
    old = build(op, "payments", "2026-01-01", "2026-01-31", "csv")
    with mysql.cursor() as cur:
        cur.execute("SELECT payload FROM notifications WHERE tenant_id = %s",
                    (tenant.id,))
        link = json.loads(cur.fetchone()[0])["download_url"]
    path = file_of(mysql, old["id"])
    assert path.is_file() and oct(path.stat().st_mode & 0o777) == "0o600"
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"
    expires = parse_time(old["expires_at"])
    finished = parse_time(old["finished_at"])
    assert expires - finished == datetime.timedelta(days=30)
    leftovers = path.parent
    stale = leftovers / "999999-0000000000000000.csv.tmp"
    fresh = leftovers / "999998-0000000000000000.csv.tmp"
    foreign = leftovers / "notes.txt"
    for f in (stale, fresh, foreign):
        f.write_text("x")
    two_days = time.time() - 2 * 86400
    os.utime(stale, (two_days, two_days))
    os.utime(foreign, (two_days, two_days))

    def expire(at):
        return summary(reports("expire", "--tenant", str(tenant.id),
                               "--now", iso(at)))

    assert expire(expires - datetime.timedelta(seconds=1))["expired"] == "0"
    assert path.is_file()
    assert download(op, old["id"]).status_code == 200
    assert expire(expires)["expired"] == "1"
    assert not path.exists()
    got = op.get(f"/reports/{old['id']}").json()["data"]
    assert got["status"] == "expired"
    r = op.get(f"/reports/{old['id']}/download")
    assert r.status_code == 409 and "expired" in r.text
    r = anon.get("/report-files?" + urllib.parse.urlsplit(link).query)
    assert r.status_code == 404
    # The sweep: a day-old leftover goes, a fresh one and a foreign file stay.
    assert not stale.exists() and fresh.exists() and foreign.exists()
    fresh.unlink()
    foreign.unlink()


def test_deleted_tenant_files_are_swept(new_tenant, platform, mysql):
    t = new_tenant()
    rep = build(t.operator, "revenue", "2026-01-01", "2026-01-31", "xlsx")
    path = file_of(mysql, rep["id"])
    assert path.is_file()
    assert platform.delete(f"/platform/tenants/{t.id}").status_code == 204
    r = reports("expire", "--tenant", str(t.id))
    assert summary(r)["expired"] == "0"
    assert not path.parent.exists()


def test_xlsx_is_typed(tenant, books):
    rep = build(tenant.operator, "revenue", books["from"], books["to"], "xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(download(tenant.operator,
                                                    rep["id"]).content))
    ws = wb.active
    assert ws.title == "Revenue" and ws.freeze_panes == "A2"
    assert ws["A1"].font.bold
    assert isinstance(ws["B2"].value, int) and isinstance(ws["D2"].value, int)
    assert isinstance(ws["E2"].value, (int, float))
    assert ws["E2"].number_format == "#,##0.00"


def test_first_report_after_a_mariadb_restart_is_built(tenant):
    """The service's second connection (progress) sits idle between
    reports; after MariaDB restarts, the first report's progress met the
    dead connection and the report failed ("the database failed while the
    report was built") until lib/report.c sent that idempotent update
    again on a fresh connection."""
    build(tenant.operator, "payments", "2026-01-01", "2026-01-31", "csv")
    r = subprocess.run([os.environ["STACK_SH"], "restart-mariadb",
                        os.environ["STACK_DIR"]], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    deadline = time.time() + 30
    while True:
        try:
            mysql_connect().close()
            break
        except Exception:
            assert time.time() < deadline, "MariaDB did not come back"
            time.sleep(0.2)
    for fmt in ("csv", "json"):
        rep = build(tenant.operator, "revenue", "2026-01-01", "2026-01-31", fmt)
        assert rep["progress"] == 100 and rep["error"] is None
