"""GET /exports/customers and /exports/payments (API.md "Exports and
reports"): parsed back with Python's csv module and openpyxl and compared
with what the API says, with a formula-injection row and non-ASCII names,
for the caller's tenant and role only."""
import csv
import datetime
import io
from decimal import Decimal

import openpyxl
import pytest

from test_service_plans import make_plan

EVIL = "=HYPERLINK(\"http://x\")"


def customer(client, plan, **kw):
    body = {"name": "Budi", "phone": "081234567890", "address": "Jl. Mawar 1",
            "service_plan_id": plan["id"]}
    body.update(kw)
    r = client.post("/customers", body)
    assert r.status_code == 201, r.text
    return r.json()["data"]


@pytest.fixture
def seeded(tenant):
    op = tenant.operator
    plan = make_plan(op, name="Paket Export", price=150000.5)
    a = customer(op, plan, name="Ségun Adébáyọ̀", phone="+6281234567890",
                 email="segun@example.id")
    b = customer(op, plan, name=EVIL, address="@SUM(A1)", notes="x")
    c = customer(op, plan, name="-Minus", monthly_price=99.99)
    paid = op.post("/payments", {"customer_id": a["id"], "amount": 150000.5,
                                 "period": "2026-10",
                                 "payment_date": "2026-10-05"}).json()["data"]
    owed = op.post("/payments", {"customer_id": a["id"], "amount": 1000.25,
                                 "period": "2026-01"}).json()["data"]
    other = op.post("/payments", {"customer_id": b["id"], "amount": 5,
                                  "period": "2026-11"}).json()["data"]
    return {"customers": [a, b, c], "payments": [paid, owed, other]}


def download(client, path, status=200):
    r = client.get(path)
    assert r.status_code == status, r.text[:300]
    return r


def csv_rows(r):
    text = r.content.decode("utf-8")
    return list(csv.reader(io.StringIO(text, newline="")))


def test_customers_csv_matches_the_api(tenant, seeded):
    r = download(tenant.operator, "/exports/customers?format=csv")
    assert r.headers["Content-Type"].startswith("text/csv")
    disp = r.headers["Content-Disposition"]
    assert disp.startswith("attachment;") and "customers-" in disp and ".csv" in disp
    assert r.content[:3] != b"\xef\xbb\xbf"  # no BOM unless asked
    assert b"\r\n" in r.content
    rows = csv_rows(r)
    head, data = rows[0], rows[1:]
    assert head[:3] == ["Customer code", "Name", "Phone"]
    by_code = {row[0]: dict(zip(head, row)) for row in data}
    assert len(by_code) == 3
    a, b, c = seeded["customers"]
    ra, rb, rc = by_code[a["customer_code"]], by_code[b["customer_code"]], \
        by_code[c["customer_code"]]
    # Non-ASCII survives; formula starts are neutralised with a quote.
    assert ra["Name"] == "Ségun Adébáyọ̀"
    assert ra["Phone"] == "'+6281234567890"
    assert rb["Name"] == "'" + EVIL and rb["Address"] == "'@SUM(A1)"
    assert rc["Name"] == "'-Minus"
    # Numbers are plain, dot decimal; computed columns are right.
    assert rc["Monthly price"] == "99.99"
    assert ra["Monthly price"] == "150000.50"
    assert ra["Plan"] == "Paket Export"
    assert Decimal(ra["Total paid"]) == Decimal("150000.50")
    assert Decimal(ra["Outstanding"]) == Decimal("1000.25")
    assert int(ra["Days overdue"]) > 300  # due in January 2026
    assert ra["Last payment"] == "2026-10-05"
    assert Decimal(rc["Outstanding"]) == 0 and rc["Days overdue"] == "0"
    assert ra["Status"] == "pending" and ra["Billing day"] == "1"
    # The export agrees with the API, field for field.
    api = {x["customer_code"]: x for x in
           tenant.viewer.get("/customers?per_page=100").json()["data"]}
    for code, row in by_code.items():
        assert row["Email"] == (api[code]["email"] or "")
        assert Decimal(row["Monthly price"]) == Decimal(str(api[code]["monthly_price"]))


def test_customers_csv_bom_and_status_filter(tenant, seeded):
    r = download(tenant.admin, "/exports/customers?format=csv&bom=true&status=active")
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content[3:].decode("utf-8"), newline="")))
    assert len(rows) == 1  # the header: nobody is active yet
    a = seeded["customers"][0]
    assert tenant.operator.post(f"/customers/{a['id']}/activate").status_code == 200
    r = download(tenant.admin, "/exports/customers?format=csv&status=active")
    assert [row[0] for row in csv_rows(r)[1:]] == [a["customer_code"]]


def test_customers_xlsx_typed_cells(tenant, seeded):
    r = download(tenant.operator, "/exports/customers?format=xlsx")
    assert r.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert int(r.headers["Content-Length"]) == len(r.content)
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    ws = wb.active
    assert ws.freeze_panes == "A2"
    head = [c.value for c in ws[1]]
    assert head[0] == "Customer code" and ws["A1"].font.b
    rows = {row[0]: dict(zip(head, row))
            for row in ws.iter_rows(min_row=2, values_only=True)}
    a, b, _ = seeded["customers"]
    ra, rb = rows[a["customer_code"]], rows[b["customer_code"]]
    assert isinstance(ra["Monthly price"], (int, float))
    assert Decimal(str(ra["Monthly price"])) == Decimal("150000.5")
    assert isinstance(ra["Billing day"], int) and ra["Billing day"] == 1
    assert isinstance(ra["Created at (UTC)"], datetime.datetime)
    assert isinstance(ra["Last payment"], datetime.datetime) and \
        ra["Last payment"].date() == datetime.date(2026, 10, 5)
    assert ra["Name"] == "Ségun Adébáyọ̀" and ra["Phone"] == "'+6281234567890"
    assert rb["Name"] == "'" + EVIL


def test_payments_csv_range_and_date_field(tenant, seeded):
    paid, owed, other = seeded["payments"]
    rows = csv_rows(download(tenant.operator, "/exports/payments?format=csv"))
    head = rows[0]
    got = {int(r[0]): dict(zip(head, r)) for r in rows[1:]}
    assert set(got) == {paid["id"], owed["id"], other["id"]}
    assert got[owed["id"]]["Amount"] == "1000.25"
    assert got[owed["id"]]["Status"] == "pending"
    assert int(got[owed["id"]]["Days overdue"]) > 300
    assert got[paid["id"]]["Days overdue"] == "0"
    assert got[paid["id"]]["Payment date"] == "2026-10-05"
    assert got[other["id"]]["Customer"] == "'" + EVIL
    # Due-date range (the default) and the payment-date range.
    rows = csv_rows(download(tenant.operator,
                             f"/exports/payments?format=csv&from={owed['due_date']}"
                             f"&to={owed['due_date']}"))
    assert [int(r[0]) for r in rows[1:]] == [owed["id"]]
    rows = csv_rows(download(tenant.operator, "/exports/payments?format=csv"
                             "&date_field=payment_date&from=2026-10-01&to=2026-10-31"))
    assert [int(r[0]) for r in rows[1:]] == [paid["id"]]


def test_payments_xlsx(tenant, seeded):
    paid, owed, _ = seeded["payments"]
    r = download(tenant.operator, "/exports/payments?format=xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(r.content)).active
    head = [c.value for c in ws[1]]
    rows = {row[0]: dict(zip(head, row))
            for row in ws.iter_rows(min_row=2, values_only=True)}
    assert isinstance(rows[owed["id"]]["Amount"], (int, float))
    assert Decimal(str(rows[owed["id"]]["Amount"])) == Decimal("1000.25")
    assert isinstance(rows[owed["id"]]["Due date"], datetime.datetime)


@pytest.mark.parametrize("query, field", [
    ("", "format"), ("format=pdf", "format"), ("format=csv&bom=maybe", "bom"),
    ("format=csv&from=2026-13-01", "from"), ("format=csv&date_field=x", "date_field"),
    ("format=csv&from=2026-02-01&to=2026-01-01", "to")])
def test_bad_parameters_are_422(tenant, query, field):
    path = "/exports/payments?" + query
    r = tenant.operator.get(path)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"][0]["field"] == field


def test_roles_and_tenants(tenant, tenant_b, seeded):
    for role in ("viewer", "technician"):
        r = tenant.clients[role].get("/exports/customers?format=csv")
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    # Tenant B's export holds none of A's rows.
    rows = csv_rows(download(tenant_b.admin, "/exports/customers?format=csv"))
    assert len(rows) == 1
    rows = csv_rows(download(tenant_b.admin, "/exports/payments?format=csv"))
    assert len(rows) == 1
