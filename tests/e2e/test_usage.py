"""Usage monitoring (issue 12) against simulated routers.

Each test starts its own RouterOS simulator (tools/routeros-sim) on free
ports with auto_counters off, so that only `advance` moves the router's
clock and every byte count is exact, and runs `rtrw-monitor usage` for
its own tenant with --now (the clock of buckets) and --gap-ms 0 (no claim
gap between the test's back-to-back cycles).  Routers are rows with a
sealed password, as the routers API stores them.

Directions: the simulator's rx_bps/tx_bps are the router's (rx is the
customer's upload); everything the API answers is the customer's (rx is
the download).
"""
import datetime as dt
import email
import email.policy
import json
import os
import pathlib
import subprocess
import sys
import threading
import time
import zoneinfo

import pymysql
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from support import (bin_path, config_path, config_value, memcache_delete,
                     run_tool)

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools" / "routeros-sim"))
import simctl  # noqa: E402

SIM_PASSWORD = "sim-Passw0rd"
UTC = dt.timezone.utc
JAKARTA = zoneinfo.ZoneInfo("Asia/Jakarta")
DOWN = 8_000_000  # bit/s the router sends a customer (its download)
UP = 1_000_000


# ---------------------------------------------------------------------------
# Helpers

def seal(tenant_id, router_id, password):
    """The router password sealed as lib/crypto.c seals it."""
    key = bytes.fromhex(
        pathlib.Path(config_value("data_key_file")).read_text().strip())
    nonce = os.urandom(12)
    aad = f"router:{tenant_id}:{router_id}:password".encode()
    return bytes([1, 1]) + nonce + AESGCM(key).encrypt(
        nonce, password.encode(), aad)


def sim_state(names, rx=UP, tx=DOWN):
    return {
        "settings": {"auto_counters": False},
        "profiles": [{"name": "p10", "rate-limit": "2M/10M"}],
        "secrets": [{"name": n, "password": "x", "profile": "p10",
                     "service": "pppoe", "connected": True,
                     "session": {"rx_bps": rx, "tx_bps": tx}}
                    for n in names],
    }


@pytest.fixture
def sim():
    s = simctl.Sim.start(password=SIM_PASSWORD,
                         state=sim_state(["cust-a", "cust-b", "cust-c"]))
    yield s
    s.stop()


def q(mysql, sql, *args):
    cur = mysql.cursor()
    cur.execute(sql, args)
    return cur.fetchall()


def add_router(mysql, tenant, port, name="core", uplink=None):
    """A router row on the test's simulator.  Its provisioning lease is
    held by nobody for a day, so the stack's rtrw-provision leaves it
    alone: these tests set the simulator's secrets and sessions exactly
    and count the collector's commands, and an activation job (which
    adopts the secret and drops its session so that the plan applies)
    would change both.  Provisioning has its own tests."""
    cur = mysql.cursor()
    cur.execute("INSERT INTO routers (tenant_id, name, host, api_port,"
                " username, uplink_capacity_kbps, prov_owner,"
                " prov_lease_until)"
                " VALUES (%s, %s, '127.0.0.1', %s, 'admin', %s,"
                " 'test_usage', UTC_TIMESTAMP() + INTERVAL 1 DAY)",
                (tenant.id, name, port, uplink))
    rid = cur.lastrowid
    cur.execute("UPDATE routers SET password_enc = %s WHERE id = %s",
                (seal(tenant.id, rid, SIM_PASSWORD), rid))
    return rid


def add_plan(tenant, down=10000, up=2000, name="Paket 10M"):
    r = tenant.operator.post("/service-plans", {
        "name": name, "speed_download": down, "speed_upload": up,
        "price": 150000})
    assert r.status_code == 201, r.text
    return r.json()["data"]["id"]


def add_customer(tenant, plan, router, pppoe, activate=True):
    r = tenant.operator.post("/customers", {
        "name": "Pelanggan " + pppoe, "phone": "081234567890",
        "address": "Jl. Melati 5", "service_plan_id": plan,
        "router_id": router, "pppoe_username": pppoe,
        "pppoe_password": "pppoe-pw"})
    assert r.status_code == 201, r.text
    cid = r.json()["data"]["id"]
    if activate:
        r = tenant.operator.post(f"/customers/{cid}/activate", {})
        assert r.status_code == 200, r.text
    return cid


def iso(t):
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def collect(tenant, at, *extra, check=True):
    """One cycle for the tenant's routers at --now at; its summary line."""
    r = run_tool("rtrw-monitor", "--tenant", str(tenant.id), "--gap-ms",
                 "0", "--now", iso(at), *extra, "usage", check=check)
    line = [ln for ln in r.stderr.splitlines() if 'msg="usage ' in ln]
    assert line, r.stderr
    body = line[-1].split('msg="usage ', 1)[1].rstrip('"')
    return {k: int(v) for k, v in (kv.split("=") for kv in body.split())}


def hour_ago(hours):
    """An hour boundary `hours` hours back (so that the API's 24-hour
    window holds the test's buckets)."""
    now = dt.datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return now - dt.timedelta(hours=hours)


def raw(mysql, cid):
    return q(mysql, "SELECT at, rx_bytes, tx_bytes, secs FROM usage_raw"
             " WHERE customer_id = %s ORDER BY at", cid)


def level(mysql, table, cid):
    return q(mysql, "SELECT at, rx_bytes, tx_bytes, secs, peak_rx_bps,"
             " peak_tx_bps FROM " + table + " WHERE customer_id = %s"
             " ORDER BY at", cid)


def events(mysql, tenant, name):
    return [json.loads(d) for (d,) in q(
        mysql, "SELECT data FROM events WHERE tenant_id = %s AND name = %s"
        " ORDER BY id", tenant.id, name)]


def alerts(mysql, tenant, type_):
    return q(mysql, "SELECT subject_type, subject_id, status, occurrences"
             " FROM alerts WHERE tenant_id = %s AND type = %s ORDER BY id",
             tenant.id, type_)


def bytes_of(bps, secs=60):
    return bps * secs // 8


# ---------------------------------------------------------------------------
# Deltas, router status, alerts and events

def test_deltas_never_negative_nor_spikes(tenant, sim, mysql):
    plan = add_plan(tenant)
    rid = add_router(mysql, tenant, sim.port)
    a, b, c = (add_customer(tenant, plan, rid, n)
               for n in ("cust-a", "cust-b", "cust-c"))
    t0 = hour_ago(3)

    # First sight: a baseline only, nothing stored as traffic.
    s = collect(tenant, t0)
    assert (s["claimed"], s["online"], s["sessions"], s["matched"],
            s["baseline"], s["samples"]) == (1, 1, 3, 3, 3, 0)
    assert q(mysql, "SELECT COUNT(*) FROM usage_raw WHERE tenant_id = %s",
             tenant.id)[0][0] == 0
    st = q(mysql, "SELECT customer_id, online, session_id FROM"
           " usage_sessions WHERE tenant_id = %s ORDER BY customer_id",
           tenant.id)
    assert [(x[0], x[1]) for x in st] == [(a, 1), (b, 1), (c, 1)]
    status, seen, version = q(mysql, "SELECT status, last_seen,"
                              " routeros_version FROM routers WHERE id = %s",
                              rid)[0]
    assert status == "online" and seen is not None and version

    # A minute of traffic: exactly a minute of each direction.
    sim.advance(60)
    s = collect(tenant, t0 + dt.timedelta(minutes=1))
    assert s["samples"] == 3 and s["baseline"] == 0
    for cid in (a, b, c):
        assert raw(mysql, cid) == (
            (t0.replace(tzinfo=None) + dt.timedelta(minutes=1),
             bytes_of(DOWN), bytes_of(UP), 60),)

    # b: the counters are reset (/interface/reset-counters) and count
    # less than before by the next reading (at half the rate); c: its
    # session restarts (new .id, counters from zero); a: a counter jumps
    # by terabytes in one minute (a spike, dropped).
    sim.set_counters("cust-b", rx=0, tx=0)
    sim.set_rate("cust-b", rx_bps=UP // 2, tx_bps=DOWN // 2)
    old = sim.session("cust-c")[".id"]
    sim.restart_session("cust-c")
    assert sim.session("cust-c")[".id"] != old
    sim.set_counters("cust-a", rx=10**15, tx=10**15)
    sim.advance(60)
    s = collect(tenant, t0 + dt.timedelta(minutes=2))
    assert (s["reset"], s["new_session"], s["spike"]) == (1, 1, 1)
    at2 = t0.replace(tzinfo=None) + dt.timedelta(minutes=2)
    assert raw(mysql, b)[-1] == (at2, bytes_of(DOWN // 2), bytes_of(UP // 2),
                                 60)
    assert raw(mysql, c)[-1] == (at2, bytes_of(DOWN), bytes_of(UP), 60)
    assert raw(mysql, a)[-1] == (at2, 0, 0, 60)

    # a's counters wrap past 2^64: the true difference, modulo 2^64.
    sim.set_counters("cust-a", rx=2**64 - 1000, tx=2**64 - 3000)
    s = collect(tenant, t0 + dt.timedelta(minutes=2, seconds=30))
    assert s["samples"] == 0  # no router time passed: nothing to count
    sim.advance(60)
    s = collect(tenant, t0 + dt.timedelta(minutes=3))
    assert s["wrap"] == 1
    at3 = t0.replace(tzinfo=None) + dt.timedelta(minutes=3)
    assert raw(mysql, a)[-1] == (at3, bytes_of(DOWN), bytes_of(UP), 60)
    # Nothing anywhere is negative or beyond the link.
    worst = q(mysql, "SELECT MAX(rx_bytes * 8 / secs), MIN(rx_bytes),"
              " MAX(tx_bytes * 8 / secs) FROM usage_raw"
              " WHERE tenant_id = %s AND secs > 0", tenant.id)[0]
    assert worst[0] <= DOWN and worst[1] >= 0 and worst[2] <= UP

    # A customer who hangs up is offline in the state, stores nothing.
    sim.disconnect("cust-b")
    sim.advance(60)
    s = collect(tenant, t0 + dt.timedelta(minutes=4))
    assert s["sessions"] == 2 and s["samples"] == 2
    assert q(mysql, "SELECT online, rx_bps FROM usage_sessions"
             " WHERE customer_id = %s", b)[0] == (0, 0)
    assert len(raw(mysql, b)) == 3  # minutes 1 to 3, none at 4

    # The router stops answering: offline, last_error, one alert, one
    # email to the admins, one router:status event per change.
    sim.fault(refuse=True)
    for k in (5, 6):
        sim.advance(60)  # the router's clock goes on while it is away
        s = collect(tenant, t0 + dt.timedelta(minutes=k), "--timeout-ms",
                    "1000")
        assert (s["online"], s["offline"], s["failed"]) == (0, 1, 0)
    status, err, seen2 = q(mysql, "SELECT status, last_error, last_seen"
                           " FROM routers WHERE id = %s", rid)[0]
    assert status == "offline" and err and seen2 is not None
    assert alerts(mysql, tenant, "router_offline") == (
        ("router", str(rid), "open", 1),)
    mail = q(mysql, "SELECT template_key, payload FROM notifications"
             " WHERE tenant_id = %s", tenant.id)
    assert [m[0] for m in mail] == ["device_offline"]
    assert json.loads(mail[0][1])["router_id"] == rid
    assert q(mysql, "SELECT ok, sessions_online FROM usage_routers"
             " WHERE router_id = %s", rid)[0] == (0, 0)

    # Back: online, alert resolved; the minutes it was away are counted
    # once, over their true length (the session stayed up).
    sim.clear_faults()
    sim.advance(60)
    s = collect(tenant, t0 + dt.timedelta(minutes=7))
    assert (s["online"], s["samples"]) == (1, 2)
    assert q(mysql, "SELECT status, last_error FROM routers WHERE id = %s",
             rid)[0] == ("online", None)
    assert alerts(mysql, tenant, "router_offline") == (
        ("router", str(rid), "resolved", 1),)
    at7 = t0.replace(tzinfo=None) + dt.timedelta(minutes=7)
    assert raw(mysql, c)[-1] == (at7, bytes_of(DOWN, 180), bytes_of(UP, 180),
                                 180)
    changes = [(e["previous_status"], e["status"])
               for e in events(mysql, tenant, "router:status")]
    assert changes == [("unknown", "online"), ("online", "offline"),
                       ("offline", "online")]
    assert len(events(mysql, tenant, "alert:created")) == 1
    # One monitoring:update per cycle for the tenant.
    ups = events(mysql, tenant, "monitoring:update")
    assert len(ups) == 9
    assert ups[-1]["sessions_online"] == 2
    assert ups[-1]["used_kbps"] == 2 * DOWN // 1000


def offline_mails(mysql, tenant):
    return q(mysql, "SELECT id, payload FROM notifications WHERE tenant_id"
             " = %s AND template_key = 'device_offline' ORDER BY id",
             tenant.id)


def sink_message(notification_id, tenant, timeout=30):
    """The stack's mailer sends the row to the stack's sink: the message
    it wrote there, found by its Message-ID."""
    mail_dir = pathlib.Path(os.environ["STACK_DIR"]) / "mail"
    mid = f"<rtrw.n{notification_id}.t{tenant.id}@".encode()
    deadline = time.time() + timeout
    while time.time() < deadline:
        for f in mail_dir.glob("*.eml"):
            data = f.read_bytes()
            if b"Message-ID: " + mid in data:
                return email.message_from_bytes(data,
                                                policy=email.policy.default)
        time.sleep(0.2)
    raise AssertionError(f"notification {notification_id} not in {mail_dir}")


def test_router_offline_emails_the_admins_once_per_alert(tenant, sim, mysql):
    """A router that stops answering queues the device_offline email to
    the tenant's admins when its router_offline alert opens (the
    template's name and ip_address are the router's name and host), not
    again while the alert stays open, and again after it was resolved and
    the router went away once more."""
    name = "Core RW 05 & 'Melati'"
    rid = add_router(mysql, tenant, sim.port, name=name)
    t0 = hour_ago(1)
    collect(tenant, t0)
    assert offline_mails(mysql, tenant) == ()
    sim.fault(refuse=True)
    for k in (1, 2, 3):
        collect(tenant, t0 + dt.timedelta(minutes=k), "--timeout-ms", "1000")
    (nid, payload), = offline_mails(mysql, tenant)
    p = json.loads(payload)
    assert (p["router_id"], p["name"], p["ip_address"], p["status"],
            p["previous_status"]) == (rid, name, "127.0.0.1", "offline",
                                      "online")
    assert p["last_seen"].endswith("Z") and p["last_error"]
    msg = sink_message(nid, tenant)
    assert msg["Subject"] == f"Perangkat {name} offline"
    assert msg["To"].addresses[0].addr_spec == tenant.users["admin"]["email"]
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert f"Perangkat {name} (127.0.0.1)" in text
    assert "Core RW 05 &amp; &#39;Melati&#39;" in html
    assert p["last_seen"] in text
    # Back, resolved; away again: a new alert, a second email.
    sim.clear_faults()
    collect(tenant, t0 + dt.timedelta(minutes=4))
    assert alerts(mysql, tenant, "router_offline") == (
        ("router", str(rid), "resolved", 1),)
    sim.fault(refuse=True)
    collect(tenant, t0 + dt.timedelta(minutes=5), "--timeout-ms", "1000")
    assert len(offline_mails(mysql, tenant)) == 2
    assert [a[2] for a in alerts(mysql, tenant, "router_offline")] == [
        "resolved", "open"]


def test_events_reach_websocket_clients_as_documented(tenant, sim, mysql):
    """router:status, monitoring:update and alert:created from a cycle
    reach a viewer's WebSocket through rtrw-events, each as
    docs/asyncapi.yaml describes it."""
    from test_events import GRACE, conforms, connect, recv_events
    plan = add_plan(tenant)
    rid = add_router(mysql, tenant, sim.port)
    add_customer(tenant, plan, rid, "cust-a")
    t0 = hour_ago(1)
    ws = connect(tenant.viewer.token)
    try:
        time.sleep(GRACE)
        collect(tenant, t0)
        got = [conforms(m) for m in recv_events(ws, 2)]
        assert [m["event"] for m in got] == ["router:status",
                                             "monitoring:update"]
        assert (got[0]["data"]["router_id"], got[0]["data"]["status"]) == (
            rid, "online")
        up = got[1]["data"]
        assert (up["sessions_online"], up["capacity_kbps"],
                up["routers"][0]["id"]) == (3, 10000, rid)
        sim.advance(60)
        collect(tenant, t0 + dt.timedelta(minutes=1))
        (m,) = [conforms(x) for x in recv_events(ws, 1)]
        assert m["event"] == "monitoring:update"
        assert m["data"]["used_kbps"] == DOWN // 1000
        sim.fault(refuse=True)
        collect(tenant, t0 + dt.timedelta(minutes=2), "--timeout-ms", "1000")
        got = [conforms(x) for x in recv_events(ws, 3)]
        assert [x["event"] for x in got] == ["router:status", "alert:created",
                                             "monitoring:update"]
        assert got[0]["data"]["previous_status"] == "online"
        assert got[1]["data"]["type"] == "router_offline"
        assert got[2]["data"]["used_kbps"] == 0
    finally:
        ws.close()


def test_rollups_sum_bytes_mean_and_peak(tenant, sim, mysql):
    plan = add_plan(tenant)
    rid = add_router(mysql, tenant, sim.port)
    a = add_customer(tenant, plan, rid, "cust-a")
    t0 = hour_ago(2) - dt.timedelta(minutes=3)  # 3 minutes before an hour
    collect(tenant, t0)
    # Seven readings of different rates: two in the 5-minute bucket (and
    # the hour) before the boundary, five after it.
    rates = [(2_000_000, 300_000), (9_000_000, 100_000),
             (1_000_000, 700_000), (4_000_000, 200_000),
             (8_000_000, 900_000), (500_000, 50_000), (3_000_000, 400_000)]
    samples = []
    for k, (down, up) in enumerate(rates, start=1):
        sim.set_rate("cust-a", rx_bps=up, tx_bps=down)
        sim.advance(60)
        at = t0 + dt.timedelta(minutes=k)
        collect(tenant, at)
        samples.append((at, bytes_of(down), bytes_of(up), 60, down, up))

    def expect(bucket_of):
        out = {}
        for at, rx, tx, secs, down, up in samples:
            k = bucket_of(at)
            o = out.setdefault(k, [0, 0, 0, 0, 0])
            o[0] += rx
            o[1] += tx
            o[2] += secs
            o[3] = max(o[3], down)
            o[4] = max(o[4], up)
        return tuple((k.astimezone(UTC).replace(tzinfo=None), *v)
                     for k, v in sorted(out.items()))

    def floor(at, secs):
        epoch = int(at.timestamp())
        return dt.datetime.fromtimestamp(epoch - epoch % secs, UTC)

    def local_day(at):
        d = at.astimezone(JAKARTA).date()
        return dt.datetime(d.year, d.month, d.day, tzinfo=JAKARTA)

    assert raw(mysql, a) == tuple((s[0].replace(tzinfo=None), *s[1:4])
                                  for s in samples)
    five = level(mysql, "usage_5m", a)
    assert five == expect(lambda t: floor(t, 300))
    assert len(five) == 2
    assert level(mysql, "usage_hourly", a) == expect(lambda t: floor(t, 3600))
    assert level(mysql, "usage_daily", a) == expect(local_day)
    # Each level holds exactly the bytes of the level below.
    for lower, upper in (("usage_raw", "usage_5m"), ("usage_5m", "usage_hourly"),
                         ("usage_hourly", "usage_daily")):
        sums = [q(mysql, "SELECT SUM(rx_bytes), SUM(tx_bytes), SUM(secs)"
                  " FROM " + t + " WHERE customer_id = %s", a)[0]
                for t in (lower, upper)]
        assert sums[0] == sums[1], (lower, upper)

    # The API's points are the 5-minute rows: mean = bytes * 8 / secs.
    r = tenant.viewer.get(f"/customers/{a}/usage?period=24h")
    assert r.status_code == 200, r.text
    d = r.json()["data"]
    assert (d["customer_id"], d["period"], d["interval"]) == (a, "24h", "5m")
    pts = [(p["at"], p["rx_bytes"], p["tx_bytes"], p["seconds"], p["rx_bps"],
            p["tx_bps"], p["peak_rx_bps"], p["peak_tx_bps"])
           for p in d["points"]]
    assert pts == [(iso(at.replace(tzinfo=UTC)), rx, tx, secs, rx * 8 // secs,
                    tx * 8 // secs, prx, ptx)
                   for at, rx, tx, secs, prx, ptx in five]
    assert d["total_rx_bytes"] == sum(s[1] for s in samples)
    assert d["total_tx_bytes"] == sum(s[2] for s in samples)
    hourly = tenant.viewer.get(f"/customers/{a}/usage?period=7d").json()["data"]
    assert hourly["interval"] == "1h"
    assert [p["rx_bytes"] for p in hourly["points"]] == \
        [row[1] for row in level(mysql, "usage_hourly", a)]
    daily = tenant.viewer.get(f"/customers/{a}/usage?period=30d").json()["data"]
    assert daily["interval"] == "1d"
    assert [(p["at"], p["rx_bytes"]) for p in daily["points"]] == \
        [(iso(row[0].replace(tzinfo=UTC)), row[1])
         for row in level(mysql, "usage_daily", a)]
    assert daily["total_rx_bytes"] == d["total_rx_bytes"]


def test_usage_endpoint_validation_and_tenancy(tenant, tenant_b, sim, mysql):
    plan = add_plan(tenant)
    rid = add_router(mysql, tenant, sim.port)
    a = add_customer(tenant, plan, rid, "cust-a")
    none_yet = add_customer(tenant, plan, rid, "cust-b")
    sim.disconnect("cust-b")
    t0 = hour_ago(1)
    collect(tenant, t0)
    sim.advance(60)
    collect(tenant, t0 + dt.timedelta(minutes=1))

    r = tenant.viewer.get(f"/customers/{a}/usage")
    assert r.status_code == 200 and r.json()["data"]["period"] == "24h"
    assert len(r.json()["data"]["points"]) == 1
    for bad in ("1y", "24H", "", "30"):
        r = tenant.viewer.get(f"/customers/{a}/usage?period={bad}")
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["error"]["code"] == "validation_failed"
    # A customer without data: an empty graph, not an error.
    r = tenant.viewer.get(f"/customers/{none_yet}/usage?period=7d")
    assert r.status_code == 200, r.text
    assert r.json()["data"]["points"] == [] and \
        r.json()["data"]["total_rx_bytes"] == 0
    # Another tenant's customer, or none at all: 404 alike.
    for path in (f"/customers/{a}/usage", f"/customers/{a}/usage?period=30d",
                 f"/customers/{a}/usage/realtime", "/customers/999999999/usage",
                 "/customers/999999999/usage/realtime"):
        client = tenant_b.admin if "999999999" not in path else tenant.admin
        r = client.get(path)
        assert r.status_code == 404, (path, r.text)
        assert r.json()["error"] == {"code": "not_found",
                                     "message": "customer not found"}
    # Deleted customers vanish too.
    assert tenant.admin.delete(f"/customers/{a}").status_code == 204
    assert tenant.viewer.get(f"/customers/{a}/usage").status_code == 404


def test_realtime_reads_the_router_now(tenant, sim, mysql):
    plan = add_plan(tenant)
    rid = add_router(mysql, tenant, sim.port)
    a = add_customer(tenant, plan, rid, "cust-a")
    b = add_customer(tenant, plan, rid, "cust-b")
    sim.set_rate("cust-a", rx_bps=1_500_000, tx_bps=7_000_000)
    sim.disconnect("cust-b")
    r = tenant.viewer.get(f"/customers/{a}/usage/realtime")
    assert r.status_code == 200, r.text
    d = r.json()["data"]
    assert (d["customer_id"], d["router_id"], d["online"], d["rx_bps"],
            d["tx_bps"]) == (a, rid, True, 7_000_000, 1_500_000)
    assert "/interface/monitor-traffic" in sim.commands()
    r = tenant.viewer.get(f"/customers/{b}/usage/realtime")
    assert r.status_code == 200 and r.json()["data"]["online"] is False
    assert (r.json()["data"]["rx_bps"], r.json()["data"]["tx_bps"]) == (0, 0)

    # No router: 409.
    r = tenant.operator.post("/customers", {
        "name": "Tanpa router", "phone": "081234567891", "address": "x",
        "service_plan_id": plan})
    lone = r.json()["data"]["id"]
    r = tenant.viewer.get(f"/customers/{lone}/usage/realtime")
    assert r.status_code == 409 and r.json()["error"]["code"] == "no_router"

    # A router that hangs: 503 within the 2 s budget; then answered at
    # once for a while, without trying again.
    sim.fault(hang=True)
    t = time.monotonic()
    r = tenant.viewer.get(f"/customers/{a}/usage/realtime")
    took = time.monotonic() - t
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "router_unreachable"
    assert took < 3.0, took
    logins = sim.stats()["stats"].get("logins", 0)
    t = time.monotonic()
    r = tenant.viewer.get(f"/customers/{b}/usage/realtime")
    assert r.status_code == 503 and time.monotonic() - t < 1.0
    assert sim.stats()["stats"].get("logins", 0) == logins
    # Refused outright: 503 too (once the remembered failure is gone).
    sim.clear_faults()
    sim.fault(refuse=True)
    memcache_delete(f"rtrw:router-down:{tenant.id}:{rid}")
    r = tenant.viewer.get(f"/customers/{a}/usage/realtime")
    assert r.status_code == 503
    assert "unreachable" in r.json()["error"]["message"]


def test_overview_and_dashboard(tenant, tenant_b, sim, mysql):
    plan = add_plan(tenant, down=10000, up=2000)
    big = add_plan(tenant, down=20000, up=5000, name="Paket 20M")
    rid = add_router(mysql, tenant, sim.port)
    for name, p in (("cust-a", plan), ("cust-b", plan), ("cust-c", big)):
        add_customer(tenant, p, rid, name)
    add_customer(tenant, plan, rid, "cust-x", activate=False)  # pending
    t0 = hour_ago(1)
    collect(tenant, t0)
    sim.advance(60)
    collect(tenant, t0 + dt.timedelta(minutes=1))

    r = tenant.viewer.get("/monitoring/overview")
    assert r.status_code == 200, r.text
    d = r.json()["data"]
    assert d["capacity_kbps"] == 40000 and d["capacity_upload_kbps"] == 9000
    assert d["used_kbps"] == 3 * DOWN // 1000
    assert d["used_upload_kbps"] == 3 * UP // 1000
    assert d["usage_percent"] == 60.0 and d["upload_usage_percent"] == 33.33
    assert (d["sessions_online"], d["active_customers"]) == (3, 3)
    (ro,) = d["routers"]
    assert (ro["id"], ro["status"], ro["capacity_source"], ro["used_kbps"],
            ro["sessions_online"], ro["stale"]) == \
        (rid, "online", "plans", 24000, 3, False)

    # A configured uplink replaces the plans' sum.
    q(mysql, "UPDATE routers SET uplink_capacity_kbps = 100000 WHERE id = %s",
      rid)
    d = tenant.viewer.get("/monitoring/overview").json()["data"]
    assert (d["capacity_kbps"], d["usage_percent"],
            d["routers"][0]["capacity_source"]) == (100000, 24.0, "uplink")

    # The dashboard's bandwidth is the overview's.
    r = tenant.viewer.get("/dashboard/stats")
    assert r.status_code == 200
    assert r.json()["data"]["bandwidth"] == {
        "capacity_kbps": 100000, "used_kbps": 24000, "usage_percent": 24.0}

    # A router that is down shows no traffic; a poll too old is stale.
    sim.fault(refuse=True)
    collect(tenant, t0 + dt.timedelta(minutes=2), "--timeout-ms", "1000")
    d = tenant.viewer.get("/monitoring/overview").json()["data"]
    assert (d["used_kbps"], d["sessions_online"],
            d["routers"][0]["status"], d["routers"][0]["stale"]) == \
        (0, 0, "offline", True)
    # A tenant without routers: zeros, and nothing of the other tenant.
    r = tenant_b.viewer.get("/monitoring/overview")
    assert r.status_code == 200
    d = r.json()["data"]
    assert (d["capacity_kbps"], d["used_kbps"], d["usage_percent"],
            d["sessions_online"], d["routers"]) == (0, 0, 0.0, 0, [])


def test_high_usage_alerts_once_per_episode(tenant, sim, mysql):
    plan = add_plan(tenant, down=10000, up=2000)
    rid = add_router(mysql, tenant, sim.port)
    a = add_customer(tenant, plan, rid, "cust-a")
    add_customer(tenant, plan, rid, "cust-b")
    # Settings: viewers read, admins change, nonsense is refused.
    r = tenant.viewer.get("/monitoring/settings")
    assert r.json()["data"] == {"sustained_percent": 90, "sustained_minutes": 15,
                                "monthly_volume_gb": None, "updated_at": None}
    assert tenant.operator.patch("/monitoring/settings",
                                 {"sustained_minutes": 3}).status_code == 403
    for bad in ({"sustained_percent": 0}, {"sustained_percent": 101},
                {"sustained_minutes": 0}, {"monthly_volume_gb": -1},
                {"sustained_minutes": None}, {"speed": 1}):
        r = tenant.admin.patch("/monitoring/settings", bad)
        assert r.status_code == 422, (bad, r.text)
    assert q(mysql, "SELECT COUNT(*) FROM usage_settings WHERE tenant_id = %s",
             tenant.id)[0][0] == 0
    r = tenant.admin.patch("/monitoring/settings",
                           {"sustained_percent": 75, "sustained_minutes": 3,
                            "monthly_volume_gb": 1})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["sustained_percent"] == 75
    assert r.json()["data"]["updated_at"]
    assert tenant.viewer.get("/monitoring/settings").json()["data"][
        "monthly_volume_gb"] == 1

    # a downloads at 80 % of its 10 Mbit/s, b at 20 %.
    sim.set_rate("cust-a", rx_bps=100_000, tx_bps=8_000_000)
    sim.set_rate("cust-b", rx_bps=100_000, tx_bps=2_000_000)
    t0 = hour_ago(1)
    collect(tenant, t0)
    for k in range(1, 6):
        sim.advance(60)
        collect(tenant, t0 + dt.timedelta(minutes=k))
        open_ = [x for x in alerts(mysql, tenant, "high_usage")
                 if x[0] == "customer"]
        # Raised after 3 minutes over, once, not again while it lasts.
        assert open_ == ([] if k < 3 else [("customer", str(a), "open", 1)]), k
    # Below the threshold for 3 minutes: resolved.
    sim.set_rate("cust-a", rx_bps=100_000, tx_bps=1_000_000)
    for k in range(6, 9):
        sim.advance(60)
        collect(tenant, t0 + dt.timedelta(minutes=k))
        st = [x[2] for x in alerts(mysql, tenant, "high_usage")
              if x[0] == "customer"]
        assert st == (["open"] if k < 8 else ["resolved"]), k
    # A new episode opens a new alert.
    sim.set_rate("cust-a", rx_bps=100_000, tx_bps=9_000_000)
    for k in range(9, 12):
        sim.advance(60)
        collect(tenant, t0 + dt.timedelta(minutes=k))
    assert [x[2] for x in alerts(mysql, tenant, "high_usage")
            if x[0] == "customer"] == ["resolved", "open"]

    # alert:created for each alert raised.
    assert len(events(mysql, tenant, "alert:created")) == 2
    # Turning a check off ends an open episode at the next reading.
    r = tenant.admin.patch("/monitoring/settings", {"sustained_percent": None})
    assert r.status_code == 200 and r.json()["data"]["sustained_percent"] is None
    sim.advance(60)
    collect(tenant, t0 + dt.timedelta(minutes=12))
    assert [x[2] for x in alerts(mysql, tenant, "high_usage")
            if x[0] == "customer"] == ["resolved", "resolved"]
    audit = q(mysql, "SELECT action, entity_type FROM audit_logs"
              " WHERE tenant_id = %s AND entity_type = 'monitoring_settings'",
              tenant.id)
    assert len(audit) == 2


def test_monthly_volume_alert_per_month(tenant, sim, mysql):
    """The month is the episode: raised once when the tenant-local month's
    bytes pass the volume, resolved when the month ends.  Run in a past
    month boundary, so that --now stays behind the partitions' upkeep."""
    plan = add_plan(tenant, down=10000, up=2000)
    rid = add_router(mysql, tenant, sim.port)
    a = add_customer(tenant, plan, rid, "cust-a")
    r = tenant.admin.patch("/monitoring/settings",
                           {"sustained_percent": None, "monthly_volume_gb": 1})
    assert r.status_code == 200, r.text
    # Local midnight that began this month, and 2 hours before it.
    here = dt.datetime.now(JAKARTA)
    boundary = here.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    t0 = boundary - dt.timedelta(hours=2)
    old_month = t0.strftime("%Y-%m")
    sim.set_rate("cust-a", rx_bps=100_000, tx_bps=9_000_000)
    collect(tenant, t0)
    sim.advance(60)
    collect(tenant, t0 + dt.timedelta(minutes=1))
    month_alerts = [x for x in alerts(mysql, tenant, "high_usage")]
    assert month_alerts == []  # 68 MB of 1 GB
    # An hour at 9 Mbit/s is 4.05 GB: over the volume, once.
    sim.advance(3600)
    collect(tenant, t0 + dt.timedelta(minutes=61))
    sim.advance(60)
    collect(tenant, t0 + dt.timedelta(minutes=62))
    assert alerts(mysql, tenant, "high_usage") == (
        ("customer_month", f"{a}:{old_month}", "open", 1),)
    assert q(mysql, "SELECT month, month_alerted FROM usage_sessions"
             " WHERE customer_id = %s", a)[0] == (old_month, 1)
    # The next local month ends the episode; its own count starts at 0.
    sim.advance(60)
    collect(tenant, boundary + dt.timedelta(minutes=5))
    assert alerts(mysql, tenant, "high_usage") == (
        ("customer_month", f"{a}:{old_month}", "resolved", 1),)
    month, alerted, mbytes = q(mysql, "SELECT month, month_alerted,"
                               " month_bytes FROM usage_sessions"
                               " WHERE customer_id = %s", a)[0]
    assert (month, alerted, mbytes) == (
        boundary.strftime("%Y-%m"), 0, bytes_of(9_000_000) + bytes_of(100_000))
    d = json.loads(q(mysql, "SELECT details FROM alerts WHERE tenant_id = %s",
                     tenant.id)[0][0])
    assert d["kind"] == "monthly_volume" and d["bytes"] > 10**9


# ---------------------------------------------------------------------------
# Several routers, several collectors

def test_collectors_share_routers_and_a_dead_one_delays_nobody(tenant, mysql):
    names = ["r%d" % i for i in range(6)]
    with simctl.Sim.start(password=SIM_PASSWORD,
                          routers=[n + ":0" for n in names],
                          state=sim_state(["cust-a", "cust-b"])) as sim:
        plan = add_plan(tenant)
        rids = []
        for info in sim.routers:
            rid = add_router(mysql, tenant, info["port"], name=info["name"])
            rids.append(rid)
            add_customer(tenant, plan, rid, "cust-a")
            add_customer(tenant, plan, rid, "cust-b")
        # r5 stops answering mid-conversation.
        sim.router("r5").fault(hang=True)
        cmd = [bin_path("rtrw-monitor"), "--config", str(config_path()),
               "--tenant", str(tenant.id), "--timeout-ms", "2000",
               "--concurrency", "2", "usage"]
        t = time.monotonic()
        procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
                 for _ in range(3)]
        outs = [p.communicate(timeout=120) for p in procs]
        took = time.monotonic() - t
        assert [p.returncode for p in procs] == [0, 0, 0], "\n".join(
            err for _, err in outs)
        claimed = []
        for _, err in outs:
            line = [ln for ln in err.splitlines() if 'msg="usage ' in ln][-1]
            claimed.append(int(line.split("claimed=")[1].split()[0]))
        # Every router polled once in the cycle, whoever polled it.
        assert sum(claimed) == 6, claimed
        for n in names[:5]:
            st = sim.router(n).stats()
            assert st["commands"].get("/interface/print") == 1, (n, st)
            assert st["commands"].get("/ppp/active/print") == 1, (n, st)
        owners = q(mysql, "SELECT COUNT(DISTINCT claimed_by) FROM"
                   " usage_routers WHERE tenant_id = %s", tenant.id)[0][0]
        assert owners >= 1
        # The hung router cost its own thread 2 s + 2 s, not the cycle's
        # other routers their turn: the others are all stored.
        assert took < 15, took
        rows = dict(q(mysql, "SELECT r.name, r.status FROM routers r"
                      " WHERE r.tenant_id = %s", tenant.id))
        assert rows == {**{n: "online" for n in names[:5]}, "r5": "offline"}
        # One monitoring:update for the tenant, by whoever claimed r0.
        assert len(events(mysql, tenant, "monitoring:update")) == 1
        # A second cycle at once: every claim is still fresh, nobody polls.
        s = collect(tenant, dt.datetime.now(UTC), check=True)
        s2 = run_tool("rtrw-monitor", "--tenant", str(tenant.id), "usage")
        assert "claimed=0 skipped=6" in s2.stderr, s2.stderr
        assert s["claimed"] == 6  # --gap-ms 0 takes them regardless


def test_make_run_demo_links_the_simulator(tenant, sim, mysql, tmp_path):
    """tools/demo_usage.py (make run's usage demo) on a tenant: a router
    on the simulator whose sealed password the collector opens, each
    secret on an active customer without a PPPoE name, nothing twice."""
    plan = add_plan(tenant)
    ids = []
    for status in ("active", "active", "pending"):
        r = tenant.operator.post("/customers", {
            "name": "Pelanggan demo", "phone": "081234567890",
            "address": "Jl. Melati 5", "service_plan_id": plan})
        assert r.status_code == 201, r.text
        ids.append(r.json()["data"]["id"])
        if status == "active":
            r = tenant.operator.post(f"/customers/{ids[-1]}/activate", {})
            assert r.status_code == 200, r.text
    state = tmp_path / "state.json"
    state.write_text(json.dumps(sim_state(["cust-a", "cust-b", "cust-c"])))
    pw = tmp_path / "pw"
    pw.write_text(SIM_PASSWORD + "\n")

    def demo():
        r = subprocess.run(
            ["/usr/bin/python3", str(ROOT / "tools" / "demo_usage.py"),
             "--config", str(config_path()), "--tenant", tenant.slug,
             "--host", "127.0.0.1", "--port", str(sim.port), "--user",
             "admin", "--password-file", str(pw), "--state", str(state)],
            capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip().splitlines()[-1]

    out = demo()
    (rid,), = q(mysql, "SELECT id FROM routers WHERE tenant_id = %s",
                tenant.id)
    assert out == (f"demo_usage: tenant {tenant.id} router {rid} (added),"
                   " 2 customers linked, 1 secrets without a customer")
    assert q(mysql, "SELECT id, pppoe_username, router_id, router_state"
             " FROM customers WHERE tenant_id = %s ORDER BY id",
             tenant.id) == ((ids[0], "cust-a", rid, "synced"),
                            (ids[1], "cust-b", rid, "synced"),
                            (ids[2], None, None, None))
    assert demo() == (f"demo_usage: tenant {tenant.id} router {rid} (kept),"
                      " 0 customers linked, 1 secrets without a customer")
    s = collect(tenant, hour_ago(1))
    assert (s["online"], s["sessions"], s["matched"]) == (1, 3, 2)


def test_a_store_that_loses_a_lock_is_retried(tenant, sim, mysql):
    """A router's store transaction that loses a lock (here a lock wait
    on the tenant's audit chain, which every event takes, held by another
    connection; between collectors a deadlock) is rolled back and stored
    again, up to three times, and only then counts as failed."""
    plan = add_plan(tenant)
    rid = add_router(mysql, tenant, sim.port)
    add_customer(tenant, plan, rid, "cust-a")
    cur = mysql.cursor()
    cur.execute("SELECT @@GLOBAL.innodb_lock_wait_timeout")
    (saved,), = cur.fetchall()
    holder = pymysql.connect(unix_socket=os.environ["MYSQL_SOCKET"],
                             user="root", password="", database="rtrw",
                             autocommit=False)

    def hold():
        holder.cursor().execute("SELECT last_id FROM audit_chain"
                                " WHERE tenant_id = %s FOR UPDATE",
                                (tenant.id,))

    def cycle(at):
        r = run_tool("rtrw-monitor", "--tenant", str(tenant.id), "--gap-ms",
                     "0", "--now", iso(at), "usage", check=False)
        return r.returncode, r.stderr

    t0 = hour_ago(1)
    try:
        # The collector's own connection waits at most 1 s for a lock.
        cur.execute("SET GLOBAL innodb_lock_wait_timeout = 1")
        # Held for the first attempt only: the second one stores.
        hold()
        timer = threading.Timer(1.5, holder.commit)
        timer.start()
        rc, err = cycle(t0)
        timer.join()
        assert rc == 0, err
        assert err.count("usage store retried") == 1, err
        assert "failed=0" in err and "online=1" in err, err
        assert q(mysql, "SELECT status FROM routers WHERE id = %s",
                 rid)[0][0] == "online"
        assert len(events(mysql, tenant, "router:status")) == 1
        assert q(mysql, "SELECT COUNT(*) FROM usage_sessions WHERE"
                 " tenant_id = %s", tenant.id)[0][0] == 1
        # Held throughout, as the router goes offline (a status event to
        # write): three attempts, then failed, nothing of it stored.
        sim.fault(refuse=True)
        hold()
        rc, err = cycle(t0 + dt.timedelta(minutes=1))
        holder.commit()
        assert rc == 1, err
        assert err.count("usage store retried") == 2, err
        assert "usage not stored" in err and "failed=1" in err, err
        assert q(mysql, "SELECT status FROM routers WHERE id = %s",
                 rid)[0][0] == "online"
        assert alerts(mysql, tenant, "router_offline") == ()
        assert len(events(mysql, tenant, "router:status")) == 1
    finally:
        cur.execute("SET GLOBAL innodb_lock_wait_timeout = %s", (saved,))
        holder.rollback()
        holder.close()


def test_partitions_made_ahead_and_deleted_tenants_purged(new_tenant, sim,
                                                           mysql, platform):
    tenant = new_tenant()
    plan = add_plan(tenant)
    rid = add_router(mysql, tenant, sim.port)
    add_customer(tenant, plan, rid, "cust-a")
    now = dt.datetime.now(UTC).replace(microsecond=0)
    collect(tenant, now - dt.timedelta(minutes=1))
    sim.advance(60)
    collect(tenant, now)
    today = now.date()
    parts = {n: desc for n, desc in q(
        mysql, "SELECT partition_name, partition_description"
        " FROM information_schema.partitions WHERE table_schema = DATABASE()"
        " AND table_name = 'usage_raw'")}
    for d in range(3):  # today and two days ahead
        day = today + dt.timedelta(days=d)
        assert "p" + day.strftime("%Y%m%d") in parts, parts
    assert parts["p_future"] == "MAXVALUE"
    assert q(mysql, "SELECT COUNT(*) FROM usage_raw WHERE tenant_id = %s",
             tenant.id)[0][0] == 1

    # The tenant goes: its usage rows go with the next cycle's purge.
    r = platform.delete(f"/platform/tenants/{tenant.id}")
    assert r.status_code == 204, r.text
    left = sum(q(mysql, "SELECT COUNT(*) FROM " + t + " WHERE tenant_id = %s",
                 tenant.id)[0][0]
               for t in ("usage_raw", "usage_5m", "usage_hourly",
                         "usage_daily"))
    assert left == 4
    other = new_tenant()
    run_tool("rtrw-monitor", "--tenant", str(other.id), "usage")
    for t in ("usage_raw", "usage_5m", "usage_hourly", "usage_daily",
              "usage_sessions", "usage_routers"):
        assert q(mysql, "SELECT COUNT(*) FROM " + t + " WHERE tenant_id = %s",
                 tenant.id)[0][0] == 0, t


def test_monitor_usage_refuses_bad_options():
    for args in (["--gap-ms", "-1", "usage"], ["--now", "yesterday", "usage"],
                 ["--deadline-ms", "0", "usage"], ["usage", "extra"]):
        r = subprocess.run([bin_path("rtrw-monitor"), *args],
                           capture_output=True, text=True)
        assert r.returncode == 2, (args, r.stderr)
