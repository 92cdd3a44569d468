"""Streamed downloads (exports) through the production nginx site.

The export handlers come with the data-layer rewrite (issue 9); until then
these tests drive the same path with stream_probe: rtrw-api's worker
(fcgi/main.c, unchanged) linked with the test routes of
tests/e2e/stream_probe.c, which write tools/export_sample.h rows through
lib/csv.c, lib/xlsx.c and req_stream_*().  It runs behind a private nginx
that uses the stack's own rendered site and http block
(nginx.conf.d/rtrw-site.conf.in), with only the listeners (unix sockets
here, so no ports), the FastCGI socket, pid, logs and temp paths moved.
The probe's routes sit under /api/v1/exports/, so they go through the
site's exports location as the real export handlers will.

What is checked: a 100,000-row CSV streams with bounded worker memory and
reads back row for row; small bodies get a Content-Length; a failure before
the first byte is the API's JSON envelope, one after it an aborted transfer
(HTTP/1.1 and HTTP/2); XLSX has its Content-Length, opens in openpyxl and
leaves no temporary file; a slow client does not hold the only worker,
because nginx buffers the rest of the response to its temp file.
"""
import csv
import http.client
import io
import os
import pathlib
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time

import openpyxl
import pytest

ROWS = 100000
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# tools/export_sample.h, row for row.
NAMES = ["Siti Nurhaliza", "Budi Santoso", "Dewi Lestari", "I Wayan S\u00fcsilo",
         "Ni Ketut \u00d1oman", "Nguy\u1ec5n V\u0103n An", "Agus Salim",
         "Rina Marlina"]
PLANS = ["Paket 10 Mbps", "Paket 20 Mbps", "Paket 50 Mbps"]
PRICES = ["150000.00", "250000.00", "450000.00"]
STATUS = ["active", "active", "suspended", "pending", "terminated"]
HEADER = ["id", "customer_code", "name", "phone", "email", "address",
          "plan_name", "status", "monthly_price", "billing_day", "installed_at",
          "days_overdue", "total_paid", "created_at_utc", "notes"]


def sample(i):
    """Row i as the CSV must show it (text neutralised, numbers plain)."""
    cents = (i % 24) * 15000000 + (i % 100)
    if i % 1000 == 999:
        notes = "'=HYPERLINK(\"http://evil.example/?%d\",\"klik\")" % (i + 1)
    elif i % 10 == 3:
        notes = 'minta dipasang "sore", setelah jam 4'
    else:
        notes = ""
    return [str(i + 1), "C-%06d" % (i + 1), "%s %d" % (NAMES[i % 8], i + 1),
            "'+62812%07d" % (i % 10000000), "pelanggan%d@contoh.id" % (i + 1),
            "Jl. Merdeka No. %d, RT 0%d/RW 0%d, Bekasi"
            % (i % 300 + 1, i % 9 + 1, i % 7 + 1),
            PLANS[i % 3], STATUS[i % 5], PRICES[i % 3], str(i % 28 + 1),
            "20%02d-%02d-%02d" % (i % 10 + 15, i % 12 + 1, i % 28 + 1),
            str(i % 45 if i % 4 == 0 else 0),
            "%d.%02d" % (cents // 100, cents % 100),
            "2024-%02d-%02d %02d:%02d:%02d"
            % (i % 12 + 1, i % 28 + 1, i % 24, i % 60, i * 7 % 60),
            notes]


class UnixHTTPS(http.client.HTTPSConnection):
    """HTTPS (HTTP/1.1) to nginx over a unix socket."""

    def __init__(self, path, timeout=60):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        super().__init__("localhost", timeout=timeout, context=ctx)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = self._context.wrap_socket(s, server_hostname="localhost")


def kb(pid, key):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {key} for {pid}")


def wait_for(what, cond, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {timeout} s")


class Probe:
    def __init__(self, base, proc):
        self.base = base
        self.proc = proc
        self.https = str(base / "https.sock")
        self.xtmp = base / "xtmp"

    def get(self, path, timeout=60, headers=None):
        c = UnixHTTPS(self.https, timeout=timeout)
        c.request("GET", "/api/v1/exports/" + path, headers=headers or {})
        return c, c.getresponse()

    def fetch(self, path, headers=None):
        c, r = self.get(path, headers=headers)
        body = r.read()
        c.close()
        return r, body

    def worker(self):
        kids = pathlib.Path(
            f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        pids = [int(p) for p in kids.split()]
        assert len(pids) == 1, pids
        return pids[0]

    def log(self):
        return (self.base / "probe.log").read_text(errors="replace")

    def nginx_log(self):
        return (self.base / "nginx-error.log").read_text(errors="replace")

    def curl(self, path, *args):
        return subprocess.run(
            ["curl", "-sk", "--unix-socket", self.https, *args,
             "https://localhost/api/v1/exports/" + path],
            capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def probe(stack):
    sd = pathlib.Path(stack["STACK_DIR"])
    binary = pathlib.Path(stack["RTRW_BIN"]) / "stream_probe"
    assert binary.exists(), f"{binary} is not built (make asan / make)"
    # Beside the stack's API socket, where nginx's workers (www-data) can
    # reach it even when the checkout is a 0700 folder.
    base = pathlib.Path(stack["WWW_DIR"]) / "stream-probe"
    shutil.rmtree(base, ignore_errors=True)
    (base / "nginx").mkdir(parents=True)
    (base / "xtmp").mkdir()
    os.chmod(base, 0o755)

    env = dict(os.environ)
    env["RTRW_LISTEN"] = "unix:" + str(base / "api.sock")
    env["TMPDIR"] = str(base / "xtmp")
    if env.get("ASAN") == "1":
        log = env["LOG_DIR"]
        env["ASAN_OPTIONS"] = (f"log_path={log}/asan:detect_leaks=1:"
                               "halt_on_error=1:abort_on_error=0")
        env["UBSAN_OPTIONS"] = f"print_stacktrace=1:halt_on_error=1:log_path={log}/ubsan"
    out = open(base / "probe.log", "wb")
    proc = subprocess.Popen([str(binary), "--config", stack["RTRW_CONFIG"],
                             "--workers", "1"], env=env, stdout=out,
                            stderr=subprocess.STDOUT, start_new_session=True)
    nginx_pid = None
    try:
        wait_for("stream_probe socket", lambda: (base / "api.sock").exists()
                 or proc.poll() is not None)
        assert proc.poll() is None, (base / "probe.log").read_text()

        # The stack's own nginx configuration, moved to this directory.
        site = (sd / "nginx" / "rtrw-site.conf").read_text()
        for old, new in (
                (f"fastcgi_pass unix:{stack['API_SOCKET']};",
                 f"fastcgi_pass unix:{base}/api.sock;"),
                (f"listen 127.0.0.1:{os.environ['HTTPS_PORT']} ssl http2;",
                 f"listen unix:{base}/https.sock ssl http2;"),
                (f"listen 127.0.0.1:{os.environ['HTTP_PORT']};",
                 f"listen unix:{base}/http.sock;")):
            assert old in site, old
            site = site.replace(old, new)
        (base / "site.conf").write_text(site)
        conf = (sd / "nginx" / "nginx.conf").read_text()
        run, logd = stack["RUN_DIR"], stack["LOG_DIR"]
        # nginx's temporary files live beside the API socket (a folder
        # www-data can reach even when the checkout is 0700).
        tmp = re.search(r"client_body_temp_path (\S+)/body;", conf).group(1)
        for old, new in ((f"{run}/nginx.pid", f"{base}/nginx.pid"),
                         (f"{logd}/nginx-", f"{base}/nginx-"),
                         (tmp, f"{base}/tmp"),
                         (f"{sd}/nginx/rtrw-site.conf", f"{base}/site.conf")):
            assert old in conf, old
            conf = conf.replace(old, new)
        assert str(run) not in conf and str(logd) not in conf
        (base / "nginx.conf").write_text(conf)
        (base / "tmp").mkdir()
        subprocess.run(["nginx", "-p", f"{base}/nginx/", "-c",
                        f"{base}/nginx.conf", "-e", f"{base}/nginx-error.log"],
                       check=True, start_new_session=True,
                       stdin=subprocess.DEVNULL)
        wait_for("nginx pid file", lambda: (base / "nginx.pid").exists())
        nginx_pid = int((base / "nginx.pid").read_text())
        wait_for("nginx socket", lambda: (base / "https.sock").exists())
        yield Probe(base, proc)
    finally:
        if nginx_pid:
            os.kill(nginx_pid, signal.SIGTERM)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        out.close()
        if nginx_pid:
            wait_for("nginx exit", lambda: not os.path.exists(f"/proc/{nginx_pid}"))


def test_large_csv_streams_with_bounded_worker_memory(probe):
    worker = probe.worker()
    probe.fetch("csv?rows=10")  # warm: connections, caches, first blocks
    # Count only what this request adds to the worker's peak.
    pathlib.Path(f"/proc/{worker}/clear_refs").write_text("5")
    before = kb(worker, "VmRSS")
    t0 = time.time()
    r, body = probe.fetch(f"csv?rows={ROWS}")
    secs = time.time() - t0
    growth_mb = (kb(worker, "VmHWM") - before) / 1024
    print(f"csv {ROWS} rows: {len(body) / 1e6:.1f} MB in {secs:.2f} s, "
          f"worker peak RSS growth {growth_mb:.1f} MB")

    assert r.status == 200
    assert r.getheader("Content-Type") == "text/csv; charset=utf-8"
    assert r.getheader("Content-Disposition") == 'attachment; filename="customers.csv"'
    assert r.getheader("Cache-Control") == "no-store"
    assert r.getheader("X-Request-Id")
    # Streamed: the length was not known when the head went out.
    assert r.getheader("Content-Length") is None
    assert r.getheader("Transfer-Encoding") == "chunked"
    assert body.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in body[:200]

    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""),
                           strict=True))
    assert rows[0] == HEADER
    assert len(rows) == ROWS + 1
    for i in range(ROWS):
        if rows[i + 1] != sample(i):
            raise AssertionError(f"row {i}: {rows[i + 1]!r} != {sample(i)!r}")
    # The worker's memory stays bounded whatever the size (the body is
    # 20 MB); ASan's allocator keeps freed memory in quarantine, so the
    # sanitizer build gets more room than issue 11's 32 MB target, which
    # tools/bench_export measures on the release build.
    assert growth_mb < (64 if os.environ.get("ASAN") == "1" else 32)
    assert probe.worker() == worker


def test_small_download_goes_out_whole_with_a_length(probe):
    r, body = probe.fetch("csv?rows=3&bom=0",
                          headers={"Origin": "http://localhost:3000"})
    assert r.status == 200
    # A browser client may read the file name.
    assert r.getheader("Access-Control-Allow-Origin") == "http://localhost:3000"
    assert "Content-Disposition" in r.getheader("Access-Control-Expose-Headers")
    assert r.getheader("Content-Length") == str(len(body))
    assert r.getheader("Content-Disposition") == 'attachment; filename="customers.csv"'
    want = "\r\n".join(",".join(
        '"%s"' % c.replace('"', '""') if any(ch in c for ch in ',"\r\n') else c
        for c in row) for row in [HEADER] + [sample(i) for i in range(3)])
    assert body.decode("utf-8") == want + "\r\n"


def test_failure_before_the_first_byte_is_the_json_envelope(probe):
    r, body = probe.fetch(f"csv?rows={ROWS}&fail_at=100")
    assert r.status == 503
    assert r.getheader("Content-Type") == "application/json; charset=utf-8"
    assert r.getheader("Content-Disposition") is None
    assert body == (b'{"error":{"code":"unavailable",'
                    b'"message":"probe: failing as asked"}}')
    # Bad parameters are the ordinary 422 too.
    r, body = probe.fetch("csv?rows=many")
    assert r.status == 422
    assert b'"validation_failed"' in body


def test_failure_after_the_first_byte_aborts_the_transfer(probe):
    worker = probe.worker()
    c, r = probe.get(f"csv?rows={ROWS}&fail_at=50000")
    assert r.status == 200
    assert r.getheader("Content-Disposition") == 'attachment; filename="customers.csv"'
    with pytest.raises(http.client.IncompleteRead) as e:
        r.read()
    c.close()
    got = len(e.value.partial)
    assert 64 * 1024 < got < 20 * 1000 * 1000
    assert "streamed response aborted" in probe.log()

    # The same through curl over HTTP/1.1 and HTTP/2: a failed transfer.
    full = probe.curl("csv?rows=60000", "--http1.1")
    assert full.returncode == 0 and len(full.stdout) > 0
    for proto in ("--http1.1", "--http2"):
        cut = probe.curl("csv?rows=60000&fail_at=50000", proto)
        print(f"curl {proto}: exit {cut.returncode}, {len(cut.stdout)} of "
              f"{len(full.stdout)} bytes")
        assert cut.returncode != 0, proto
        assert len(cut.stdout) < len(full.stdout), proto
    # The worker survived and serves the next request.
    r, body = probe.fetch("csv?rows=2")
    assert r.status == 200 and body.count(b"\r\n") == 3
    assert probe.worker() == worker


def test_xlsx_download_opens_in_openpyxl_and_leaves_no_file(probe):
    n = 20000
    r, body = probe.fetch(f"xlsx?rows={n}")
    assert r.status == 200
    assert r.getheader("Content-Type") == XLSX_TYPE
    assert r.getheader("Content-Disposition") == 'attachment; filename="customers.xlsx"'
    # The file was complete before the first byte: its length is known.
    assert r.getheader("Content-Length") == str(len(body))
    assert len(body) > 2 * 64 * 1024
    assert list(probe.xtmp.iterdir()) == []

    wb = openpyxl.load_workbook(io.BytesIO(body), read_only=False)
    ws = wb.active
    assert ws.title == "Customers"
    assert ws.freeze_panes == "A2"
    assert ws.max_row == n + 1
    assert [c.value for c in ws[1]] == HEADER
    assert all(c.font.b for c in ws[1])
    for i in (0, 3, 999, n - 1):
        want = sample(i)
        got = [c.value for c in ws[i + 2]]
        assert got[0] == i + 1
        assert got[1:8] == want[1:8]
        assert got[8] == float(want[8]) and ws.cell(i + 2, 9).number_format == "#,##0.00"
        assert got[9] == int(want[9])
        assert got[10].strftime("%Y-%m-%d") == want[10]
        assert ws.cell(i + 2, 11).number_format == "yyyy-mm-dd"
        assert got[11] == int(want[11])
        assert got[12] == float(want[12])
        assert got[13].strftime("%Y-%m-%d %H:%M:%S") == want[13]
        assert (got[14] or "") == want[14]
    assert ws["O1001"].value.startswith("'=HYPERLINK(")


def test_xlsx_failure_is_the_envelope_and_leaves_no_file(probe):
    r, body = probe.fetch("xlsx?rows=5000&fail_at=4000")
    assert r.status == 503
    assert r.getheader("Content-Type") == "application/json; charset=utf-8"
    assert b'"unavailable"' in body
    assert list(probe.xtmp.iterdir()) == []


def test_slow_client_does_not_hold_the_only_worker(probe):
    """nginx takes the whole response (memory buffers, then its temp file)
    so that the worker is free while a slow client downloads."""
    rows = 200000
    c, r = probe.get(f"csv?rows={rows}", timeout=120)
    assert r.status == 200
    first = r.read(1024)  # then stall: the client reads nothing more

    t0 = time.time()
    r2, body2 = probe.fetch("csv?rows=5")
    waited = time.time() - t0
    assert r2.status == 200 and body2.count(b"\r\n") == 6
    # Served while the first download is still unread: the one worker
    # had already finished writing all of it (nginx holds the rest).
    assert waited < 20
    assert f'path="/api/v1/exports/csv?rows={rows}" status=200' in probe.log()
    wait_for("nginx spooling the response",
             lambda: "buffered to a temporary file" in probe.nginx_log())

    rest = r.read()
    c.close()
    text = (first + rest).decode("utf-8-sig")
    assert text.count("\r\n") >= rows + 1
    assert text.splitlines()[-1].startswith(str(rows) + ",C-")
