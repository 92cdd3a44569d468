"""A request that InnoDB picks as a deadlock victim runs again instead of
answering 500 (lib/dispatch.c run_handler), and a rollback keeps the
error that caused it (lib/db.c db_rollback)."""
import threading
import time

import pymysql

from support import mysql_connect
from test_customers import create as create_customer


def status(cur, name):
    cur.execute("SHOW GLOBAL STATUS LIKE %s", (name,))
    return int(cur.fetchone()[1])


def wait_for_lock_wait(cur, holder_id, timeout=30):
    # InnoDB refreshes what information_schema.innodb_trx shows only when
    # it was not read for 0.1 s: polling faster sees the first answer
    # forever.
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        cur.execute("SELECT COUNT(*) FROM information_schema.innodb_trx"
                    " WHERE trx_state = 'LOCK WAIT'"
                    " AND trx_mysql_thread_id <> %s", (holder_id,))
        if cur.fetchone()[0] > 0:
            return
        time.sleep(0.25)
    raise AssertionError("the request never waited for the audit chain")


def update_audits(cur, tenant, cid):
    cur.execute("SELECT COUNT(*) FROM audit_logs WHERE tenant_id = %s"
                " AND entity_type = 'customer' AND entity_id = %s"
                " AND action = 'update'", (tenant.id, cid))
    return cur.fetchone()[0]


def test_deadlock_victim_runs_again(tenant, mysql):
    c = create_customer(tenant.operator)
    holder = mysql_connect()
    try:
        hc = holder.cursor()
        hc.execute("SELECT CONNECTION_ID()")
        holder_id = hc.fetchone()[0]
        with mysql.cursor() as cur:
            deadlocks = status(cur, "Innodb_deadlocks")
            audits = update_audits(cur, tenant, c["id"])
        # The holder writes more rows than the request will, so InnoDB
        # rolls the request back, not the holder, when the cycle closes.
        hc.execute("BEGIN")
        hc.executemany(
            "INSERT INTO payments (tenant_id, customer_id, amount, status,"
            " period, due_date) VALUES (%s, %s, '1000.00', 'pending',"
            " '2026-01', '2026-01-01')", [(tenant.id, c["id"])] * 300)
        hc.execute("SELECT last_id FROM audit_chain WHERE tenant_id = %s"
                   " FOR UPDATE", (tenant.id,))
        result = {}

        def patch():
            result["r"] = tenant.operator.patch(f"/customers/{c['id']}",
                                                {"name": "Budi Dicoba Lagi"})

        t = threading.Thread(target=patch)
        t.start()
        with mysql.cursor() as cur:
            # The request locked the customer, updated it and waits for
            # the audit chain: now the holder asks for the customer.
            wait_for_lock_wait(cur, holder_id)
            try:
                hc.execute("SELECT id FROM customers WHERE tenant_id = %s"
                           " AND id = %s FOR UPDATE", (tenant.id, c["id"]))
            except pymysql.err.OperationalError as e:
                raise AssertionError(f"InnoDB chose the holder: {e}")
            assert status(cur, "Innodb_deadlocks") > deadlocks
            # The second run waits for the customer the holder now has
            # (after a pause: innodb_trx still shows the first wait).
            time.sleep(0.3)
            wait_for_lock_wait(cur, holder_id)
            assert t.is_alive()
        hc.execute("ROLLBACK")
        t.join(60)
        assert not t.is_alive()
    finally:
        holder.close()
    r = result["r"]
    assert r.status_code == 200, r.text
    assert r.json()["data"]["name"] == "Budi Dicoba Lagi"
    with mysql.cursor() as cur:
        cur.execute("SELECT name FROM customers WHERE id = %s", (c["id"],))
        assert cur.fetchone()[0] == "Budi Dicoba Lagi"
        # One run committed: one audit entry, and the holder's rows are gone.
        assert update_audits(cur, tenant, c["id"]) == audits + 1
        cur.execute("SELECT COUNT(*) FROM payments WHERE customer_id = %s",
                    (c["id"],))
        assert cur.fetchone()[0] == 0
