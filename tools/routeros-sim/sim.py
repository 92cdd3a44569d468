#!/usr/bin/python3
"""A MikroTik RouterOS API simulator for tests, benchmarks and `make run`.

It speaks RouterOS's binary API (the length-prefixed words and sentences
of the API manual) over plain TCP (api, 8728) and over TLS (api-ssl, 8729;
with a self-signed certificate, or anonymous Diffie-Hellman only, as a
router whose api-ssl has no certificate), enforces login, and keeps the
state of the menus the product uses: /ppp/secret, /ppp/profile,
/ppp/active, /queue/simple, /interface (with growing byte counters of the
dynamic <pppoe-NAME> interfaces), /interface/monitor-traffic,
/system/resource and /system/identity.  Errors are RouterOS's own !trap
sentences.

Tests drive it through a control socket (JSON lines over a Unix socket;
tools/routeros-sim/simctl.py is the client): read and replace the state,
switch faults on and off (refused connections, rejected logins, replies
cut mid-sentence, delays, !empty replies, traps on the next N commands),
connect sessions and advance their counters.  README.md next to this file
documents the command line, the state file, the control operations and
what is and is not simulated.

Python 3 standard library only (Debian's /usr/bin/python3), plus the
openssl binary to generate a certificate when none is given.
"""

import argparse
import collections
import hashlib
import hmac
import ipaddress
import json
import os
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback

# ---------------------------------------------------------------------------
# Wire format

# Limits on what a client may send.  A real router has limits of its own
# (tighter before login); these only keep a broken client from making the
# simulator allocate without bound.
MAX_WORD_BYTES = 4 << 20
MAX_SENTENCE_WORDS = 10000
MAX_WORD_BYTES_BEFORE_LOGIN = 4096


class ProtocolError(Exception):
    """The peer sent bytes that are not RouterOS API words."""


def encode_length(n):
    """Encodes a word length in the API's variable-length form."""
    if n < 0x80:
        return bytes((n,))
    if n < 0x4000:
        return (n | 0x8000).to_bytes(2, "big")
    if n < 0x200000:
        return (n | 0xC00000).to_bytes(3, "big")
    if n < 0x10000000:
        return (n | 0xE0000000).to_bytes(4, "big")
    return b"\xf0" + n.to_bytes(4, "big")


def to_bytes(word):
    # Words are bytes on the wire.  They are kept as str decoded from UTF-8
    # with surrogateescape, so that any byte sequence round-trips unchanged.
    return word.encode("utf-8", "surrogateescape")


def encode_sentence(words):
    """Encodes a sentence (a list of str words) with its terminating empty
    word."""
    out = []
    for w in words:
        b = to_bytes(w)
        out.append(encode_length(len(b)))
        out.append(b)
    out.append(b"\0")
    return b"".join(out)


class SentenceReader:
    """Cuts a byte stream into sentences.  feed() adds bytes; next() returns
    the next complete sentence as a list of str, or None when more bytes
    are needed.  Empty sentences are skipped, as RouterOS does."""

    def __init__(self):
        self.buf = bytearray()
        self.pos = 0
        self.words = []
        self.max_word = MAX_WORD_BYTES_BEFORE_LOGIN

    def feed(self, data):
        if self.pos and self.pos > len(self.buf) // 2:
            del self.buf[:self.pos]
            self.pos = 0
        self.buf += data

    def next(self):
        buf = self.buf
        while True:
            avail = len(buf) - self.pos
            if avail <= 0:
                return None
            b = buf[self.pos]
            if b < 0x80:
                hl, n = 1, b
            elif b < 0xC0:
                if avail < 2:
                    return None
                hl = 2
                n = ((b & 0x3F) << 8) | buf[self.pos + 1]
            elif b < 0xE0:
                if avail < 3:
                    return None
                hl = 3
                n = ((b & 0x1F) << 16) | int.from_bytes(
                    buf[self.pos + 1:self.pos + 3], "big")
            elif b < 0xF0:
                if avail < 4:
                    return None
                hl = 4
                n = ((b & 0x0F) << 24) | int.from_bytes(
                    buf[self.pos + 1:self.pos + 4], "big")
            elif b < 0xF8:
                if avail < 5:
                    return None
                hl = 5
                n = int.from_bytes(buf[self.pos + 1:self.pos + 5], "big")
            else:
                # 0xF8 and above are reserved control bytes: the stream
                # cannot be parsed past them.
                raise ProtocolError("reserved control byte 0x%02X" % b)
            if n > self.max_word:
                raise ProtocolError("word of %d bytes is too long" % n)
            if avail < hl + n:
                return None
            start = self.pos + hl
            self.pos = start + n
            if n == 0:
                sentence, self.words = self.words, []
                if sentence:
                    return sentence
                continue
            self.words.append(
                bytes(buf[start:start + n]).decode("utf-8", "surrogateescape"))
            if len(self.words) > MAX_SENTENCE_WORDS:
                raise ProtocolError("sentence has too many words")


# ---------------------------------------------------------------------------
# Errors as RouterOS reports them

class Trap(Exception):
    """One or more !trap sentences, then !done.  category is RouterOS's
    error category (0-7) or None when RouterOS sends none."""

    def __init__(self, message, category=None, more=()):
        super().__init__(message)
        self.traps = [(message, category)] + list(more)


def trap_sentences(traps):
    out = []
    for message, category in traps:
        s = ["!trap"]
        if category is not None:
            s.append("=category=%d" % category)
        s.append("=message=" + message)
        out.append(s)
    return out


# The messages a real router gives.  Those marked (observed) are quoted from
# RouterOS; the others follow RouterOS's wording for a similar case and are
# listed as such in README.md.
MSG_LOGIN = "invalid user name or password (6)"           # observed
MSG_NO_ITEM = "no such item"                              # observed
MSG_NO_COMMAND = "no such command"                        # observed
MSG_NO_PREFIX = "no such command prefix"                  # observed
MSG_NO_DIR = "no such command or directory (%s)"          # observed
MSG_NO_MATCH = "input does not match any value of %s"     # observed, category 1
MSG_BAD_VALUE = "invalid value for argument %s"           # observed, category 1
MSG_UNKNOWN_PARAM = "unknown parameter"                   # observed
MSG_PERMISSION = "not enough permissions (9)"             # observed
MSG_INTERRUPTED = "interrupted"                           # observed, category 2
MSG_SECRET_EXISTS = "failure: secret with the same name already exists"  # observed
MSG_PROFILE_EXISTS = "failure: profile with the same name already exists"
MSG_QUEUE_EXISTS = "failure: queue with the same name already exists"
MSG_SECRET_NAME = "failure: secret must have a name"
MSG_DEFAULT_PROFILE = "failure: can not remove default profile"
MSG_DYNAMIC = "failure: can not change dynamic item"
MSG_MISSING_ARG = "missing value(s) of argument(s) %s"
MSG_NOT_LOGGED_IN = "not logged in"

# ---------------------------------------------------------------------------
# Values


def fmt_id(n):
    return "*%X" % n


def parse_id(s):
    """'*1A' -> 26, None when s is not an internal id."""
    if len(s) < 2 or s[0] != "*":
        return None
    try:
        return int(s[1:], 16)
    except ValueError:
        return None


def fmt_uptime(seconds):
    """RouterOS's duration format: 1w2d3h4m5s, zero units left out."""
    s = int(max(0, seconds))
    parts = []
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size:
            parts.append("%d%s" % (s // size, unit))
            s %= size
    if s or not parts:
        parts.append("%ds" % s)
    return "".join(parts)


def fmt_time(epoch):
    # RouterOS 7.10 and later print dates as ISO 8601 in local time; the
    # simulator's router runs in UTC.
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch))


NEVER = "1970-01-01 00:00:00"
BOOL_TRUE = ("yes", "true")
BOOL_FALSE = ("no", "false")

RATE_RE = r"\d+(?:\.\d+)?[kKmMgG]?"
RATE_PAIR_RE = re.compile(r"^%s(?:/%s)?$" % (RATE_RE, RATE_RE))
TIME_PAIR_RE = re.compile(r"^\d+[smh]?(?:/\d+[smh]?)?$")
NAME_RE = re.compile(r"^[^\s,/*][^,]*$")


def rate_to_bits(s):
    """'10M' -> 10000000; RouterOS's k/M/G are powers of 1000."""
    mult = {"k": 1000, "K": 1000, "m": 1000000, "M": 1000000,
            "g": 1000000000, "G": 1000000000}.get(s[-1:], 1)
    num = s[:-1] if mult != 1 else s
    return int(float(num) * mult)


def check_str(st, v, f):
    return v


def check_name(st, v, f):
    if not v or not NAME_RE.match(v):
        raise Trap(MSG_BAD_VALUE % f, 1)
    return v


def check_bool(st, v, f):
    lv = v.lower()
    if lv in BOOL_TRUE:
        return "true"
    if lv in BOOL_FALSE:
        return "false"
    raise Trap(MSG_BAD_VALUE % f, 1)


def check_enum(*values):
    def check(st, v, f):
        if v in values:
            return v
        raise Trap(MSG_NO_MATCH % f, 1)
    return check


def check_uint(st, v, f):
    if v.isdigit() and int(v) < 1 << 64:
        return str(int(v))
    raise Trap(MSG_BAD_VALUE % f, 1)


def check_ip(st, v, f):
    try:
        return str(ipaddress.IPv4Address(v))
    except ValueError:
        raise Trap(MSG_BAD_VALUE % f, 1) from None


def check_ip_or_pool(st, v, f):
    # A profile's addresses may name an IP pool; pools are not simulated,
    # so any name is accepted.
    try:
        return str(ipaddress.IPv4Address(v))
    except ValueError:
        if NAME_RE.match(v):
            return v
        raise Trap(MSG_BAD_VALUE % f, 1) from None


def check_profile(st, v, f):
    if v in st.profiles.by_name:
        return v
    raise Trap(MSG_NO_MATCH % f, 1)


def check_rate_limit(st, v, f):
    """rx/tx [burst-rx/tx [threshold-rx/tx [time-rx/tx [priority
    [min-rx/tx]]]]], stored as written, as RouterOS does."""
    tokens = v.split()
    ok = 1 <= len(tokens) <= 6
    for i, t in enumerate(tokens if ok else ()):
        if i in (0, 1, 2, 5):
            ok = bool(RATE_PAIR_RE.match(t))
        elif i == 3:
            ok = bool(TIME_PAIR_RE.match(t))
        else:
            ok = t.isdigit() and 1 <= int(t) <= 8
        if not ok:
            break
    if not ok:
        raise Trap(MSG_BAD_VALUE % f, 1)
    return v


def check_limit_pair(st, v, f):
    """A queue's 'upload/download' pair of rates, printed in bits."""
    if not RATE_PAIR_RE.match(v):
        raise Trap(MSG_BAD_VALUE % f, 1)
    parts = v.split("/")
    if len(parts) == 1:
        parts.append(parts[0])
    return "%d/%d" % (rate_to_bits(parts[0]), rate_to_bits(parts[1]))


def check_time_pair(st, v, f):
    if not TIME_PAIR_RE.match(v):
        raise Trap(MSG_BAD_VALUE % f, 1)
    parts = v.split("/")
    if len(parts) == 1:
        parts.append(parts[0])
    return "/".join(p if p[-1].isalpha() else p + "s" for p in parts)


def check_priority(st, v, f):
    parts = v.split("/")
    if len(parts) == 1:
        parts.append(parts[0])
    if len(parts) != 2 or not all(p.isdigit() and 1 <= int(p) <= 8
                                  for p in parts):
        raise Trap(MSG_BAD_VALUE % f, 1)
    return "/".join(parts)


def check_target(st, v, f):
    """A queue target: addresses (a bare address gets /32) or interfaces."""
    out = []
    for t in v.split(","):
        t = t.strip()
        if not t:
            raise Trap(MSG_BAD_VALUE % f, 1)
        try:
            out.append(str(ipaddress.IPv4Network(t, strict=False)))
            continue
        except ValueError:
            pass
        if not NAME_RE.match(t):
            raise Trap(MSG_BAD_VALUE % f, 1)
        out.append(t)
    return ",".join(out)


class Field:
    """One property of a menu: its default (None for a property that is
    left out of print while unset), how a value is checked and normalised,
    and whether clients may write it."""
    __slots__ = ("name", "default", "check", "ro")

    def __init__(self, name, default, check=check_str, ro=False):
        self.name = name
        self.default = default
        self.check = check
        self.ro = ro


YES_NO_DEFAULT = check_enum("yes", "no", "default")

SECRET_FIELDS = [
    Field("name", "", check_name),
    Field("service", "any", check_enum("any", "async", "l2tp", "ovpn",
                                       "pppoe", "pptp", "sstp")),
    Field("caller-id", ""),
    Field("password", ""),
    Field("profile", "default", check_profile),
    Field("routes", ""),
    Field("ipv6-routes", ""),
    Field("limit-bytes-in", "0", check_uint),
    Field("limit-bytes-out", "0", check_uint),
    Field("local-address", None, check_ip),
    Field("remote-address", None, check_ip),
    Field("remote-ipv6-prefix", None),
    Field("last-logged-out", NEVER, ro=True),
    Field("last-caller-id", None, ro=True),
    Field("last-disconnect-reason", None, ro=True),
    Field("disabled", "false", check_bool),
    Field("comment", None),
]

PROFILE_FIELDS = [
    Field("name", "", check_name),
    Field("local-address", None, check_ip_or_pool),
    Field("remote-address", None, check_ip_or_pool),
    Field("bridge", None),
    Field("incoming-filter", None),
    Field("outgoing-filter", None),
    Field("address-list", ""),
    Field("dns-server", None),
    Field("rate-limit", None, check_rate_limit),
    Field("parent-queue", None),
    Field("queue-type", None),
    Field("insert-queue-before", None),
    Field("only-one", "default", YES_NO_DEFAULT),
    Field("change-tcp-mss", "default", YES_NO_DEFAULT),
    Field("use-compression", "default", YES_NO_DEFAULT),
    Field("use-encryption", "default",
          check_enum("yes", "no", "default", "required")),
    Field("use-mpls", "default", YES_NO_DEFAULT),
    Field("use-upnp", "default", YES_NO_DEFAULT),
    Field("on-up", ""),
    Field("on-down", ""),
    Field("comment", None),
    Field("default", "false", check_bool, ro=True),
]

QUEUE_FIELDS = [
    Field("name", "", check_name),
    Field("target", "", check_target),
    Field("parent", "none"),
    Field("packet-marks", ""),
    Field("priority", "8/8", check_priority),
    Field("queue", "default-small/default-small"),
    Field("limit-at", "0/0", check_limit_pair),
    Field("max-limit", "0/0", check_limit_pair),
    Field("burst-limit", "0/0", check_limit_pair),
    Field("burst-threshold", "0/0", check_limit_pair),
    Field("burst-time", "0s/0s", check_time_pair),
    Field("bucket-size", "0.1/0.1"),
    Field("comment", None),
    Field("disabled", "false", check_bool),
]

STATIC_IFACE_FIELDS = [
    Field("name", "", check_name),
    Field("type", "ether"),
    Field("mtu", "1500", check_uint),
    Field("mac-address", "", ro=False),
    Field("comment", None),
    Field("disabled", "false", check_bool),
]


def new_props(fields, st, attrs, allow_ro):
    """Checks attrs against fields and returns the normalised properties
    of a new item (defaults filled in).  Raises Trap on the first bad
    value, before anything changed."""
    props = {}
    for f in fields:
        if f.default is not None:
            props[f.name] = f.default
    return update_props(fields, st, props, attrs, allow_ro)


def update_props(fields, st, props, attrs, allow_ro):
    """Returns a copy of props with attrs applied, or raises Trap."""
    fmap = {f.name: f for f in fields}
    out = dict(props)
    for k, v in attrs.items():
        f = fmap.get(k)
        if f is None or (f.ro and not allow_ro):
            raise Trap(MSG_UNKNOWN_PARAM)
        if v == "" and f.default is None:
            # An empty value unsets an optional property.
            out.pop(k, None)
            continue
        out[k] = f.check(st, v, k)
    return out


def scalar(v):
    """A JSON value of a state file as the string RouterOS would print."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if v is None:
        return ""
    return str(v)


# ---------------------------------------------------------------------------
# State

class Item:
    """One row of a menu.  props holds what print shows (strings, without
    .id); the other slots are the simulator's own bookkeeping."""
    __slots__ = ("id", "props", "connected", "session", "role",
                 "rx_base", "tx_base", "dynamic")

    def __init__(self, ident, props):
        self.id = ident
        self.props = props
        self.connected = False
        self.session = None
        self.role = None
        self.rx_base = 0
        self.tx_base = 0
        self.dynamic = False


class Table:
    """Rows of one menu in creation order, indexed by id and by name, so
    that lookups stay O(1) with thousands of rows."""

    def __init__(self, first_id=1):
        self.items = {}
        self.by_name = {}
        self.next_id = first_id

    def add(self, props, ident=None):
        if ident is None:
            ident = self.next_id
        self.next_id = max(self.next_id, ident + 1)
        item = Item(ident, props)
        self.items[ident] = item
        name = props.get("name")
        if name is not None and name not in self.by_name:
            self.by_name[name] = item
        return item

    def remove(self, item):
        self.items.pop(item.id, None)
        name = item.props.get("name")
        if self.by_name.get(name) is item:
            del self.by_name[name]
            # Another row of the same name (dynamic rows may share one)
            # takes the index over.
            for other in self.items.values():
                if other.props.get("name") == name:
                    self.by_name[name] = other
                    break

    def rename(self, item, old, new):
        if self.by_name.get(old) is item:
            del self.by_name[old]
        self.by_name.setdefault(new, item)

    def resolve(self, spec):
        """Items named by an =.id= value: ids (*1A) or names, comma
        separated.  Raises Trap(no such item) if any is missing."""
        if spec is None or spec == "":
            raise Trap(MSG_NO_ITEM)
        out = []
        for part in spec.split(","):
            n = parse_id(part)
            item = self.items.get(n) if n is not None else \
                self.by_name.get(part)
            if item is None:
                raise Trap(MSG_NO_ITEM)
            if item not in out:
                out.append(item)
        return out


MASK64 = (1 << 64) - 1


class Session:
    """An active PPPoE session.  Byte counters are computed from a base
    and a rate on the router's clock, so they grow without a timer and an
    `advance` of the clock moves every session at once.  rx is what the
    router receives (the customer's upload), tx what it sends."""
    __slots__ = ("id", "secret_id", "name", "profile", "address",
                 "caller_id", "session_id", "started", "rx_base", "tx_base",
                 "t_ref", "rx_bps", "tx_bps", "iface", "queue", "login_at")

    def counters(self, now):
        dt = max(0.0, now - self.t_ref)
        return ((self.rx_base + int(self.rx_bps * dt / 8)) & MASK64,
                (self.tx_base + int(self.tx_bps * dt / 8)) & MASK64)

    def rebase(self, now):
        self.rx_base, self.tx_base = self.counters(now)
        self.t_ref = now


DEFAULT_RESOURCE = [
    ("version", "7.16.2 (stable)"),
    ("build-time", "2024-11-26 12:23:45"),
    ("factory-software", "7.1"),
    ("free-memory", "3521531904"),
    ("total-memory", "4294967296"),
    ("cpu", "ARM64"),
    ("cpu-count", "4"),
    ("cpu-frequency", "1700"),
    ("cpu-load", "3"),
    ("free-hdd-space", "99266560"),
    ("total-hdd-space", "134217728"),
    ("write-sect-since-reboot", "1234"),
    ("write-sect-total", "567890"),
    ("bad-blocks", "0"),
    ("architecture-name", "arm64"),
    ("board-name", "CCR2004-1G-12S+2XS"),
    ("platform", "MikroTik"),
]

DEFAULT_SETTINGS = {
    # Answer /login =name= =password= with a challenge (=ret=), as routers
    # before 6.43 do, and accept only the MD5 =response=.
    "legacy_login": False,
    # Disabling or removing a secret ends its active session.
    "kick_sessions": True,
    # After /ppp/active/remove, the customer's CPE dials again after this
    # many milliseconds (a new session, counters from zero); null: it stays
    # offline until the control channel connects it again.
    "redial_ms": None,
    # Counters grow with wall-clock time; false: only `advance` moves them.
    "auto_counters": True,
    # Rates of a new session in bits per second, router's view: rx is the
    # customer's upload.
    "default_rx_bps": 2000000,
    "default_tx_bps": 10000000,
}

FAULT_KEYS = ("refuse", "hang", "reject_login", "delay_ms", "empty", "fail",
              "drop", "fatal")


class State:
    """Everything a router stores.  The control channel's set_state builds
    a new State and swaps it in whole, so a bad state file changes
    nothing."""

    def __init__(self):
        self.identity = "MikroTik"
        self.resource = collections.OrderedDict(DEFAULT_RESOURCE)
        self.uptime0 = 86400 * 3 + 3600 * 4
        self.users = {}
        self.secrets = Table()
        self.profiles = Table()
        self.queues = Table()
        self.ifaces = Table()
        self.sessions = {}
        self.next_session = 0x81000001
        self.next_address = 2
        self.retired_rx = 0
        self.retired_tx = 0
        p = new_props(PROFILE_FIELDS, self, {}, True)
        p.update({"name": "default", "default": "true"})
        self.profiles.add(p, 0)
        p = new_props(PROFILE_FIELDS, self, {}, True)
        p.update({"name": "default-encryption", "use-encryption": "yes",
                  "default": "true"})
        self.profiles.add(p, 0xFFFFFFFE)
        self.profiles.next_id = 1


def mac_for(name, salt=""):
    h = hashlib.sha256((salt + name).encode("utf-8", "surrogateescape"))
    b = h.digest()[:5]
    return "02:" + ":".join("%02X" % x for x in b)


# ---------------------------------------------------------------------------
# The router

def log(msg):
    sys.stderr.write("%s routeros-sim: %s\n" %
                     (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


class Router:
    """One simulated router: its state, settings, faults, listeners and
    open API connections.  Every change to the state happens under lock."""

    def __init__(self, name, host, port, tls_port, opts):
        self.name = name
        self.host = host
        self.lock = threading.RLock()
        self.settings = dict(DEFAULT_SETTINGS)
        self.faults = {}
        self.t0 = time.monotonic()
        self.offset = 0.0
        self.stats = collections.Counter()
        self.by_command = collections.Counter()
        self.log = collections.deque(maxlen=50000)
        self.events = collections.deque(maxlen=50000)
        self.conns = set()
        self.conn_seq = 0
        self.verbose = opts.verbose
        self.workdir = opts.workdir
        self.tls_mode = opts.tls_mode
        self.cert = opts.cert or os.path.join(self.workdir, name + "-cert.pem")
        self.key = opts.key or os.path.join(self.workdir, name + "-key.pem")
        self.fingerprint = None
        self.tls_ctx = None
        self.timers = set()
        self.st = State()
        self.st.users["admin"] = {"password": "", "group": "full"}
        # The defaults of an empty state file (ether1, ether2).
        self.import_state({})
        self.remember_boot({})
        self.listeners = []
        if port is not None:
            self.listeners.append(Listener(self, host, port, False))
        if tls_port is not None:
            self.load_tls()
            self.listeners.append(Listener(self, host, tls_port, True))

    # -- time ---------------------------------------------------------------

    def clock(self):
        """Seconds on the router's clock: wall-clock time since start while
        auto_counters is on, plus every `advance`."""
        if self.settings["auto_counters"]:
            return self.offset + (time.monotonic() - self.t0)
        return self.offset

    def wall(self):
        return time.time() + self.offset

    def set_auto(self, on):
        now = self.clock()
        self.settings["auto_counters"] = bool(on)
        self.t0 = time.monotonic()
        self.offset = now

    # -- TLS ----------------------------------------------------------------

    def load_tls(self):
        """Builds the api-ssl context for new connections: a certificate
        (generated when the files do not exist) or, in anon mode, only the
        anonymous DH suites that a router without a certificate offers."""
        if self.tls_mode == "anon":
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
            # OpenSSL 3 allows aNULL suites only at security level 0.
            ctx.set_ciphers("ADH:@SECLEVEL=0")
            dh = os.path.join(self.workdir, "ffdhe2048.pem")
            if not os.path.exists(dh):
                with open(dh, "w") as f:
                    f.write(FFDHE2048)
            ctx.load_dh_params(dh)
            self.tls_ctx = ctx
            self.fingerprint = None
            return
        if not (os.path.exists(self.cert) and os.path.exists(self.key)):
            make_cert(self.cert, self.key, self.name)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.cert, self.key)
        with open(self.cert) as f:
            der = ssl.PEM_cert_to_DER_cert(f.read())
        self.fingerprint = hashlib.sha256(der).hexdigest()
        self.tls_ctx = ctx

    # -- sessions -----------------------------------------------------------

    def event(self, kind, **kw):
        kw.update({"event": kind, "at": round(self.clock(), 3)})
        self.events.append(kw)

    def alloc_address(self):
        st = self.st
        n = st.next_address
        st.next_address += 1
        return str(ipaddress.IPv4Address(int(ipaddress.IPv4Address(
            "10.200.0.0")) + n))

    def session_address(self, secret):
        addr = secret.props.get("remote-address")
        if addr:
            return addr
        prof = self.st.profiles.by_name.get(secret.props.get("profile"))
        if prof is not None:
            addr = prof.props.get("remote-address")
            try:
                return str(ipaddress.IPv4Address(addr))
            except (ValueError, TypeError):
                pass
        return self.alloc_address()

    def start_session(self, secret, spec=None):
        """Logs the secret's customer in: an /ppp/active row, its dynamic
        <pppoe-NAME> interface and, when the profile has a rate-limit, its
        dynamic simple queue, as RouterOS creates them."""
        st = self.st
        spec = spec or {}
        now = self.clock()
        s = Session()
        s.id = st.next_session
        st.next_session += 1
        s.secret_id = secret.id
        s.name = secret.props["name"]
        s.profile = secret.props.get("profile", "default")
        s.address = spec.get("address") or self.session_address(secret)
        s.caller_id = spec.get("caller-id") or mac_for(s.name)
        s.session_id = "0x%08X" % s.id
        s.started = now
        s.login_at = self.wall()
        s.rx_base = int(spec.get("rx-byte", 0))
        s.tx_base = int(spec.get("tx-byte", 0))
        s.t_ref = now
        s.rx_bps = int(spec.get("rx_bps", self.settings["default_rx_bps"]))
        s.tx_bps = int(spec.get("tx_bps", self.settings["default_tx_bps"]))
        iname = "<pppoe-%s>" % s.name
        k = 0
        while iname in st.ifaces.by_name:
            k += 1
            iname = "<pppoe-%s-%d>" % (s.name, k)
        iface = st.ifaces.add({
            "name": iname, "type": "pppoe-in", "mtu": "1480",
            "actual-mtu": "1480", "dynamic": "true"})
        iface.session = s
        iface.dynamic = True
        s.iface = iface
        s.queue = None
        prof = st.profiles.by_name.get(s.profile)
        rate = prof.props.get("rate-limit") if prof is not None else None
        if rate:
            pair = rate.split()[0].split("/")
            if len(pair) == 1:
                pair.append(pair[0])
            q = new_props(QUEUE_FIELDS, st, {}, True)
            q.update({"name": iname, "target": iname,
                      "max-limit": "%d/%d" % (rate_to_bits(pair[0]),
                                              rate_to_bits(pair[1]))})
            queue = st.queues.add(q)
            queue.dynamic = True
            queue.session = s
            s.queue = queue
        st.sessions[s.id] = s
        secret.session = s
        self.event("session-start", name=s.name, id=fmt_id(s.id),
                   profile=s.profile)
        return s

    def end_session(self, s, reason):
        st = self.st
        if st.sessions.pop(s.id, None) is None:
            return
        rx, tx = s.counters(self.clock())
        st.retired_rx += rx
        st.retired_tx += tx
        st.ifaces.remove(s.iface)
        if s.queue is not None:
            st.queues.remove(s.queue)
        secret = st.secrets.items.get(s.secret_id)
        if secret is not None and secret.session is s:
            secret.session = None
            secret.props["last-logged-out"] = fmt_time(self.wall())
            secret.props["last-caller-id"] = s.caller_id
            secret.props["last-disconnect-reason"] = reason
        self.event("session-end", name=s.name, id=fmt_id(s.id),
                   reason=reason)

    def sync_session(self, secret, delay_ms=0):
        """Keeps the invariant: an enabled, connected secret has a
        session.  With a delay, the customer's CPE dials in later."""
        if secret.session is not None or not secret.connected or \
                secret.props.get("disabled") == "true":
            return
        if not delay_ms:
            self.start_session(secret)
            return
        ident = secret.id
        st = self.st

        def redial():
            with self.lock:
                self.timers.discard(t)
                if self.st is not st:
                    return
                item = st.secrets.items.get(ident)
                if item is not None:
                    self.sync_session(item)
        t = threading.Timer(delay_ms / 1000.0, redial)
        t.daemon = True
        self.timers.add(t)
        t.start()

    # -- faults -------------------------------------------------------------

    def set_faults(self, changes):
        """Merges fault switches (see README.md).  Unknown keys are an
        error; a false or null value switches a fault off."""
        for k, v in changes.items():
            if k not in FAULT_KEYS:
                raise ValueError("unknown fault %r" % k)
            if k in ("fail", "drop", "fatal") and v and \
                    not isinstance(v, (dict, bool)):
                raise ValueError("%s must be an object" % k)
            if k == "drop" and isinstance(v, dict) and \
                    v.get("at", "word") not in ("word", "byte"):
                raise ValueError("drop.at must be word or byte")
        for k, v in changes.items():
            if k in ("fail", "drop", "fatal"):
                if not v:
                    self.faults.pop(k, None)
                    continue
                spec = dict(v) if isinstance(v, dict) else {}
                spec.setdefault("count", 1)
                spec.setdefault("command", "")
                if k == "fail":
                    spec.setdefault("message", "failure: simulated fault")
                    spec.setdefault("category", None)
                if k == "fatal":
                    spec.setdefault("message", "simulated fatal error")
                if k == "drop":
                    spec.setdefault("apply", False)
                    spec.setdefault("at", "word")
                self.faults[k] = spec
            elif k == "delay_ms":
                if v:
                    self.faults[k] = int(v)
                else:
                    self.faults.pop(k, None)
            elif v:
                self.faults[k] = True
            else:
                self.faults.pop(k, None)
        refuse = bool(self.faults.get("refuse"))
        for lst in self.listeners:
            lst.want_open = not refuse
        if refuse:
            for c in list(self.conns):
                c.abort()

    def take_fault(self, kind, command):
        """The armed fault of this kind if it matches the command (a prefix
        of the command word; empty matches any command but /login), counting
        it down."""
        spec = self.faults.get(kind)
        if spec is None:
            return None
        prefix = spec.get("command") or ""
        if prefix:
            if not command.startswith(prefix):
                return None
        elif command == "/login":
            return None
        count = spec.get("count")
        if count is not None:
            count -= 1
            if count <= 0:
                self.faults.pop(kind, None)
            else:
                spec["count"] = count
        return spec

    # -- state import and export ---------------------------------------------

    def import_state(self, data):
        """Builds a State from a state-file dictionary (README.md, "State
        file") and swaps it in; raises ValueError or Trap, changing
        nothing, when anything in it is wrong."""
        if not isinstance(data, dict):
            raise ValueError("state must be an object")
        st = State()
        known = {"identity", "resource", "uptime", "users", "profiles",
                 "secrets", "queues", "interfaces", "settings", "faults",
                 "name", "clock", "tls_fingerprint", "active", "stats"}
        for k in data:
            if k not in known:
                raise ValueError("unknown state key %r" % k)
        if "identity" in data:
            st.identity = scalar(data["identity"])
        for k, v in (data.get("resource") or {}).items():
            st.resource[k] = scalar(v)
        if "uptime" in data:
            st.uptime0 = float(data["uptime"])
        users = data.get("users")
        if users is None:
            st.users = {k: dict(v) for k, v in self.st.users.items()}
        else:
            for u in users:
                group = u.get("group", "full")
                if group not in ("full", "write", "read"):
                    raise ValueError("user group must be full, write or read")
                st.users[scalar(u["name"])] = {
                    "password": scalar(u.get("password", "")),
                    "group": group}
        for row in data.get("profiles") or ():
            attrs, ident = split_row(row)
            existing = st.profiles.by_name.get(attrs.get("name"))
            if existing is not None and existing.props.get("default") == "true":
                existing.props = update_props(PROFILE_FIELDS, st,
                                              existing.props, attrs, True)
                continue
            props = new_props(PROFILE_FIELDS, st, attrs, True)
            if not props.get("name") or props["name"] in st.profiles.by_name:
                raise ValueError("profile without a unique name: %r" % row)
            st.profiles.add(props, ident)
        ifaces = data.get("interfaces")
        if ifaces is None:
            ifaces = [{"name": "ether1", "role": "wan"},
                      {"name": "ether2", "role": "lan"}]
        for row in ifaces:
            row = dict(row)
            role = row.pop("role", None)
            rxb = int(row.pop("rx-byte", 0))
            txb = int(row.pop("tx-byte", 0))
            attrs, ident = split_row(row)
            props = new_props(STATIC_IFACE_FIELDS, st, attrs, True)
            if not props.get("mac-address"):
                props["mac-address"] = mac_for(props["name"], self.name)
            if props["name"] in st.ifaces.by_name:
                raise ValueError("duplicate interface %r" % props["name"])
            props["default-name"] = props["name"]
            item = st.ifaces.add(props, ident)
            item.role = role
            item.rx_base = rxb
            item.tx_base = txb
        pending = []
        for row in data.get("secrets") or ():
            row = dict(row)
            connected = bool(row.pop("connected", False))
            spec = row.pop("session", None) or {}
            attrs, ident = split_row(row)
            props = new_props(SECRET_FIELDS, st, attrs, True)
            if not props.get("name"):
                raise Trap(MSG_SECRET_NAME)
            if props["name"] in st.secrets.by_name:
                raise Trap(MSG_SECRET_EXISTS)
            item = st.secrets.add(props, ident)
            item.connected = connected
            pending.append((item, spec))
        for row in data.get("queues") or ():
            attrs, ident = split_row(row)
            props = new_props(QUEUE_FIELDS, st, attrs, True)
            if not props.get("name") or props["name"] in st.queues.by_name:
                raise ValueError("queue without a unique name: %r" % row)
            st.queues.add(props, ident)
        settings = dict(self.settings)
        for k, v in (data.get("settings") or {}).items():
            if k not in DEFAULT_SETTINGS:
                raise ValueError("unknown setting %r" % k)
            settings[k] = v
        old_faults = dict(self.faults)
        if "faults" in data:
            self.faults = {}
            try:
                self.set_faults(data["faults"] or {})
            except ValueError:
                self.faults = old_faults
                raise
        # Nothing can fail past this point.
        for t in list(self.timers):
            t.cancel()
        self.timers.clear()
        if settings["auto_counters"] != self.settings["auto_counters"]:
            self.set_auto(settings["auto_counters"])
        self.settings = settings
        self.st = st
        for item, spec in pending:
            if item.connected and item.props["disabled"] != "true":
                self.start_session(item, spec)

    def remember_boot(self, state):
        """Keeps what the router started with, for the control channel's
        reset."""
        self.boot_state = dict(state or {})
        self.boot_settings = dict(self.settings)
        self.boot_users = [{"name": n, "password": u["password"],
                            "group": u["group"]}
                           for n, u in self.st.users.items()]

    def reset(self):
        """Back to the state the router started with: faults off, settings,
        users and rows of the start, logs emptied.  The clock keeps
        running."""
        data = dict(self.boot_state)
        data["settings"] = dict(self.boot_settings)
        data["users"] = self.boot_users
        data["faults"] = {}
        self.import_state(data)
        self.log.clear()
        self.events.clear()
        self.stats.clear()
        self.by_command.clear()

    def export_state(self):
        st = self.st
        now = self.clock()
        return {
            "name": self.name,
            "identity": st.identity,
            "resource": self.resource_row(),
            "users": [{"name": n, "group": u["group"]}
                      for n, u in st.users.items()],
            "secrets": [dict(MENUS["secret"].row(self, it, now),
                             connected=it.connected)
                        for it in st.secrets.items.values()],
            "profiles": [MENUS["profile"].row(self, it, now)
                         for it in st.profiles.items.values()],
            "active": [dict(MENUS["active"].row(self, it, now),
                            profile=it.profile, rx_bps=it.rx_bps,
                            tx_bps=it.tx_bps)
                       for it in st.sessions.values()],
            "queues": [MENUS["queue"].row(self, it, now)
                       for it in st.queues.items.values()],
            "interfaces": [MENUS["interface"].row(self, it, now)
                           for it in st.ifaces.items.values()],
            "settings": dict(self.settings),
            "faults": json.loads(json.dumps(self.faults)),
            "clock": round(now, 3),
            "tls_mode": self.tls_mode if self.has_tls() else None,
            "tls_fingerprint": self.fingerprint,
        }

    def has_tls(self):
        return any(lst.tls for lst in self.listeners)

    def resource_row(self):
        row = collections.OrderedDict()
        row["uptime"] = fmt_uptime(self.st.uptime0 + self.clock())
        row.update(self.st.resource)
        return row

    def describe(self):
        out = {"name": self.name, "host": self.host, "port": None,
               "tls_port": None, "tls_mode": None,
               "tls_fingerprint": self.fingerprint}
        for lst in self.listeners:
            if lst.tls:
                out["tls_port"] = lst.port
                out["tls_mode"] = self.tls_mode
            else:
                out["port"] = lst.port
        return out


def split_row(row):
    """A state-file row as (attrs of strings, numeric id or None)."""
    if not isinstance(row, dict):
        raise ValueError("a row must be an object: %r" % (row,))
    attrs = {}
    ident = None
    for k, v in row.items():
        if k == ".id":
            ident = parse_id(str(v))
            if ident is None:
                raise ValueError("bad .id %r" % (v,))
            continue
        attrs[k] = scalar(v)
    return attrs, ident


FFDHE2048 = """-----BEGIN DH PARAMETERS-----
MIIBCAKCAQEA//////////+t+FRYortKmq/cViAnPTzx2LnFg84tNpWp4TZBFGQz
+8yTnc4kmz75fS/jY2MMddj2gbICrsRhetPfHtXV/WVhJDP1H18GbtCFY2VVPe0a
87VXE15/V8k1mE8McODmi3fipona8+/och3xWKE2rec1MKzKT0g6eXq8CrGCsyT7
YdEIqUuyyOP7uWrat2DX9GgdT0Kj3jlN9K5W7edjcrsZCwenyO4KbXCeAvzhzffi
7MA0BM0oNC9hkXL+nOmFg/+OTxIy7vKBg8P+OxtMb61zO7X8vC7CIAXFjvGDfRaD
ssbzSibBsu/6iGtCOGEoXJf//////////wIBAg==
-----END DH PARAMETERS-----
"""


def make_cert(cert, key, name):
    """A self-signed EC certificate, as an operator would make on the
    router (/certificate add ... sign)."""
    tmpk, tmpc = key + ".tmp", cert + ".tmp"
    old = os.umask(0o077)
    try:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-days", "3650",
             "-keyout", tmpk, "-out", tmpc, "-subj",
             "/CN=routeros-sim-" + name,
             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    finally:
        os.umask(old)
    os.replace(tmpk, key)
    os.replace(tmpc, cert)


# ---------------------------------------------------------------------------
# Menus


def query_match(row, queries):
    """Evaluates RouterOS print queries on a row (API manual, "Queries"):
    a stack of booleans that starts with infinitely many true values; the
    row matches when no false value is left."""
    stack = []

    def pop():
        return stack.pop() if stack else True

    def at(i):
        return stack[-1 - i] if i < len(stack) else True

    for q in queries:
        if not q:
            stack.append(True)
        elif q[0] == "#":
            ops = q[1:]
            i, n = 0, len(ops)
            while i < n:
                c = ops[i]
                if c.isdigit():
                    j = i
                    while j < n and ops[j].isdigit():
                        j += 1
                    v = at(int(ops[i:j]))
                    if j == n:
                        stack[:] = [v]
                        break
                    stack.append(v)
                    i = j
                    if ops[i] == ".":
                        i += 1
                    continue
                if c == "!":
                    stack.append(not pop())
                elif c == "&":
                    a, b = pop(), pop()
                    stack.append(a and b)
                elif c == "|":
                    a, b = pop(), pop()
                    stack.append(a or b)
                elif c == ".":
                    stack.append(at(0))
                i += 1
        elif q[0] == "-":
            stack.append(row.get(q[1:], "") == "")
        elif q[0] in "=<>":
            k, _, v = q[1:].partition("=")
            stack.append(compare(row.get(k), q[0], v))
        else:
            k, sep, v = q.partition("=")
            if sep:
                stack.append(compare(row.get(k), "=", v))
            else:
                stack.append(row.get(k, "") != "")
    return all(stack)


def compare(have, op, want):
    have = "" if have is None else have
    if have in ("true", "false"):
        lw = want.lower()
        if lw in BOOL_TRUE:
            want = "true"
        elif lw in BOOL_FALSE:
            want = "false"
    if op == "=":
        return have == want
    try:
        a, b = int(have), int(want)
    except ValueError:
        a, b = have, want
    return a < b if op == "<" else a > b


PRINT_ARGS = {".proplist", "count-only", "detail", "stats", "terse",
              "without-paging", "brief", "value-list", "stats-detail",
              "show-ids", "oid", "as-value"}


class Menu:
    """A menu of rows (/ppp/secret ...): print with queries, and the
    writes each menu allows."""
    noun = "item"
    fields = ()
    table = None
    verbs = ("print",)

    def items(self, router):
        return getattr(router.st, self.table).items.values()

    def tab(self, router):
        return getattr(router.st, self.table)

    def row(self, router, item, now):
        row = {".id": fmt_id(item.id)}
        row.update(item.props)
        return row

    def candidates(self, router, queries):
        """Rows a query can match.  A query of plain equalities on name or
        .id is answered from the index: every pushed value must be true
        when no ?# operation combines them."""
        if queries and not any(q.startswith("#") for q in queries):
            for q in queries:
                body = q[1:] if q.startswith("=") else q
                k, sep, v = body.partition("=")
                if not sep or q[:1] in "<>-":
                    continue
                tab = self.tab(router)
                if k == ".id":
                    n = parse_id(v)
                    it = tab.items.get(n) if n is not None else None
                    return [it] if it is not None else []
                if k == "name" and self.unique_names:
                    it = tab.by_name.get(v)
                    return [it] if it is not None else []
        return list(self.items(router))

    unique_names = True

    def cmd_print(self, conn, router, attrs, queries, tag):
        for k in attrs:
            if k not in PRINT_ARGS:
                raise Trap(MSG_UNKNOWN_PARAM)
        now = router.clock()
        props = attrs.get(".proplist")
        props = [p for p in props.split(",") if p] if props else None
        out = []
        count = 0
        for it in self.candidates(router, queries):
            row = self.row(router, it, now)
            if queries and not query_match(row, queries):
                continue
            count += 1
            if "count-only" in attrs:
                continue
            if props is not None:
                row = {p: row[p] for p in props if p in row}
            out.append(["!re"] + ["=%s=%s" % kv for kv in row.items()])
        if "count-only" in attrs:
            return [["!done", "=ret=%d" % count]]
        if not out and router.faults.get("empty"):
            # RouterOS 7.18 and later: a print with nothing to show.
            out.append(["!empty"])
        out.append(["!done"])
        return out

    def item_ids(self, router, attrs):
        spec = attrs.pop(".id", None)
        numbers = attrs.pop("numbers", None)
        return self.tab(router).resolve(spec if spec is not None else numbers)

    def check_unique(self, router, name, item=None):
        other = self.tab(router).by_name.get(name)
        if other is not None and other is not item and not other.dynamic:
            raise Trap(self.exists_msg)

    exists_msg = "failure: item with the same name already exists"

    def cmd_add(self, conn, router, attrs, queries, tag):
        st = router.st
        props = new_props(self.fields, st, attrs, False)
        self.complete_new(router, props)
        self.check_unique(router, props["name"])
        item = self.tab(router).add(props)
        self.after_add(router, item)
        return [["!done", "=ret=" + fmt_id(item.id)]]

    def complete_new(self, router, props):
        if not props.get("name"):
            raise Trap(MSG_MISSING_ARG % "name")

    def after_add(self, router, item):
        pass

    def cmd_set(self, conn, router, attrs, queries, tag):
        items = self.item_ids(router, attrs)
        return self.update(router, items, attrs)

    def update(self, router, items, attrs):
        st = router.st
        changes = []
        for it in items:
            if it.dynamic:
                raise Trap(MSG_DYNAMIC)
            props = update_props(self.fields, st, it.props, attrs, False)
            if props.get("name") != it.props.get("name"):
                if not props.get("name"):
                    raise Trap(MSG_BAD_VALUE % "name", 1)
                self.check_unique(router, props["name"], it)
                if len(items) > 1:
                    raise Trap(self.exists_msg)
            changes.append((it, props))
        for it, props in changes:
            old = it.props
            if props.get("name") != old.get("name"):
                self.tab(router).rename(it, old.get("name"), props["name"])
            it.props = props
            self.after_set(router, it, old)
        return [["!done"]]

    def after_set(self, router, item, old):
        pass

    def cmd_enable(self, conn, router, attrs, queries, tag):
        items = self.item_ids(router, attrs)
        return self.update(router, items, {"disabled": "no"})

    def cmd_disable(self, conn, router, attrs, queries, tag):
        items = self.item_ids(router, attrs)
        return self.update(router, items, {"disabled": "yes"})

    def cmd_comment(self, conn, router, attrs, queries, tag):
        items = self.item_ids(router, attrs)
        return self.update(router, items,
                           {"comment": attrs.get("comment", "")})

    def cmd_unset(self, conn, router, attrs, queries, tag):
        items = self.item_ids(router, attrs)
        names = attrs.get("value-name", "")
        fmap = {f.name: f for f in self.fields}
        reset = {}
        for n in names.split(","):
            f = fmap.get(n)
            if f is None or f.ro or n == "name":
                raise Trap(MSG_UNKNOWN_PARAM)
            reset[n] = f.default if f.default is not None else ""
        return self.update(router, items, reset)

    def cmd_remove(self, conn, router, attrs, queries, tag):
        items = self.item_ids(router, attrs)
        for it in items:
            self.check_remove(router, it)
        for it in items:
            self.tab(router).remove(it)
            self.after_remove(router, it)
        return [["!done"]]

    def check_remove(self, router, item):
        if item.dynamic:
            raise Trap(MSG_DYNAMIC)

    def after_remove(self, router, item):
        pass


class SecretMenu(Menu):
    noun = "secret"
    table = "secrets"
    fields = SECRET_FIELDS
    exists_msg = MSG_SECRET_EXISTS
    verbs = ("print", "add", "set", "remove", "enable", "disable", "unset",
             "comment")

    def complete_new(self, router, props):
        if not props.get("name"):
            raise Trap(MSG_SECRET_NAME)

    def after_set(self, router, item, old):
        was = old.get("disabled") == "true"
        now = item.props.get("disabled") == "true"
        if now and not was and item.session is not None and \
                router.settings["kick_sessions"]:
            router.end_session(item.session, "disabled")
        elif was and not now:
            router.sync_session(item, router.settings["redial_ms"] or 0)

    def after_remove(self, router, item):
        if item.session is not None and router.settings["kick_sessions"]:
            router.end_session(item.session, "removed")


class ProfileMenu(Menu):
    noun = "profile"
    table = "profiles"
    fields = PROFILE_FIELDS
    exists_msg = MSG_PROFILE_EXISTS
    verbs = ("print", "add", "set", "remove", "unset", "comment")

    def check_remove(self, router, item):
        if item.props.get("default") == "true":
            raise Trap(MSG_DEFAULT_PROFILE)


class ActiveMenu(Menu):
    noun = "active"
    verbs = ("print", "remove")
    unique_names = False

    def tab(self, router):
        return None

    def items(self, router):
        return router.st.sessions.values()

    def candidates(self, router, queries):
        if queries and not any(q.startswith("#") for q in queries):
            for q in queries:
                body = q[1:] if q.startswith("=") else q
                k, sep, v = body.partition("=")
                if sep and k == ".id" and q[:1] not in "<>-":
                    n = parse_id(v)
                    s = router.st.sessions.get(n) if n is not None else None
                    return [s] if s is not None else []
        return list(router.st.sessions.values())

    def row(self, router, s, now):
        return {
            ".id": fmt_id(s.id), "name": s.name, "service": "pppoe",
            "caller-id": s.caller_id, "address": s.address,
            "uptime": fmt_uptime(now - s.started), "encoding": "",
            "session-id": s.session_id, "limit-bytes-in": "0",
            "limit-bytes-out": "0", "radius": "false"}

    def cmd_remove(self, conn, router, attrs, queries, tag):
        spec = attrs.pop(".id", None)
        if spec is None:
            spec = attrs.pop("numbers", None)
        if not spec:
            raise Trap(MSG_NO_ITEM)
        found = []
        for part in spec.split(","):
            n = parse_id(part)
            s = router.st.sessions.get(n) if n is not None else next(
                (x for x in router.st.sessions.values() if x.name == part),
                None)
            if s is None:
                raise Trap(MSG_NO_ITEM)
            found.append(s)
        redial = router.settings["redial_ms"]
        for s in found:
            router.end_session(s, "admin disconnected")
            secret = router.st.secrets.items.get(s.secret_id)
            if secret is None:
                continue
            if redial is None:
                secret.connected = False
            else:
                router.sync_session(secret, redial)
        return [["!done"]]


class QueueMenu(Menu):
    noun = "queue"
    table = "queues"
    fields = QUEUE_FIELDS
    exists_msg = MSG_QUEUE_EXISTS
    verbs = ("print", "add", "set", "remove", "enable", "disable", "unset",
             "comment", "reset-counters", "reset-counters-all")

    def complete_new(self, router, props):
        if not props.get("name"):
            # RouterOS names an unnamed queue queue1, queue2, ...
            n = 1
            while "queue%d" % n in router.st.queues.by_name:
                n += 1
            props["name"] = "queue%d" % n
        if not props.get("target"):
            raise Trap(MSG_MISSING_ARG % "target")

    def stats(self, router, item, now):
        """(upload, download) bytes and bits per second of a queue: its
        session's for a dynamic queue, the session of a <pppoe-NAME>
        target for a static one, zero otherwise."""
        s = item.session
        if s is None:
            iface = router.st.ifaces.by_name.get(item.props.get("target"))
            s = iface.session if iface is not None else None
        if s is None or s.id not in router.st.sessions:
            return item.rx_base, item.tx_base, 0, 0
        rx, tx = s.counters(now)
        return ((rx - item.rx_base) & MASK64, (tx - item.tx_base) & MASK64,
                s.rx_bps, s.tx_bps)

    def row(self, router, item, now):
        row = {".id": fmt_id(item.id)}
        row.update(item.props)
        up, down, ubps, dbps = self.stats(router, item, now)
        row.update({
            "invalid": "false", "dynamic": "true" if item.dynamic else "false",
            "bytes": "%d/%d" % (up, down), "total-bytes": "0",
            "packets": "%d/%d" % (up // 1000, down // 1000),
            "total-packets": "0", "dropped": "0/0", "total-dropped": "0",
            "rate": "%d/%d" % (ubps, dbps), "total-rate": "0",
            "packet-rate": "%d/%d" % (ubps // 8000, dbps // 8000),
            "total-packet-rate": "0", "queued-packets": "0/0",
            "total-queued-packets": "0", "queued-bytes": "0/0",
            "total-queued-bytes": "0"})
        # disabled and comment print last, as RouterOS orders them.
        for k in ("comment", "disabled"):
            if k in row:
                row[k] = row.pop(k)
        return row

    def reset(self, router, items):
        now = router.clock()
        for it in items:
            up, down, _, _ = self.stats(router, it, now)
            if it.session is not None or router.st.ifaces.by_name.get(
                    it.props.get("target")) is not None:
                it.rx_base += up
                it.tx_base += down
            else:
                it.rx_base = it.tx_base = 0

    def cmd_reset_counters(self, conn, router, attrs, queries, tag):
        self.reset(router, self.item_ids(router, attrs))
        return [["!done"]]

    def cmd_reset_counters_all(self, conn, router, attrs, queries, tag):
        self.reset(router, list(router.st.queues.items.values()))
        return [["!done"]]

    def check_remove(self, router, item):
        if item.dynamic:
            raise Trap(MSG_DYNAMIC)


class InterfaceMenu(Menu):
    noun = "interface"
    table = "ifaces"
    fields = STATIC_IFACE_FIELDS
    verbs = ("print", "monitor-traffic", "reset-counters")

    def counters(self, router, item, now):
        """(rx, tx) bytes and (rx, tx) bits per second.  A <pppoe-NAME>
        interface carries its session; ether interfaces with a role carry
        the sum of every session (lan: as the sessions, wan: mirrored)."""
        st = router.st
        s = item.session
        if s is not None:
            rx, tx = s.counters(now)
            # Counters are 64-bit and wrap, as RouterOS's do.
            return ((rx - item.rx_base) & MASK64, (tx - item.tx_base) & MASK64,
                    s.rx_bps, s.tx_bps)
        if item.role in ("lan", "wan"):
            rx, tx = st.retired_rx, st.retired_tx
            rbps = tbps = 0
            for x in st.sessions.values():
                a, b = x.counters(now)
                rx += a
                tx += b
                rbps += x.rx_bps
                tbps += x.tx_bps
            if item.role == "wan":
                rx, tx, rbps, tbps = tx, rx, tbps, rbps
            return (max(0, rx - item.rx_base), max(0, tx - item.tx_base),
                    rbps, tbps)
        return item.rx_base, item.tx_base, 0, 0

    def row(self, router, item, now):
        rx, tx, _, _ = self.counters(router, item, now)
        p = item.props
        row = {".id": fmt_id(item.id), "name": p["name"]}
        if "default-name" in p:
            row["default-name"] = p["default-name"]
        row.update({
            "type": p.get("type", "ether"), "mtu": p.get("mtu", "1500"),
            "actual-mtu": p.get("actual-mtu", p.get("mtu", "1500"))})
        if p.get("mac-address"):
            row["mac-address"] = p["mac-address"]
        s = item.session
        up = fmt_time(s.login_at) if s is not None else fmt_time(
            router.wall() - router.st.uptime0 - router.clock())
        row.update({
            "last-link-up-time": up, "link-downs": "0",
            "rx-byte": str(rx), "tx-byte": str(tx),
            "rx-packet": str(rx // 1000), "tx-packet": str(tx // 1000),
            "rx-drop": "0", "tx-drop": "0", "tx-queue-drop": "0",
            "rx-error": "0", "tx-error": "0",
            "fp-rx-byte": "0", "fp-tx-byte": "0",
            "fp-rx-packet": "0", "fp-tx-packet": "0",
            "running": "true", "disabled": p.get("disabled", "false")})
        if item.dynamic:
            row["dynamic"] = "true"
        if p.get("comment"):
            row["comment"] = p["comment"]
        return row

    def cmd_reset_counters(self, conn, router, attrs, queries, tag):
        now = router.clock()
        for it in self.item_ids(router, attrs):
            rx, tx, _, _ = self.counters(router, it, now)
            if it.session is not None or it.role:
                it.rx_base += rx
                it.tx_base += tx
            else:
                it.rx_base = it.tx_base = 0
        return [["!done"]]

    def monitor_rows(self, router, names, proplist):
        """The !re sentences of one monitor-traffic sample, or Trap."""
        st = router.st
        now = router.clock()
        out = []
        for n in names.split(","):
            pid = parse_id(n)
            it = st.ifaces.items.get(pid) if pid is not None else \
                st.ifaces.by_name.get(n)
            if it is None:
                raise Trap(MSG_NO_MATCH % "interface", 1)
            _, _, rbps, tbps = self.counters(router, it, now)
            row = {
                "name": it.props["name"],
                "rx-packets-per-second": str(rbps // 8000),
                "rx-bits-per-second": str(rbps),
                "fp-rx-packets-per-second": "0", "fp-rx-bits-per-second": "0",
                "rx-drops-per-second": "0", "rx-errors-per-second": "0",
                "tx-packets-per-second": str(tbps // 8000),
                "tx-bits-per-second": str(tbps),
                "fp-tx-packets-per-second": "0", "fp-tx-bits-per-second": "0",
                "tx-drops-per-second": "0", "tx-queue-drops-per-second": "0",
                "tx-errors-per-second": "0"}
            if proplist:
                row = {p: row[p] for p in proplist if p in row}
            out.append(["!re"] + ["=%s=%s" % kv for kv in row.items()])
        return out

    def cmd_monitor_traffic(self, conn, router, attrs, queries, tag):
        for k in attrs:
            if k not in ("interface", "once", "duration", "interval",
                         ".proplist", "without-paging", "aggregate"):
                raise Trap(MSG_UNKNOWN_PARAM)
        names = attrs.get("interface")
        if not names:
            raise Trap(MSG_MISSING_ARG % "interface")
        proplist = [p for p in attrs.get(".proplist", "").split(",") if p]
        rows = self.monitor_rows(router, names, proplist)
        if "once" in attrs:
            return rows + [["!done"]]
        # Without =once= RouterOS sends a sample every interval until the
        # command is cancelled (/cancel) or its duration is over.
        interval = parse_seconds(attrs.get("interval"), 1.0)
        duration = parse_seconds(attrs.get("duration"), None)
        conn.start_stream(tag, rows, interval, duration,
                          lambda: self.monitor_rows(router, names, proplist))
        return None


def parse_seconds(v, default):
    if not v:
        return default
    m = re.match(r"^(\d+(?:\.\d+)?)(ms|s|m|h)?$", v)
    if not m:
        raise Trap(MSG_BAD_VALUE % "interval", 1)
    mult = {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600}[m.group(2)]
    return max(0.05, float(m.group(1)) * mult)


def cmd_resource_print(conn, router, attrs, queries, tag):
    row = router.resource_row()
    props = attrs.get(".proplist")
    if props:
        row = {p: row[p] for p in props.split(",") if p in row}
    return [["!re"] + ["=%s=%s" % kv for kv in row.items()], ["!done"]]


def cmd_identity_print(conn, router, attrs, queries, tag):
    return [["!re", "=name=" + router.st.identity], ["!done"]]


def cmd_identity_set(conn, router, attrs, queries, tag):
    for k in attrs:
        if k != "name":
            raise Trap(MSG_UNKNOWN_PARAM)
    if "name" in attrs:
        if not attrs["name"]:
            raise Trap(MSG_BAD_VALUE % "name", 1)
        router.st.identity = attrs["name"]
    return [["!done"]]


MENUS = {
    "secret": SecretMenu(),
    "profile": ProfileMenu(),
    "active": ActiveMenu(),
    "queue": QueueMenu(),
    "interface": InterfaceMenu(),
}

WRITE_VERBS = {"add", "set", "remove", "enable", "disable", "unset",
               "comment", "reset-counters", "reset-counters-all"}

# path -> (handler, writes).  getall is the API's old name for print.
COMMANDS = {}
for _path, _menu in (("/ppp/secret", "secret"), ("/ppp/profile", "profile"),
                     ("/ppp/active", "active"), ("/queue/simple", "queue"),
                     ("/interface", "interface")):
    _m = MENUS[_menu]
    for _verb in _m.verbs:
        _h = getattr(_m, "cmd_" + _verb.replace("-", "_"))
        COMMANDS["%s/%s" % (_path, _verb)] = (_h, _verb in WRITE_VERBS)
    COMMANDS[_path + "/getall"] = (_m.cmd_print, False)
COMMANDS["/system/resource/print"] = (cmd_resource_print, False)
COMMANDS["/system/resource/getall"] = (cmd_resource_print, False)
COMMANDS["/system/identity/print"] = (cmd_identity_print, False)
COMMANDS["/system/identity/getall"] = (cmd_identity_print, False)
COMMANDS["/system/identity/set"] = (cmd_identity_set, True)

# Every directory on the way to a command, for RouterOS's two kinds of
# "no such command" errors.
DIRS = {"/"}
for _path in COMMANDS:
    _parts = _path.split("/")[1:-1]
    for _i in range(len(_parts)):
        DIRS.add("/" + "/".join(_parts[:_i + 1]))


def lookup(cmd):
    """The (handler, writes) of a command word, or Trap as RouterOS answers
    an unknown one: an unknown directory on the way gives two traps, an
    unknown last word one."""
    entry = COMMANDS.get(cmd)
    if entry is not None:
        return entry
    parts = cmd.split("/")
    if cmd.startswith("/"):
        parts = parts[1:]
    for i in range(len(parts) - 1):
        if "/" + "/".join(parts[:i + 1]) not in DIRS:
            raise Trap(MSG_NO_DIR % parts[i], None,
                       [(MSG_NO_PREFIX, None)])
    raise Trap(MSG_NO_COMMAND)


# ---------------------------------------------------------------------------
# API connections

class Closed(Exception):
    """The connection is finished (peer gone, fault, /quit)."""


class ApiConn(threading.Thread):
    """One API connection, served by its own thread.  Sentences are
    executed in the order they arrive, under the router's lock; replies are
    collected and written when no complete sentence is left in the input,
    so a client that pipelines tagged commands gets its replies in few
    writes."""

    def __init__(self, router, sock, addr, tls):
        super().__init__(daemon=True)
        self.router = router
        self.sock = sock
        self.addr = "%s:%d" % addr[:2]
        self.tls = tls
        self.user = None
        self.challenge = None
        self.pending_stream = None
        self.out = []
        self.send_lock = threading.Lock()
        self.streams = {}
        self.closed = False
        with router.lock:
            router.conn_seq += 1
            self.cid = router.conn_seq

    def abort(self):
        """Ends the connection from another thread (router going down)."""
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def write(self, data):
        with self.send_lock:
            if self.closed:
                raise Closed()
            try:
                self.sock.sendall(data)
            except OSError:
                self.closed = True
                raise Closed() from None

    def flush(self):
        if self.out:
            data = b"".join(self.out)
            self.out = []
            self.write(data)

    def queue_reply(self, sentences, tag):
        for s in sentences:
            if tag is not None:
                s = s + [".tag=" + tag]
            self.out.append(encode_sentence(s))

    def hanging(self):
        return self.router.faults.get("hang")

    def wait_while_hanging(self, raw):
        """A router that stops answering: read and drop whatever comes, say
        nothing, until the fault is cleared."""
        while self.hanging() and not self.closed:
            r, _, _ = select.select([raw], [], [], 0.1)
            if r:
                try:
                    data = raw.recv(65536)
                except (OSError, ssl.SSLError):
                    raise Closed() from None
                if not data:
                    raise Closed()

    def run(self):
        router = self.router
        with router.lock:
            router.conns.add(self)
            router.stats["connections"] += 1
            if self.tls:
                router.stats["tls_connections"] += 1
            ctx = router.tls_ctx
        if router.verbose:
            log("%s: connection %d from %s%s" % (
                router.name, self.cid, self.addr, " (tls)" if self.tls else ""))
        reader = SentenceReader()
        try:
            self.wait_while_hanging(self.sock)
            if self.tls:
                self.sock.settimeout(10)
                try:
                    self.sock = ctx.wrap_socket(self.sock, server_side=True)
                except (OSError, ssl.SSLError) as e:
                    if router.verbose:
                        log("%s: tls handshake from %s failed: %s" % (
                            router.name, self.addr, e))
                    raise Closed() from None
                self.sock.settimeout(None)
            while not self.closed:
                try:
                    data = self.sock.recv(65536)
                except (OSError, ssl.SSLError):
                    break
                if not data:
                    break
                reader.feed(data)
                while True:
                    try:
                        words = reader.next()
                    except ProtocolError as e:
                        log("%s: closing connection from %s: %s" % (
                            router.name, self.addr, e))
                        raise Closed() from None
                    if words is None:
                        break
                    self.handle(words)
                    if self.user is not None:
                        reader.max_word = MAX_WORD_BYTES
                    if router.faults.get("delay_ms"):
                        self.flush()
                self.flush()
        except Closed:
            pass
        finally:
            self.closed = True
            for s in list(self.streams.values()):
                s.cancel.set()
            try:
                self.sock.close()
            except OSError:
                pass
            with router.lock:
                router.conns.discard(self)
            if router.verbose:
                log("%s: connection %d closed" % (router.name, self.cid))

    def handle(self, words):
        router = self.router
        if self.hanging():
            return
        cmd = words[0]
        attrs = {}
        queries = []
        tag = None
        for w in words[1:]:
            c = w[:1]
            if c == "=":
                k, _, v = w[1:].partition("=")
                attrs[k] = v
            elif c == "?":
                queries.append(w[1:])
            elif c == ".":
                k, _, v = w[1:].partition("=")
                if k == "tag":
                    tag = v
        with router.lock:
            router.stats["commands"] += 1
            router.by_command[cmd] += 1
            logged = words
            if cmd == "/login":
                logged = [w if not w.startswith(("=password=", "=response="))
                          else "=" + w.split("=", 2)[1] + "=***"
                          for w in words]
            router.log.append({"conn": self.cid, "words": logged,
                               "at": round(router.clock(), 3)})
            delay = router.faults.get("delay_ms")
            fatal = router.take_fault("fatal", cmd)
            fail = router.take_fault("fail", cmd) if not fatal else None
            drop = router.take_fault("drop", cmd) if not (fatal or fail) \
                else None
        if delay:
            time.sleep(delay / 1000.0)
        if fatal:
            self.fatal(fatal["message"])
        if fail:
            self.queue_reply(trap_sentences(
                [(fail["message"], fail["category"])]) + [["!done"]], tag)
            return
        if drop and not drop.get("apply"):
            self.drop([["!done"]], tag, drop["at"])
        if cmd == "/quit":
            self.fatal("session terminated on request")
        if cmd == "/cancel" and self.user is not None:
            self.queue_reply(self.cancel(attrs.get("tag")), tag)
            return
        if cmd == "/login":
            reply = self.login(attrs)
        elif self.user is None:
            # RouterOS answers anything before a login with !fatal.
            self.fatal(MSG_NOT_LOGGED_IN)
        else:
            reply = self.execute(cmd, attrs, queries, tag)
            if reply is None:
                # A streaming command: its samples follow whatever was
                # answered before it.
                stream, self.pending_stream = self.pending_stream, None
                self.flush()
                stream.start()
                return
        if drop:
            self.drop(reply, tag, drop["at"])
        self.queue_reply(reply, tag)

    def execute(self, cmd, attrs, queries, tag):
        router = self.router
        try:
            handler, writes = lookup(cmd)
            if writes and router.st.users.get(self.user, {}).get(
                    "group") == "read":
                raise Trap(MSG_PERMISSION)
            with router.lock:
                return handler(self, router, attrs, queries, tag)
        except Trap as t:
            return trap_sentences(t.traps) + [["!done"]]
        except Exception:
            # A bug of the simulator, not a router's answer: said loudly in
            # the log, and as a trap a test cannot mistake for RouterOS's.
            log("%s: internal error on %r:\n%s" % (
                router.name, cmd, traceback.format_exc()))
            return trap_sentences([("routeros-sim internal error (see its "
                                    "log)", None)]) + [["!done"]]

    def login(self, attrs):
        router = self.router
        with router.lock:
            name = attrs.get("name")
            password = attrs.get("password")
            response = attrs.get("response")
            user = router.st.users.get(name) if name is not None else None
            ok = False
            if router.settings["legacy_login"]:
                if response is None or self.challenge is None:
                    # Before 6.43 the router ignores a password and answers
                    # with the challenge of the MD5 login.
                    self.challenge = os.urandom(16)
                    return [["!done", "=ret=" + self.challenge.hex()]]
                if user is not None:
                    digest = hashlib.md5(b"\0" + to_bytes(user["password"]) +
                                         self.challenge).hexdigest()
                    ok = hmac.compare_digest(to_bytes(response),
                                             b"00" + digest.encode())
                self.challenge = None
            elif user is not None and password is not None:
                ok = hmac.compare_digest(to_bytes(password),
                                         to_bytes(user["password"]))
            if router.faults.get("reject_login"):
                ok = False
            if ok:
                self.user = name
                router.stats["logins"] += 1
            else:
                router.stats["login_failures"] += 1
        if router.verbose or not ok:
            log("%s: login %s for %r from %s" % (
                router.name, "ok" if ok else "failed", name, self.addr))
        if not ok:
            return trap_sentences([(MSG_LOGIN, None)]) + [["!done"]]
        return [["!done"]]

    def fatal(self, message):
        """!fatal and the reason as a bare word, then the connection is
        gone, as RouterOS does it."""
        self.queue_reply([["!fatal", message]], None)
        try:
            self.flush()
        except Closed:
            pass
        self.abort()
        raise Closed()

    def drop(self, reply, tag, at):
        """Writes the reply up to the middle of one of its sentences and
        closes the connection: a link that broke mid-sentence.  at="word"
        cuts after the first word of the middle sentence (before its end),
        at="byte" inside that word."""
        self.flush()
        sentences = [s + ([".tag=" + tag] if tag is not None else [])
                     for s in reply]
        k = len(sentences) // 2
        first = to_bytes(sentences[k][0])
        head = encode_length(len(first))
        if at == "byte":
            part = head + first[:max(1, len(first) // 2)]
        else:
            part = head + first
        cut = b"".join(encode_sentence(s) for s in sentences[:k]) + part
        try:
            self.write(cut)
        except Closed:
            pass
        log("%s: dropped connection from %s mid-sentence" % (
            self.router.name, self.addr))
        self.abort()
        raise Closed()

    def start_stream(self, tag, first, interval, duration, sample):
        stream = Stream(self, tag, first, interval, duration, sample)
        old = self.streams.get(tag)
        if old is not None:
            old.cancel.set()
        self.streams[tag] = stream
        self.pending_stream = stream

    def cancel(self, tag):
        """/cancel =tag=X stops that command (it answers !trap
        interrupted, then !done); without a tag every running command."""
        if tag is None:
            targets = list(self.streams.values())
        else:
            s = self.streams.get(tag)
            if s is None:
                return trap_sentences([(MSG_NO_ITEM, None)]) + [["!done"]]
            targets = [s]
        for s in targets:
            s.cancel.set()
            s.join(5)
        return [["!done"]]


class Stream(threading.Thread):
    """A command that keeps answering (monitor-traffic without =once=)."""

    def __init__(self, conn, tag, first, interval, duration, sample):
        super().__init__(daemon=True)
        self.conn = conn
        self.tag = tag
        self.first = first
        self.interval = interval
        self.duration = duration
        self.sample = sample
        self.cancel = threading.Event()

    def run(self):
        conn = self.conn
        rows = self.first
        end = time.monotonic() + self.duration if self.duration else None
        try:
            while True:
                data = b"".join(encode_sentence(
                    s + ([".tag=" + self.tag] if self.tag is not None else []))
                    for s in rows)
                conn.write(data)
                if self.cancel.wait(self.interval):
                    final = trap_sentences([(MSG_INTERRUPTED, 2)]) + \
                        [["!done"]]
                    break
                if end is not None and time.monotonic() >= end:
                    final = [["!done"]]
                    break
                try:
                    with conn.router.lock:
                        rows = self.sample()
                except Trap as t:
                    final = trap_sentences(t.traps) + [["!done"]]
                    break
            conn.write(b"".join(encode_sentence(
                s + ([".tag=" + self.tag] if self.tag is not None else []))
                for s in final))
        except Closed:
            pass
        finally:
            if conn.streams.get(self.tag) is self:
                del conn.streams[self.tag]


class Listener(threading.Thread):
    """Accepts API (or api-ssl) connections for one router.  The refuse
    fault closes the socket, so that clients get ECONNREFUSED as from a
    router that is down; clearing it binds the same port again."""

    def __init__(self, router, host, port, tls):
        super().__init__(daemon=True)
        self.router = router
        self.host = host
        self.tls = tls
        self.sock = self.bind(port)
        self.port = self.sock.getsockname()[1]
        self.want_open = True
        self.changed = threading.Condition()

    def bind(self, port):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((self.host, port))
        s.listen(256)
        return s

    def is_open(self):
        return self.sock is not None

    def run(self):
        while True:
            if not self.want_open and self.sock is not None:
                self.sock.close()
                self.sock = None
                with self.changed:
                    self.changed.notify_all()
            elif self.want_open and self.sock is None:
                try:
                    self.sock = self.bind(self.port)
                except OSError as e:
                    log("%s: cannot listen on %d again: %s" % (
                        self.router.name, self.port, e))
                    time.sleep(0.5)
                    continue
                with self.changed:
                    self.changed.notify_all()
            if self.sock is None:
                time.sleep(0.05)
                continue
            r, _, _ = select.select([self.sock], [], [], 0.05)
            if not r:
                continue
            try:
                conn, addr = self.sock.accept()
            except OSError:
                continue
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            ApiConn(self.router, conn, addr, self.tls).start()

    def wait_state(self, timeout=5.0):
        """Waits until the socket is as want_open says."""
        end = time.monotonic() + timeout
        with self.changed:
            while self.is_open() != self.want_open:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self.changed.wait(left)
        return True


# ---------------------------------------------------------------------------
# Control channel


class ControlError(Exception):
    pass


def names_of(req, router):
    names = req.get("names")
    if names is None and "name" in req:
        names = [req["name"]]
    if names == "*" or names == ["*"]:
        return [it.props["name"] for it in router.st.secrets.items.values()]
    if not isinstance(names, list) or not names:
        raise ControlError("names must be a list of secret names or \"*\"")
    return [scalar(n) for n in names]


def secret_named(router, name):
    it = router.st.secrets.by_name.get(name)
    if it is None:
        raise ControlError("no secret named %r" % name)
    return it


def op_connect(router, req):
    """Marks secrets as connected (their CPE dials in) and starts the
    session of each enabled one; optional rx_bps, tx_bps, address,
    caller-id, rx-byte, tx-byte for the new sessions."""
    spec = {k: req[k] for k in ("rx_bps", "tx_bps", "address", "caller-id",
                                "rx-byte", "tx-byte") if k in req}
    started = []
    for n in names_of(req, router):
        it = secret_named(router, n)
        it.connected = True
        if it.session is None and it.props["disabled"] != "true":
            started.append(fmt_id(router.start_session(it, spec).id))
    return {"started": started}


def op_disconnect(router, req):
    for n in names_of(req, router):
        it = secret_named(router, n)
        it.connected = False
        if it.session is not None:
            router.end_session(it.session, req.get("reason", "peer disconnected"))
    return {}


def op_restart_session(router, req):
    """The customer's session drops and comes back at once: a new .id,
    uptime and counters from zero."""
    out = []
    for n in names_of(req, router):
        it = secret_named(router, n)
        spec = {}
        if it.session is not None:
            s = it.session
            spec = {"rx_bps": s.rx_bps, "tx_bps": s.tx_bps,
                    "address": s.address, "caller-id": s.caller_id}
            router.end_session(s, "peer disconnected")
        it.connected = True
        if it.props["disabled"] != "true":
            out.append(fmt_id(router.start_session(it, spec).id))
    return {"started": out}


def op_advance(router, req):
    seconds = float(req.get("seconds", 0))
    if seconds < 0:
        raise ControlError("seconds must not be negative")
    router.offset += seconds
    return {"clock": round(router.clock(), 3)}


def session_of(router, name):
    it = secret_named(router, name)
    if it.session is None:
        raise ControlError("secret %r has no session" % name)
    return it.session


def op_set_counters(router, req):
    """Sets a session's byte counters, e.g. to 0 (a counter reset) or near
    2**64 (a wrap)."""
    out = {}
    for n in names_of(req, router):
        s = session_of(router, n)
        s.rebase(router.clock())
        if "rx-byte" in req:
            s.rx_base = int(req["rx-byte"]) & MASK64
        if "tx-byte" in req:
            s.tx_base = int(req["tx-byte"]) & MASK64
        # The interface and queue counters follow the session's again,
        # without the offset of an earlier reset-counters.
        s.iface.rx_base = s.iface.tx_base = 0
        if s.queue is not None:
            s.queue.rx_base = s.queue.tx_base = 0
        out[n] = [s.rx_base, s.tx_base]
    return {"counters": out}


def op_set_rate(router, req):
    for n in names_of(req, router):
        s = session_of(router, n)
        s.rebase(router.clock())
        if "rx_bps" in req:
            s.rx_bps = int(req["rx_bps"])
        if "tx_bps" in req:
            s.tx_bps = int(req["tx_bps"])
    return {}


def op_set_password(router, req):
    """Changes (or creates) a router user, as an operator who changes the
    router's password behind the product's back."""
    name = scalar(req.get("user", "admin"))
    group = req.get("group")
    u = router.st.users.setdefault(name, {"password": "", "group": "full"})
    u["password"] = scalar(req.get("password", ""))
    if group is not None:
        if group not in ("full", "write", "read"):
            raise ControlError("group must be full, write or read")
        u["group"] = group
    return {}


def op_bulk_secrets(router, req):
    """Adds count secrets quickly (benchmarks): names prefix + number
    zero-padded to width, optional comment prefix, connected sessions."""
    st = router.st
    count = int(req.get("count", 0))
    if not 0 < count <= 200000:
        raise ControlError("count must be 1..200000")
    start = int(req.get("start", 1))
    width = int(req.get("width", 5))
    prefix = scalar(req.get("prefix", "user"))
    base = {"password": scalar(req.get("password", "secret")),
            "profile": scalar(req.get("profile", "default")),
            "service": scalar(req.get("service", "pppoe")),
            "disabled": scalar(req.get("disabled", False))}
    template = new_props(SECRET_FIELDS, st, base, False)
    comment = req.get("comment_prefix")
    names = [prefix + str(i).zfill(width) for i in range(start, start + count)]
    for n in names:
        if n in st.secrets.by_name:
            raise ControlError("secret %r exists" % n)
    spec = {k: req[k] for k in ("rx_bps", "tx_bps") if k in req}
    for i, n in zip(range(start, start + count), names):
        props = dict(template)
        props["name"] = n
        if comment is not None:
            props["comment"] = scalar(comment) + str(i).zfill(width)
        it = st.secrets.add(props)
        if req.get("connected"):
            it.connected = True
            if props["disabled"] != "true":
                router.start_session(it, spec)
    return {"added": count}


def op_settings(router, req):
    changes = req.get("settings", {})
    if not isinstance(changes, dict):
        raise ControlError("settings must be an object")
    for k in changes:
        if k not in DEFAULT_SETTINGS:
            raise ControlError("unknown setting %r" % k)
    for k, v in changes.items():
        if k == "auto_counters":
            router.set_auto(v)
        else:
            router.settings[k] = v
    return {"settings": dict(router.settings)}


def op_fault(router, req):
    faults = req.get("faults", {})
    if not isinstance(faults, dict):
        raise ControlError("faults must be an object")
    try:
        router.set_faults(faults)
    except ValueError as e:
        raise ControlError(str(e)) from None
    return {"faults": json.loads(json.dumps(router.faults))}


def op_clear_faults(router, req):
    router.set_faults({k: None for k in FAULT_KEYS})
    return {}


def op_reset(router, req):
    router.reset()
    return {}


def op_set_state(router, req):
    try:
        router.import_state(req.get("state", {}))
    except Trap as t:
        raise ControlError(t.traps[0][0]) from None
    except (ValueError, KeyError, TypeError) as e:
        raise ControlError("bad state: %s" % e) from None
    return {}


def op_tls(router, req):
    """Switches api-ssl between a certificate and anonymous DH, or makes a
    new certificate (a changed fingerprint), for new connections."""
    if not router.has_tls():
        raise ControlError("this router has no api-ssl port")
    mode = req.get("mode", router.tls_mode)
    if mode not in ("cert", "anon"):
        raise ControlError("mode must be cert or anon")
    router.tls_mode = mode
    if req.get("new_cert") and mode == "cert":
        make_cert(router.cert, router.key, router.name)
    router.load_tls()
    return {"tls_mode": mode, "tls_fingerprint": router.fingerprint}


def op_log(router, req):
    out = list(router.log)
    if req.get("clear"):
        router.log.clear()
    return {"log": out}


def op_events(router, req):
    out = list(router.events)
    if req.get("clear"):
        router.events.clear()
    return {"events": out}


def op_stats(router, req):
    return {"stats": dict(router.stats), "commands": dict(router.by_command),
            "open_connections": len(router.conns)}


CONTROL_OPS = {
    "state": lambda r, q: {"state": r.export_state()},
    "set_state": op_set_state,
    "reset": op_reset,
    "settings": op_settings,
    "fault": op_fault,
    "clear_faults": op_clear_faults,
    "connect": op_connect,
    "disconnect": op_disconnect,
    "restart_session": op_restart_session,
    "advance": op_advance,
    "set_counters": op_set_counters,
    "set_rate": op_set_rate,
    "set_password": op_set_password,
    "bulk_secrets": op_bulk_secrets,
    "tls": op_tls,
    "log": op_log,
    "events": op_events,
    "stats": op_stats,
    "describe": lambda r, q: r.describe(),
}


class ControlServer(threading.Thread):
    """JSON lines over a Unix socket: one request object per line, one
    answer per line, {"ok": true, ...} or {"ok": false, "error": "..."}."""

    def __init__(self, path, routers, stop):
        super().__init__(daemon=True)
        self.path = path
        self.routers = routers
        self.stop = stop
        if os.path.exists(path):
            os.unlink(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o077)
        try:
            self.sock.bind(path)
        finally:
            os.umask(old)
        self.sock.listen(16)

    def run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        f = c.makefile("rwb")
        try:
            for line in f:
                try:
                    req = json.loads(line)
                    if not isinstance(req, dict):
                        raise ControlError("a request is a JSON object")
                    ans = self.answer(req)
                except (ControlError, ValueError, TypeError, KeyError) as e:
                    ans = {"ok": False, "error": str(e)}
                except Exception as e:
                    log("control: internal error:\n" + traceback.format_exc())
                    ans = {"ok": False, "error": "internal error: %s" % e}
                f.write(json.dumps(ans).encode() + b"\n")
                f.flush()
        except OSError:
            pass
        finally:
            try:
                f.close()
                c.close()
            except OSError:
                pass

    def answer(self, req):
        op = req.get("op")
        if op == "ping":
            return {"ok": True, "routers": [r.describe()
                                            for r in self.routers.values()]}
        if op == "shutdown":
            self.stop.set()
            return {"ok": True}
        fn = CONTROL_OPS.get(op)
        if fn is None:
            raise ControlError("unknown op %r" % (op,))
        name = req.get("router")
        if name is None:
            if len(self.routers) != 1:
                raise ControlError("say which router: %s" %
                                   ", ".join(self.routers))
            router = next(iter(self.routers.values()))
        else:
            router = self.routers.get(name)
            if router is None:
                raise ControlError("no router %r" % name)
        with router.lock:
            ans = fn(router, req)
        # Listening sockets change in their own threads; answer once done,
        # so that a test's next connect already sees the new state.
        if op in ("fault", "clear_faults", "set_state", "reset"):
            for lst in router.listeners:
                lst.wait_state()
        ans["ok"] = True
        return ans


# ---------------------------------------------------------------------------
# Main

def parse_router(spec):
    """NAME:PORT[:TLSPORT] -> (name, port, tls_port); '-' or empty leaves a
    port out."""
    parts = spec.split(":")
    if len(parts) not in (2, 3) or not parts[0]:
        raise argparse.ArgumentTypeError(
            "router is NAME:PORT[:TLSPORT], e.g. r1:8728:8729")

    def port(p):
        if p in ("", "-"):
            return None
        n = int(p)
        if not 0 <= n <= 65535:
            raise argparse.ArgumentTypeError("bad port %r" % p)
        return n
    return parts[0], port(parts[1]), port(parts[2]) if len(parts) == 3 \
        else None


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="RouterOS API simulator (see README.md next to it).")
    ap.add_argument("--host", default="127.0.0.1",
                    help="address to listen on (127.0.0.1)")
    ap.add_argument("--name", default="r1", help="router name (r1)")
    ap.add_argument("--port", type=int, default=8728,
                    help="API port, 0 for any free one, -1 for none (8728)")
    ap.add_argument("--tls-port", type=int, default=-1,
                    help="api-ssl port, 0 for any free one (none)")
    ap.add_argument("--router", action="append", type=parse_router,
                    default=[], metavar="NAME:PORT[:TLSPORT]",
                    help="one router of several in this process (repeat); "
                    "replaces --name/--port/--tls-port")
    ap.add_argument("--tls-mode", choices=("cert", "anon"), default="cert",
                    help="api-ssl with a certificate, or anonymous DH only")
    ap.add_argument("--cert", help="certificate PEM (generated if missing)")
    ap.add_argument("--key", help="private key PEM (generated if missing)")
    ap.add_argument("--workdir", help="where generated files go "
                    "(a new temporary directory)")
    ap.add_argument("--user", default="admin", help="API user (admin)")
    ap.add_argument("--password", default=None,
                    help="its password (empty; prefer --password-file)")
    ap.add_argument("--password-file", help="file holding the password")
    ap.add_argument("--legacy-login", action="store_true",
                    help="behave as RouterOS before 6.43 (MD5 challenge)")
    ap.add_argument("--state", help="state file (JSON) to start from")
    ap.add_argument("--control", help="Unix socket of the control channel")
    ap.add_argument("--ready-file", help="write the ready line here too")
    ap.add_argument("--verbose", action="store_true",
                    help="log every connection")
    opts = ap.parse_args(argv)

    own_workdir = not opts.workdir
    if own_workdir:
        opts.workdir = tempfile.mkdtemp(prefix="routeros-sim-")
    os.makedirs(opts.workdir, exist_ok=True)
    password = opts.password or ""
    if opts.password_file:
        with open(opts.password_file) as f:
            password = f.read().strip()
    specs = opts.router or [(opts.name,
                             opts.port if opts.port >= 0 else None,
                             opts.tls_port if opts.tls_port >= 0 else None)]
    names = [s[0] for s in specs]
    if len(set(names)) != len(names):
        ap.error("router names must be unique")
    state = None
    if opts.state:
        with open(opts.state) as f:
            state = json.load(f)
    routers = collections.OrderedDict()
    for name, port, tls_port in specs:
        r = Router(name, opts.host, port, tls_port, opts)
        r.st.users = {opts.user: {"password": password, "group": "full"}}
        if opts.legacy_login:
            r.settings["legacy_login"] = True
        if state is not None:
            try:
                r.import_state(state)
            except (Trap, ValueError, KeyError, TypeError) as e:
                msg = e.traps[0][0] if isinstance(e, Trap) else str(e)
                sys.exit("routeros-sim: bad state file %s: %s" %
                         (opts.state, msg))
            if opts.legacy_login:
                r.settings["legacy_login"] = True
        r.remember_boot(state)
        routers[name] = r
    stop = threading.Event()
    control = None
    if opts.control:
        control = ControlServer(opts.control, routers, stop)
        control.start()
    for r in routers.values():
        for lst in r.listeners:
            lst.start()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    ready = {"ready": True, "pid": os.getpid(), "control": opts.control,
             "workdir": opts.workdir,
             "routers": [r.describe() for r in routers.values()]}
    line = json.dumps(ready)
    if opts.ready_file:
        tmp = opts.ready_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(line + "\n")
        os.replace(tmp, opts.ready_file)
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
    for r in routers.values():
        log("router %s listening: %s" % (r.name, json.dumps(r.describe())))
    while not stop.wait(0.5):
        pass
    if control is not None:
        try:
            os.unlink(opts.control)
        except OSError:
            pass
    if own_workdir:
        # A directory it made itself holds nothing anybody asked to keep.
        shutil.rmtree(opts.workdir, ignore_errors=True)
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
