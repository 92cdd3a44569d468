"""The whole role matrix: every route x every role x expected outcome.

A role below the route's minimum gets 403 before anything else happens
(even with an invalid body); a role at or above it gets past the role
check (any answer but 401/403).  Ids and keys in paths point at nothing,
so the allowed calls cannot change data.
"""
import pytest

from routes_matrix import A, ORDER, PLATFORM, PLATFORM_TOO, PUBLIC, ROLE, binary_routes
from support import ROLES, Client

MISSING_ID = "999999999"
# A word the router takes for a {key} segment that names no template.
MISSING_KEY = "no_such_key"


def test_every_route_is_in_the_matrix():
    routes = {(m, p) for m, p, _ in binary_routes()}
    assert routes - set(ROLE) == set(), "add these routes to routes_matrix.ROLE"
    assert set(ROLE) - routes == set(), "routes_matrix.ROLE lists routes that do not exist"


def test_binary_roles_match_the_matrix():
    for method, path, role in binary_routes():
        assert ROLE[(method, path)] == role, (method, path, role)


def _call(client, method, path):
    path = path.replace("{id}", MISSING_ID).replace("{key}", MISSING_KEY)
    rel = path[len("/api/v1"):] if path.startswith("/api/v1") else path
    body = {} if method in ("POST", "PUT", "PATCH") else None
    return client.request(method, rel, json=body)


def test_matrix_for_tenant_roles(tenant):
    failures = []
    for (method, path), need in sorted(ROLE.items()):
        if need == PUBLIC:
            continue
        for role in ROLES:
            r = _call(tenant.clients[role], method, path)
            allowed = need != PLATFORM and ORDER[role] >= ORDER[need]
            if allowed and r.status_code in (401, 403):
                failures.append((method, path, role, r.status_code, "should pass"))
            if not allowed and r.status_code != 403:
                failures.append((method, path, role, r.status_code, "should be 403"))
            if not allowed and r.json()["error"]["code"] != "forbidden":
                failures.append((method, path, role, r.text, "wrong code"))
    assert not failures, failures


def test_matrix_without_token_is_401():
    anon = Client()
    for (method, path), need in sorted(ROLE.items()):
        if need == PUBLIC:
            continue
        r = _call(anon, method, path)
        assert r.status_code == 401, (method, path, r.status_code)


def test_matrix_for_platform_admin(platform):
    for (method, path), need in sorted(ROLE.items()):
        if need == PUBLIC:
            continue
        r = _call(platform, method, path)
        if need == PLATFORM or (method, path) in PLATFORM_TOO:
            assert r.status_code not in (401, 403), (method, path, r.status_code)
        else:
            assert r.status_code == 403, (method, path, r.status_code)
