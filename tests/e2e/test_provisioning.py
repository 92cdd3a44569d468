"""Durable provisioning against simulated routers: every lifecycle action
as the router sees it, the faults of issue 15, reconciliation, import,
and the jobs API.  The stack's rtrw-provision applies the jobs; tests
assert the simulator's state through its control channel."""
import json
import os
import pathlib
import subprocess
import time

import pytest

from rtsupport import (act, customer, jobs, make_router, nudge, plan, seal,
                       settled, start_sim, wait_for, wait_settled)


@pytest.fixture(scope="module")
def sim():
    s = start_sim(state={"profiles": [], "secrets": [
        {"name": "foreign-1", "password": "x1", "profile": "default",
         "comment": "the neighbour's hotspot"},
        {"name": "foreign-2", "password": "x2", "service": "l2tp"}]})
    yield s
    s.stop()


@pytest.fixture
def rsim(sim):
    sim.reset()
    yield sim
    assert sim.alive()


@pytest.fixture
def setup(tenant, rsim):
    """(operator, router, plan) on the module's simulator."""
    op = tenant.operator
    rt = make_router(op, rsim.port)
    return op, rt, plan(op, speed_download=10000, speed_upload=2000)


def foreign_state(sim):
    return [s for s in sim.secrets() if s["name"].startswith("foreign")]


def test_lifecycle_on_the_router(tenant, setup, rsim, mysql):
    op, rt, p = setup
    before = foreign_state(rsim)
    c = customer(op, p["id"], rt["id"], "budi.lc", "first-pw")
    t0 = time.time()
    d = act(op, c["id"], "activate")
    assert time.time() - t0 < 1.5
    assert d["router_state"] == "pending"
    s = wait_for(lambda: rsim.secret("budi.lc"), 2.5, what="the secret within 2 s")
    assert s["password"] == "first-pw" and s["service"] == "pppoe"
    assert s["profile"] == p["mikrotik_profile"] and s["disabled"] == "false"
    assert s["comment"] == "rtrw:" + c["customer_code"]
    assert rsim.profile(p["mikrotik_profile"])["rate-limit"] == "2000k/10000k"
    wait_settled(mysql, c["id"])
    got = op.get(f"/customers/{c['id']}").json()["data"]
    assert got["router_state"] == "synced" and got["router_error"] is None
    # The panel hears of it: pending (the action), then synced.
    cur = mysql.cursor()
    cur.execute("SELECT data FROM events WHERE name='customer:updated'"
                " AND entity_id=%s ORDER BY id", (c["id"],))
    states = [json.loads(d)["router_state"] for (d,) in cur.fetchall()]
    assert states == ["pending", "synced"]

    # Suspend: disabled, and the session is gone.
    rsim.connect("budi.lc")
    assert rsim.session("budi.lc")
    act(op, c["id"], "suspend")
    wait_settled(mysql, c["id"])
    assert rsim.secret("budi.lc")["disabled"] == "true"
    assert rsim.session("budi.lc") is None
    # Activate again: enabled; the CPE dials in again.
    act(op, c["id"], "activate")
    wait_settled(mysql, c["id"])
    assert rsim.secret("budi.lc")["disabled"] == "false"
    rsim.connect("budi.lc")
    old_session = rsim.session("budi.lc")[".id"]

    # Plan change (with a burst): the profile is made, set, the session ends.
    fast = plan(op, speed_download=20000, speed_upload=5000,
                burst_download=30000, burst_upload=8000,
                burst_threshold_download=15000, burst_threshold_upload=4000,
                burst_time=16, priority=4)
    r = op.patch(f"/customers/{c['id']}", {"service_plan_id": fast["id"]})
    assert r.status_code == 200 and r.json()["data"]["router_state"] == "pending"
    wait_settled(mysql, c["id"])
    assert rsim.secret("budi.lc")["profile"] == fast["mikrotik_profile"]
    assert rsim.profile(fast["mikrotik_profile"])["rate-limit"] == \
        "5000k/20000k 8000k/30000k 4000k/15000k 16/16 4"
    assert rsim.session("budi.lc") is None or \
        rsim.session("budi.lc")[".id"] != old_session

    # New password and a new name: the old secret (ours) goes.
    op.patch(f"/customers/{c['id']}", {"pppoe_password": "second-pw",
                                       "pppoe_username": "budi.new"})
    wait_settled(mysql, c["id"])
    assert rsim.secret("budi.lc") is None
    assert rsim.secret("budi.new")["password"] == "second-pw"

    # Terminate: removed.
    act(op, c["id"], "terminate")
    wait_settled(mysql, c["id"])
    assert rsim.secret("budi.new") is None
    assert [j[1:3] for j in jobs(mysql, c["id"])] == [
        ("activate", "done"), ("suspend", "done"), ("activate", "done"),
        ("change_profile", "done"), ("activate", "done"), ("terminate", "done")]
    assert foreign_state(rsim) == before


def test_plan_change_reaches_every_customer_on_it(tenant, setup, rsim, mysql):
    op, rt, p = setup
    cs = [customer(op, p["id"], rt["id"], f"plan.user{i}") for i in range(3)]
    pending = customer(op, p["id"], rt["id"], "plan.pending")
    for c in cs:
        act(op, c["id"], "activate")
    act(op, cs[2]["id"], "suspend")
    for c in cs:
        wait_settled(mysql, c["id"])
    rsim.connect("plan.user0")
    r = op.patch(f"/service-plans/{p['id']}", {"speed_download": 20000})
    assert r.status_code == 200, r.text
    for c in cs:
        js = wait_settled(mysql, c["id"])
        assert js[-1][1:3] == ("change_profile", "done")
    assert rsim.profile(p["mikrotik_profile"])["rate-limit"] == "2000k/20000k"
    assert rsim.session("plan.user0") is None  # the new speed applies at login
    assert jobs(mysql, pending["id"]) == ()
    # A change the routers do not see (the price) queues nothing.
    n = len(jobs(mysql, cs[0]["id"]))
    assert op.patch(f"/service-plans/{p['id']}", {"price": 175000}).status_code == 200
    assert len(jobs(mysql, cs[0]["id"])) == n


def test_delete_and_move_between_routers(tenant, setup, rsim, mysql):
    op, rt, p = setup
    with start_sim() as other:
        rt2 = make_router(op, other.port)
        c = customer(op, p["id"], rt["id"], "mover")
        act(op, c["id"], "activate")
        wait_settled(mysql, c["id"])
        assert rsim.secret("mover")
        r = op.patch(f"/customers/{c['id']}", {"router_id": rt2["id"]})
        assert r.status_code == 200
        wait_settled(mysql, c["id"])
        assert rsim.secret("mover") is None
        assert other.secret("mover")["comment"] == "rtrw:" + c["customer_code"]
        assert tenant.admin.delete(f"/customers/{c['id']}").status_code == 204
        wait_settled(mysql, c["id"])
        assert other.secret("mover") is None


def test_boost_plan_is_applied_as_effective_plan(tenant, setup, rsim, mysql):
    """change_profile means "what the customer runs at now": an active
    boost's plan (written as the speed-boost resource writes it)."""
    op, rt, p = setup
    boost = plan(op, speed_download=50000, speed_upload=10000)
    c = customer(op, p["id"], rt["id"], "boosted")
    act(op, c["id"], "activate")
    wait_settled(mysql, c["id"])
    cur = mysql.cursor()
    cur.execute("INSERT INTO speed_boosts (tenant_id, customer_id, boost_plan_id,"
                " base_plan_id, duration_hours, price, status, start_at, end_at)"
                " VALUES (%s, %s, %s, %s, 1, 1000, 'active', UTC_TIMESTAMP(),"
                " UTC_TIMESTAMP() + INTERVAL 1 HOUR)",
                (tenant.id, c["id"], boost["id"], p["id"]))
    bid = cur.lastrowid
    cur.execute("INSERT INTO provisioning_jobs (tenant_id, customer_id, router_id,"
                " action) VALUES (%s, %s, %s, 'change_profile')",
                (tenant.id, c["id"], rt["id"]))
    nudge()
    wait_settled(mysql, c["id"])
    assert rsim.secret("boosted")["profile"] == boost["mikrotik_profile"]
    cur.execute("UPDATE speed_boosts SET status='expired' WHERE id=%s", (bid,))
    cur.execute("INSERT INTO provisioning_jobs (tenant_id, customer_id, router_id,"
                " action) VALUES (%s, %s, %s, 'change_profile')",
                (tenant.id, c["id"], rt["id"]))
    nudge()
    wait_settled(mysql, c["id"])
    assert rsim.secret("boosted")["profile"] == p["mikrotik_profile"]


def test_router_down_then_back(tenant, setup, rsim, mysql):
    op, rt, p = setup
    c = customer(op, p["id"], rt["id"], "down.user")
    rsim.fault(refuse=True)
    t0 = time.time()
    act(op, c["id"], "activate")
    assert time.time() - t0 < 1.5

    def waiting():
        js = jobs(mysql, c["id"])
        return js if js and js[0][4] and "unreachable" in js[0][4] else None
    js = wait_for(waiting, 5, what="the job to record the router down")
    assert js[0][2] in ("pending", "running") and js[0][3] == 0
    got = op.get(f"/customers/{c['id']}").json()["data"]
    assert got["router_state"] == "pending" and "unreachable" in got["router_error"]
    assert op.get(f"/routers/{rt['id']}").json()["data"]["status"] == "offline"
    time.sleep(2)
    assert jobs(mysql, c["id"])[0][3] == 0, "attempts burnt while the router was down"
    rsim.clear_faults()
    js = wait_settled(mysql, c["id"], 10)
    assert js[0][2] == "done"
    assert [s["name"] for s in rsim.secrets()].count("down.user") == 1
    assert rsim.commands().count("/ppp/secret/add") == 1
    got = op.get(f"/customers/{c['id']}").json()["data"]
    assert got["router_state"] == "synced" and got["router_error"] is None
    assert op.get(f"/routers/{rt['id']}").json()["data"]["status"] == "online"


@pytest.mark.parametrize("apply,at", [(True, "word"), (False, "byte"), (True, "byte")])
def test_drop_mid_sentence(tenant, setup, rsim, mysql, apply, at):
    op, rt, p = setup
    c = customer(op, p["id"], rt["id"], "drop.user")
    rsim.fault(drop={"command": "/ppp/secret/add", "apply": apply, "at": at})
    act(op, c["id"], "activate")
    js = wait_settled(mysql, c["id"], 10)
    assert js[0][2] == "done"
    assert [s["name"] for s in rsim.secrets()].count("drop.user") == 1
    assert rsim.secret("drop.user")["comment"] == "rtrw:" + c["customer_code"]


def test_password_changed_on_the_router(tenant, setup, rsim, mysql):
    op, rt, p = setup
    c = customer(op, p["id"], rt["id"], "pw.user")
    rsim.set_password("rotated-Passw0rd")
    act(op, c["id"], "activate")

    def refused():
        js = jobs(mysql, c["id"])
        return js if js and js[0][4] and "login refused" in js[0][4] else None
    wait_for(refused, 5, what="the login refusal")
    time.sleep(2)
    # The paused router is tried again every second or two: the job may
    # be in such a pass (running) right now, but no try costs an attempt.
    js = jobs(mysql, c["id"])
    assert js[0][2] in ("pending", "running") and js[0][3] == 0
    assert rsim.secret("pw.user") is None
    r = op.patch(f"/routers/{rt['id']}", {"password": "rotated-Passw0rd"})
    assert r.status_code == 200
    js = wait_settled(mysql, c["id"], 5)
    assert js[0][2] == "done" and rsim.secret("pw.user")


def test_duplicate_secret_is_adopted_once(tenant, setup, rsim, mysql):
    op, rt, p = setup
    rsim.set_state({"secrets": [{"name": "dup.user", "password": "old",
                                 "profile": "default", "comment": "by hand"}]})
    c = customer(op, p["id"], rt["id"], "dup.user", "new-pw")
    act(op, c["id"], "activate")
    js = wait_settled(mysql, c["id"])
    assert js[0][2] == "done"
    secs = [s for s in rsim.secrets() if s["name"] == "dup.user"]
    assert len(secs) == 1
    assert secs[0]["password"] == "new-pw"
    assert secs[0]["comment"] == f"rtrw:{c['customer_code']} by hand"
    assert secs[0]["profile"] == p["mikrotik_profile"]


def test_secret_of_another_customer_is_not_taken(tenant, setup, rsim, mysql):
    op, rt, p = setup
    rsim.set_state({"secrets": [{"name": "taken", "password": "x",
                                 "comment": "rtrw:C-999999"}]})
    c = customer(op, p["id"], rt["id"], "taken")
    act(op, c["id"], "activate")
    wait_for(lambda: jobs(mysql, c["id"])[0][3] >= 1, 5, what="an attempt")
    js = jobs(mysql, c["id"])
    assert "C-999999" in js[0][4]
    assert rsim.secret("taken")["password"] == "x"


def test_no_such_item_on_remove_is_success(tenant, setup, rsim, mysql):
    op, rt, p = setup
    c = customer(op, p["id"], rt["id"], "gone.user")
    act(op, c["id"], "activate")
    wait_settled(mysql, c["id"])
    # Someone removed it by hand between our print and our remove.
    rsim.fault(fail={"command": "/ppp/secret/remove", "message": "no such item"})
    act(op, c["id"], "terminate")
    js = wait_settled(mysql, c["id"])
    assert [j[2] for j in js] == ["done", "done"] and js[1][3] == 1


def test_refused_writes_retry_then_fail_and_retry_endpoint(tenant, setup, rsim, mysql):
    op, rt, p = setup
    c = customer(op, p["id"], rt["id"], "trap.user")
    rsim.fault(fail={"command": "/ppp/secret/add", "count": None,
                     "message": "failure: simulated fault"})
    act(op, c["id"], "activate")
    js = wait_settled(mysql, c["id"], 30)
    job_id, _, status, attempts, err = js[0]
    assert status == "failed" and "simulated fault" in err
    cur = mysql.cursor()
    cur.execute("SELECT max_attempts FROM provisioning_jobs WHERE id=%s", (job_id,))
    assert attempts == cur.fetchone()[0] >= 2
    got = op.get(f"/customers/{c['id']}").json()["data"]
    assert got["router_state"] == "failed" and "simulated fault" in got["router_error"]
    alerts = tenant.viewer.get("/alerts?type=provisioning_failed").json()["data"]
    assert len(alerts) == 1 and alerts[0]["status"] == "open"
    j = tenant.viewer.get(f"/provisioning-jobs/{job_id}").json()["data"]
    assert j["status"] == "failed" and j["action"] == "activate" and j["done_at"]
    assert "payload" not in j
    assert [x["id"] for x in tenant.viewer.get("/provisioning-jobs?status=failed")
            .json()["data"]] == [job_id]
    assert tenant.viewer.post(f"/provisioning-jobs/{job_id}/retry").status_code == 403
    rsim.clear_faults()
    r = op.post(f"/provisioning-jobs/{job_id}/retry", {})
    assert r.status_code == 200 and r.json()["data"]["status"] == "pending"
    assert r.json()["data"]["attempts"] == 0
    wait_settled(mysql, c["id"])
    assert rsim.secret("trap.user")
    alerts = tenant.viewer.get("/alerts?type=provisioning_failed").json()["data"]
    assert alerts[0]["status"] == "resolved"
    r = op.post(f"/provisioning-jobs/{job_id}/retry")
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    assert op.post("/provisioning-jobs/987654321/retry").status_code == 404
    assert tenant.viewer.get("/provisioning-jobs?status=bogus").status_code == 422


def test_sync_reports_and_repairs_drift(tenant, setup, rsim, mysql):
    op, rt, p = setup
    cs = {n: customer(op, p["id"], rt["id"], n, "pw-" + n)
          for n in ("s.missing", "s.profile", "s.password", "s.disabled",
                    "s.enabled", "s.fine")}
    for c in cs.values():
        act(op, c["id"], "activate")
    act(op, cs["s.enabled"]["id"], "suspend")
    for c in cs.values():
        wait_settled(mysql, c["id"])
    secret_id = {s["name"]: s[".id"] for s in rsim.secrets()}
    state = rsim.state()
    for s in state["secrets"]:
        if s["name"] == "s.profile":
            s["profile"] = "default"
        if s["name"] == "s.password":
            s["password"] = "changed-by-hand"
        if s["name"] == "s.disabled":
            s["disabled"] = True
        if s["name"] == "s.enabled":
            s["disabled"] = False
    state["secrets"] = [s for s in state["secrets"] if s["name"] != "s.missing"]
    for s in state["secrets"]:
        s.pop("connected", None)
    state["profiles"] = [dict(x, **{"rate-limit": "1M/1M"})
                         if x["name"] == p["mikrotik_profile"] else x
                         for x in state["profiles"]]
    keep = {k: state[k] for k in ("secrets", "profiles")}
    rsim.set_state(keep)
    foreign = foreign_state(rsim)

    r = op.post(f"/routers/{rt['id']}/sync?dry_run=true")
    assert r.status_code == 200, r.text
    d = r.json()["data"]
    assert d["applied"] is False
    got = sorted((x["kind"], x["name"], x["problem"], x["action"]) for x in d["changes"])
    want = sorted([
        ("profile", p["mikrotik_profile"], "rate_limit", "none"),
        ("secret", "s.missing", "missing", "none"),
        ("secret", "s.profile", "profile", "none"),
        ("secret", "s.password", "password", "none"),
        ("secret", "s.disabled", "disabled", "none"),
        ("secret", "s.enabled", "enabled", "none"),
        ("secret", "foreign-1", "unmanaged", "reported"),
        ("secret", "foreign-2", "unmanaged", "reported")])
    assert got == want
    assert rsim.secret("s.missing") is None  # a dry run changes nothing

    r = op.post(f"/routers/{rt['id']}/sync")
    d = r.json()["data"]
    assert d["applied"] is True
    got = sorted((x["kind"], x["name"], x["problem"], x["action"]) for x in d["changes"])
    assert got == sorted([(k, n, pr, "created" if pr == "missing" else
                           "reported" if pr == "unmanaged" else "updated")
                          for k, n, pr, _ in want])
    assert rsim.secret("s.missing")["password"] == "pw-s.missing"
    assert rsim.secret("s.profile")["profile"] == p["mikrotik_profile"]
    assert rsim.secret("s.password")["password"] == "pw-s.password"
    assert rsim.secret("s.disabled")["disabled"] == "false"
    assert rsim.secret("s.enabled")["disabled"] == "true"
    assert rsim.secret("s.fine")[".id"] == secret_id["s.fine"]
    assert rsim.profile(p["mikrotik_profile"])["rate-limit"] == "2000k/10000k"
    assert foreign_state(rsim) == foreign
    # In sync now: only the unmanaged ones are left to report.
    d = op.post(f"/routers/{rt['id']}/sync").json()["data"]
    assert sorted(x["name"] for x in d["changes"]) == ["foreign-1", "foreign-2"]
    assert tenant.viewer.post(f"/routers/{rt['id']}/sync").status_code == 403
    rsim.fault(refuse=True)
    r = op.post(f"/routers/{rt['id']}/sync")
    assert r.status_code == 422 and r.json()["error"]["code"] == "router_unreachable"


def test_sync_reports_orphaned_secrets_and_keeps_them(tenant, setup, rsim, mysql):
    """A secret with our marker but no active or suspended customer of
    that name on the router is reported as orphaned, in a dry run and a
    real one, and never removed (lib/provision.c add_orphan())."""
    op, rt, p = setup
    live = customer(op, p["id"], rt["id"], "o.live")
    gone = customer(op, p["id"], rt["id"], "o.gone")
    for c in (live, gone):
        act(op, c["id"], "activate")
        wait_settled(mysql, c["id"])
    act(op, gone["id"], "terminate")
    wait_settled(mysql, gone["id"])
    assert rsim.secret("o.gone") is None
    # The terminated customer's secret comes back (a router backup put
    # back), and a marker of a code nobody has was copied by hand.
    state = rsim.state()
    for sec in state["secrets"]:
        sec.pop("connected", None)
    state["secrets"] += [
        {"name": "o.gone", "password": "pppoe-pw1", "service": "pppoe",
         "profile": p["mikrotik_profile"], "comment": "rtrw:" + gone["customer_code"]},
        {"name": "o.ghost", "password": "g", "service": "pppoe",
         "profile": p["mikrotik_profile"], "comment": "rtrw:C-999999 copied by hand"}]
    rsim.set_state({k: state[k] for k in ("secrets", "profiles")})
    want = [("o.ghost", "C-999999", None, "reported"),
            ("o.gone", gone["customer_code"], gone["id"], "reported")]
    for query in ("?dry_run=true", ""):
        rsim.commands(clear=True)
        r = op.post(f"/routers/{rt['id']}/sync{query}")
        assert r.status_code == 200, r.text
        changes = r.json()["data"]["changes"]
        orphans = sorted((x["name"], x["customer_code"], x["customer_id"], x["action"])
                         for x in changes if x["problem"] == "orphaned")
        assert orphans == want, changes
        assert not [x for x in changes if x["name"] == "o.live"]
        assert sorted(x["name"] for x in changes if x["problem"] == "unmanaged") == \
            ["foreign-1", "foreign-2"]
        assert "/ppp/secret/remove" not in rsim.commands()
    assert rsim.secret("o.gone")["comment"] == "rtrw:" + gone["customer_code"]
    assert rsim.secret("o.ghost")["comment"] == "rtrw:C-999999 copied by hand"
    assert rsim.secret("o.live")["disabled"] == "false"


def test_periodic_sync_job(tenant, setup, rsim, mysql):
    op, rt, p = setup
    c = customer(op, p["id"], rt["id"], "cron.user")
    act(op, c["id"], "activate")
    wait_settled(mysql, c["id"])
    rsim.set_state({"secrets": [], "profiles": []})
    out = subprocess.run([os.path.join(os.environ["RTRW_BIN"], "rtrw-provision"),
                          "--config", os.environ["RTRW_CONFIG"],
                          "--tenant", str(tenant.id), "sync"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "routers synced=1" in out.stderr
    assert rsim.secret("cron.user")["comment"] == "rtrw:" + c["customer_code"]


def test_import(tenant, rsim, mysql):
    op = tenant.operator
    p10 = plan(op, mikrotik_profile="paket-10M")
    p20 = plan(op, mikrotik_profile="paket-20M")
    rsim.set_state({
        "profiles": [{"name": "paket-10M", "rate-limit": "2M/10M"},
                     {"name": "paket-20M", "rate-limit": "5M/20M"},
                     {"name": "lama", "rate-limit": "1M/1M"}],
        "secrets": [
            {"name": "budi", "password": "b-pw", "profile": "paket-10M",
             "service": "pppoe", "comment": "Budi Santoso - RT 03"},
            {"name": "siti", "password": "s-pw", "profile": "paket-20M",
             "service": "pppoe", "disabled": True},
            {"name": "old.one", "password": "o", "profile": "lama", "service": "pppoe"},
            {"name": "vpn", "password": "v", "profile": "paket-10M", "service": "l2tp"},
            {"name": "bad name", "password": "v", "profile": "paket-10M"}]})
    rt = make_router(op, rsim.port)
    body = {"profiles": {"paket-10M": p10["id"], "paket-20M": p20["id"]}}
    r = op.post(f"/routers/{rt['id']}/import", dict(body, dry_run=True))
    assert r.status_code == 200, r.text
    d = r.json()["data"]
    assert d["created"] == [] and sorted(d["would_create"]) == ["budi", "siti"]
    assert sorted(s["name"] for s in d["skipped"]) == ["bad name", "old.one", "vpn"]
    assert tenant.viewer.get("/customers").json()["meta"]["total"] == 0
    assert rsim.secret("budi")["comment"] == "Budi Santoso - RT 03"

    r = op.post(f"/routers/{rt['id']}/import", body)
    d = r.json()["data"]
    assert r.status_code == 200 and len(d["created"]) == 2, r.text
    reasons = {s["name"]: s["reason"] for s in d["skipped"]}
    assert "unknown profile lama" in reasons["old.one"]
    assert "l2tp" in reasons["vpn"]
    made = {c["pppoe_username"]: c for c in
            (op.get(f"/customers/{i}").json()["data"] for i in d["created"])}
    assert made["budi"]["name"] == "Budi Santoso - RT 03"
    assert made["budi"]["status"] == "active" and made["siti"]["status"] == "suspended"
    assert made["siti"]["name"] == "siti" and made["siti"]["phone"] == "-"
    assert made["budi"]["service_plan_id"] == p10["id"]
    assert made["budi"]["router_state"] == "synced"
    assert made["budi"]["monthly_price"] == p10["price"]
    assert rsim.secret("budi")["comment"] == \
        f"rtrw:{made['budi']['customer_code']} Budi Santoso - RT 03"
    assert rsim.secret("vpn").get("comment") is None
    # Again: everything exists now.
    d = op.post(f"/routers/{rt['id']}/import", body).json()["data"]
    assert d["created"] == []
    assert sorted(s["name"] for s in d["skipped"] if "exists" in s["reason"]) == \
        ["budi", "siti"]
    # The unknown profile gets the default plan when one is given.
    d = op.post(f"/routers/{rt['id']}/import",
                dict(body, service_plan_id=p10["id"])).json()["data"]
    assert len(d["created"]) == 1
    # Imported customers are managed like any other: the password came too.
    act(op, made["siti"]["id"], "activate")
    wait_settled(mysql, made["siti"]["id"])
    assert rsim.secret("siti")["disabled"] == "false"
    assert rsim.secret("siti")["password"] == "s-pw"
    # A plan of another tenant, or none at all, changes nothing.
    r = op.post(f"/routers/{rt['id']}/import", {"service_plan_id": 987654321})
    assert r.status_code == 422
    r = op.post(f"/routers/{rt['id']}/import", {"profiles": {"x": "y"}})
    assert r.status_code == 422
    cur = mysql.cursor()
    cur.execute("SELECT COUNT(*) FROM audit_logs WHERE tenant_id=%s AND action='import'",
                (tenant.id,))
    assert cur.fetchone()[0] == 3


def _bulk_customers(mysql, tenant_id, plan_id, routers, n, prefix):
    """n active customers spread over routers, with sealed passwords and
    an activate job each, committed at once (as n API calls would)."""
    cur = mysql.cursor()
    cur.execute("SELECT COALESCE(MAX(id), 0) FROM customers")
    ids = []
    mysql.begin()
    for i in range(n):
        rid = routers[i % len(routers)]
        cur.execute("INSERT INTO customers (tenant_id, customer_code, name, phone,"
                    " address, service_plan_id, status, router_id, router_state,"
                    " pppoe_username, monthly_price)"
                    " VALUES (%s, %s, 'Bulk', '0812', 'x', %s, 'active', %s,"
                    " 'pending', %s, 1000)",
                    (tenant_id, f"B-{prefix}-{i:05d}", plan_id, rid,
                     f"{prefix}{i:05d}"))
        cid = cur.lastrowid
        cur.execute("UPDATE customers SET pppoe_password_enc=%s WHERE id=%s",
                    (seal(f"pw{i}", f"customer:{cid}:pppoe"), cid))
        cur.execute("INSERT INTO provisioning_jobs (tenant_id, customer_id, router_id,"
                    " action) VALUES (%s, %s, %s, 'activate')", (tenant_id, cid, rid))
        ids.append(cid)
    mysql.commit()
    nudge()
    return ids


def _job_counts(mysql, tenant_id):
    cur = mysql.cursor()
    cur.execute("SELECT router_id, status, COUNT(*) FROM provisioning_jobs"
                " WHERE tenant_id=%s GROUP BY router_id, status", (tenant_id,))
    return {(r, s): n for r, s, n in cur.fetchall()}


def test_import_writes_a_customer_created_event_for_each(tenant, rsim, mysql):
    """Each imported customer gets its customer:created event, in the
    import's transaction: none for a dry run, none for an import the
    router made fail (rolled back), one per customer otherwise, carrying
    the customer as GET shows it."""
    op = tenant.operator
    p = plan(op, mikrotik_profile="ev-10M")
    rsim.set_state({
        "profiles": [{"name": "ev-10M", "rate-limit": "2M/10M"}],
        "secrets": [{"name": f"ev{i}", "password": f"pw{i}", "profile": "ev-10M",
                     "service": "pppoe"} for i in range(5)]})
    rt = make_router(op, rsim.port)
    cur = mysql.cursor()

    def created_events():
        cur.execute("SELECT entity_type, entity_id, data FROM events WHERE tenant_id=%s"
                    " AND name='customer:created' ORDER BY id", (tenant.id,))
        return cur.fetchall()

    body = {"service_plan_id": p["id"]}
    r = op.post(f"/routers/{rt['id']}/import", dict(body, dry_run=True))
    assert r.status_code == 200 and len(r.json()["data"]["would_create"]) == 5
    assert created_events() == ()
    # The router refuses the marker on one secret: nothing stays.
    rsim.fault(fail={"command": "/ppp/secret/set"})
    r = op.post(f"/routers/{rt['id']}/import", body)
    assert r.status_code == 422, r.text
    assert created_events() == ()
    assert tenant.viewer.get("/customers").json()["meta"]["total"] == 0
    rsim.clear_faults()
    r = op.post(f"/routers/{rt['id']}/import", body)
    assert r.status_code == 200, r.text
    ids = r.json()["data"]["created"]
    assert len(ids) == 5
    ev = created_events()
    assert [(t, i) for t, i, _ in ev] == [("customer", i) for i in ids]
    for _, i, data in ev:
        assert json.loads(data) == op.get(f"/customers/{i}").json()["data"]
    # Importing again creates nothing and emits nothing.
    assert op.post(f"/routers/{rt['id']}/import", body).json()["data"]["created"] == []
    assert len(created_events()) == 5


def test_hanging_router_delays_no_other(tenant, mysql):
    """A router that accepts TCP and then says nothing holds up its own
    pass only (up to router_connect_timeout_ms + router_read_timeout_ms,
    7 s here): a job for a healthy router queued while that pass hangs is
    applied as fast as without it (lib/provision_pool.h)."""
    op = tenant.operator
    p = plan(op)
    with start_sim(routers=["hang:0", "fine:0"]) as s:
        hang, fine = s.router("hang"), s.router("fine")
        rh, rf = [make_router(op, r["port"])["id"] for r in s.routers]
        base = customer(op, p["id"], rf, "base.user")
        t0 = time.time()
        act(op, base["id"], "activate")
        wait_settled(mysql, base["id"])
        alone = time.time() - t0
        hang.fault(hang=True)
        stuck = customer(op, p["id"], rh, "stuck.user")
        act(op, stuck["id"], "activate")
        wait_for(lambda: jobs(mysql, stuck["id"])[0][2] == "running", 5,
                 what="the pass over the hanging router")
        quick = customer(op, p["id"], rf, "quick.user")
        t0 = time.time()
        act(op, quick["id"], "activate")
        js = wait_settled(mysql, quick["id"], 10)
        beside = time.time() - t0
        print(f"healthy router: {alone:.2f}s alone, {beside:.2f}s beside a hanging one")
        assert js[0][2] == "done" and fine.secret("quick.user")
        assert beside < 2.5, f"a healthy router waited {beside:.1f}s beside a hanging one"
        # The other pass is still waiting for the silent router.
        assert jobs(mysql, stuck["id"])[0][2] == "running"
        # The silent router's pass ends in its timeouts; the job waits
        # with its attempts untouched and is applied once it answers.
        wait_for(lambda: jobs(mysql, stuck["id"])[0][2] == "pending", 10,
                 what="the hanging pass to time out")
        assert jobs(mysql, stuck["id"])[0][3] == 0
        hang.clear_faults()
        assert wait_settled(mysql, stuck["id"], 15)[0][2] == "done"
        assert hang.secret("stuck.user")


def test_thousand_jobs_five_routers_one_down(tenant, mysql):
    op = tenant.operator
    p = plan(op)
    names = [f"b{i}:0" for i in range(5)]
    with start_sim(routers=names) as s:
        ctl = {r["name"]: s.router(r["name"]) for r in s.routers}
        rts = [make_router(op, r["port"])["id"] for r in s.routers]
        ctl["b4"].fault(refuse=True)
        t0 = time.time()
        _bulk_customers(mysql, tenant.id, p["id"], rts, 1000, "bulk")

        def four_drained():
            c = _job_counts(mysql, tenant.id)
            return all(c.get((r, "done"), 0) == 200 for r in rts[:4])
        wait_for(four_drained, 60, step=0.2, what="the four live routers")
        took = time.time() - t0
        c = _job_counts(mysql, tenant.id)
        assert c.get((rts[4], "done"), 0) == 0
        cur = mysql.cursor()
        cur.execute("SELECT MAX(attempts) FROM provisioning_jobs WHERE router_id=%s",
                    (rts[4],))
        assert cur.fetchone()[0] == 0
        for name in ("b0", "b1", "b2", "b3"):
            secs = ctl[name].secrets()
            assert len(secs) == 200 and len({x["name"] for x in secs}) == 200
        ctl["b4"].clear_faults()
        wait_for(lambda: _job_counts(mysql, tenant.id).get((rts[4], "done"), 0) == 200,
                 30, step=0.2, what="the router that came back")
        assert len(ctl["b4"].secrets()) == 200
        print(f"four routers drained 800 jobs in {took:.1f}s")


def test_two_daemons_keep_each_customers_order(tenant, mysql):
    """A second rtrw-provision beside the stack's: jobs of one customer
    are applied in order, none twice out of order, and the routers end
    as the database says."""
    op = tenant.operator
    p = plan(op)
    p2 = plan(op)
    env = dict(os.environ)
    log = open(pathlib.Path(os.environ["LOG_DIR"]) / "provision-2.log", "ab")
    second = subprocess.Popen([os.path.join(os.environ["RTRW_BIN"], "rtrw-provision"),
                               "--config", os.environ["RTRW_CONFIG"], "run"],
                              stdout=log, stderr=log, env=env)
    try:
        with start_sim(routers=["o1:0", "o2:0"]) as s:
            rts = [make_router(op, r["port"])["id"] for r in s.routers]
            cs = [customer(op, p["id"], rts[i % 2], f"ord{i}") for i in range(10)]
            for c in cs:
                act(op, c["id"], "activate")
            for c in cs[:5]:
                act(op, c["id"], "suspend")
                op.patch(f"/customers/{c['id']}", {"service_plan_id": p2["id"]})
                act(op, c["id"], "activate")
            for c in cs[5:8]:
                act(op, c["id"], "terminate")
            for c in cs:
                wait_settled(mysql, c["id"], 20)
            cur = mysql.cursor()
            for c in cs:
                cur.execute("SELECT id, status, done_at, attempts FROM provisioning_jobs"
                            " WHERE customer_id=%s ORDER BY id", (c["id"],))
                rows = cur.fetchall()
                assert all(r[1] == "done" for r in rows)
                dones = [r[2] for r in rows]
                assert dones == sorted(dones), rows
            for i, c in enumerate(cs):
                sec = s.router(f"o{i % 2 + 1}").secret(f"ord{i}")
                if i in (5, 6, 7):
                    assert sec is None
                else:
                    assert sec and sec["disabled"] == "false"
                    assert sec["profile"] == (p2 if i < 5 else p)["mikrotik_profile"]
            adds = [e["words"][0] for e in s.router("o1").log() + s.router("o2").log()
                    if e["words"][0] == "/ppp/secret/add"]
            assert len(adds) == 10
    finally:
        second.terminate()
        assert second.wait(20) == 0
        log.close()
