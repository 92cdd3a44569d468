#!/usr/bin/python3
"""Provisioning benchmark (part of `make bench`, issue 15's targets).

  1. drain: BENCH_PROVISION_JOBS (1,000) activations queued at once across
     five simulated routers (one simulator process per router, so that
     they spread over the cores as real routers would not compete),
     applied by the stack's rtrw-provision: seconds from the commit (and
     its nudge) until every job is done and every secret is on its
     router.  Target: under 10 s.
  2. import: BENCH_IMPORT_SECRETS (1,000) existing secrets on one
     simulated router turned into customers by POST /routers/{id}/import.
     Target: under 5 s.

Runs against the stack of stack.env in the environment (tools/bench.sh
sources it), in a tenant of its own; everything it starts is on
loopback and stopped at the end.  Prints one line per figure; with
--check, exits 1 when a target is missed.
"""
import json
import os
import pathlib
import secrets
import socket
import sys
import time

import pymysql
import requests
import urllib3

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools" / "routeros-sim"))
import simctl  # noqa: E402

urllib3.disable_warnings()
for k in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
    os.environ.pop(k, None)

API = os.environ["API_URL"] + "/api/v1"
JOBS = int(os.environ.get("BENCH_PROVISION_JOBS", "1000"))
SECRETS = int(os.environ.get("BENCH_IMPORT_SECRETS", "1000"))
DRAIN_TARGET, IMPORT_TARGET = 10.0, 5.0
PW = "bench-" + secrets.token_hex(8)


def call(s, method, path, token=None, **kw):
    h = {"Authorization": "Bearer " + token} if token else {}
    r = s.request(method, API + path, headers=h, verify=False, timeout=120, **kw)
    if r.status_code >= 300:
        raise SystemExit(f"bench_provision: {method} {path}: {r.status_code} {r.text}")
    return r.json()["data"] if r.text else None


def seal(key, plain, aad):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    nonce = os.urandom(12)
    return b"\x01\x01" + nonce + AESGCM(key).encrypt(nonce, plain.encode(), aad.encode())


def config_value(key):
    for line in pathlib.Path(os.environ["RTRW_CONFIG"]).read_text().splitlines():
        k, _, v = line.partition("=")
        if k.strip() == key:
            return v.strip()
    return None


def main():
    check = "--check" in sys.argv
    s = requests.Session()
    slug = "bench-prov-" + secrets.token_hex(3)
    call(s, "POST", "/tenants/register", json={
        "tenant_name": "Bench provisioning", "tenant_slug": slug,
        "admin_name": "Bench", "admin_email": f"admin@{slug}.example.id",
        "admin_password": PW})
    tok = call(s, "POST", "/auth/login", json={
        "tenant": slug, "email": f"admin@{slug}.example.id",
        "password": PW})["access_token"]
    plan = call(s, "POST", "/service-plans", tok, json={
        "name": "Bench 10M", "speed_download": 10000, "speed_upload": 2000,
        "price": 100000})
    db = pymysql.connect(unix_socket=os.environ["MYSQL_SOCKET"], user="root",
                         database="rtrw", autocommit=True)
    key = bytes.fromhex(pathlib.Path(config_value("data_key_file")).read_text().strip())
    tid = call(s, "GET", "/auth/me", tok)["tenant"]["id"]
    sims = [simctl.Sim.start(password=PW, args=("--name", f"bench{i}"))
            for i in range(5)]
    failed = False
    try:
        routers = [call(s, "POST", "/routers", tok, json={
            "name": f"bench{i}", "host": "127.0.0.1", "api_port": sim.port,
            "username": "admin", "password": PW})["id"]
            for i, sim in enumerate(sims)]
        cur = db.cursor()
        db.begin()
        for i in range(JOBS):
            rid = routers[i % 5]
            cur.execute("INSERT INTO customers (tenant_id, customer_code, name, phone,"
                        " address, service_plan_id, status, router_id, router_state,"
                        " pppoe_username, monthly_price) VALUES (%s, %s, 'Bench',"
                        " '0812', 'x', %s, 'active', %s, 'pending', %s, 100000)",
                        (tid, f"B-{i:06d}", plan["id"], rid, f"bench{i:05d}"))
            cid = cur.lastrowid
            cur.execute("UPDATE customers SET pppoe_password_enc=%s WHERE id=%s",
                        (seal(key, f"pw{i}", f"customer:{cid}:pppoe"), cid))
            cur.execute("INSERT INTO provisioning_jobs (tenant_id, customer_id,"
                        " router_id, action) VALUES (%s, %s, %s, 'activate')",
                        (tid, cid, rid))
        t0 = time.time()
        db.commit()
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.sendto(b"", ("127.0.0.1", int(config_value("provision_nudge").rsplit(":", 1)[1])))
        u.close()
        while True:
            cur.execute("SELECT COUNT(*) FROM provisioning_jobs WHERE tenant_id=%s"
                        " AND status IN ('pending', 'running')", (tid,))
            if cur.fetchone()[0] == 0:
                break
            if time.time() - t0 > 120:
                raise SystemExit("bench_provision: jobs did not drain in 120 s")
            time.sleep(0.02)
        drain = time.time() - t0
        cur.execute("SELECT status, COUNT(*) FROM provisioning_jobs WHERE tenant_id=%s"
                    " GROUP BY status", (tid,))
        statuses = dict(cur.fetchall())
        on_routers = sum(len(sim.secrets()) for sim in sims)
        ok = statuses == {"done": JOBS} and on_routers == JOBS
        print(f"drain: {JOBS} activations across 5 routers in {drain:.2f} s "
              f"(target {DRAIN_TARGET:.0f} s; {on_routers} secrets on the routers; "
              f"jobs {json.dumps(statuses)})"
              + ("" if ok and drain < DRAIN_TARGET else "  MISSED"))
        failed |= not ok or drain >= DRAIN_TARGET

        imp = sims[0]
        imp.set_state({"profiles": [{"name": "bench-old", "rate-limit": "2M/10M"}],
                       "secrets": []})
        imp.bulk_secrets(SECRETS, prefix="imp", profile="bench-old",
                         password="pw", service="pppoe",
                         comment_prefix="Warga ")
        t0 = time.time()
        out = call(s, "POST", f"/routers/{routers[0]}/import", tok,
                   json={"profiles": {"bench-old": plan["id"]}})
        took = time.time() - t0
        marked = sum(1 for x in imp.secrets()
                     if (x.get("comment") or "").startswith("rtrw:"))
        ok = len(out["created"]) == SECRETS and marked == SECRETS
        print(f"import: {SECRETS} existing secrets in {took:.2f} s "
              f"(target {IMPORT_TARGET:.0f} s; {len(out['created'])} customers, "
              f"{marked} secrets marked)"
              + ("" if ok and took < IMPORT_TARGET else "  MISSED"))
        failed |= not ok or took >= IMPORT_TARGET
    finally:
        for sim in sims:
            sim.stop()
        # The bench tenant goes: its routers would otherwise be polled.
        cur = db.cursor()
        cur.execute("DELETE FROM tenants WHERE id=%s", (tid,))
        db.close()
    return 1 if failed and check else 0


if __name__ == "__main__":
    sys.exit(main())
