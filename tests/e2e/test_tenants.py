"""Tenant registration and tenant settings."""
import pytest

from support import PASSWORD, Client, unique


def register(slug, **over):
    body = {"tenant_name": "Net " + slug, "tenant_slug": slug, "admin_name": "Admin",
            "admin_email": f"a@{slug}.id", "admin_password": PASSWORD}
    body.update(over)
    return Client().post("/tenants/register", body)


def test_register_creates_tenant_admin_and_audit(mysql):
    slug = unique("reg")
    r = register(slug)
    assert r.status_code == 201, r.text
    d = r.json()["data"]
    assert d["tenant"]["slug"] == slug and d["tenant"]["timezone"] == "Asia/Jakarta"
    assert d["user"]["role"] == "admin"
    cur = mysql.cursor()
    cur.execute("SELECT COUNT(*) FROM users WHERE tenant_id=%s", (d["tenant"]["id"],))
    assert cur.fetchone()[0] == 1
    cur.execute("SELECT entity_type FROM audit_logs WHERE tenant_id=%s ORDER BY id",
                (d["tenant"]["id"],))
    assert [r[0] for r in cur.fetchall()] == ["tenant", "user"]
    cur.execute("SELECT COUNT(*) FROM audit_chain WHERE tenant_id=%s", (d["tenant"]["id"],))
    assert cur.fetchone()[0] == 1


def test_slug_clash_is_409_and_changes_nothing(mysql):
    slug = unique("dup")
    assert register(slug).status_code == 201
    cur = mysql.cursor()
    cur.execute("SELECT COUNT(*) FROM users")
    users = cur.fetchone()[0]
    r = register(slug, admin_email="other@x.id")
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    cur.execute("SELECT COUNT(*) FROM users")
    assert cur.fetchone()[0] == users


@pytest.mark.parametrize("over", [
    {"tenant_slug": "AB"}, {"tenant_slug": "-abc"}, {"tenant_slug": "a" * 41},
    {"tenant_slug": "platform"}, {"admin_password": "short"},
    {"admin_email": "nope"}, {"tenant_name": "<b>x</b>"}, {"timezone": "Mars/Base"},
    {"unknown": 1},
])
def test_register_validation(over):
    slug = unique("val")
    r = register(slug, **over)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "validation_failed"


def test_tenant_settings(tenant):
    assert tenant.viewer.get("/tenant").json()["data"]["slug"] == tenant.slug
    assert tenant.operator.patch("/tenant", {"timezone": "Asia/Makassar"}).status_code == 403
    r = tenant.admin.patch("/tenant", {"timezone": "Asia/Makassar"})
    assert r.status_code == 200 and r.json()["data"]["timezone"] == "Asia/Makassar"
    assert tenant.admin.patch("/tenant", {"timezone": "../etc/passwd"}).status_code == 422
