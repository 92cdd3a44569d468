#!/usr/bin/env python3
"""`make run`: the demo tenant's usage figures come from the stack's
simulated router (tools/run.sh runs this once the stack is up, then
`rtrw-monitor usage` every minute).

Idempotent; it makes sure that
  - the demo tenant has a router on the simulator: one of its live routers
    whose host and port are the simulator's (api or api-ssl) is taken as it
    is, so that a router added some other way (the routers API) is used;
    otherwise one is added on the plain api port, with the simulator's
    password sealed as lib/crypto.c seals it (AES-256-GCM under the data
    key, associated data "router:<tenant>:<id>:password");
  - every PPPoE secret of the simulator's demo state
    (tools/routeros-sim/demo-state.json) belongs to a demo customer on
    that router: a secret no customer of the tenant holds yet goes to the
    first active customer without a PPPoE name, which gets the router too.

It writes through the stack's MariaDB socket as root, because the demo is
data the API has no way to make (the tenant's routers come with the
MikroTik issue).  The last line says what it did.
"""
import argparse
import json
import os
import pathlib
import re
import sys

import pymysql
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ROUTER_NAME = "Demo core (simulated)"


def config_value(path, key):
    for line in pathlib.Path(path).read_text().splitlines():
        m = re.match(rf"^\s*{key}\s*=\s*(.*?)\s*$", line)
        if m:
            return m.group(1)
    return None


def seal(config, tenant_id, router_id, password):
    key = bytes.fromhex(pathlib.Path(
        config_value(config, "data_key_file")).read_text().strip())
    nonce = os.urandom(12)
    aad = f"router:{tenant_id}:{router_id}:password".encode()
    return bytes([1, 1]) + nonce + AESGCM(key).encrypt(
        nonce, password.encode(), aad)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default=os.environ.get("RTRW_CONFIG"))
    ap.add_argument("--socket", default=os.environ.get("MYSQL_SOCKET"))
    ap.add_argument("--tenant", default="demo", help="the tenant's slug")
    ap.add_argument("--host", default=os.environ.get("ROUTEROS_SIM_HOST"))
    ap.add_argument("--port", type=int,
                    default=os.environ.get("ROUTEROS_SIM_PORT"))
    ap.add_argument("--tls-port", type=int,
                    default=os.environ.get("ROUTEROS_SIM_TLS_PORT"))
    ap.add_argument("--user", default=os.environ.get("ROUTEROS_SIM_USER"))
    ap.add_argument("--password-file",
                    default=os.environ.get("ROUTEROS_SIM_PASSWORD_FILE"))
    ap.add_argument("--state", default=str(
        pathlib.Path(__file__).parent / "routeros-sim" / "demo-state.json"))
    a = ap.parse_args()
    for k in ("config", "socket", "host", "port", "user", "password_file"):
        if getattr(a, k) in (None, ""):
            sys.exit(f"demo_usage: --{k.replace('_', '-')} is not set")
    names = [s["name"] for s in json.loads(pathlib.Path(a.state).read_text())
             ["secrets"] if s.get("service", "pppoe") == "pppoe"]
    db = pymysql.connect(unix_socket=a.socket, user="root", password="",
                         database="rtrw", charset="utf8mb4")
    with db:
        cur = db.cursor()
        cur.execute("SELECT id FROM tenants WHERE slug = %s", (a.tenant,))
        row = cur.fetchone()
        if not row:
            print(f"demo_usage: no tenant {a.tenant!r}: nothing to do")
            return
        tenant = row[0]
        ports = [p for p in (a.port, a.tls_port) if p]
        cur.execute("SELECT id FROM routers WHERE tenant_id = %s AND"
                    " host = %s AND api_port IN %s AND deleted_at IS NULL"
                    " ORDER BY id LIMIT 1", (tenant, a.host, ports))
        row = cur.fetchone()
        added = row is None
        if added:
            cur.execute("INSERT INTO routers (tenant_id, name, host,"
                        " api_port, username) VALUES (%s, %s, %s, %s, %s)",
                        (tenant, ROUTER_NAME, a.host, a.port, a.user))
            router = cur.lastrowid
            password = pathlib.Path(a.password_file).read_text().strip()
            cur.execute("UPDATE routers SET password_enc = %s WHERE"
                        " tenant_id = %s AND id = %s",
                        (seal(a.config, tenant, router, password), tenant,
                         router))
        else:
            router = row[0]
        cur.execute("SELECT pppoe_username FROM customers WHERE"
                    " tenant_id = %s AND deleted_at IS NULL AND"
                    " pppoe_username IS NOT NULL", (tenant,))
        held = {r[0] for r in cur.fetchall()}
        missing = [n for n in names if n not in held]
        linked = 0
        if missing:
            cur.execute("SELECT id FROM customers WHERE tenant_id = %s AND"
                        " status = 'active' AND deleted_at IS NULL AND"
                        " pppoe_username IS NULL ORDER BY id LIMIT %s",
                        (tenant, len(missing)))
            for (cid,), name in zip(cur.fetchall(), missing):
                # The secret exists on the router already: synced.
                cur.execute("UPDATE customers SET pppoe_username = %s,"
                            " router_id = %s, router_state = 'synced'"
                            " WHERE tenant_id = %s AND id = %s",
                            (name, router, tenant, cid))
                linked += 1
        db.commit()
    print(f"demo_usage: tenant {tenant} router {router}"
          f" ({'added' if added else 'kept'}), {linked} customers linked,"
          f" {len(missing) - linked} secrets without a customer")


if __name__ == "__main__":
    main()
