"""Helpers of the router and provisioning tests (test_routers.py,
test_provisioning.py, routes_matrix.py).

Tests start their own simulated routers (tools/routeros-sim, free ports,
fault switches) and point routers of a fresh tenant at them; the stack's
rtrw-provision (tools/stack.sh) applies the jobs, exactly as in
production.  The stack's own simulator (ROUTEROS_SIM_*) serves the
factories that only need some router.
"""
import os
import pathlib
import secrets
import sys
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools" / "routeros-sim"))
import simctl  # noqa: E402

SIM_PASSWORD = "sim-Passw0rd"


def wait_for(fn, timeout=10.0, step=0.05, what="condition"):
    """Calls fn until it returns something true; that value, or fails."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(step)
    pytest.fail(f"timed out after {timeout}s waiting for {what}: {last!r}")


def start_sim(**kw):
    kw.setdefault("password", SIM_PASSWORD)
    return simctl.Sim.start(**kw)


def stack_sim_password():
    return pathlib.Path(os.environ["ROUTEROS_SIM_PASSWORD_FILE"]).read_text().strip()


def router_body(port, password=SIM_PASSWORD, **kw):
    body = {"name": kw.pop("name", "Router " + secrets.token_hex(3)),
            "host": "127.0.0.1", "api_port": port, "username": "admin",
            "password": password}
    body.update(kw)
    return body


def make_router(client, port, password=SIM_PASSWORD, **kw):
    r = client.post("/routers", router_body(port, password, **kw))
    assert r.status_code == 201, r.text
    return r.json()["data"]


def stack_router(client):
    """A router of the client's tenant on the stack's simulator."""
    return make_router(client, int(os.environ["ROUTEROS_SIM_PORT"]),
                       stack_sim_password())


def plan(client, name=None, **kw):
    body = {"name": name or "Plan " + secrets.token_hex(3),
            "speed_download": 10000, "speed_upload": 2000, "price": 150000}
    body.update(kw)
    r = client.post("/service-plans", body)
    assert r.status_code == 201, r.text
    return r.json()["data"]


def customer(client, plan_id, router_id=None, username=None,
             password="pppoe-pw1", **kw):
    body = {"name": kw.pop("name", "Warga " + secrets.token_hex(2)),
            "phone": "081234567890", "address": "Jl. Melati 1",
            "service_plan_id": plan_id}
    if router_id:
        body["router_id"] = router_id
    if username:
        body["pppoe_username"] = username
    if password and router_id:
        body["pppoe_password"] = password
    body.update(kw)
    r = client.post("/customers", body)
    assert r.status_code == 201, r.text
    return r.json()["data"]


def act(client, cid, action, code=200):
    r = client.post(f"/customers/{cid}/{action}")
    assert r.status_code == code, r.text
    return r.json()["data"] if code == 200 else r.json()


def jobs(db, cid):
    cur = db.cursor()
    cur.execute("SELECT id, action, status, attempts, last_error FROM"
                " provisioning_jobs WHERE customer_id=%s ORDER BY id", (cid,))
    return cur.fetchall()


def settled(db, cid):
    """The customer's jobs once none is pending or running, else None."""
    js = jobs(db, cid)
    if js and all(j[2] in ("done", "failed") for j in js):
        return js
    return None


def wait_settled(db, cid, timeout=10.0):
    return wait_for(lambda: settled(db, cid), timeout,
                    what=f"the jobs of customer {cid}")


def data_key():
    from support import config_value
    return bytes.fromhex(pathlib.Path(config_value("data_key_file"))
                         .read_text().strip())


def seal(plain, aad):
    """A value sealed as lib/crypto.c seals it (version 1, key 1)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    nonce = os.urandom(12)
    return b"\x01\x01" + nonce + AESGCM(data_key()).encrypt(
        nonce, plain.encode(), aad.encode())


def nudge():
    """What the API sends after committing a job (lib/nudge.h)."""
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"", ("127.0.0.1", int(os.environ["PROVISION_NUDGE_PORT"])))
    s.close()
