"""The WebSocket event daemon (rtrw-events) through nginx's /ws.

Real services throughout: the API writes events in its transactions and
nudges the daemon, the daemon reads MariaDB, the clients are Debian's
python3-websocket over TLS through nginx.  Only the raw-socket tests (a
dead peer) talk to the daemon's loopback port directly.
"""
import base64
import hashlib
import json
import os
import socket
import ssl
import struct
import threading
import time
import uuid

import jsonschema
import pytest
import websocket
import yaml

from support import Client, forge_jwt, run_tool, unique, PASSWORD, login

WS_URL = os.environ.get("WS_URL", "wss://127.0.0.1:18443/ws")
SSLOPT = {"cert_reqs": ssl.CERT_NONE}
GRACE = 0.4  # a new connection waits 250 ms for a resume before going live
LEEWAY = 30  # jwt_leeway_seconds of the test stack (the default)


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
with open(os.path.join(ROOT, "docs", "asyncapi.yaml"), encoding="utf-8") as f:
    ASYNCAPI = yaml.safe_load(f)


# ---------------------------------------------------------------------------
# Helpers

def conforms(msg):
    """Validates a server message against its message in docs/asyncapi.yaml
    (events by "event", the others by "type")."""
    name = msg.get("event") or msg.get("type")
    found = [m for m in ASYNCAPI["components"]["messages"].values()
             if m["name"] == name]
    assert len(found) == 1, f"{name} is not documented"
    resolver = jsonschema.RefResolver.from_schema(ASYNCAPI)
    jsonschema.Draft7Validator(found[0]["payload"],
                               resolver=resolver).validate(msg)
    return msg


def connect(token, how="protocol", timeout=10, **kw):
    if how == "protocol":
        return websocket.create_connection(
            WS_URL, subprotocols=["bearer", token], sslopt=SSLOPT,
            timeout=timeout, **kw)
    if how == "query":
        return websocket.create_connection(
            WS_URL + "?token=" + token, sslopt=SSLOPT, timeout=timeout, **kw)
    return websocket.create_connection(
        WS_URL, header=["Authorization: Bearer " + token], sslopt=SSLOPT,
        timeout=timeout, **kw)


def refused(token, how="protocol"):
    """The HTTP status and JSON body of a refused handshake."""
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        connect(token, how)
    body = e.value.resp_body if hasattr(e.value, "resp_body") else None
    return e.value.status_code, body


def recv_json(ws, timeout=5):
    ws.settimeout(timeout)
    return json.loads(ws.recv())


def recv_events(ws, n, timeout=10):
    """n event messages (anything else fails the test)."""
    out = []
    deadline = time.time() + timeout
    while len(out) < n:
        left = deadline - time.time()
        assert left > 0, f"only {len(out)} of {n} events arrived: {out[-3:]}"
        m = recv_json(ws, left)
        assert "event" in m, m
        out.append(m)
    return out


def silent(ws, seconds):
    """Asserts that nothing arrives for a while."""
    ws.settimeout(seconds)
    with pytest.raises(websocket.WebSocketTimeoutException):
        got = ws.recv()
        pytest.fail("unexpected message: %r" % (got,))


def close_code(ws, timeout=15):
    """Waits for the server's close frame; returns its code."""
    ws.settimeout(timeout)
    deadline = time.time() + timeout
    while time.time() < deadline:
        # recv_frame() does not answer the close itself: the server may
        # already have shut the socket.
        frame = ws.recv_frame()
        if frame.opcode == websocket.ABNF.OPCODE_PING:
            ws.pong(frame.data)
        elif frame.opcode == websocket.ABNF.OPCODE_CLOSE:
            return struct.unpack("!H", frame.data[:2])[0] if \
                len(frame.data) >= 2 else None
    pytest.fail("no close frame")


def plan_id(client):
    r = client.get("/service-plans")
    assert r.status_code == 200, r.text
    return r.json()["data"][0]["id"]


def new_customer(client, plan, name=None):
    r = client.post("/customers", {
        "name": name or "Pelanggan " + uuid.uuid4().hex[:6],
        "phone": "0812" + str(uuid.uuid4().int)[:8],
        "address": "Jl. Merdeka 1", "service_plan_id": plan})
    assert r.status_code == 201, r.text
    return r.json()["data"]["id"]


def tenant_event_ids(mysql, tenant_id, after=0):
    with mysql.cursor() as c:
        c.execute("SELECT id FROM events WHERE tenant_id = %s AND id > %s"
                  " ORDER BY id", (tenant_id, after))
        return [r[0] for r in c.fetchall()]


def emit_sql(mysql, tenant_id, name, data):
    """Writes an event the way lib/events.c does (lock the tenant's audit
    chain head, insert, advance the head), for events no route emits yet."""
    with mysql.cursor() as c:
        mysql.begin()
        c.execute("SELECT tenant_id FROM audit_chain WHERE tenant_id = %s"
                  " FOR UPDATE", (tenant_id,))
        c.execute("INSERT INTO events (tenant_id, name, data)"
                  " VALUES (%s, %s, %s)", (tenant_id, name, json.dumps(data)))
        eid = c.lastrowid
        c.execute("INSERT INTO event_heads (tenant_id, last_id) VALUES (%s, %s)"
                  " ON DUPLICATE KEY UPDATE last_id = GREATEST(last_id,"
                  " VALUES(last_id))", (tenant_id, eid))
        mysql.commit()
    return eid


def token_for(tenant, role, **claims):
    """A token signed with the stack's key for a user of tenant."""
    now = int(time.time())
    body = {"sub": tenant.users[role]["id"], "tid": tenant.id, "role": role,
            "iat": now, "exp": now + 900, "jti": uuid.uuid4().hex}
    body.update(claims)
    return forge_jwt(body)


def daemon_pid():
    with open(os.environ["EVENTS_PID_FILE"]) as f:
        return int(f.read().split()[0])


def daemon_fds():
    return len(os.listdir(f"/proc/{daemon_pid()}/fd"))


def daemon_rss_kb():
    with open(f"/proc/{daemon_pid()}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


# ---------------------------------------------------------------------------
# Handshake

def test_customer_created_within_one_second(tenant):
    plan = plan_id(tenant.operator)
    ws = connect(tenant.viewer.token)
    try:
        assert ws.getsubprotocol() == "bearer"
        time.sleep(GRACE)
        t0 = time.time()
        cid = new_customer(tenant.operator, plan, "Budi Santoso")
        m = recv_json(ws, 2)
        elapsed = time.time() - t0
        conforms(m)
        assert m["event"] == "customer:created", m
        assert m["data"]["id"] == cid and m["data"]["name"] == "Budi Santoso"
        assert "pppoe_password" not in m["data"]
        assert m["at"].endswith("Z") and len(m["at"]) == 20
        assert elapsed < 1.0, elapsed
        assert set(m) == {"id", "event", "at", "data"}
    finally:
        ws.close()


def test_event_id_is_the_table_row(tenant, mysql):
    plan = plan_id(tenant.operator)
    ws = connect(tenant.admin.token, how="query")
    try:
        # No subprotocol offered: none is echoed.
        assert ws.getsubprotocol() is None
        time.sleep(GRACE)
        cid = new_customer(tenant.operator, plan)
        m = recv_json(ws)
        with mysql.cursor() as c:
            c.execute("SELECT tenant_id, name, entity_type, entity_id FROM"
                      " events WHERE id = %s", (m["id"],))
            assert c.fetchone() == (tenant.id, "customer:created",
                                    "customer", cid)
    finally:
        ws.close()


def test_authorization_header_is_accepted(tenant):
    ws = connect(tenant.viewer.token, how="header")
    try:
        ws.send(json.dumps({"type": "ping"}))
        assert recv_json(ws) == {"type": "pong"}
    finally:
        ws.close()


def test_refused_tokens(tenant, platform):
    good = tenant.viewer.token
    head, body, sig = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["tid"] = claims["tid"] + 1000
    other_body = base64.urlsafe_b64encode(
        json.dumps(claims).encode()).rstrip(b"=").decode()
    flipped = sig[:-2] + ("A" if sig[-2] != "A" else "B") + sig[-1]
    cases = {
        "garbage": ("not-a-jwt", "unauthorized"),
        "tampered claims": (f"{head}.{other_body}.{sig}", "unauthorized"),
        "tampered signature": (f"{head}.{body}.{flipped}", "unauthorized"),
        "other key": (forge_jwt(claims, key=b"x" * 40), "unauthorized"),
        "alg none": (forge_jwt(claims, header={"alg": "none"}), "unauthorized"),
        "expired": (token_for(tenant, "viewer", iat=int(time.time()) - 4000,
                              exp=int(time.time()) - 3600), "token_expired"),
        "platform": (platform.token, "unauthorized"),
    }
    for name, (token, code) in cases.items():
        for how in ("protocol", "query"):
            status, resp = refused(token, how)
            assert status == 401, (name, how, status)
            if resp is not None:
                assert json.loads(resp)["error"]["code"] == code, (name, resp)
    # No token at all.
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        websocket.create_connection(WS_URL, sslopt=SSLOPT, timeout=10)
    assert e.value.status_code == 401
    # The good token still works: nothing above changed anything.
    ws = connect(good)
    ws.close()


def test_refused_when_user_inactive(tenant):
    uid = tenant.users["viewer"]["id"]
    r = tenant.admin.patch(f"/users/{uid}", {"active": False})
    assert r.status_code == 200, r.text
    status, _ = refused(tenant.viewer.token)
    assert status == 401


def test_only_bearer_subprotocol(tenant):
    with pytest.raises(websocket.WebSocketBadStatusException) as e:
        websocket.create_connection(WS_URL + "?token=" + tenant.viewer.token,
                                    subprotocols=["chat"], sslopt=SSLOPT,
                                    timeout=10)
    assert e.value.status_code == 400


def test_plain_http_is_not_an_upgrade(anon):
    import requests
    r = requests.get(WS_URL.replace("wss://", "https://"), verify=False,
                     timeout=10)
    assert r.status_code == 426, r.text
    assert r.json()["error"]["code"] == "upgrade_required"


# ---------------------------------------------------------------------------
# Who sees what

def test_tenants_and_roles_are_separate(tenant, tenant_b, mysql):
    plan_a, plan_b = plan_id(tenant.operator), plan_id(tenant_b.operator)
    viewer = connect(tenant.viewer.token)
    operator = connect(tenant.operator.token)
    other = connect(tenant_b.admin.token)
    try:
        time.sleep(GRACE)
        a1 = new_customer(tenant.operator, plan_a)
        b1 = new_customer(tenant_b.operator, plan_b)
        report = emit_sql(mysql, tenant.id, "report:completed",
                          {"id": 7, "type": "revenue"})
        unknown = emit_sql(mysql, tenant.id, "secret:thing", {"x": 1})
        a2 = new_customer(tenant.operator, plan_a)
        v = recv_events(viewer, 2)
        assert [(m["event"], m["data"]["id"]) for m in v] == [
            ("customer:created", a1), ("customer:created", a2)]
        o = recv_events(operator, 3)
        assert [m["event"] for m in o] == [
            "customer:created", "report:completed", "customer:created"]
        assert o[1]["id"] == report and o[1]["data"] == {"id": 7,
                                                         "type": "revenue"}
        b = recv_events(other, 1)
        assert b[0]["data"]["id"] == b1
        # Nothing else: not B's event for A, not A's for B, not the event
        # type without a line in the role table (for anybody).
        for ws in (viewer, operator, other):
            silent(ws, 0.7)
        assert unknown not in [m["id"] for m in v + o + b]
    finally:
        for ws in (viewer, operator, other):
            ws.close()


def test_payment_ticket_and_alert_events(tenant):
    plan = plan_id(tenant.operator)
    ws = connect(tenant.technician.token)
    try:
        time.sleep(GRACE)
        cid = new_customer(tenant.operator, plan)
        r = tenant.operator.post("/payments", {"customer_id": cid,
                                               "amount": 150000})
        assert r.status_code == 201, r.text
        r = tenant.technician.post("/tickets", {
            "customer_id": cid, "title": "Internet mati",
            "description": "Sejak pagi"})
        assert r.status_code == 201, r.text
        got = [conforms(m) for m in recv_events(ws, 3)]
        names = [m["event"] for m in got]
        assert names == ["customer:created", "payment:created",
                         "ticket:created"]
    finally:
        ws.close()


# ---------------------------------------------------------------------------
# Expiry and deactivation

def test_expiry_closes_with_4001(tenant):
    # Accepted while inside the leeway, expiring for good in ~3 s.
    token = token_for(tenant, "viewer", iat=int(time.time()) - 60,
                      exp=int(time.time()) - LEEWAY + 3)
    ws = connect(token)
    t0 = time.time()
    try:
        assert close_code(ws, 10) == 4001
        assert 1.5 < time.time() - t0 < 6
    finally:
        ws.close()


def test_fresh_token_keeps_the_connection(tenant):
    token = token_for(tenant, "viewer", iat=int(time.time()) - 60,
                      exp=int(time.time()) - LEEWAY + 2)
    ws = connect(token)
    try:
        # A token of another user is refused and changes nothing.
        ws.send(json.dumps({"type": "auth", "token": tenant.admin.token}))
        assert recv_json(ws)["code"] == "unauthorized"
        ws.send(json.dumps({"type": "auth", "token": token_for(tenant, "viewer")}))
        m = conforms(recv_json(ws))
        assert m["type"] == "authenticated" and m["expires_at"].endswith("Z")
        time.sleep(4)
        ws.send(json.dumps({"type": "ping"}))
        assert recv_json(ws) == {"type": "pong"}
    finally:
        ws.close()


def test_token_of_another_user_does_not_extend(tenant):
    token = token_for(tenant, "viewer", iat=int(time.time()) - 60,
                      exp=int(time.time()) - LEEWAY + 2)
    ws = connect(token)
    try:
        ws.send(json.dumps({"type": "auth", "token": tenant.operator.token}))
        assert recv_json(ws)["type"] == "error"
        assert close_code(ws, 10) == 4001
    finally:
        ws.close()


def test_deactivated_user_is_closed(tenant):
    ws = connect(tenant.viewer.token)
    try:
        time.sleep(GRACE)
        uid = tenant.users["viewer"]["id"]
        t0 = time.time()
        r = tenant.admin.patch(f"/users/{uid}", {"active": False})
        assert r.status_code == 200, r.text
        assert close_code(ws, 5) == 4003
        # auth_cache_ms is 0 in the test stack: the daemon's floor is 100 ms.
        assert time.time() - t0 < 1.5
    finally:
        ws.close()


def test_role_change_applies_to_open_connection(tenant, mysql):
    ws = connect(tenant.viewer.token)
    try:
        time.sleep(GRACE)
        emit_sql(mysql, tenant.id, "report:completed", {"id": 1})
        silent(ws, 1.0)
        uid = tenant.users["viewer"]["id"]
        r = tenant.admin.patch(f"/users/{uid}", {"role": "operator"})
        assert r.status_code == 200, r.text
        time.sleep(0.5)
        rid = emit_sql(mysql, tenant.id, "report:completed", {"id": 2})
        m = recv_json(ws)
        assert m["id"] == rid and m["event"] == "report:completed"
    finally:
        ws.close()


# ---------------------------------------------------------------------------
# Resume

def test_resume_after_disconnect(tenant, mysql):
    plan = plan_id(tenant.operator)
    ws = connect(tenant.viewer.token)
    time.sleep(GRACE)
    first = [new_customer(tenant.operator, plan) for _ in range(3)]
    got = recv_events(ws, 3)
    assert [m["data"]["id"] for m in got] == first
    last = got[-1]["id"]
    ws.close()
    missed = [new_customer(tenant.operator, plan) for _ in range(4)]
    ws = connect(tenant.viewer.token)
    try:
        ws.send(json.dumps({"type": "resume", "last_event_id": last}))
        replay = recv_events(ws, 4)
        assert [m["data"]["id"] for m in replay] == missed
        live = [new_customer(tenant.operator, plan) for _ in range(2)]
        after = recv_events(ws, 2)
        assert [m["data"]["id"] for m in after] == live
        ids = [m["id"] for m in replay + after]
        assert ids == sorted(set(ids))
        assert ids == tenant_event_ids(mysql, tenant.id, last)
        silent(ws, 0.7)
    finally:
        ws.close()


def test_resume_with_writers_running(tenant, mysql):
    """A resume sent while events keep coming: replay, then live, no gap,
    no duplicate."""
    plan = plan_id(tenant.operator)
    stop = threading.Event()

    def writer():
        while not stop.is_set():
            new_customer(tenant.operator, plan)

    th = threading.Thread(target=writer)
    th.start()
    try:
        time.sleep(0.5)
        ws = connect(tenant.viewer.token)
        ws.send(json.dumps({"type": "resume", "last_event_id": 0}))
        time.sleep(1.0)
    finally:
        stop.set()
        th.join()
    try:
        want = tenant_event_ids(mysql, tenant.id)
        got = recv_events(ws, len(want))
        assert [m["id"] for m in got] == want
        silent(ws, 0.7)
    finally:
        ws.close()


def test_resync_required(tenant, mysql):
    plan = plan_id(tenant.operator)
    old = [new_customer(tenant.operator, plan) for _ in range(3)]
    ids = tenant_event_ids(mysql, tenant.id)
    assert len(ids) == 3
    with mysql.cursor() as c:
        c.execute("UPDATE events SET created_at = NOW(6) - INTERVAL 8 DAY"
                  " WHERE tenant_id = %s AND id <= %s", (tenant.id, ids[1]))
    r = run_tool("rtrw-events", "prune")
    assert "deleted=" in r.stderr + r.stdout
    assert tenant_event_ids(mysql, tenant.id) == [ids[2]]
    with mysql.cursor() as c:
        c.execute("SELECT last_id, pruned_id FROM event_heads"
                  " WHERE tenant_id = %s", (tenant.id,))
        assert c.fetchone() == (ids[2], ids[1])
    ws = connect(tenant.viewer.token)
    try:
        # Below the pruned id: the missed events may be gone.
        ws.send(json.dumps({"type": "resume", "last_event_id": ids[0]}))
        assert conforms(recv_json(ws)) == {"type": "resync_required"}
        # At the pruned id: what is left is exactly what was missed.
        ws.send(json.dumps({"type": "resume", "last_event_id": ids[1]}))
        assert [m["id"] for m in recv_events(ws, 1)] == [ids[2]]
        # An id never issued.
        ws.send(json.dumps({"type": "resume", "last_event_id": 2 ** 62}))
        assert recv_json(ws) == {"type": "resync_required"}
        # After a resync the stream goes on live.
        cid = new_customer(tenant.operator, plan)
        m = recv_events(ws, 1)[0]
        assert m["data"]["id"] == cid
        del old
    finally:
        ws.close()


def test_prune_keeps_recent_and_counts(tenant, mysql):
    plan = plan_id(tenant.operator)
    new_customer(tenant.operator, plan)
    before = tenant_event_ids(mysql, tenant.id)
    r = run_tool("rtrw-events", "prune")
    assert tenant_event_ids(mysql, tenant.id) == before
    r = run_tool("rtrw-events", "--days", "0", "prune", check=False)
    assert r.returncode == 2


# ---------------------------------------------------------------------------
# Client messages

def test_bad_client_messages(tenant):
    ws = connect(tenant.viewer.token)
    try:
        for bad in ("not json", "[]", '{"type": 5}', '{"type": "nope"}',
                    '{"type": "resume"}', '{"type": "resume", "last_event_id": -1}',
                    '{"type": "resume", "last_event_id": 1.5}',
                    '{"type": "auth"}', '{"type": "auth", "token": "x"}'):
            ws.send(bad)
            m = conforms(recv_json(ws))
            assert m["type"] == "error", (bad, m)
            assert m["code"] in ("bad_request", "unauthorized"), (bad, m)
        ws.send_binary(b'{"type": "ping"}')
        assert recv_json(ws)["type"] == "error"
        # Still open and well.
        ws.send(json.dumps({"type": "ping"}))
        assert recv_json(ws) == {"type": "pong"}
    finally:
        ws.close()


def test_oversized_message_closes(tenant):
    ws = connect(tenant.viewer.token)
    try:
        ws.send(json.dumps({"type": "ping", "pad": "x" * 5000}))
        assert close_code(ws) == 1009
    finally:
        ws.close()


def test_twenty_messages_a_second_are_fine(tenant):
    ws = connect(tenant.viewer.token)
    try:
        for _ in range(20):
            ws.send('{"type": "ping"}')
        assert [recv_json(ws) for _ in range(20)] == [{"type": "pong"}] * 20
    finally:
        ws.close()


def test_the_rate_window_moves_on(tenant):
    # 20 a second is the limit, not 20 per connection: a panel that pings
    # for hours stays connected.
    ws = connect(tenant.viewer.token)
    try:
        for _ in range(3):
            for _ in range(20):
                ws.send('{"type": "ping"}')
            assert [recv_json(ws) for _ in range(20)] == [{"type": "pong"}] * 20
            time.sleep(1.1)
        ws.send('{"type": "ping"}')
        assert recv_json(ws) == {"type": "pong"}
    finally:
        ws.close()


def test_message_flood_closes(tenant):
    ws = connect(tenant.viewer.token)
    try:
        # 21 messages within a second: the last one is one too many.
        for _ in range(21):
            ws.send('{"type": "ping"}')
        pongs = 0
        ws.settimeout(5)
        while True:
            frame = ws.recv_frame()
            if frame.opcode == websocket.ABNF.OPCODE_CLOSE:
                break
            pongs += json.loads(frame.data) == {"type": "pong"}
        assert struct.unpack("!H", frame.data[:2])[0] == 1008
        # Answers not yet written when the limit struck are dropped.
        assert pongs <= 20
    finally:
        ws.close()


# ---------------------------------------------------------------------------
# Dead peers, resources

def raw_handshake(token):
    """A WebSocket handshake straight to the daemon, then nothing: a peer
    that never answers a ping."""
    s = socket.create_connection(("127.0.0.1", int(os.environ["WS_PORT"])),
                                 timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /ws?token={token} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
               "\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        assert chunk, head
        head += chunk
    assert head.startswith(b"HTTP/1.1 101"), head
    accept = base64.b64encode(hashlib.sha1(
        (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
    assert accept in head
    return s


def test_dead_peer_is_dropped(tenant):
    # events_ping_seconds is 3 in the test stack: ping after 3 s of
    # silence, hang up 3 s later.
    s = raw_handshake(tenant.viewer.token)
    t0 = time.time()
    saw_ping = False
    try:
        s.settimeout(15)
        while True:
            data = s.recv(4096)
            if not data:
                break
            saw_ping |= data[0] == 0x89
        elapsed = time.time() - t0
        assert saw_ping
        assert 4 < elapsed < 12, elapsed
    finally:
        s.close()


def test_connect_cycles_free_everything(tenant):
    """1,000 connect/disconnect cycles next to open connections: the
    daemon's descriptors come back to where they were and its memory stays
    flat."""
    keep = [connect(tenant.viewer.token) for _ in range(10)]
    stop = threading.Event()
    pongs = []

    def keeper(ws):
        # recv() answers the daemon's pings; an unread idle socket would
        # (rightly) be dropped as a dead peer.
        ws.settimeout(0.5)
        while not stop.is_set():
            try:
                pongs.append(json.loads(ws.recv()))
            except websocket.WebSocketTimeoutException:
                continue
            except Exception:  # noqa: BLE001 - counted below
                return

    keepers = [threading.Thread(target=keeper, args=(ws,)) for ws in keep]
    for th in keepers:
        th.start()
    try:
        def cycle(n):
            for i in range(n):
                ws = connect(tenant.viewer.token if i % 2 else
                             tenant.operator.token, how="protocol" if i % 3
                             else "query")
                if i % 5 == 0:
                    ws.send('{"type": "ping"}')
                    assert recv_json(ws) == {"type": "pong"}
                ws.close()

        cycle(100)  # warm-up: allocator pools, nginx upstream state
        time.sleep(0.5)
        fds, rss = daemon_fds(), daemon_rss_kb()
        cycle(1000)
        time.sleep(1.0)
        fds_after, rss_after = daemon_fds(), daemon_rss_kb()
        print(f"daemon fds {fds} -> {fds_after}, rss {rss} kB -> "
              f"{rss_after} kB")
        assert fds_after <= fds, (fds, fds_after)
        # The ASan build keeps up to 16 MB of freed memory in quarantine
        # (tools/stack.sh); a leak of 1 kB a cycle would still show.
        limit = 20 * 1024 if os.environ.get("ASAN") == "1" else 4 * 1024
        assert rss_after - rss < limit, (rss, rss_after)
        for ws in keep:
            ws.send('{"type": "ping"}')
        deadline = time.time() + 5
        while len(pongs) < len(keep) and time.time() < deadline:
            time.sleep(0.05)
        assert pongs == [{"type": "pong"}] * len(keep)
    finally:
        stop.set()
        for th in keepers:
            th.join()
        for ws in keep:
            ws.close()
    time.sleep(0.5)
    assert daemon_fds() <= fds - len(keep) + 1


# ---------------------------------------------------------------------------
# The outbox trap: 20 concurrent writers, 2,000 events

def test_concurrent_writers_deliver_everything_in_order(new_tenant, mysql):
    tenants = [new_tenant(), new_tenant()]
    plans = [plan_id(t.operator) for t in tenants]
    # Per tenant: a viewer connected throughout, and one that drops out
    # mid-way and resumes from the last id it saw.
    steady = [connect(t.viewer.token, timeout=30) for t in tenants]
    time.sleep(GRACE)
    received = {0: [], 1: []}
    rejoined = {0: [], 1: []}
    errors = []

    def reader(k, ws, out, n_expected, drop_after=None):
        try:
            while len(out) < n_expected:
                m = recv_json(ws, 60)
                assert "event" in m, m
                out.append(m["id"])
                if drop_after and len(out) == drop_after:
                    ws.close()
                    time.sleep(0.5)
                    ws = connect(tenants[k].admin.token, timeout=30)
                    ws.send(json.dumps({"type": "resume",
                                        "last_event_id": out[-1]}))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append((k, repr(e)))
        finally:
            ws.close()

    def writer(k, n):
        c = tenants[k].operator
        for _ in range(n):
            r = c.post("/customers", {
                "name": "W " + uuid.uuid4().hex[:6],
                "phone": "0813" + str(uuid.uuid4().int)[:8],
                "address": "Jl. Sudirman", "service_plan_id": plans[k]})
            if r.status_code != 201:
                errors.append((k, r.status_code, r.text))

    per_writer, writers = 100, 20
    per_tenant = per_writer * writers // 2
    dropper = [connect(t.admin.token, timeout=30) for t in tenants]
    time.sleep(GRACE)
    readers = [threading.Thread(target=reader, args=(k, steady[k],
                                                     received[k], per_tenant))
               for k in (0, 1)]
    readers += [threading.Thread(target=reader, args=(k, dropper[k],
                                                      rejoined[k], per_tenant,
                                                      per_tenant // 3))
                for k in (0, 1)]
    for th in readers:
        th.start()
    t0 = time.time()
    ws_threads = [threading.Thread(target=writer, args=(i % 2, per_writer))
                  for i in range(writers)]
    for th in ws_threads:
        th.start()
    for th in ws_threads:
        th.join()
    write_secs = time.time() - t0
    for th in readers:
        th.join(120)
    print(f"{writers} writers, {2 * per_tenant} events in {write_secs:.1f}s;"
          f" delivered in {time.time() - t0:.1f}s")
    assert errors == []
    for k in (0, 1):
        want = tenant_event_ids(mysql, tenants[k].id)
        assert len(want) == per_tenant
        assert received[k] == want, k
        assert rejoined[k] == want, k


# ---------------------------------------------------------------------------
# The AsyncAPI document

def test_asyncapi_documents_every_event():
    """Every event name of lib/events.h and of the daemon's role table is
    a documented message, and nothing else is."""
    import re
    with open(os.path.join(ROOT, "lib", "wsd.c"), encoding="utf-8") as f:
        table = set(re.findall(r'\{ "([a-z_]+:[a-z_]+)",\s+ROLE_', f.read()))
    with open(os.path.join(ROOT, "lib", "events.h"), encoding="utf-8") as f:
        header = f.read().split("*/")[0]
    listed = set()
    for group in re.findall(r"([a-z_]+:[a-z_|]+)", header):
        area, _, names = group.partition(":")
        listed |= {area + ":" + n for n in names.split("|")}
    documented = {m["name"] for m in ASYNCAPI["components"]["messages"].values()
                  if ":" in m["name"]}
    assert table == documented == listed, (table, documented, listed)
    ops = ASYNCAPI["operations"]
    assert {o["action"] for o in ops.values()} == {"send", "receive"}
    assert ASYNCAPI["asyncapi"].startswith("3.")


def test_asyncapi_served_and_linked(anon):
    import requests
    base = WS_URL.replace("wss://", "https://").rsplit("/ws", 1)[0]
    r = requests.get(base + "/docs/asyncapi.yaml", verify=False, timeout=10)
    assert r.status_code == 200
    assert yaml.safe_load(r.text) == ASYNCAPI
    page = requests.get(base + "/docs/", verify=False, timeout=10)
    assert 'href="/docs/asyncapi.yaml"' in page.text
