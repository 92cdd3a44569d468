"""The stack as a client sees it: nginx in front of rtrw-api.

TLS, the HTTP redirect, CORS, the documentation and the JSON envelopes of
the errors that nginx produces itself (API.md, "Errors").
"""
import os
import pathlib
import ssl
import subprocess
import urllib.parse

import pytest
import requests

ROOT = pathlib.Path(__file__).resolve().parents[2]
ALLOWED_ORIGIN = "http://localhost:3000"


def assert_envelope(r, status, code):
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert r.headers.get("X-Content-Type-Options") == "nosniff"


def test_health(api):
    r = api.get("/health")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ok", "db": "ok", "cache": "ok"}
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.headers.get("X-Request-Id")
    assert r.headers.get("X-Content-Type-Options") == "nosniff"
    assert "no-store" in r.headers.get("Cache-Control", "")


def test_request_id_is_echoed(api):
    r = api.get("/health", headers={"X-Request-Id": "e2e-stack-0001"})
    assert r.status_code == 200
    assert r.headers.get("X-Request-Id") == "e2e-stack-0001"


def test_security_headers_once(api):
    r = api.get("/health")
    assert r.headers.get("Strict-Transport-Security", "").startswith("max-age=")
    # nginx adds these; a second copy from the app would be a duplicate.
    raw = r.raw.headers
    assert len(raw.getlist("X-Content-Type-Options")) == 1
    assert len(raw.getlist("Strict-Transport-Security")) == 1
    assert r.headers.get("Server") == "nginx"  # server_tokens off


def test_http_redirects_to_https(stack):
    r = requests.get(stack["HTTP_URL"] + "/health?x=1", allow_redirects=False,
                     timeout=10)
    assert r.status_code == 301
    assert r.headers["Location"] == stack["API_URL"] + "/health?x=1"
    assert r.headers.get("X-Content-Type-Options") == "nosniff"


def test_cors_allowed_origin_is_echoed(api):
    r = api.get("/health", headers={"Origin": ALLOWED_ORIGIN})
    assert r.headers.get("Access-Control-Allow-Origin") == ALLOWED_ORIGIN
    expose = r.headers.get("Access-Control-Expose-Headers", "")
    for h in ("X-Request-Id", "X-RateLimit-Limit", "Retry-After"):
        assert h in expose
    assert "Origin" in r.headers.get("Vary", "")


def test_cors_other_origin_is_not(api):
    r = api.get("/health", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in r.headers
    assert "Access-Control-Expose-Headers" not in r.headers


def test_cors_preflight(api):
    r = api.options("/api/v1/customers", headers={
        "Origin": ALLOWED_ORIGIN,
        "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert r.status_code == 204
    assert r.headers.get("Access-Control-Allow-Origin") == ALLOWED_ORIGIN
    methods = r.headers.get("Access-Control-Allow-Methods", "")
    for m in ("GET", "POST", "PATCH", "DELETE"):
        assert m in methods
    allowed = r.headers.get("Access-Control-Allow-Headers", "").lower()
    for h in ("authorization", "content-type", "x-request-id"):
        assert h in allowed


def test_cors_preflight_other_origin_gets_no_grant(api):
    r = api.options("/api/v1/customers", headers={
        "Origin": "https://evil.example",
        "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in r.headers
    assert "Access-Control-Allow-Methods" not in r.headers


def test_docs(api):
    r = api.get("/docs/")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    assert "swagger-ui" in r.text and "/docs/openapi.yaml" in r.text
    r = api.get("/docs/swagger-ui-bundle.js")
    assert r.status_code == 200
    r = api.get("/docs", allow_redirects=False)
    assert r.status_code == 301


def test_docs_openapi(api):
    if not (ROOT / "docs" / "openapi.yaml").exists():
        pytest.skip("docs/openapi.yaml is not written yet")
    r = api.get("/docs/openapi.yaml")
    assert r.status_code == 200
    assert "yaml" in r.headers["Content-Type"]
    assert r.text.lstrip().startswith("openapi:")


def test_body_over_1mib_is_413(api):
    r = api.post("/api/v1/anything", data=b"x" * (2 * 1024 * 1024),
                 headers={"Content-Type": "application/json"})
    assert_envelope(r, 413, "payload_too_large")


def test_long_url_is_414(api):
    r = api.get("/api/v1/customers?q=" + "a" * 10240)
    assert_envelope(r, 414, "uri_too_long")


def test_malformed_request_is_400(stack):
    host = urllib.parse.urlsplit(stack["API_URL"])
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    import socket
    with socket.create_connection((host.hostname, host.port), timeout=10) as s:
        with ctx.wrap_socket(s, server_hostname="localhost") as t:
            t.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nBroken header\r\n\r\n")
            data = b""
            while True:
                chunk = t.recv(65536)
                if not chunk:
                    break
                data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert b"application/json" in head
    assert b'"bad_request"' in body


def test_unknown_path_outside_api_is_json_404(api):
    r = api.get("/no-such-thing")
    assert_envelope(r, 404, "not_found")


def test_nginx_static(api):
    r = api.get("/nginx-static")
    assert r.status_code == 200 and r.text == "ok"


def test_tls_certificate_is_self_signed_for_localhost(stack):
    host = urllib.parse.urlsplit(stack["API_URL"])
    pem = ssl.get_server_certificate((host.hostname, host.port))
    out = subprocess.run(
        ["openssl", "x509", "-noout", "-subject", "-issuer", "-ext",
         "subjectAltName"], input=pem, capture_output=True, text=True,
        check=True).stdout
    lines = out.splitlines()
    subject = next(l for l in lines if l.startswith("subject="))
    issuer = next(l for l in lines if l.startswith("issuer="))
    assert "CN = localhost" in subject
    assert subject.split("=", 1)[1] == issuer.split("=", 1)[1]
    assert "IP Address:127.0.0.1" in out
    # The certificate is its own trust anchor and names 127.0.0.1.
    if os.environ.get("TLS_CERT"):
        r = requests.get(stack["API_URL"] + "/nginx-static",
                         verify=os.environ["TLS_CERT"], timeout=10)
        assert r.status_code == 200
    # And a normal client refuses it.
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(stack["API_URL"] + "/nginx-static", timeout=10)
