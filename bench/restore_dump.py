#!/usr/bin/env python3
"""Dump every key of a Redis server as a file of RESTORE commands in RESP, for `redis-cli --pipe`.

Used by bench/restore.sh to build the "best a client can do" baseline: the same RESTORE commands
rdbrekey restore sends, ready-made, so that redis-cli --pipe only has to stream a file.

Usage: restore_dump.py --port PORT [--host HOST] [--idletime] [--expect N] OUTPUT

For each key (SCAN, pipelined in batches): DUMP and PEXPIRETIME (and OBJECT IDLETIME with
--idletime); it writes `RESTORE key ttl payload [ABSTTL] [IDLETIME s]` with ttl the absolute expiry
in ms (ABSTTL) or 0 without one -- the form rdbrekey restore sends. Function libraries (FUNCTION
DUMP) come first as one `FUNCTION RESTORE payload`. SCAN may return a key twice (while the server
rehashes): duplicates are written once. With --expect N it fails unless exactly N keys were
written. Standard library only: raw socket, RESP by hand.
"""
import argparse
import socket
import sys


class RespError(Exception):
    pass


class Conn:
    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rd = self.sock.makefile("rb", buffering=1 << 20)

    @staticmethod
    def encode(*args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            if isinstance(a, int):
                a = b"%d" % a
            elif isinstance(a, str):
                a = a.encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(out)

    def send(self, data):
        self.sock.sendall(data)

    def reply(self):
        line = self.rd.readline()
        if not line:
            raise RespError("connection closed")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest
        if kind == b"-":
            raise RespError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.rd.read(n + 2)
            return data[:-2]
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise RespError("unexpected reply %r" % line)

    def call(self, *args):
        self.send(self.encode(*args))
        return self.reply()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--idletime", action="store_true", help="also send IDLETIME (OBJECT IDLETIME)")
    ap.add_argument("--expect", type=int, help="fail unless exactly this many keys were written")
    ap.add_argument("--batch", type=int, default=1000, help="SCAN COUNT and pipeline depth")
    ap.add_argument("output")
    args = ap.parse_args()

    c = Conn(args.host, args.port)
    seen = set()
    written = 0
    with open(args.output, "wb", buffering=1 << 22) as out:
        functions = c.call("FUNCTION", "DUMP")
        libs = c.call("FUNCTION", "LIST")
        if libs:
            out.write(Conn.encode("FUNCTION", "RESTORE", functions))
        cursor = b"0"
        while True:
            cursor, keys = c.call("SCAN", cursor, "COUNT", args.batch)
            keys = [k for k in keys if k not in seen]
            seen.update(keys)
            per_key = 3 if args.idletime else 2
            req = []
            for k in keys:
                req.append(Conn.encode("DUMP", k))
                req.append(Conn.encode("PEXPIRETIME", k))
                if args.idletime:
                    req.append(Conn.encode("OBJECT", "IDLETIME", k))
            if req:
                c.send(b"".join(req))
            for k in keys:
                payload = c.reply()
                expire = c.reply()
                idle = c.reply() if per_key == 3 else None
                if payload is None or expire == -2:
                    raise RespError("key %r vanished while dumping" % k)
                cmd = ["RESTORE", k, expire if expire > 0 else 0, payload]
                if expire > 0:
                    cmd.append("ABSTTL")
                if idle is not None:
                    cmd += ["IDLETIME", idle]
                out.write(Conn.encode(*cmd))
                written += 1
            if cursor == b"0":
                break
    print("%d keys, %d function libraries" % (written, len(libs or [])))
    if args.expect is not None and written != args.expect:
        print("restore_dump.py: wrote %d keys, expected %d" % (written, args.expect), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
