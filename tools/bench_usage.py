#!/usr/bin/python3
"""One usage collection cycle against simulated routers (issue 12's
benchmark), run by tools/bench.sh.

    tools/bench_usage.py --config RTRW_CONFIG --bin BIN [--routers 5]
                         [--sessions 2000]

Starts --routers RouterOS simulators (one process each, so that they
spread over the cores instead of sharing one GIL), each with --sessions
connected PPPoE sessions and auto_counters off; makes the tenant
"bench-usage" with one router row per simulator (sealed password, as the
routers API stores it) and one active customer per session (made once;
later runs only repoint the routers at the new simulators' ports); then
runs `rtrw-monitor usage` for that tenant twice: the first cycle takes the
baseline of every session, the second, after a minute of router time,
stores every session's delta in the four usage levels.  Prints one
markdown line per cycle (wall time, rows written, rows per second) and a
last line saying whether the second cycle met the target (under 10 s);
the exit status is 1 when it did not.

Needs the stack's environment (MYSQL_SOCKET) and root access to its
MariaDB through the socket, like the rest of tools/bench.sh.
"""
import argparse
import os
import pathlib
import re
import subprocess
import sys
import time

import pymysql
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools" / "routeros-sim"))
import simctl  # noqa: E402

SLUG = "bench-usage"
PASSWORD = "bench-router-pw"
TARGET_S = 10.0


def conf_value(path, key):
    for line in pathlib.Path(path).read_text().splitlines():
        m = re.match(r"^\s*%s\s*=\s*(.*?)\s*$" % key, line)
        if m:
            return m.group(1)
    return None


def seal(config, tenant_id, router_id):
    key = bytes.fromhex(pathlib.Path(conf_value(config, "data_key_file"))
                        .read_text().strip())
    nonce = os.urandom(12)
    aad = ("router:%d:%d:password" % (tenant_id, router_id)).encode()
    return bytes([1, 1]) + nonce + AESGCM(key).encrypt(
        nonce, PASSWORD.encode(), aad)


def setup(db, config, sims, sessions):
    """The bench tenant, its routers (repointed) and customers; returns
    the tenant id."""
    cur = db.cursor()
    cur.execute("SELECT id FROM tenants WHERE slug = %s", (SLUG,))
    row = cur.fetchone()
    if row:
        tid = row[0]
    else:
        cur.execute("INSERT INTO tenants (slug, name) VALUES (%s,"
                    " 'Usage benchmark')", (SLUG,))
        tid = cur.lastrowid
    cur.execute("SELECT id FROM service_plans WHERE tenant_id = %s", (tid,))
    row = cur.fetchone()
    if row:
        plan = row[0]
    else:
        cur.execute("INSERT INTO service_plans (tenant_id, name,"
                    " speed_download, speed_upload, price, mikrotik_profile)"
                    " VALUES (%s, 'Paket 10M', 10000, 2000, 150000,"
                    " 'paket-10M')", (tid,))
        plan = cur.lastrowid
    for i, sim in enumerate(sims):
        name = "bench-r%d" % i
        cur.execute("SELECT id FROM routers WHERE tenant_id = %s AND"
                    " name = %s", (tid, name))
        row = cur.fetchone()
        if row:
            rid = row[0]
            cur.execute("UPDATE routers SET api_port = %s WHERE id = %s",
                        (sim.port, rid))
        else:
            cur.execute("INSERT INTO routers (tenant_id, name, host,"
                        " api_port, username) VALUES (%s, %s, '127.0.0.1',"
                        " %s, 'admin')", (tid, name, sim.port))
            rid = cur.lastrowid
        cur.execute("UPDATE routers SET password_enc = %s WHERE id = %s",
                    (seal(config, tid, rid), rid))
        cur.execute("SELECT COUNT(*) FROM customers WHERE tenant_id = %s"
                    " AND router_id = %s", (tid, rid))
        if cur.fetchone()[0] < sessions:
            cur.execute(
                "INSERT IGNORE INTO customers (tenant_id, customer_code, name,"
                " phone, address, service_plan_id, status, router_id,"
                " pppoe_username, monthly_price)"
                " SELECT %s, CONCAT('B', %s, '-', LPAD(seq, 6, '0')),"
                " CONCAT('Bench ', seq), '081200000000', 'Jl. Bench', %s,"
                " 'active', %s, CONCAT('cust', LPAD(seq, 5, '0')), 150000"
                " FROM seq_1_to_" + str(int(sessions)),
                (tid, i, plan, rid))
    # Every run starts from no previous reading: cycle 1 is a baseline.
    cur.execute("DELETE FROM usage_sessions WHERE tenant_id = %s", (tid,))
    cur.execute("DELETE FROM usage_routers WHERE tenant_id = %s", (tid,))
    db.commit()
    return tid


def cycle(binary, config, tid):
    t = time.monotonic()
    r = subprocess.run([binary, "--config", config, "--tenant", str(tid),
                        "--gap-ms", "0", "usage"], capture_output=True,
                       text=True, timeout=600)
    wall = time.monotonic() - t
    line = [ln for ln in r.stderr.splitlines() if 'msg="usage ' in ln]
    if r.returncode != 0 or not line:
        sys.exit("bench_usage: rtrw-monitor usage failed:\n" + r.stderr)
    body = line[-1].split('msg="usage ', 1)[1].rstrip('"')
    return wall, {k: int(v) for k, v in (kv.split("=") for kv in body.split())}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--routers", type=int, default=5)
    ap.add_argument("--sessions", type=int, default=2000)
    args = ap.parse_args()
    sims = []
    try:
        for i in range(args.routers):
            sim = simctl.Sim.start(password=PASSWORD, state={
                "settings": {"auto_counters": False},
                "profiles": [{"name": "paket-10M", "rate-limit": "2M/10M"}]})
            sims.append(sim)
            sim.bulk_secrets(args.sessions, prefix="cust", width=5,
                             profile="paket-10M", connected=True,
                             rx_bps=1000000, tx_bps=8000000)
        db = pymysql.connect(unix_socket=os.environ["MYSQL_SOCKET"],
                             user="root", database="rtrw", autocommit=False)
        tid = setup(db, args.config, sims, args.sessions)
        db.close()
        binary = os.path.join(args.bin, "rtrw-monitor")
        w1, s1 = cycle(binary, args.config, tid)
        for sim in sims:
            sim.advance(60)
        w2, s2 = cycle(binary, args.config, tid)
    finally:
        for sim in sims:
            sim.stop()
    n = args.routers * args.sessions
    for label, w, s in (("baseline", w1, s1), ("deltas", w2, s2)):
        print("| %s: %d routers x %d sessions | %.2f s | %d | %d | %.0f |"
              " %d ms | %d ms |" % (label, args.routers, args.sessions, w,
                                    s["samples"], s["rows"],
                                    s["rows"] / w if w > 0 else 0,
                                    s["poll_ms"], s["store_ms"]))
    ok = s2["samples"] == n and w2 < TARGET_S
    print()
    print("Target: the cycle that stores %d deltas under %.0f s: %s "
          "(%.2f s, %d samples)." % (n, TARGET_S, "met" if ok else "MISSED",
                                     w2, s2["samples"]))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
