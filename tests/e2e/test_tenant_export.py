"""rtrw-admin tenant export ID --out FILE: all of one tenant's data, and
nothing of any other, as a tar of JSON lines with a manifest."""
import hashlib
import io
import json
import tarfile
from decimal import Decimal

from support import run_tool
from test_customers import create as create_customer


def tenant_tables(mysql):
    with mysql.cursor() as cur:
        cur.execute("SELECT c.table_name FROM information_schema.columns c"
                    " JOIN information_schema.tables t USING (table_schema,"
                    " table_name) WHERE c.table_schema = 'rtrw' AND"
                    " c.column_name = 'tenant_id' AND"
                    " t.table_type = 'BASE TABLE'")
        return {r[0] for r in cur.fetchall()}


def read_archive(path):
    with tarfile.open(path) as tar:
        names = tar.getnames()
        files = {n: tar.extractfile(n).read() for n in names}
    return names, files


def test_export_holds_exactly_one_tenants_rows(tenant, tenant_b, mysql,
                                               tmp_path):
    name = "Siti Nurhaliza — Warung Kopi"
    c = create_customer(tenant.operator, name=name, pppoe_username="siti",
                        pppoe_password="rahasia-pppoe", monthly_price=175000.5)
    r = tenant.operator.post("/payments", {"customer_id": c["id"],
                                           "amount": 175000.5,
                                           "payment_date": "2026-03-05"})
    assert r.status_code == 201, r.text
    r = tenant.technician.post("/tickets", {"customer_id": c["id"],
                                            "title": "Internet lambat",
                                            "description": "sejak kemarin"})
    assert r.status_code == 201, r.text
    create_customer(tenant_b.operator, name="Tetangga Lain")

    out = tmp_path / "export.tar"
    r = run_tool("rtrw-admin", "tenant", "export", str(tenant.id), "--out",
                 str(out))
    assert f"tenant {tenant.id} exported" in r.stdout
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    names, files = read_archive(out)
    assert names[0] == "manifest.json"
    m = json.loads(files["manifest.json"])
    assert m["format"] == "rtrw-tenant-export" and m["version"] == 1
    assert m["tenant"]["id"] == tenant.id and m["tenant"]["slug"] == tenant.slug
    assert m["schema_version"] >= 10

    listed = {t["name"]: t for t in m["tables"]}
    excluded = {t["name"] for t in m["excluded_tables"]}
    # Every table with a tenant_id is there or named as excluded.
    assert set(listed) | excluded == tenant_tables(mysql) | {"tenants"}
    assert excluded == {"refresh_tokens"}
    assert set(names) == {"manifest.json"} | {t["file"] for t in m["tables"]}

    for t, info in listed.items():
        data = files[info["file"]]
        assert hashlib.sha256(data).hexdigest() == info["sha256"], t
        rows = [json.loads(line, parse_float=Decimal)
                for line in data.decode("utf-8").splitlines()]
        assert len(rows) == info["rows"], t
        key = "id" if t == "tenants" else "tenant_id"
        with mysql.cursor() as cur:
            cur.execute(f"SELECT COUNT(*) FROM `{t}` WHERE `{key}` = %s",
                        (tenant.id,))
            assert cur.fetchone()[0] == len(rows), t
        for row in rows:
            assert row[key] == tenant.id, (t, row)
            assert set(row) == set(info["columns"]), t
        for col in info["omitted_columns"]:
            assert all(col["name"] not in row for row in rows)

    customers = [json.loads(x, parse_float=Decimal)
                 for x in files["customers.jsonl"].decode().splitlines()]
    assert [x["name"] for x in customers] == [name]
    assert customers[0]["monthly_price"] == Decimal("175000.50")
    assert customers[0]["created_at"].endswith("Z")
    # A secret, and a generated column (the database computes it on load).
    assert {o["name"] for o in listed["customers"]["omitted_columns"]} == \
        {"pppoe_password_enc"}
    assert {o["name"] for o in listed["payments"]["omitted_columns"]} == \
        {"invoice_customer_id"}
    assert {o["name"] for o in listed["users"]["omitted_columns"]} == \
        {"password_hash"}
    raw = open(out, "rb").read()
    assert b"Tetangga Lain" not in raw and tenant_b.slug.encode() not in raw
    assert b"$argon2" not in raw
    assert len(files["payments.jsonl"].splitlines()) == 1
    assert files["tickets.jsonl"].count(b"Internet lambat") == 1


def test_export_refuses_unknown_tenant_and_existing_file(tenant, tmp_path):
    out = tmp_path / "x.tar"
    r = run_tool("rtrw-admin", "tenant", "export", "999999999", "--out",
                 str(out), check=False)
    assert r.returncode == 1 and "no tenant 999999999" in r.stderr
    assert not out.exists() and not (tmp_path / "x.tar.part").exists()
    out.write_bytes(b"keep me")
    r = run_tool("rtrw-admin", "tenant", "export", str(tenant.id), "--out",
                 str(out), check=False)
    assert r.returncode == 1 and "exists" in r.stderr
    assert out.read_bytes() == b"keep me"
    r = run_tool("rtrw-admin", "tenant", "export", "abc", "--out", str(out),
                 check=False)
    assert r.returncode == 2
    # The archive opens with any tar, here Python's.
    good = tmp_path / "good.tar"
    run_tool("rtrw-admin", "tenant", "export", str(tenant.id), "--out",
             str(good))
    with tarfile.open(good) as tar:
        assert tar.getmember("manifest.json").isfile()
        assert json.load(io.BytesIO(tar.extractfile("users.jsonl")
                                    .read().splitlines()[0]))["role"] == "admin"
