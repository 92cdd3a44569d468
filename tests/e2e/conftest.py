"""Fixtures of the end-to-end tests.

The tests run against a stack started by tools/stack.sh (tools/test.sh
does that and sources its stack.env), always through nginx over HTTPS.

  stack   dict of the stack's environment (API_URL, MYSQL_SOCKET, pid files...)
  api     a requests.Session for API_URL (verify=False); relative paths are
          prefixed with the base URL: api.get("/health")
  db      pymysql connection to the stack's MariaDB as root, database rtrw,
          autocommit

The tenant/client fixtures shared by the resource tests live in support.py
and are re-exported here.  Both api and support's Client check every API
response against docs/openapi.yaml (support.check_response).
"""
import os
import pathlib
import sys
import warnings

import pymysql
import pytest
import requests
import urllib3

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from support import (tenant, tenant_b, new_tenant, anon, mysql,  # noqa: F401,E402
                     reconfigure, platform_admin, platform, check_response)

STACK_KEYS = ("API_URL", "HTTP_URL", "MYSQL_SOCKET", "MYSQL_PORT",
              "MEMCACHED_SOCKET", "STACK_DIR", "RTRW_CONFIG", "API_PID_FILE")


def pytest_configure(config):
    # pytest resets warning filters per test; this one must hold for all.
    config.addinivalue_line(
        "filterwarnings", "ignore::urllib3.exceptions.InsecureRequestWarning")


class Api(requests.Session):
    """A Session bound to one base URL; TLS verification is off because
    the local stack's certificate is self-signed."""

    def __init__(self, base):
        super().__init__()
        self.base = base.rstrip("/")
        self.verify = False

    def request(self, method, url, *args, **kwargs):
        if url.startswith("/"):
            url = self.base + url
        kwargs.setdefault("timeout", 30)
        # Explicit, because REQUESTS_CA_BUNDLE in the environment would
        # override the session's verify=False.
        kwargs.setdefault("verify", False)
        r = super().request(method, url, *args, **kwargs)
        check_response(r)
        return r


@pytest.fixture(scope="session")
def stack():
    missing = [k for k in STACK_KEYS if not os.environ.get(k)]
    if missing:
        pytest.fail("no stack: source DIR/stack.env first (missing "
                    + ", ".join(missing) + ")")
    return dict(os.environ)


@pytest.fixture
def api(stack):
    s = Api(stack["API_URL"])
    yield s
    s.close()


def db_connect(stack, database="rtrw"):
    return pymysql.connect(unix_socket=stack["MYSQL_SOCKET"], user="root",
                           password="", database=database, autocommit=True,
                           charset="utf8mb4")


@pytest.fixture
def db(stack):
    conn = db_connect(stack)
    yield conn
    conn.close()
