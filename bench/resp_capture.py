#!/usr/bin/env python3
"""Record the commands a client sends to a Redis server, in the order sent, as a RESP file for
`redis-cli --pipe`.

Used by bench/restore.sh to build the baseline of `rdbrekey restore`: the same RESTORE commands,
in the same order, ready-made, so that redis-cli --pipe only has to stream a file. (The order
matters to the server: inserting keys in its own SCAN order is cheaper for it than in any other
order, so a dump made with SCAN is not the same work.)

Usage:
  resp_capture.py proxy --target-port PORT [--target-host HOST] --port-file F --record DIR
      A TCP proxy on 127.0.0.1 (a free port, written to F once it listens) to the target. Every
      connection's client-to-server bytes go to DIR/conn-N.resp, N from 1 in the order accepted.
      Runs until SIGTERM or SIGINT.
  resp_capture.py extract --expect N OUTPUT DIR
      Keeps the RESTORE and FUNCTION RESTORE commands of DIR/conn-*.resp (connections in the
      order accepted, commands in the order sent) and writes them to OUTPUT. Fails unless
      exactly N of them are RESTORE commands. Prints the counts.

Standard library only.
"""
import argparse
import os
import signal
import socket
import sys
import threading


def pump(src, dst, record):
    try:
        while True:
            data = src.recv(1 << 20)
            if not data:
                break
            if record is not None:
                record.write(data)
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (dst, src):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def run_proxy(args):
    os.makedirs(args.record, exist_ok=True)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    records = []

    def stop(*_):
        for r in records:
            r.flush()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(listener.getsockname()[1]))
    os.replace(args.port_file + ".tmp", args.port_file)
    n = 0
    while True:
        client, _ = listener.accept()
        n += 1
        server = socket.create_connection((args.target_host, args.target_port))
        for s in (client, server):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        record = open(os.path.join(args.record, "conn-%d.resp" % n), "wb", buffering=1 << 20)
        records.append(record)
        threading.Thread(target=pump, args=(client, server, record), daemon=True).start()
        threading.Thread(target=pump, args=(server, client, None), daemon=True).start()


def commands(data):
    """(name, raw bytes) of each command of a RESP stream of arrays of bulk strings."""
    i, n = 0, len(data)
    while i < n:
        if data[i:i + 1] != b"*":
            raise ValueError("not a RESP array at byte %d" % i)
        j = data.index(b"\r\n", i)
        count = int(data[i + 1:j])
        p = j + 2
        words = []
        for _ in range(count):
            if data[p:p + 1] != b"$":
                raise ValueError("not a bulk string at byte %d" % p)
            k = data.index(b"\r\n", p)
            size = int(data[p + 1:k])
            if len(words) < 2:
                words.append(data[k + 2:k + 2 + size].upper())
            p = k + 2 + size + 2
        if p > n:
            raise ValueError("a command cut at the end of the stream")
        yield words, data[i:p]
        i = p


def run_extract(args):
    names = [f for f in os.listdir(args.dir) if f.startswith("conn-") and f.endswith(".resp")]
    names.sort(key=lambda f: int(f[5:-5]))
    restores = functions = others = 0
    with open(args.output, "wb") as out:
        for name in names:
            with open(os.path.join(args.dir, name), "rb") as f:
                data = f.read()
            for words, raw in commands(data):
                if words[0] == b"RESTORE":
                    restores += 1
                elif words[0] == b"FUNCTION" and len(words) > 1 and words[1] == b"RESTORE":
                    functions += 1
                else:
                    others += 1
                    continue
                out.write(raw)
    print("%d RESTORE commands, %d FUNCTION RESTORE, %d other commands left out, from %d connection(s)"
          % (restores, functions, others, len(names)))
    if args.expect is not None and restores != args.expect:
        sys.exit("resp_capture: %d RESTORE commands recorded, %d expected" % (restores, args.expect))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("proxy")
    p.add_argument("--target-host", default="127.0.0.1")
    p.add_argument("--target-port", type=int, required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--record", required=True)
    e = sub.add_parser("extract")
    e.add_argument("--expect", type=int)
    e.add_argument("output")
    e.add_argument("dir")
    args = parser.parse_args()
    if args.mode == "proxy":
        run_proxy(args)
    else:
        run_extract(args)


if __name__ == "__main__":
    main()
