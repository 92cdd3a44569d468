"""The role matrix of API.md as data, and how to make one object of each
resource, for the table-driven role and cross-tenant tests.

ROLE: (method, path) -> the least role that may call it.  Every route the
binary has must be listed (test_roles.py fails otherwise), so a new route
cannot skip the matrix.

OBJECTS: path prefix before "{id}" -> (table, factory).  The factory makes
one object in the given tenant and returns its id; the cross-tenant test
then attacks it from another tenant.
"""
import os
import pathlib
import subprocess

V, T, O, A = "viewer", "technician", "operator", "admin"
PUBLIC, PLATFORM = "public", "platform"
ORDER = {PUBLIC: 0, V: 1, T: 2, O: 3, A: 4}

ROLE = {
    ("GET", "/health"): PUBLIC,
    ("POST", "/api/v1/tenants/register"): PUBLIC,
    ("POST", "/api/v1/auth/login"): PUBLIC,
    ("POST", "/api/v1/auth/refresh"): PUBLIC,
    ("POST", "/api/v1/auth/logout"): PUBLIC,
    ("GET", "/api/v1/auth/me"): V,
    ("GET", "/api/v1/tenant"): V,
    ("PATCH", "/api/v1/tenant"): A,
    ("GET", "/api/v1/users"): A,
    ("POST", "/api/v1/users"): A,
    ("GET", "/api/v1/users/{id}"): A,
    ("PATCH", "/api/v1/users/{id}"): A,
    ("DELETE", "/api/v1/users/{id}"): A,
    ("GET", "/api/v1/audit-logs"): A,
    ("GET", "/api/v1/audit-logs/{id}"): A,
    ("GET", "/api/v1/platform/tenants"): PLATFORM,
    ("GET", "/api/v1/platform/tenants/{id}"): PLATFORM,
    ("DELETE", "/api/v1/platform/tenants/{id}"): PLATFORM,
    ("GET", "/api/v1/platform/backups"): PLATFORM,
    ("POST", "/api/v1/platform/backups"): PLATFORM,
    ("GET", "/api/v1/platform/backups/{id}"): PLATFORM,
    ("POST", "/api/v1/platform/backups/{id}/verify"): PLATFORM,
    ("GET", "/api/v1/platform/alerts"): PLATFORM,
    ("GET", "/api/v1/platform/alerts/{id}"): PLATFORM,
    ("POST", "/api/v1/platform/alerts/{id}/acknowledge"): PLATFORM,
}


# Tenant routes platform administrators may call as well.
PLATFORM_TOO = {("GET", "/api/v1/auth/me")}


def binary_routes():
    binary = pathlib.Path(os.environ.get("RTRW_BIN", "build/asan/bin")) / "rtrw-api"
    out = subprocess.run([str(binary), "--routes"], check=True,
                         capture_output=True, text=True).stdout
    return [tuple(line.split()) for line in out.splitlines()]


def _user(t, db):
    return t.users["viewer"]["id"]


def _audit(t, db):
    cur = db.cursor()
    cur.execute("SELECT MAX(id) FROM audit_logs WHERE tenant_id=%s", (t.id,))
    return cur.fetchone()[0]


OBJECTS = {
    "/api/v1/users": ("users", _user),
    "/api/v1/audit-logs": ("audit_logs", _audit),
}


# ---- Tickets, inventory, devices, alerts ----------------
ROLE.update({
    ("GET", "/api/v1/tickets"): V,
    ("POST", "/api/v1/tickets"): T,
    ("GET", "/api/v1/tickets/{id}"): V,
    ("PATCH", "/api/v1/tickets/{id}"): T,
    ("GET", "/api/v1/tickets/{id}/comments"): V,
    ("POST", "/api/v1/tickets/{id}/comments"): T,
    ("GET", "/api/v1/inventory"): V,
    ("POST", "/api/v1/inventory"): T,
    ("GET", "/api/v1/inventory/{id}"): V,
    ("PATCH", "/api/v1/inventory/{id}"): T,
    ("DELETE", "/api/v1/inventory/{id}"): A,
    ("POST", "/api/v1/inventory/{id}/adjust"): T,
    ("GET", "/api/v1/inventory/{id}/movements"): V,
    ("GET", "/api/v1/devices"): V,
    ("POST", "/api/v1/devices"): T,
    ("GET", "/api/v1/devices/{id}"): V,
    ("PATCH", "/api/v1/devices/{id}"): T,
    ("DELETE", "/api/v1/devices/{id}"): A,
    ("POST", "/api/v1/devices/{id}/check"): T,
    ("GET", "/api/v1/alerts"): V,
    ("GET", "/api/v1/alerts/{id}"): V,
    ("POST", "/api/v1/alerts/{id}/acknowledge"): T,
    ("GET", "/api/v1/exports/customers"): O,
    ("GET", "/api/v1/exports/payments"): O,
})


def _ticket(t, db):
    cur = db.cursor()
    cur.execute("INSERT INTO service_plans (tenant_id, name, speed_download,"
                " speed_upload, price, mikrotik_profile)"
                " VALUES (%s, 'm', 1000, 1000, 1, 'm')", (t.id,))
    cur.execute("INSERT INTO customers (tenant_id, customer_code, name, phone,"
                " address, service_plan_id, monthly_price)"
                " VALUES (%s, 'C-MATRIX', 'x', '0812345678', 'x', %s, 1)",
                (t.id, cur.lastrowid))
    r = t.technician.post("/tickets", {"customer_id": cur.lastrowid,
                                       "title": "x", "description": "x"})
    return r.json()["data"]["id"]


def _inventory(t, db):
    r = t.technician.post("/inventory", {"name": "x", "type": "tools", "quantity": 1,
                                         "min_quantity": 1})
    return r.json()["data"]["id"]


def _device(t, db):
    # Loopback only: a check from any test must never leave the machine.
    r = t.technician.post("/devices", {"name": "x", "type": "ap",
                                       "ip_address": "127.0.0.1"})
    return r.json()["data"]["id"]


def _alert(t, db):
    _inventory(t, db)  # quantity 1 <= min_quantity 1: a low_stock alert
    cur = db.cursor()
    cur.execute("SELECT MAX(id) FROM alerts WHERE tenant_id=%s", (t.id,))
    return cur.fetchone()[0]


OBJECTS.update({
    "/api/v1/tickets": ("tickets", _ticket),
    "/api/v1/inventory": ("inventory", _inventory),
    "/api/v1/devices": ("devices", _device),
    "/api/v1/alerts": ("alerts", _alert),
})


# ---- Service plans, customers, payments, dashboard ------
ROLE.update({
    ("GET", "/api/v1/service-plans"): V,
    ("POST", "/api/v1/service-plans"): O,
    ("GET", "/api/v1/service-plans/{id}"): V,
    ("PATCH", "/api/v1/service-plans/{id}"): O,
    ("DELETE", "/api/v1/service-plans/{id}"): A,
    ("GET", "/api/v1/service-plans/{id}/price-history"): V,
    ("GET", "/api/v1/customers"): V,
    ("POST", "/api/v1/customers"): O,
    ("GET", "/api/v1/customers/stats"): V,
    ("GET", "/api/v1/customers/{id}"): V,
    ("PATCH", "/api/v1/customers/{id}"): O,
    ("DELETE", "/api/v1/customers/{id}"): A,
    ("POST", "/api/v1/customers/{id}/activate"): O,
    ("POST", "/api/v1/customers/{id}/suspend"): O,
    ("POST", "/api/v1/customers/{id}/terminate"): O,
    ("GET", "/api/v1/payments"): V,
    ("POST", "/api/v1/payments"): O,
    ("GET", "/api/v1/payments/{id}"): V,
    ("PATCH", "/api/v1/payments/{id}"): O,
    ("GET", "/api/v1/dashboard/stats"): V,
})


def _plan(t, db):
    r = t.operator.post("/service-plans", {"name": "Matrix", "speed_download": 1000,
                                           "speed_upload": 500, "price": 1000})
    return r.json()["data"]["id"]


def _customer(t, db):
    r = t.operator.post("/customers", {"name": "Matrix", "phone": "081200000001",
                                       "address": "x", "service_plan_id": _plan(t, db),
                                       "router_id": _router(t, db)})
    return r.json()["data"]["id"]


def _payment(t, db):
    r = t.operator.post("/payments", {"customer_id": _customer(t, db), "amount": 1000})
    return r.json()["data"]["id"]


# ---- Usage monitoring (the customer factory serves its {id} routes) --
ROLE.update({
    ("GET", "/api/v1/customers/{id}/usage"): V,
    ("GET", "/api/v1/customers/{id}/usage/realtime"): V,
    ("GET", "/api/v1/monitoring/overview"): V,
    ("GET", "/api/v1/monitoring/settings"): V,
    ("PATCH", "/api/v1/monitoring/settings"): A,
})


OBJECTS.update({
    "/api/v1/service-plans": ("service_plans", _plan),
    "/api/v1/customers": ("customers", _customer),
    "/api/v1/payments": ("payments", _payment),
})


# Valid bodies for the routes that need one, so that the cross-tenant
# test reaches the handler's tenant check instead of stopping at
# validation (422 would prove nothing about tenancy).
BODIES = {
    ("POST", "/api/v1/tickets/{id}/comments"): {"body": "cross-tenant probe"},
    ("POST", "/api/v1/inventory/{id}/adjust"): {"delta": 1, "reason": "probe"},
}


# ---- Speed boosts ---------------------------------------
ROLE.update({
    ("GET", "/api/v1/speed-boosts"): V,
    ("POST", "/api/v1/speed-boosts"): O,
    ("GET", "/api/v1/speed-boosts/{id}"): V,
    ("POST", "/api/v1/speed-boosts/{id}/approve"): O,
    ("POST", "/api/v1/speed-boosts/{id}/reject"): O,
    ("POST", "/api/v1/speed-boosts/{id}/cancel"): O,
})


def _speed_boost(t, db):
    slow = _plan(t, db)
    fast = t.operator.post("/service-plans", {"name": "Matrix boost",
                                              "speed_download": 2000,
                                              "speed_upload": 1000,
                                              "price": 2000}).json()["data"]["id"]
    cid = t.operator.post("/customers", {"name": "Matrix", "phone": "081200000002",
                                         "address": "x",
                                         "service_plan_id": slow}).json()["data"]["id"]
    r = t.operator.post("/speed-boosts", {"customer_id": cid, "boost_plan_id": fast,
                                          "duration_hours": 24})
    return r.json()["data"]["id"]


OBJECTS.update({
    "/api/v1/speed-boosts": ("speed_boosts", _speed_boost),
})

BODIES.update({
    ("POST", "/api/v1/speed-boosts/{id}/reject"): {"reason": "cross-tenant probe"},
})


# ---- MikroTik routers and provisioning ------------------
ROLE.update({
    ("GET", "/api/v1/routers"): V,
    ("POST", "/api/v1/routers"): O,
    ("GET", "/api/v1/routers/{id}"): V,
    ("PATCH", "/api/v1/routers/{id}"): O,
    ("DELETE", "/api/v1/routers/{id}"): A,
    ("POST", "/api/v1/routers/{id}/test"): O,
    ("POST", "/api/v1/routers/{id}/sync"): O,
    ("POST", "/api/v1/routers/{id}/import"): O,
    ("GET", "/api/v1/provisioning-jobs"): V,
    ("GET", "/api/v1/provisioning-jobs/{id}"): V,
    ("POST", "/api/v1/provisioning-jobs/{id}/retry"): O,
})


def _router(t, db):
    # The stack's simulated router, on loopback.
    from rtsupport import stack_router
    return stack_router(t.operator)["id"]


def _provisioning_job(t, db):
    from rtsupport import customer, wait_settled
    c = customer(t.operator, _plan(t, db), _router(t, db),
                 "matrix-" + t.slug)
    t.operator.post(f"/customers/{c['id']}/activate")
    wait_settled(db, c["id"])  # so that the row stays as it is
    cur = db.cursor()
    cur.execute("SELECT MAX(id) FROM provisioning_jobs WHERE tenant_id=%s", (t.id,))
    return cur.fetchone()[0]


OBJECTS.update({
    "/api/v1/routers": ("routers", _router),
    "/api/v1/provisioning-jobs": ("provisioning_jobs", _provisioning_job),
})


# ---- Email: SMTP settings, templates, the notification queue ----
ROLE.update({
    ("GET", "/api/v1/settings/smtp"): A,
    ("PUT", "/api/v1/settings/smtp"): A,
    ("DELETE", "/api/v1/settings/smtp"): A,
    ("GET", "/api/v1/email-templates"): O,
    ("GET", "/api/v1/email-templates/{key}"): O,
    ("PUT", "/api/v1/email-templates/{key}"): A,
    ("GET", "/api/v1/notifications"): O,
    ("GET", "/api/v1/notifications/{id}"): O,
})


def _notification(t, db):
    cur = db.cursor()
    cur.execute("INSERT INTO notifications (tenant_id, template_key,"
                " recipient_email, status, attempts, last_error)"
                " VALUES (%s, 'payment_overdue', 'matrix@example.com',"
                " 'failed', 3, '554 rejected')", (t.id,))
    return cur.lastrowid


OBJECTS.update({
    "/api/v1/notifications": ("notifications", _notification),
})


# ---- Reports and report schedules (issue 11 section 2) ----
ROLE.update({
    ("GET", "/api/v1/reports"): O,
    ("POST", "/api/v1/reports"): O,
    ("GET", "/api/v1/reports/{id}"): O,
    ("GET", "/api/v1/reports/{id}/download"): O,
    ("GET", "/api/v1/report-files"): PUBLIC,
    ("GET", "/api/v1/report-schedules"): O,
    ("POST", "/api/v1/report-schedules"): O,
    ("GET", "/api/v1/report-schedules/{id}"): O,
    ("PATCH", "/api/v1/report-schedules/{id}"): O,
    ("DELETE", "/api/v1/report-schedules/{id}"): A,
})


def _report(t, db):
    """A done report: the cross-tenant test compares the row before and
    after, so it must not be one that rtrw-reports is still changing."""
    import time
    r = t.operator.post("/reports", {"type": "payments", "from": "2026-01-01",
                                     "to": "2026-01-31", "format": "csv"})
    rid = r.json()["data"]["id"]
    deadline = time.time() + 60
    while t.operator.get(f"/reports/{rid}").json()["data"]["status"] != "done":
        assert time.time() < deadline, "rtrw-reports did not build the report"
        time.sleep(0.1)
    return rid


def _report_schedule(t, db):
    r = t.operator.post("/report-schedules", {
        "name": "Matrix", "type": "revenue", "format": "csv",
        "frequency": "daily", "recipients": ["matrix@example.id"]})
    return r.json()["data"]["id"]


OBJECTS.update({
    "/api/v1/reports": ("reports", _report),
    "/api/v1/report-schedules": ("report_schedules", _report_schedule),
})
BODIES.update({
    ("PATCH", "/api/v1/report-schedules/{id}"): {"name": "cross-tenant probe"},
})
