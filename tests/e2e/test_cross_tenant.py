"""Tenant B can neither read, list, change nor delete tenant A's objects:
every route with an id answers 404, exactly as for an id that does not
exist, and A's row stays byte-for-byte the same."""
import pytest

from routes_matrix import BODIES, OBJECTS, PLATFORM, ROLE, binary_routes


def _snapshot(db, table, id):
    cur = db.cursor()
    cur.execute(f"SELECT * FROM `{table}` WHERE id=%s", (id,))
    return cur.fetchall()


def test_every_route_with_an_id_has_a_factory():
    prefixes = {p.split("/{id}")[0] for _, p, role in binary_routes()
                if "{id}" in p and role != PLATFORM}
    assert prefixes - set(OBJECTS) == set(), "add factories to routes_matrix.OBJECTS"


def test_foreign_ids_are_404_and_rows_unchanged(tenant, tenant_b, mysql):
    failures = []
    ids = {}
    for prefix, (table, make) in OBJECTS.items():
        ids[prefix] = (table, make(tenant, mysql))
    before = {p: _snapshot(mysql, t, i) for p, (t, i) in ids.items()}
    for method, path, role in binary_routes():
        if "{id}" not in path or role == PLATFORM:
            continue
        prefix = path.split("/{id}")[0]
        table, id = ids[prefix]
        rel = path.replace("{id}", str(id))[len("/api/v1"):]
        body = BODIES.get((method, path), {}) if method in ("POST", "PUT", "PATCH") \
            else None
        r = tenant_b.admin.request(method, rel, json=body)
        if r.status_code != 404 or r.json()["error"]["code"] != "not_found":
            failures.append((method, rel, r.status_code, r.text[:200]))
    for p, (t, i) in ids.items():
        assert _snapshot(mysql, t, i) == before[p], f"{t} {i} changed"
    # The owner still sees them: the 404s were about tenancy.
    for prefix, (table, id) in ids.items():
        r = tenant.admin.get(f"{prefix[len('/api/v1'):]}/{id}")
        assert r.status_code == 200, (prefix, r.status_code)
    assert not failures, failures
