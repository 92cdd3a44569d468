"""The RouterOS simulator (tools/routeros-sim), as clients see it.

Debian's python3-librouteros, a client written against real routers and
independent of this project, logs in and adds, prints, sets and removes
over TCP, over TLS with a certificate and over anonymous-DH TLS.  A small
raw client below checks what librouteros cannot show: tags, !empty,
!fatal, sentences cut in the middle, the length forms of words.  Each
fault switch is shown doing what it says, and the control channel is shown
reading back what clients changed.

The simulators run as child processes on free ports; these tests need no
stack, except the last one, which checks the stack's own simulated router.
"""
import json
import os
import pathlib
import re
import socket
import ssl
import sys
import time

import librouteros
import pytest
from librouteros.exceptions import (ConnectionClosed, MultiTrapError,
                                    TrapError)
from librouteros.login import token as token_login
from librouteros.query import Key

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools" / "routeros-sim"))

import simctl  # noqa: E402

PW = "r0uter-Passw0rd"
ID_RE = re.compile(r"^\*[0-9A-F]+$")


# ---------------------------------------------------------------------------
# A raw API client: the wire format written out here, independently of the
# simulator's code, so that its encoder and parser are tested too.

def enc_len(n):
    if n < 0x80:
        return bytes([n])
    if n < 0x4000:
        return (n | 0x8000).to_bytes(2, "big")
    if n < 0x200000:
        return (n | 0xC00000).to_bytes(3, "big")
    if n < 0x10000000:
        return (n | 0xE0000000).to_bytes(4, "big")
    return b"\xf0" + n.to_bytes(4, "big")


def enc_sentence(*words):
    out = b""
    for w in words:
        b = w.encode() if isinstance(w, str) else w
        out += enc_len(len(b)) + b
    return out + b"\0"


class Raw:
    def __init__(self, port, ctx=None, timeout=5):
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock = ctx.wrap_socket(s) if ctx is not None else s
        self.buf = b""

    def close(self):
        self.sock.close()

    def send(self, *sentences):
        self.sock.sendall(b"".join(enc_sentence(*s) for s in sentences))

    def _need(self, n):
        while len(self.buf) < n:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("connection closed with %d bytes pending" %
                               len(self.buf))
            self.buf += data

    def _take(self, n):
        self._need(n)
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def word(self):
        b = self._take(1)[0]
        if b < 0x80:
            n = b
        elif b < 0xC0:
            n = ((b & 0x3F) << 8) | self._take(1)[0]
        elif b < 0xE0:
            n = ((b & 0x1F) << 16) | int.from_bytes(self._take(2), "big")
        elif b < 0xF0:
            n = ((b & 0x0F) << 24) | int.from_bytes(self._take(3), "big")
        else:
            n = int.from_bytes(self._take(4), "big")
        return self._take(n).decode("utf-8", "surrogateescape")

    def sentence(self):
        words = []
        while True:
            w = self.word()
            if w == "":
                return words
            words.append(w)

    def reply(self):
        """Sentences up to and including the next !done (or a !fatal)."""
        out = []
        while True:
            s = self.sentence()
            out.append(s)
            if s[0] in ("!done", "!fatal"):
                return out

    def rest(self):
        """Whatever is still to come, up to the peer's close."""
        while True:
            data = self.sock.recv(65536)
            if not data:
                break
            self.buf += data
        out, self.buf = self.buf, b""
        return out

    def talk(self, *words):
        self.send(words)
        return self.reply()

    def login(self, user="admin", password=PW):
        r = self.talk("/login", "=name=" + user, "=password=" + password)
        assert r == [["!done"]], r
        return self


def attrs(sentence):
    return dict(w[1:].split("=", 1) for w in sentence if w.startswith("="))


def closed(raw, timeout=3):
    """True when the peer has closed the connection (EOF or reset)."""
    raw.sock.settimeout(timeout)
    try:
        while True:
            data = raw.sock.recv(65536)
            if not data:
                return True
    except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
        return True
    except socket.timeout:
        return False


# ---------------------------------------------------------------------------
# Fixtures

@pytest.fixture(scope="module")
def sim_proc():
    s = simctl.Sim.start(password=PW, tls_port=0)
    yield s
    s.stop()


@pytest.fixture
def sim(sim_proc):
    """The module's simulator, back in its start state for each test."""
    sim_proc.reset()
    yield sim_proc
    assert sim_proc.alive(), "the simulator died"


def connect(sim, password=PW, **kw):
    kw.setdefault("timeout", 5)
    return librouteros.connect("127.0.0.1", "admin", password, port=sim.port,
                               **kw)


def insecure_ctx():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def anon_ctx():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("ADH:@SECLEVEL=0")
    return ctx


@pytest.fixture
def api(sim):
    a = connect(sim)
    yield a
    a.close()


def crud_round(api, sim, name):
    """add, print, set and remove of a secret with librouteros, each
    checked against the simulator's state."""
    secrets = api.path("ppp", "secret")
    ident = secrets.add(name=name, password="pppoe-pw", profile="default",
                        service="pppoe", comment="rtrw:C-000001")
    assert ID_RE.match(ident), ident
    rows = [r for r in secrets if r["name"] == name]
    assert len(rows) == 1
    assert rows[0][".id"] == ident
    assert rows[0]["password"] == "pppoe-pw"
    assert rows[0]["service"] == "pppoe"
    assert rows[0]["disabled"] is False
    st = sim.secret(name)
    assert st[".id"] == ident and st["comment"] == "rtrw:C-000001"

    api.path("ppp", "profile").add(name="paket-10M", **{"rate-limit": "2M/10M"})
    secrets.update(**{".id": ident, "profile": "paket-10M",
                      "password": "new-pw", "disabled": True})
    st = sim.secret(name)
    assert (st["profile"], st["password"], st["disabled"]) == \
        ("paket-10M", "new-pw", "true")
    found = list(secrets.select(Key(".id"), Key("profile")).where(
        Key("name") == name))
    assert found == [{".id": ident, "profile": "paket-10M"}]

    secrets.remove(ident)
    assert sim.secret(name) is None
    assert [r for r in secrets if r["name"] == name] == []
    return ident


# ---------------------------------------------------------------------------
# librouteros over TCP and TLS


def test_librouteros_crud_over_tcp(sim, api):
    crud_round(api, sim, "budi")
    st = sim.stats()
    assert st["stats"]["logins"] == 1
    assert st["commands"]["/ppp/secret/add"] == 1


def test_librouteros_crud_over_tls_with_certificate(sim):
    ctx = insecure_ctx()
    seen = {}

    def wrap(sock):
        s = ctx.wrap_socket(sock)
        seen["cert"] = s.getpeercert(binary_form=True)
        seen["version"] = s.version()
        return s
    a = librouteros.connect("127.0.0.1", "admin", PW, port=sim.tls_port,
                            ssl_wrapper=wrap, timeout=5)
    try:
        crud_round(a, sim, "siti")
    finally:
        a.close()
    import hashlib
    assert hashlib.sha256(seen["cert"]).hexdigest() == sim.fingerprint
    assert seen["version"] in ("TLSv1.2", "TLSv1.3")
    assert sim.stats()["stats"]["tls_connections"] == 1


def test_new_certificate_changes_the_fingerprint(sim):
    old = sim.fingerprint
    new = sim.tls(new_cert=True)
    try:
        assert new and new != old
        s = insecure_ctx().wrap_socket(
            socket.create_connection(("127.0.0.1", sim.tls_port), timeout=5))
        import hashlib
        assert hashlib.sha256(s.getpeercert(True)).hexdigest() == new
        s.close()
    finally:
        sim.fingerprint = new


def test_anonymous_dh_tls():
    with simctl.Sim.start(password=PW, port=None, tls_port=0,
                          tls_mode="anon") as s:
        assert s.fingerprint is None and s.port is None
        seen = {}
        ctx = anon_ctx()

        def wrap(sock):
            t = ctx.wrap_socket(sock)
            seen["cipher"] = t.cipher()
            seen["cert"] = t.getpeercert(binary_form=True)
            return t
        a = librouteros.connect("127.0.0.1", "admin", PW, port=s.tls_port,
                                ssl_wrapper=wrap, timeout=5)
        try:
            crud_round(a, s, "agus")
        finally:
            a.close()
        assert seen["cipher"][0].startswith("ADH-"), seen
        assert seen["cipher"][1] == "TLSv1.2"
        assert seen["cert"] is None
        # A client that insists on a certificate finds no common suite.
        with pytest.raises(ssl.SSLError):
            insecure_ctx().wrap_socket(socket.create_connection(
                ("127.0.0.1", s.tls_port), timeout=5))
        # The mode switches at run time, for tests of both kinds.
        fp = s.tls(mode="cert")
        t = insecure_ctx().wrap_socket(socket.create_connection(
            ("127.0.0.1", s.tls_port), timeout=5))
        import hashlib
        assert hashlib.sha256(t.getpeercert(True)).hexdigest() == fp
        t.close()


# ---------------------------------------------------------------------------
# Login


def test_bad_password_is_a_trap_and_changes_nothing(sim):
    with pytest.raises(TrapError) as e:
        connect(sim, password="wrong")
    assert str(e.value) == "invalid user name or password (6)"
    with pytest.raises(TrapError):
        librouteros.connect("127.0.0.1", "nobody", PW, port=sim.port,
                            timeout=5)
    st = sim.stats()["stats"]
    assert st["login_failures"] == 2 and st.get("logins", 0) == 0
    # The connection stays open after a failed login, as on RouterOS.
    r = Raw(sim.port)
    assert r.talk("/login", "=name=admin", "=password=x") == [
        ["!trap", "=message=invalid user name or password (6)"], ["!done"]]
    r.login()
    assert r.talk("/system/identity/print") == [
        ["!re", "=name=MikroTik"], ["!done"]]
    r.close()
    # The log never shows a password.
    assert not any(PW in w for e in sim.log() for w in e["words"])


def test_commands_before_login_are_fatal(sim):
    r = Raw(sim.port)
    assert r.talk("/ppp/secret/print") == [["!fatal", "not logged in"]]
    assert closed(r)


def test_quit(sim):
    r = Raw(sim.port).login()
    assert r.talk("/quit") == [["!fatal", "session terminated on request"]]
    assert closed(r)


def test_legacy_md5_login():
    with simctl.Sim.start(password=PW, legacy_login=True) as s:
        a = librouteros.connect("127.0.0.1", "admin", PW, port=s.port,
                                login_method=token_login, timeout=5)
        assert list(a.path("system", "identity")) == [{"name": "MikroTik"}]
        a.close()
        with pytest.raises(TrapError):
            librouteros.connect("127.0.0.1", "admin", "wrong", port=s.port,
                                login_method=token_login, timeout=5)
        # A 6.43+ login is answered with the challenge, not a session: a
        # client that does not look for =ret= is not logged in.
        r = Raw(s.port)
        reply = r.talk("/login", "=name=admin", "=password=" + PW)
        assert reply[0][0] == "!done"
        assert re.match(r"^=ret=[0-9a-f]{32}$", reply[0][1])
        assert r.talk("/system/identity/print") == [["!fatal",
                                                     "not logged in"]]


# ---------------------------------------------------------------------------
# Traps


def test_traps_are_routeros_messages_and_change_nothing(sim, api):
    secrets = api.path("ppp", "secret")
    ident = secrets.add(name="budi", password="x")
    before = sim.secrets()

    with pytest.raises(TrapError) as e:
        secrets.add(name="budi", password="y")
    assert e.value.message == \
        "failure: secret with the same name already exists"

    with pytest.raises(TrapError) as e:
        secrets.add(name="agus", profile="no-such-profile")
    assert e.value.message == "input does not match any value of profile"
    assert e.value.category == 1

    with pytest.raises(TrapError) as e:
        secrets.update(**{".id": ident, "profile": "nope"})
    assert e.value.message == "input does not match any value of profile"

    with pytest.raises(TrapError) as e:
        secrets.remove("*FFFF")
    assert e.value.message == "no such item"
    with pytest.raises(TrapError) as e:
        secrets.update(**{".id": "*FFFF", "comment": "x"})
    assert e.value.message == "no such item"
    # One bad id of several: nothing is removed.
    with pytest.raises(TrapError):
        secrets.remove(ident, "*FFFF")

    with pytest.raises(TrapError) as e:
        secrets.add(name="agus", **{"remote-address": "10.0.0.300"})
    assert e.value.message == "invalid value for argument remote-address"
    with pytest.raises(TrapError) as e:
        secrets.add(name="agus", service="telnet")
    assert e.value.message == "input does not match any value of service"
    with pytest.raises(TrapError) as e:
        secrets.add(name="agus", colour="blue")
    assert e.value.message == "unknown parameter"
    with pytest.raises(TrapError) as e:
        api.path("ppp", "profile").add(name="bad", **{"rate-limit": "fast"})
    assert e.value.message == "invalid value for argument rate-limit"

    assert sim.secrets() == before
    assert [p["name"] for p in sim.profiles()] == ["default",
                                                   "default-encryption"]


def test_unknown_commands(sim, api):
    with pytest.raises(MultiTrapError) as e:
        tuple(api("/ip/hotspot/user/print"))
    assert [t.message for t in e.value.traps] == [
        "no such command or directory (ip)", "no such command prefix"]
    with pytest.raises(TrapError) as e:
        tuple(api("/ppp/secret/frobnicate"))
    assert e.value.message == "no such command"
    with pytest.raises(TrapError) as e:
        tuple(api("/ppp/active/add", name="x"))
    assert e.value.message == "no such command"
    # The connection is still usable after traps.
    assert list(api.path("system", "identity")) == [{"name": "MikroTik"}]


def test_read_only_user_cannot_write(sim):
    sim.set_password("ro-pass", user="watcher", group="read")
    a = librouteros.connect("127.0.0.1", "watcher", "ro-pass", port=sim.port,
                            timeout=5)
    assert list(a.path("ppp", "secret")) == []
    with pytest.raises(TrapError) as e:
        a.path("ppp", "secret").add(name="x")
    assert e.value.message == "not enough permissions (9)"
    a.close()
    assert sim.secrets() == []


# ---------------------------------------------------------------------------
# Menus


def test_print_queries_and_proplist(sim, api):
    secrets = api.path("ppp", "secret")
    api.path("ppp", "profile").add(name="p10", **{"rate-limit": "2M/10M"})
    secrets.add(name="a1", profile="p10", comment="rtrw:C-000001")
    secrets.add(name="a2", profile="p10", disabled=True)
    secrets.add(name="b1", **{"limit-bytes-in": 500})
    names = lambda rows: sorted(r["name"] for r in rows)  # noqa: E731

    def q(*words):
        return list(api.rawCmd("/ppp/secret/print", *words))

    assert names(q("?name=a2")) == ["a2"]
    assert names(q("?=name=a2")) == ["a2"]
    assert names(q("?profile=p10")) == ["a1", "a2"]
    assert names(q("?disabled=yes")) == ["a2"]
    assert names(q("?disabled=false")) == ["a1", "b1"]
    assert names(q("?name=a1", "?name=b1", "?#|")) == ["a1", "b1"]
    assert names(q("?profile=p10", "?#!")) == ["b1"]
    assert names(q("?comment")) == ["a1"]
    assert names(q("?-comment")) == ["a2", "b1"]
    assert names(q("?>limit-bytes-in=100")) == ["b1"]
    assert names(q("?<limit-bytes-in=100")) == ["a1", "a2"]
    assert names(q("?profile=p10", "?disabled=no", "?#&")) == ["a1"]
    assert q("?name=zz") == []
    # librouteros's own query builder.
    sel = secrets.select(Key("name")).where(Key("name").In("a1", "b1"))
    assert names(sel) == ["a1", "b1"]
    rows = q("=.proplist=.id,name", "?name=a1")
    assert len(rows) == 1 and set(rows[0]) == {".id", "name"}
    # getall is print's old name; count-only answers with =ret=.
    assert names(api.rawCmd("/ppp/secret/getall")) == ["a1", "a2", "b1"]
    r = Raw(sim.port).login()
    assert r.talk("/ppp/secret/print", "=count-only=", "?profile=p10") == [
        ["!done", "=ret=2"]]
    r.close()


def test_secret_enable_disable_unset_and_name_addressing(sim, api):
    secrets = api.path("ppp", "secret")
    ident = secrets.add(name="dewi", **{"remote-address": "10.1.1.5",
                                        "comment": "x"})
    tuple(api("/ppp/secret/disable", **{".id": ident}))
    assert sim.secret("dewi")["disabled"] == "true"
    tuple(api("/ppp/secret/enable", **{"numbers": "dewi"}))
    assert sim.secret("dewi")["disabled"] == "false"
    tuple(api("/ppp/secret/unset", **{".id": ident,
                                      "value-name": "remote-address"}))
    assert "remote-address" not in sim.secret("dewi")
    # RouterOS lets a name stand for the .id where names are unique.
    secrets.update(**{".id": "dewi", "comment": "rtrw:C-000009"})
    assert sim.secret("dewi")["comment"] == "rtrw:C-000009"
    secrets.update(**{".id": ident, "name": "dewi2"})
    assert sim.secret("dewi") is None and sim.secret("dewi2")[".id"] == ident
    secrets.add(name="dewi")
    with pytest.raises(TrapError):
        secrets.update(**{".id": ident, "name": "dewi"})


def test_profiles(sim, api):
    profiles = api.path("ppp", "profile")
    ident = profiles.add(name="paket-20M", **{
        "rate-limit": "5M/20M 10M/40M 4M/16M 8/8 5 1M/2M",
        "local-address": "10.10.0.1", "remote-address": "pool1"})
    row = [p for p in profiles if p["name"] == "paket-20M"][0]
    assert row[".id"] == ident
    assert row["rate-limit"] == "5M/20M 10M/40M 4M/16M 8/8 5 1M/2M"
    assert row["remote-address"] == "pool1" and row["default"] is False
    profiles.update(**{".id": ident, "rate-limit": "6M/24M"})
    assert sim.profile("paket-20M")["rate-limit"] == "6M/24M"
    with pytest.raises(TrapError) as e:
        profiles.add(name="paket-20M")
    assert e.value.message == \
        "failure: profile with the same name already exists"
    with pytest.raises(TrapError):
        profiles.remove("*0")
    profiles.remove(ident)
    assert sim.profile("paket-20M") is None
    assert sim.profile("default")[".id"] == "*0"


def test_queue_simple(sim, api):
    queues = api.path("queue", "simple")
    ident = queues.add(name="q-budi", target="10.0.0.2",
                       **{"max-limit": "2M/10M"})
    row = list(queues)[0]
    assert row[".id"] == ident and row["target"] == "10.0.0.2/32"
    assert row["max-limit"] == "2000000/10000000"
    assert row["bytes"] == "0/0" and row["dynamic"] is False
    queues.update(**{".id": ident, "max-limit": "4M/20M", "disabled": True})
    st = sim.queues()[0]
    assert st["max-limit"] == "4000000/20000000" and st["disabled"] == "true"
    with pytest.raises(TrapError) as e:
        queues.add(name="q-budi", target="10.0.0.3")
    assert e.value.message == \
        "failure: queue with the same name already exists"
    queues.remove(ident)
    assert sim.queues() == []


def test_system_resource_and_identity(sim, api):
    res = list(api.path("system", "resource"))[0]
    assert res["version"] == "7.16.2 (stable)"
    assert res["board-name"] and res["cpu-load"] == 3
    assert re.match(r"^(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?$", res["uptime"])
    tuple(api("/system/identity/set", name="core-rw05"))
    assert list(api.path("system", "identity")) == [{"name": "core-rw05"}]
    assert sim.state()["identity"] == "core-rw05"
    sim.settings(auto_counters=False)
    sim.advance(8 * 86400)
    assert list(api.path("system", "resource"))[0]["uptime"].startswith("1w4d")


# ---------------------------------------------------------------------------
# Sessions and counters


def test_sessions_follow_secrets(sim, api):
    secrets = api.path("ppp", "secret")
    api.path("ppp", "profile").add(name="p10", **{"rate-limit": "2M/10M"})
    ident = secrets.add(name="budi", profile="p10", service="pppoe")
    assert list(api.path("ppp", "active")) == []
    [sid] = sim.connect("budi")
    active = list(api.path("ppp", "active"))
    assert len(active) == 1 and active[0][".id"] == sid
    assert active[0]["name"] == "budi" and active[0]["service"] == "pppoe"
    assert re.match(r"^10\.", active[0]["address"])
    ifaces = [i["name"] for i in api.path("interface")]
    assert ifaces == ["ether1", "ether2", "<pppoe-budi>"]
    [q] = list(api.path("queue", "simple"))
    assert q["name"] == "<pppoe-budi>" and q["dynamic"] is True
    assert q["max-limit"] == "2000000/10000000"

    # Disabling the secret ends its session, as on RouterOS.
    tuple(api("/ppp/secret/disable", **{".id": ident}))
    assert list(api.path("ppp", "active")) == []
    assert [i["name"] for i in api.path("interface")] == ["ether1", "ether2"]
    st = sim.secret("budi")
    assert st["last-disconnect-reason"] == "disabled"
    assert st["last-logged-out"] != "1970-01-01 00:00:00"
    # The CPE keeps dialling: enabling brings a new session.
    tuple(api("/ppp/secret/enable", **{".id": ident}))
    [again] = list(api.path("ppp", "active"))
    assert again[".id"] != sid

    # Removing the session: the customer stays off (redial_ms null) ...
    api.path("ppp", "active").remove(again[".id"])
    assert list(api.path("ppp", "active")) == []
    assert sim.secret("budi")["connected"] is False
    # ... or dials in again after redial_ms, with the profile of now.
    sim.connect("budi")
    sim.settings(redial_ms=0)
    api.path("ppp", "profile").add(name="p20", **{"rate-limit": "5M/20M"})
    secrets.update(**{".id": ident, "profile": "p20"})
    assert sim.session("budi")["profile"] == "p10"
    first = sim.session("budi")[".id"]
    api.path("ppp", "active").remove(first)
    s = sim.session("budi")
    assert s[".id"] != first and s["profile"] == "p20"
    assert [e["event"] for e in sim.events()][-2:] == ["session-end",
                                                       "session-start"]
    with pytest.raises(TrapError) as e:
        api.path("ppp", "active").remove(first)
    assert e.value.message == "no such item"

    # Without kick_sessions a disabled secret keeps its session.
    sim.settings(kick_sessions=False)
    tuple(api("/ppp/secret/disable", **{".id": ident}))
    assert sim.session("budi") is not None


def test_counters_grow_reset_wrap_and_restart(sim, api):
    sim.settings(auto_counters=False)
    api.path("ppp", "profile").add(name="p80", **{"rate-limit": "8M/80M"})
    api.path("ppp", "secret").add(name="siti", profile="p80")
    [sid] = sim.connect("siti", rx_bps=8000000, tx_bps=80000000)

    def iface():
        return [i for i in api.path("interface")
                if i["name"] == "<pppoe-siti>"][0]
    assert (iface()["rx-byte"], iface()["tx-byte"]) == (0, 0)
    sim.advance(10)
    i = iface()
    assert (i["rx-byte"], i["tx-byte"]) == (10000000, 100000000)
    assert i["type"] == "pppoe-in" and i["dynamic"] is True
    # The ether ports carry the sum: lan as the sessions, wan mirrored.
    eth = {x["name"]: x for x in api.path("interface")}
    assert eth["ether2"]["rx-byte"] == 10000000
    assert eth["ether1"]["tx-byte"] == 10000000
    [m] = list(api("/interface/monitor-traffic", interface="<pppoe-siti>",
                   once=True))
    assert m["rx-bits-per-second"] == 8000000
    assert m["tx-bits-per-second"] == 80000000
    # The session's dynamic queue counts the same bytes (upload/download).
    [q] = list(api.path("queue", "simple").select(Key("name"), Key("bytes"),
                                                  Key("rate")))
    assert q == {"name": "<pppoe-siti>", "bytes": "10000000/100000000",
                 "rate": "8000000/80000000"}

    # A counter reset from the API.
    tuple(api("/interface/reset-counters", **{".id": "<pppoe-siti>"}))
    assert (iface()["rx-byte"], iface()["tx-byte"]) == (0, 0)
    sim.advance(1)
    assert iface()["rx-byte"] == 1000000
    # A 64-bit wrap.
    sim.set_counters("siti", rx=2 ** 64 - 500000, tx=0)
    sim.advance(1)
    assert iface()["rx-byte"] == 500000
    # A session restart: new .id, counters and uptime from zero.
    sim.advance(30)
    [new] = sim.restart_session("siti")
    assert new != sid
    i = iface()
    assert (i["rx-byte"], i["tx-byte"]) == (0, 0)
    [a] = list(api.path("ppp", "active"))
    assert a[".id"] == new and a["uptime"] == "0s"
    sim.advance(65)
    assert list(api.path("ppp", "active"))[0]["uptime"] == "1m5s"
    # With the wall clock on, counters grow by themselves.
    sim.settings(auto_counters=True)
    before = iface()["rx-byte"]
    time.sleep(0.3)
    assert iface()["rx-byte"] > before

    with pytest.raises(TrapError) as e:
        tuple(api("/interface/monitor-traffic", interface="<pppoe-nobody>",
                  once=True))
    assert e.value.message == "input does not match any value of interface"


def test_monitor_traffic_stream_and_cancel(sim):
    sim.settings(auto_counters=False)
    sim.set_state({"secrets": [{"name": "agus", "connected": True,
                                "session": {"rx_bps": 1000, "tx_bps": 2000}}]})
    r = Raw(sim.port).login()
    r.send(["/interface/monitor-traffic", "=interface=<pppoe-agus>",
            "=interval=100ms", ".tag=m1"])
    samples = [r.sentence() for _ in range(3)]
    for s in samples:
        assert s[0] == "!re" and s[-1] == ".tag=m1"
        assert attrs(s)["tx-bits-per-second"] == "2000"
    r.send(["/cancel", "=tag=m1", ".tag=c1"])
    rest = []
    while True:
        s = r.sentence()
        if s[0] == "!re":
            continue
        rest.append(s)
        if s == ["!done", ".tag=c1"]:
            break
    assert rest == [["!trap", "=category=2", "=message=interrupted",
                     ".tag=m1"], ["!done", ".tag=m1"], ["!done", ".tag=c1"]]
    r.close()


# ---------------------------------------------------------------------------
# The wire


def test_tags_and_pipelining(sim):
    r = Raw(sim.port).login()
    r.send(["/ppp/secret/add", "=name=t1", ".tag=a"],
           ["/ppp/secret/add", "=name=t1", ".tag=b"],
           ["/ppp/secret/print", "=.proplist=name", ".tag=c"],
           ["/system/identity/print", ".tag=d"])
    got = [r.sentence() for _ in range(7)]
    assert got[0][0] == "!done" and got[0][2] == ".tag=a"
    assert got[0][1].startswith("=ret=*")
    assert got[1] == ["!trap", "=message=failure: secret with the same name "
                      "already exists", ".tag=b"]
    assert got[2] == ["!done", ".tag=b"]
    assert got[3] == ["!re", "=name=t1", ".tag=c"]
    assert got[4] == ["!done", ".tag=c"]
    assert got[5] == ["!re", "=name=MikroTik", ".tag=d"]
    assert got[6] == ["!done", ".tag=d"]
    r.close()


@pytest.mark.parametrize("size", [0x7F, 0x80, 0x3FFF, 0x4000, 0x1FFFFF,
                                  0x200000])
def test_word_length_forms(sim, size):
    r = Raw(sim.port, timeout=30).login()
    comment = "k" * (size - len("=comment="))
    r.send(["/ppp/secret/add", "=name=w", "=comment=" + comment])
    assert r.reply()[0][0] == "!done"
    [row, done] = r.talk("/ppp/secret/print", "=.proplist=comment")
    assert done == ["!done"] and row == ["!re", "=comment=" + comment]
    r.close()
    assert sim.secret("w")["comment"] == comment


def test_bytes_pass_unchanged(sim):
    r = Raw(sim.port).login()
    raw = "Warung Bu Siti \u2013 RT 03".encode() + b"\xff\x01"
    r.send([b"/ppp/secret/add", b"=name=s1", b"=comment=" + raw])
    assert r.reply()[0][0] == "!done"
    [row, _] = r.talk("/ppp/secret/print", "=.proplist=comment")
    assert row[0] == "!re"
    assert row[1].encode("utf-8", "surrogateescape") == b"=comment=" + raw
    r.close()


def test_malformed_input_closes_only_that_connection(sim):
    r = Raw(sim.port).login()
    r.sock.sendall(b"\xf8\x00")
    assert closed(r)
    # A huge word before login is refused the same way.
    r = Raw(sim.port)
    r.sock.sendall(enc_len(10 ** 6))
    assert closed(r)
    # A partial sentence then a close costs nothing.
    r = Raw(sim.port)
    r.sock.sendall(b"\x06/lo")
    r.close()
    a = connect(sim)
    assert list(a.path("system", "identity")) == [{"name": "MikroTik"}]
    a.close()


# ---------------------------------------------------------------------------
# Faults


def test_fault_refuse(sim, api):
    sim.fault(refuse=True)
    with pytest.raises(ConnectionRefusedError):
        connect(sim)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", sim.tls_port), timeout=5)
    # The open connection went down with the router.
    with pytest.raises((ConnectionClosed, OSError)):
        list(api.path("system", "identity"))
    sim.clear_faults()
    a = connect(sim)
    assert list(a.path("system", "identity")) == [{"name": "MikroTik"}]
    a.close()


def test_fault_wrong_password(sim):
    sim.fault(reject_login=True)
    with pytest.raises(TrapError) as e:
        connect(sim)
    assert e.value.message == "invalid user name or password (6)"
    sim.fault(reject_login=False)
    connect(sim).close()
    # The password changed on the router: the old one fails, the new works.
    sim.set_password("changed-on-router")
    with pytest.raises(TrapError):
        connect(sim)
    connect(sim, password="changed-on-router").close()


@pytest.mark.parametrize("apply,at", [(False, "word"), (True, "word"),
                                      (False, "byte"), (True, "byte")])
def test_fault_drop_mid_sentence(sim, apply, at):
    sim.fault(drop={"command": "/ppp/secret/add", "apply": apply, "at": at})
    r = Raw(sim.port).login()
    r.send(["/ppp/secret/print"])
    assert r.reply() == [["!done"]]
    r.send(["/ppp/secret/add", "=name=budi", ".tag=7"])
    data = r.rest()
    # Some bytes of the reply came, then the close, before the sentence's
    # end: what was received does not parse as whole sentences.
    assert data
    cut = Raw.__new__(Raw)
    cut.sock, cut.buf = None, data

    def no_more(n):
        raise EOFError()
    cut._need = lambda n: len(cut.buf) >= n or no_more(n)
    with pytest.raises(EOFError):
        while True:
            cut.sentence()
    assert (sim.secret("budi") is not None) == apply
    # One shot: the next connection works.
    a = connect(sim)
    secrets = a.path("ppp", "secret")
    if not apply:
        secrets.add(name="budi")
    with pytest.raises(TrapError):
        secrets.add(name="budi")
    a.close()
    assert "drop" not in sim.state()["faults"]


def test_fault_drop_with_librouteros(sim, api):
    # A cut between words: librouteros 3.1.0 loops for ever on a cut inside
    # a word (its read() only checks for EOF while its buffer is empty),
    # which is why "word" is the default.
    api.path("ppp", "secret").add(name="a")
    api.path("ppp", "secret").add(name="b")
    sim.fault(drop={"command": "/ppp/secret/print", "apply": True})
    with pytest.raises((ConnectionClosed, OSError)):
        list(api.path("ppp", "secret"))


def test_fault_delay(sim, api):
    sim.fault(delay_ms=300)
    t = time.monotonic()
    assert list(api.path("system", "identity")) == [{"name": "MikroTik"}]
    assert time.monotonic() - t >= 0.3
    sim.fault(delay_ms=0)
    t = time.monotonic()
    list(api.path("system", "identity"))
    assert time.monotonic() - t < 0.3


def test_fault_empty_replies(sim, api):
    r = Raw(sim.port).login()
    assert r.talk("/ppp/secret/print") == [["!done"]]
    sim.fault(empty=True)
    assert r.talk("/ppp/secret/print") == [["!empty"], ["!done"]]
    r.send(["/ppp/active/print", "?name=x", ".tag=5"])
    assert r.reply() == [["!empty", ".tag=5"], ["!done", ".tag=5"]]
    # A print with rows is unchanged.
    assert r.talk("/system/identity/print")[0][0] == "!re"
    r.close()
    # librouteros, older than 7.18, skips the !empty.
    assert list(api.path("ppp", "secret")) == []


def test_fault_fail_next_commands(sim, api):
    sim.fault(fail={"count": 2, "command": "/ppp/secret/",
                    "message": "failure: out of memory", "category": 4})
    secrets = api.path("ppp", "secret")
    for _ in range(2):
        with pytest.raises(TrapError) as e:
            secrets.add(name="budi")
        assert (e.value.message, e.value.category) == \
            ("failure: out of memory", 4)
    assert sim.secrets() == []
    # Other commands were never affected, and the count is spent.
    assert list(api.path("system", "identity")) == [{"name": "MikroTik"}]
    secrets.add(name="budi")
    assert sim.secret("budi") is not None


def test_fault_fatal(sim):
    sim.fault(fatal={"message": "too many commands"})
    r = Raw(sim.port).login()
    assert r.talk("/ppp/secret/print") == [["!fatal", "too many commands"]]
    assert closed(r)


def test_fault_hang(sim):
    sim.fault(hang=True)
    with pytest.raises((socket.timeout, TimeoutError)):
        librouteros.connect("127.0.0.1", "admin", PW, port=sim.port,
                            timeout=0.5)
    with pytest.raises((socket.timeout, TimeoutError, ssl.SSLError)):
        insecure_ctx().wrap_socket(socket.create_connection(
            ("127.0.0.1", sim.tls_port), timeout=0.5))
    sim.fault(hang=False)
    connect(sim).close()


def test_unknown_fault_and_bad_state_are_refused(sim):
    with pytest.raises(simctl.SimError):
        sim.fault(explode=True)
    # A bad request changes nothing, not even its good parts.
    with pytest.raises(simctl.SimError):
        sim.fault(refuse=True, drop={"at": "middle"})
    assert sim.state()["faults"] == {}
    socket.create_connection(("127.0.0.1", sim.port), timeout=5).close()
    sim.set_state({"secrets": [{"name": "budi"}]})
    with pytest.raises(simctl.SimError) as e:
        sim.set_state({"secrets": [{"name": "a", "profile": "missing"}]})
    assert "profile" in str(e.value)
    with pytest.raises(simctl.SimError):
        sim.set_state({"secrets": [{"name": "a"}, {"name": "a"}]})
    with pytest.raises(simctl.SimError):
        sim.call("no-such-op")
    assert [s["name"] for s in sim.secrets()] == ["budi"]


# ---------------------------------------------------------------------------
# Control channel, state files, several routers


def test_control_reads_back_what_a_client_changed(sim, api):
    sim.set_state({
        "profiles": [{"name": "paket-10M", "rate-limit": "2M/10M"}],
        "secrets": [{".id": "*20", "name": "lama", "password": "p",
                     "profile": "paket-10M", "comment": "dari dulu"}]})
    ident = api.path("ppp", "secret").add(name="baru", password="q")
    assert ident == "*21"
    st = sim.state()
    assert [(s[".id"], s["name"]) for s in st["secrets"]] == [
        ("*20", "lama"), ("*21", "baru")]
    assert st["secrets"][1]["password"] == "q"
    words = [e["words"] for e in sim.log()]
    assert ["/ppp/secret/add", "=name=baru", "=password=q"] in words
    assert sim.commands()[-1] == "/ppp/secret/add"


def test_state_file_and_demo_state():
    state = json.loads((ROOT / "tools" / "routeros-sim" /
                        "demo-state.json").read_text())
    with simctl.Sim.start(password=PW, state=state) as s:
        secrets = {x["name"]: x for x in s.secrets()}
        assert set(secrets) == {x["name"] for x in state["secrets"]}
        assert secrets["dewi.lestari"]["disabled"] == "true"
        online = {a["name"] for a in s.active()}
        assert online == {x["name"] for x in state["secrets"]
                          if x.get("connected") and not x.get("disabled")}
        a = librouteros.connect("127.0.0.1", "admin", PW, port=s.port,
                                timeout=5)
        assert len(list(a.path("ppp", "secret"))) == len(state["secrets"])
        a.close()
        # reset goes back to the file, not to an empty router.
        s.disconnect("budi.santoso")
        s.reset()
        assert "budi.santoso" in {x["name"] for x in s.active()}


def test_several_routers_in_one_process():
    with simctl.Sim.start(password=PW, routers=["a:0:0", "b:0"]) as s:
        a, b = s.router_info("a"), s.router_info("b")
        assert a["tls_port"] and b["tls_port"] is None
        ca = librouteros.connect("127.0.0.1", "admin", PW, port=a["port"],
                                 timeout=5)
        ca.path("ppp", "secret").add(name="only-on-a")
        ca.close()
        assert s.router("a").secret("only-on-a") is not None
        assert s.router("b").secret("only-on-a") is None
        s.router("b").fault(refuse=True)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", b["port"]), timeout=5)
        socket.create_connection(("127.0.0.1", a["port"]), timeout=5).close()


def test_scale_sessions_and_pipelined_adds(sim):
    """The sizes of the benchmarks: 2,000 sessions on a router, 1,000
    tagged adds in one pipeline.  The bounds are loose (a shared, loaded
    machine); the figures are printed."""
    sim.settings(auto_counters=False)
    t = time.monotonic()
    sim.bulk_secrets(2000, prefix="cust", connected=True)
    bulk = time.monotonic() - t
    a = connect(sim, timeout=30)
    t = time.monotonic()
    ifaces = list(a.path("interface"))
    printing = time.monotonic() - t
    assert len(ifaces) == 2002
    t = time.monotonic()
    assert len(list(a.path("ppp", "active"))) == 2000
    actives = time.monotonic() - t
    a.close()

    r = Raw(sim.port, timeout=60).login()
    t = time.monotonic()
    r.send(*[["/ppp/secret/print", "?name=new%04d" % i, "=.proplist=.id",
              ".tag=p%d" % i] for i in range(1000)])
    r.send(*[["/ppp/secret/add", "=name=new%04d" % i, "=password=x",
              "=service=pppoe", ".tag=%d" % i] for i in range(1000)])
    done = {}
    while len(done) < 2000:
        s = r.sentence()
        if s[0] == "!done":
            done[s[-1]] = s
    pipelined = time.monotonic() - t
    r.close()
    assert all(done[".tag=%d" % i][1].startswith("=ret=*")
               for i in range(1000))
    assert len(sim.secrets()) == 3000
    print("\nrouteros-sim: bulk 2000 sessions %.3fs, /interface/print of "
          "2002 %.3fs, /ppp/active/print of 2000 %.3fs, 1000 prints + 1000 "
          "adds pipelined %.3fs" % (bulk, printing, actives, pipelined))
    assert printing < 5 and actives < 5 and pipelined < 10


# ---------------------------------------------------------------------------
# The stack's simulated router (tools/stack.sh)


def test_stack_runs_a_simulated_router(stack):
    for k in ("ROUTEROS_SIM_HOST", "ROUTEROS_SIM_PORT",
              "ROUTEROS_SIM_TLS_PORT", "ROUTEROS_SIM_USER",
              "ROUTEROS_SIM_PASSWORD_FILE", "ROUTEROS_SIM_CONTROL",
              "ROUTEROS_SIM_PID_FILE"):
        assert stack.get(k), "stack.env lacks " + k
    pw = pathlib.Path(stack["ROUTEROS_SIM_PASSWORD_FILE"]).read_text().strip()
    assert len(pw) >= 16
    pid = int(pathlib.Path(stack["ROUTEROS_SIM_PID_FILE"]).read_text())
    assert os.path.exists("/proc/%d" % pid)
    a = librouteros.connect(stack["ROUTEROS_SIM_HOST"],
                            stack["ROUTEROS_SIM_USER"], pw,
                            port=int(stack["ROUTEROS_SIM_PORT"]), timeout=5)
    names = {s["name"] for s in a.path("ppp", "secret")}
    a.close()
    assert {"budi.santoso", "siti.aminah"} <= names
    t = librouteros.connect(stack["ROUTEROS_SIM_HOST"],
                            stack["ROUTEROS_SIM_USER"], pw,
                            port=int(stack["ROUTEROS_SIM_TLS_PORT"]),
                            ssl_wrapper=insecure_ctx().wrap_socket, timeout=5)
    assert list(t.path("system", "identity"))[0]["name"]
    t.close()
    ctl = simctl.Control(stack["ROUTEROS_SIM_CONTROL"])
    assert ctl.secret("budi.santoso")["profile"] == "paket-10M"
    ctl.close()
