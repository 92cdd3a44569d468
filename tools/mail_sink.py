#!/usr/bin/python3
"""The local stack's mail sink: an SMTP server (Debian python3-aiosmtpd)
that accepts every message and writes it, as received, to
DIR/<microseconds>-<n>.eml (mode 0644, written under a temporary name and
renamed, so a reader never sees half a message).  Return-Path and
X-Original-To lines record the envelope.  No TLS, no AUTH: it listens on
loopback only and is for `make run` and `make test` (tools/stack.sh).

  tools/mail_sink.py --dir DIR --port PORT [--host 127.0.0.1]

Stops on SIGTERM or SIGINT.
"""
import argparse
import asyncio
import itertools
import os
import signal
import time

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, directory):
        self.dir = directory
        self.seq = itertools.count()

    async def handle_DATA(self, server, session, envelope):
        name = "%d-%06d.eml" % (time.time_ns() // 1000, next(self.seq))
        tmp = os.path.join(self.dir, "." + name + ".tmp")
        head = "Return-Path: <%s>\r\nX-Original-To: %s\r\n" % (
            envelope.mail_from, ", ".join(envelope.rcpt_tos))
        with open(tmp, "wb") as f:
            f.write(head.encode("ascii", "replace"))
            f.write(envelope.original_content)
        os.chmod(tmp, 0o644)
        os.rename(tmp, os.path.join(self.dir, name))
        return "250 OK stored as " + name


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    handler = Sink(args.dir)
    server = loop.run_until_complete(loop.create_server(
        lambda: SMTP(handler, hostname="rtrw-mail-sink", loop=loop),
        host=args.host, port=args.port))
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, loop.stop)
    print("mail sink: listening on %s:%d, writing to %s"
          % (args.host, args.port, args.dir), flush=True)
    try:
        loop.run_forever()
    finally:
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()


if __name__ == "__main__":
    main()
