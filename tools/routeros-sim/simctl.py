"""Client of the RouterOS simulator's control channel, for tests.

    import sys; sys.path.insert(0, "tools/routeros-sim")
    import simctl

    with simctl.Sim.start(password="pw", tls_port=0) as sim:
        librouteros.connect("127.0.0.1", "admin", "pw", port=sim.port)
        sim.fault(refuse=True)          # router down
        sim.clear_faults()
        sim.connect("budi")              # budi's CPE dials in
        sim.advance(60)                  # a minute of traffic
        sim.secret("budi")["profile"]

Sim.start() runs sim.py as a child process on free ports (port=0) and
waits for its ready line; Control talks to a simulator that is already
running (tools/stack.sh starts one for make run and make test: its socket
is ROUTEROS_SIM_CONTROL in stack.env).  Every method sends one JSON line
and returns the answer's fields; an answer with "ok": false raises
SimError.  README.md lists the operations.
"""

import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

SIM = pathlib.Path(__file__).resolve().parent / "sim.py"


class SimError(Exception):
    """The simulator refused a control request."""


class Control:
    """A connection to the control socket at path; router names one router
    of a simulator that runs several (None: the only one)."""

    def __init__(self, path, router=None, timeout=30):
        self.path = str(path)
        self.router_name = router
        self.timeout = timeout
        self._sock = None
        self._file = None
        self._lock = threading.Lock()

    def _connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.path)
        self._sock = s
        self._file = s.makefile("rwb")

    def close(self):
        if self._sock is not None:
            try:
                self._file.close()
                self._sock.close()
            except OSError:
                pass
        self._sock = self._file = None

    def call(self, op, **fields):
        """Sends {"op": op, **fields} and returns the answer (a dict)."""
        req = dict(fields, op=op)
        if self.router_name is not None and "router" not in req:
            req["router"] = self.router_name
        line = json.dumps(req).encode() + b"\n"
        with self._lock:
            for attempt in (0, 1):
                try:
                    if self._sock is None:
                        self._connect()
                    self._file.write(line)
                    self._file.flush()
                    answer = self._file.readline()
                    if not answer:
                        raise ConnectionError("control socket closed")
                    break
                except (OSError, ConnectionError):
                    self.close()
                    if attempt:
                        raise
        ans = json.loads(answer)
        if not ans.pop("ok", False):
            raise SimError(ans.get("error", "unknown error"))
        return ans

    def router(self, name):
        """A Control for another router of the same simulator process."""
        return Control(self.path, name, self.timeout)

    # -- state ----------------------------------------------------------------

    def state(self):
        """The router's whole state: secrets (with "connected"), profiles,
        active (with profile, rx_bps, tx_bps), queues, interfaces, resource,
        identity, users (without passwords), settings, faults, clock."""
        return self.call("state")["state"]

    def set_state(self, state):
        """Replaces the state (the state-file format of README.md)."""
        self.call("set_state", state=state)

    def reset(self):
        """Back to the state the simulator started with (its state file,
        users, settings), faults off, logs and counters of commands
        emptied."""
        self.call("reset")

    def secrets(self):
        return self.state()["secrets"]

    def secret(self, name):
        """The secret's row as print shows it (plus "connected"), or None."""
        for s in self.secrets():
            if s["name"] == name:
                return s
        return None

    def profiles(self):
        return self.state()["profiles"]

    def profile(self, name):
        for p in self.profiles():
            if p["name"] == name:
                return p
        return None

    def active(self):
        return self.state()["active"]

    def session(self, name):
        for s in self.active():
            if s["name"] == name:
                return s
        return None

    def interface(self, name):
        for i in self.state()["interfaces"]:
            if i["name"] == name:
                return i
        return None

    def queues(self):
        return self.state()["queues"]

    # -- switches ---------------------------------------------------------

    def settings(self, **settings):
        """Changes settings (legacy_login, kick_sessions, redial_ms,
        auto_counters, default_rx_bps, default_tx_bps); returns them all."""
        return self.call("settings", settings=settings)["settings"]

    def fault(self, **faults):
        """Switches faults on (or off with False/None): refuse, hang,
        reject_login, delay_ms=N, empty, fail={...}, drop={...},
        fatal={...}.  Returns the faults now armed."""
        return self.call("fault", faults=faults)["faults"]

    def clear_faults(self):
        self.call("clear_faults")

    def tls(self, mode=None, new_cert=False):
        """api-ssl with a certificate ("cert") or anonymous DH ("anon");
        new_cert makes a new certificate.  Returns the new fingerprint."""
        fields = {"new_cert": new_cert}
        if mode is not None:
            fields["mode"] = mode
        return self.call("tls", **fields)["tls_fingerprint"]

    def set_password(self, password, user="admin", group=None):
        fields = {"user": user, "password": password}
        if group is not None:
            fields["group"] = group
        self.call("set_password", **fields)

    # -- sessions and counters ----------------------------------------------

    def connect(self, *names, **spec):
        """Connects the secrets' customers (names or "*"); spec: rx_bps,
        tx_bps, address, caller-id, rx-byte, tx-byte.  Returns the .ids
        of the sessions that started."""
        return self.call("connect", names=list(names) or "*",
                         **spec)["started"]

    def disconnect(self, *names):
        self.call("disconnect", names=list(names))

    def restart_session(self, *names):
        return self.call("restart_session", names=list(names))["started"]

    def advance(self, seconds):
        """Moves the router's clock (counters, uptimes) forward."""
        return self.call("advance", seconds=seconds)["clock"]

    def set_counters(self, name, rx=None, tx=None):
        fields = {"names": [name]}
        if rx is not None:
            fields["rx-byte"] = rx
        if tx is not None:
            fields["tx-byte"] = tx
        return self.call("set_counters", **fields)["counters"][name]

    def set_rate(self, *names, rx_bps=None, tx_bps=None):
        fields = {"names": list(names)}
        if rx_bps is not None:
            fields["rx_bps"] = rx_bps
        if tx_bps is not None:
            fields["tx_bps"] = tx_bps
        self.call("set_rate", **fields)

    def bulk_secrets(self, count, **spec):
        """Adds count secrets at once (prefix, start, width, password,
        profile, service, disabled, comment_prefix, connected, rx_bps,
        tx_bps)."""
        return self.call("bulk_secrets", count=count, **spec)["added"]

    # -- what happened ------------------------------------------------------

    def log(self, clear=False):
        """Every sentence the router received: [{"conn", "words", "at"}]
        (login passwords masked)."""
        return self.call("log", clear=clear)["log"]

    def commands(self, clear=False):
        """The command words received, in order."""
        return [e["words"][0] for e in self.log(clear)]

    def events(self, clear=False):
        """Session starts and ends: [{"event", "name", "id", ...}]."""
        return self.call("events", clear=clear)["events"]

    def stats(self):
        return self.call("stats")

    def describe(self):
        return self.call("describe")


class Sim(Control):
    """A simulator process started by a test.  Attributes: port, tls_port,
    fingerprint, host, pid, control (socket path), routers (the ready
    line's list), workdir."""

    def __init__(self, proc, ready, workdir, own_workdir, log_path):
        super().__init__(ready["control"])
        self.proc = proc
        self.ready = ready
        self.pid = proc.pid
        self.routers = ready["routers"]
        first = self.routers[0]
        self.host = first["host"]
        self.port = first["port"]
        self.tls_port = first["tls_port"]
        self.fingerprint = first["tls_fingerprint"]
        self.workdir = workdir
        self._own_workdir = own_workdir
        self.log_path = log_path
        if len(self.routers) > 1:
            self.router_name = first["name"]

    @classmethod
    def start(cls, *, port=0, tls_port=None, password="", user="admin",
              state=None, tls_mode="cert", legacy_login=False, routers=None,
              workdir=None, args=(), timeout=20):
        """Starts sim.py.  port/tls_port 0: a free port, None: no such
        listener.  state: a dict (state-file format).  routers: a list of
        "NAME:PORT[:TLSPORT]" for several routers in one process."""
        own = workdir is None
        # A Unix socket path must stay short (108 bytes), so the control
        # socket lives in a directory of its own under /tmp.
        workdir = pathlib.Path(workdir or tempfile.mkdtemp(prefix="rsim-"))
        workdir.mkdir(parents=True, exist_ok=True)
        control = workdir / "ctl.sock"
        pwfile = workdir / "password"
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(password)
        cmd = [sys.executable if sys.executable else "/usr/bin/python3",
               str(SIM), "--control", str(control), "--workdir",
               str(workdir), "--user", user, "--password-file", str(pwfile),
               "--tls-mode", tls_mode]
        if routers:
            for r in routers:
                cmd += ["--router", r]
        else:
            cmd += ["--port", str(-1 if port is None else port),
                    "--tls-port", str(-1 if tls_port is None else tls_port)]
        if legacy_login:
            cmd.append("--legacy-login")
        if state is not None:
            sf = workdir / "state.json"
            sf.write_text(json.dumps(state))
            cmd += ["--state", str(sf)]
        cmd += list(args)
        log_path = workdir / "sim.log"
        logf = open(log_path, "ab")
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=logf,
                                stdin=subprocess.DEVNULL)
        logf.close()
        ready = None
        deadline = time.monotonic() + timeout
        # The ready line is the first line on stdout; a thread reads it so
        # that a simulator that hangs cannot hang the test past timeout.
        box = []
        t = threading.Thread(target=lambda: box.append(proc.stdout.readline()),
                             daemon=True)
        t.start()
        t.join(max(0.0, deadline - time.monotonic()))
        if box and box[0]:
            ready = json.loads(box[0])
        if ready is None:
            proc.kill()
            proc.wait()
            raise SimError("simulator did not start: %s" %
                           log_path.read_text(errors="replace")[-2000:])
        return cls(proc, ready, workdir, own, log_path)

    def router_info(self, name):
        for r in self.routers:
            if r["name"] == name:
                return r
        raise KeyError(name)

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        """Stops the process (SIGTERM, then SIGKILL) and removes the
        directory it made."""
        self.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
