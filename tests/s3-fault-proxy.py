#!/usr/bin/env python3
"""A fault-injecting HTTP proxy for the s3:// tests, loopback only.

    s3-fault-proxy.py --upstream PORT --port-file F --seed N --rate R [--stats F]
                      [--delay-ms MS]

Forwards each request to 127.0.0.1:UPSTREAM unchanged (the Host header too,
so SigV4 signatures still verify). With probability RATE, drawn from a
random.Random(SEED) (the same faults in the same order for the same
requests), a request instead gets one of:
  slowdown  503 with an S3 <Error><Code>SlowDown</Code>, not forwarded
  internal  500 with <Code>InternalError</Code>, not forwarded
  reset     the connection is reset before any answer, not forwarded
  lost      forwarded (the server acts on it), then the connection is reset,
            so the client never learns the answer and must retry
Faults apply only to object requests (a key after the bucket), so that the
tests' own oracle listings are not disturbed. The counts of requests and of
each fault, and the object GETs answered and their body bytes
(gets, get_bytes), the connections accepted (connections) and the most
requests in flight at once (max_inflight) are written to --stats (JSON)
after each request. --delay-ms holds each answer that long (to see
requests overlap).
"""
import argparse
import http.client
import http.server
import json
import os
import random
import socket
import struct
import threading
import time

FAULTS = ("slowdown", "internal", "reset", "lost")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", type=int, required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rate", type=float, default=0.2)
    ap.add_argument("--stats")
    ap.add_argument("--delay-ms", type=int, default=0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    lock = threading.Lock()
    stats = {"requests": 0, "get_bytes": 0, "gets": 0, "connections": 0,
             "max_inflight": 0, **{f: 0 for f in FAULTS}}
    inflight = [0]

    def draw(path):
        with lock:
            stats["requests"] += 1
            # /bucket/key...: an object request
            parts = path.split("?", 1)[0].strip("/").split("/", 1)
            if len(parts) < 2 or rng.random() >= args.rate:
                return None
            fault = FAULTS[rng.randrange(len(FAULTS))]
            stats[fault] += 1
            return fault

    def save_stats():
        if not args.stats:
            return
        with lock:
            tmp = args.stats + ".tmp"
            with open(tmp, "w") as f:
                json.dump(stats, f)
            os.replace(tmp, args.stats)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def setup(self):
            super().setup()
            with lock:
                stats["connections"] += 1

        def reset(self):
            # RST instead of FIN: SO_LINGER with a zero timeout
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()

        def error(self, status, code):
            body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>%s</Code>"
                    "<Message>injected by the test proxy</Message></Error>" % code).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def handle_any(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            fault = draw(self.path)
            with lock:
                inflight[0] += 1
                stats["max_inflight"] = max(stats["max_inflight"], inflight[0])
            try:
                if args.delay_ms:
                    time.sleep(args.delay_ms / 1000)
                if fault == "slowdown":
                    self.error(503, "SlowDown")
                    return
                if fault == "internal":
                    self.error(500, "InternalError")
                    return
                if fault == "reset":
                    self.reset()
                    return
                up = http.client.HTTPConnection("127.0.0.1", args.upstream, timeout=60)
                up.putrequest(self.command, self.path, skip_host=True,
                              skip_accept_encoding=True)
                for k, v in self.headers.items():
                    if k.lower() not in ("connection", "content-length"):
                        up.putheader(k, v)
                up.putheader("Content-Length", str(len(body)))
                up.endheaders(body)
                resp = up.getresponse()
                data = resp.read()
                up.close()
                if fault == "lost":
                    self.reset()
                    return
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("connection", "content-length",
                                         "transfer-encoding", "date", "server"):
                        self.send_header(k, v)
                if self.command == "HEAD":
                    self.send_header("Content-Length",
                                     resp.getheader("Content-Length") or "0")
                else:
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                if self.command == "GET" and "?" not in self.path:
                    with lock:
                        stats["gets"] += 1
                        stats["get_bytes"] += len(data)
            finally:
                with lock:
                    inflight[0] -= 1
                save_stats()

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.replace(tmp, args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
