"""Users of a tenant: CRUD for admins, unique emails, the last admin."""
from support import PASSWORD, Client, login


def test_create_list_get_update(tenant, mysql):
    r = tenant.admin.post("/users", {"name": "Siti", "email": "Siti@Example.ID",
                                     "password": "0123456789", "role": "technician"})
    assert r.status_code == 201, r.text
    u = r.json()["data"]
    assert u["email"] == "siti@example.id" and u["role"] == "technician"
    assert u["active"] is True and "password" not in u and "password_hash" not in u
    r = tenant.admin.get("/users?role=technician&sort=-created_at")
    assert r.status_code == 200
    emails = [x["email"] for x in r.json()["data"]]
    assert "siti@example.id" in emails and r.json()["meta"]["total"] == 2
    assert tenant.admin.get(f"/users/{u['id']}").json()["data"]["name"] == "Siti"
    r = tenant.admin.patch(f"/users/{u['id']}", {"name": "Siti A.", "role": "operator"})
    assert r.status_code == 200 and r.json()["data"]["role"] == "operator"
    cur = mysql.cursor()
    cur.execute("SELECT name, role FROM users WHERE id=%s", (u["id"],))
    assert cur.fetchone() == ("Siti A.", "operator")
    cur.execute("SELECT action, old_values, new_values FROM audit_logs WHERE tenant_id=%s"
                " AND entity_type='user' AND entity_id=%s ORDER BY id", (tenant.id, u["id"]))
    rows = cur.fetchall()
    assert [r[0] for r in rows] == ["create", "update"]
    assert '"technician"' in rows[1][1] and '"operator"' in rows[1][2]


def test_email_unique_per_tenant_only(tenant, tenant_b):
    body = {"name": "Dup", "email": "dup@example.id", "password": "0123456789", "role": "viewer"}
    assert tenant.admin.post("/users", body).status_code == 201
    r = tenant.admin.post("/users", dict(body, email="DUP@example.id"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    assert tenant_b.admin.post("/users", body).status_code == 201


def test_validation(tenant):
    cases = [
        {"name": "x", "email": "bad", "password": "0123456789", "role": "viewer"},
        {"name": "x", "email": "a@b.id", "password": "short", "role": "viewer"},
        {"name": "x", "email": "a@b.id", "password": "0123456789", "role": "root"},
        {"name": "<script>alert(1)</script>", "email": "a@b.id", "password": "0123456789",
         "role": "viewer"},
        {"name": "x", "email": "a@b.id", "password": "0123456789", "role": "viewer", "admin": True},
        {"email": "a@b.id", "password": "0123456789", "role": "viewer"},
    ]
    for body in cases:
        r = tenant.admin.post("/users", body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"]["details"]
    assert tenant.admin.get("/users").json()["meta"]["total"] == 4


def test_password_change_ends_sessions(tenant):
    uid = tenant.users["viewer"]["id"]
    old = login(tenant.slug, f"viewer@{tenant.slug}.example.id")
    r = tenant.admin.patch(f"/users/{uid}", {"password": "a-new-password-1"})
    assert r.status_code == 200
    assert Client().post("/auth/refresh", {"refresh_token": old["refresh_token"]}).status_code == 401
    login(tenant.slug, f"viewer@{tenant.slug}.example.id", "a-new-password-1")


def test_last_active_admin_is_protected(tenant, mysql):
    admin_id = tenant.users["admin"]["id"]
    for body in ({"role": "viewer"}, {"active": False}):
        r = tenant.admin.patch(f"/users/{admin_id}", body)
        assert r.status_code == 409, r.text
    assert tenant.admin.delete(f"/users/{admin_id}").status_code == 409
    # With a second admin the first may go.
    op = tenant.users["operator"]["id"]
    assert tenant.admin.patch(f"/users/{op}", {"role": "admin"}).status_code == 200
    assert tenant.admin.delete(f"/users/{admin_id}").status_code == 204
    cur = mysql.cursor()
    cur.execute("SELECT active FROM users WHERE id=%s", (admin_id,))
    assert cur.fetchone()[0] == 0
    cur.execute("SELECT COUNT(*) FROM users WHERE tenant_id=%s", (tenant.id,))
    assert cur.fetchone()[0] == 4


def test_unknown_ids_and_bad_ids(tenant):
    assert tenant.admin.get("/users/999999999").status_code == 404
    assert tenant.admin.get("/users/abc").status_code == 404
    assert tenant.admin.get("/users/0").status_code == 404
    r = tenant.admin.get("/users?per_page=101")
    assert r.status_code == 422
    assert tenant.admin.get("/users?sort=password_hash").status_code == 422
    assert tenant.admin.get("/users?page=0").status_code == 422
    r = tenant.admin.get("/users?per_page=100&page=2")
    assert r.status_code == 200 and r.json()["data"] == []
