"""Login, tokens, refresh rotation and theft detection, logout, me."""
import time
import uuid

import pytest

from support import PASSWORD, Client, forge_jwt, login, make_tenant


def claims(t, role="admin", **over):
    now = int(time.time())
    c = {"sub": t.users[role]["id"], "tid": t.id, "role": role,
         "iat": now, "exp": now + 600, "jti": uuid.uuid4().hex}
    c.update(over)
    return c


def test_login_returns_tokens_and_user(tenant):
    data = login(tenant.slug, f"admin@{tenant.slug}.example.id")
    assert data["token_type"] == "Bearer"
    assert data["expires_in"] == 900
    assert len(data["refresh_token"]) == 64
    assert data["user"]["role"] == "admin"
    assert "password_hash" not in data["user"]
    assert data["access_token"].count(".") == 2


def test_wrong_tenant_email_or_password_are_the_same_401(tenant, mysql):
    email = f"admin@{tenant.slug}.example.id"
    bodies = []
    for body in ({"tenant": tenant.slug, "email": email, "password": "wrong-password"},
                 {"tenant": tenant.slug, "email": "nobody@x.id", "password": PASSWORD},
                 {"tenant": "no-such-tenant", "email": email, "password": PASSWORD}):
        r = Client().post("/auth/login", body)
        assert r.status_code == 401
        bodies.append(r.json())
    assert bodies[0] == bodies[1] == bodies[2]
    assert bodies[0]["error"]["code"] == "unauthorized"
    cur = mysql.cursor()
    cur.execute("SELECT COUNT(*) FROM audit_logs WHERE tenant_id=%s AND action='login_failed'",
                (tenant.id,))
    assert cur.fetchone()[0] == 2


def test_email_is_case_insensitive(tenant):
    data = login(tenant.slug, f"ADMIN@{tenant.slug.upper()}.EXAMPLE.ID".replace(
        tenant.slug.upper(), tenant.slug))
    assert data["user"]["email"] == f"admin@{tenant.slug}.example.id"


def test_unknown_user_costs_as_much_as_a_wrong_password(tenant):
    def timed(body):
        best = 1e9
        for _ in range(3):
            t0 = time.perf_counter()
            assert Client().post("/auth/login", body).status_code == 401
            best = min(best, time.perf_counter() - t0)
        return best
    known = timed({"tenant": tenant.slug, "email": f"viewer@{tenant.slug}.example.id",
                   "password": "wrong-password"})
    unknown = timed({"tenant": tenant.slug, "email": "ghost@x.id", "password": "wrong-password"})
    # Both run one argon2id verification; without the dummy hash the
    # unknown user would answer many times faster.
    assert unknown > known * 0.5, (known, unknown)


def test_me(tenant):
    r = tenant.technician.get("/auth/me")
    assert r.status_code == 200
    d = r.json()["data"]
    assert d["role"] == "technician"
    assert d["tenant"] == {"id": tenant.id, "slug": tenant.slug,
                           "name": "RT/RW Net " + tenant.slug,
                           "timezone": "Asia/Jakarta", "status": "active"}
    assert d["user"]["id"] == tenant.users["technician"]["id"]
    assert r.headers["X-RateLimit-Limit"].isdigit()
    assert int(r.headers["X-RateLimit-Remaining"]) >= 0
    assert int(r.headers["X-RateLimit-Reset"]) > time.time() - 1


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer ", "Basic abc", "Bearer a.b.c",
                                    "Bearer " + "x" * 5000])
def test_missing_or_garbage_token_is_401(header):
    h = {"Authorization": header} if header is not None else {}
    r = Client().get("/auth/me", headers=h)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthorized"


def test_expired_token_is_token_expired(tenant):
    tok = forge_jwt(claims(tenant, iat=int(time.time()) - 3600,
                           exp=int(time.time()) - 1800))
    r = Client(tok).get("/auth/me")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "token_expired"
    # A token signed the same way but still valid works: the forgery
    # helper is right, so the 401 above is about expiry.
    assert Client(forge_jwt(claims(tenant))).get("/auth/me").status_code == 200


def test_tampered_wrong_key_and_alg_none_are_refused(tenant):
    good = tenant.viewer.token
    head, body, sig = good.split(".")
    # Flip one character of the payload: the signature no longer matches.
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    assert Client(f"{head}.{flipped}.{sig}").get("/auth/me").status_code == 401
    # Escalate the role in the claims and keep the old signature.
    admin_claims = claims(tenant, role="viewer")
    admin_claims["role"] = "admin"
    forged = forge_jwt(admin_claims, key=b"not-the-server-key-" * 3)
    assert Client(forged).get("/auth/me").status_code == 401
    # alg none, with and without a signature.
    none = forge_jwt(claims(tenant), header={"alg": "none", "typ": "JWT"})
    h, b, _ = none.split(".")
    assert Client(f"{h}.{b}.").get("/auth/me").status_code == 401
    assert Client(none).get("/auth/me").status_code == 401
    # HS512 with the right key is still not what the server issues.
    other = forge_jwt(claims(tenant), header={"alg": "HS512", "typ": "JWT"})
    assert Client(other).get("/auth/me").status_code == 401


def test_token_of_deleted_or_foreign_user_is_refused(tenant, tenant_b):
    # A correctly signed token naming a user of another tenant.
    c = claims(tenant)
    c["tid"] = tenant_b.id
    assert Client(forge_jwt(c)).get("/auth/me").status_code == 401


def refresh(token):
    return Client().post("/auth/refresh", {"refresh_token": token})


def test_refresh_rotates_and_reuse_revokes_family(tenant, mysql):
    first = login(tenant.slug, f"operator@{tenant.slug}.example.id")
    r = refresh(first["refresh_token"])
    assert r.status_code == 200, r.text
    second = r.json()["data"]
    assert second["refresh_token"] != first["refresh_token"]
    assert Client(second["access_token"]).get("/auth/me").status_code == 200
    # The old token is dead, and presenting it again kills the family.
    r = refresh(first["refresh_token"])
    assert r.status_code == 401
    assert "revoked" in r.json()["error"]["message"]
    assert refresh(second["refresh_token"]).status_code == 401
    cur = mysql.cursor()
    cur.execute("SELECT COUNT(*) FROM refresh_tokens WHERE tenant_id=%s AND user_id=%s"
                " AND revoked_at IS NULL", (tenant.id, tenant.users["operator"]["id"]))
    # The fixture's own login is another family and stays alive.
    assert cur.fetchone()[0] == 1
    cur.execute("SELECT COUNT(*) FROM audit_logs WHERE tenant_id=%s AND action='refresh_reuse'",
                (tenant.id,))
    assert cur.fetchone()[0] == 1


def test_refresh_tokens_are_stored_hashed(tenant, mysql):
    data = login(tenant.slug, f"viewer@{tenant.slug}.example.id")
    cur = mysql.cursor()
    cur.execute("SELECT HEX(token_hash) FROM refresh_tokens WHERE tenant_id=%s", (tenant.id,))
    stored = [row[0].lower() for row in cur.fetchall()]
    assert data["refresh_token"] not in stored
    import hashlib
    assert hashlib.sha256(data["refresh_token"].encode()).hexdigest() in stored


@pytest.mark.parametrize("bad", ["", "x", "z" * 64, "A" * 64, "0" * 63, "0" * 65])
def test_refresh_with_garbage_is_401(bad):
    r = refresh(bad)
    assert r.status_code == 401, r.text
    assert r.json()["error"]["code"] == "unauthorized"


def test_refresh_token_over_its_cap_is_422():
    r = refresh("0" * 129)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"] == [
        {"field": "refresh_token", "message": "must be 0 to 128 characters"}]


def test_logout_revokes(tenant):
    data = login(tenant.slug, f"admin@{tenant.slug}.example.id")
    r = Client().post("/auth/logout", {"refresh_token": data["refresh_token"]})
    assert r.status_code == 204
    assert refresh(data["refresh_token"]).status_code == 401
    # Twice is harmless.
    assert Client().post("/auth/logout", {"refresh_token": data["refresh_token"]}).status_code == 204


def test_deactivated_user_cannot_log_in_and_sessions_die(tenant):
    data = login(tenant.slug, f"technician@{tenant.slug}.example.id")
    uid = tenant.users["technician"]["id"]
    assert tenant.admin.delete(f"/users/{uid}").status_code == 204
    assert tenant.technician.get("/auth/me").status_code == 401
    assert refresh(data["refresh_token"]).status_code == 401
    r = Client().post("/auth/login", {"tenant": tenant.slug,
                                       "email": f"technician@{tenant.slug}.example.id",
                                       "password": PASSWORD})
    assert r.status_code == 401


def test_role_change_applies_to_live_tokens(tenant):
    uid = tenant.users["viewer"]["id"]
    assert tenant.viewer.get("/users").status_code == 403
    assert tenant.admin.patch(f"/users/{uid}", {"role": "admin"}).status_code == 200
    assert tenant.viewer.get("/users").status_code == 200


def test_password_rehashed_when_parameters_change(tenant, mysql, reconfigure):
    cur = mysql.cursor()
    uid = tenant.users["viewer"]["id"]
    cur.execute("SELECT password_hash FROM users WHERE id=%s", (uid,))
    before = cur.fetchone()[0]
    with reconfigure(argon2_m_kib=12288, argon2_t=2):
        login(tenant.slug, f"viewer@{tenant.slug}.example.id")
        cur.execute("SELECT password_hash FROM users WHERE id=%s", (uid,))
        after = cur.fetchone()[0]
    assert before != after
    assert after.startswith("$argon2id$v=19$m=12288,t=2,p=1$")
    # Still the same password.
    login(tenant.slug, f"viewer@{tenant.slug}.example.id")


def test_platform_admin_login(tenant, platform_admin):
    data = login("platform", platform_admin["email"], platform_admin["password"])
    assert data["refresh_token"] is None
    c = Client(data["access_token"])
    me = c.get("/auth/me").json()["data"]
    assert me["role"] == "platform" and me["tenant"] is None
    # Platform admins act on tenants, not inside them.
    assert c.get("/users").status_code == 403
    assert c.get("/platform/tenants").status_code == 200
    # And tenant users cannot reach platform routes.
    assert tenant.admin.get("/platform/tenants").status_code == 403


def test_worker_principal_cache_is_bounded(tenant, reconfigure):
    """With auth_cache_ms a worker may reuse the caller's row for that
    long: a role change reaches every worker within it, never later."""
    uid = tenant.users["viewer"]["id"]
    with reconfigure(auth_cache_ms=1000):
        for _ in range(4):  # warm every worker's cache with "viewer"
            assert tenant.viewer.get("/users").status_code == 403
        assert tenant.admin.patch(f"/users/{uid}", {"role": "admin"}).status_code == 200
        # A second later every worker has read the row again.
        time.sleep(1.1)
        assert [tenant.viewer.get("/users").status_code for _ in range(6)] == [200] * 6
        # Deactivation is bounded the same way.
        assert tenant.admin.delete(f"/users/{uid}").status_code == 204
        time.sleep(1.1)
        assert [tenant.viewer.get("/auth/me").status_code for _ in range(6)] == [401] * 6
