#!/usr/bin/env python3
"""A Lambda Runtime API emulator for the tests (loopback, HTTP/1.1).

Usage: lambda-runtime-emulator.py EVENTS_DIR OUT_DIR PORT_FILE

Hands out the files of EVENTS_DIR (sorted by name) as invocations, one at
a time as Lambda does: GET /2018-06-01/runtime/invocation/next answers the
next event with Lambda-Runtime-Aws-Request-Id "req-<file name without
.json>", Lambda-Runtime-Deadline-Ms and Lambda-Runtime-Trace-Id. What the
function posts is written to OUT_DIR:
  <id>.response                  .../invocation/<id>/response
  <id>.error, <id>.error-type    .../invocation/<id>/error (body, header)
  init.error, init.error-type    .../runtime/init/error
  log                            one line per request: "<monotonic ns> METHOD PATH",
                                 and per connection accepted: "<monotonic ns> ACCEPT"
                                 (logged before the request is read: what a
                                 client's start time is measured against)
An unknown request id, a second answer to one invocation or an answer
while none is in flight is refused with 400 (and logged as such), as
Lambda refuses them. An event NAME.json is held back while a file
.NAME.gate is in EVENTS_DIR (a test changes the data between two warm
invocations, then removes the gate). With no event left, .../next answers 410 Gone so the
function exits (a real Lambda would block). The port is written to
PORT_FILE once listening (atomically).
"""
import http.server
import os
import sys
import threading
import time

PREFIX = "/2018-06-01/runtime"


class State:
    def __init__(self, events_dir, out_dir):
        self.events = sorted(f for f in os.listdir(events_dir) if not f.startswith("."))
        self.events_dir = events_dir
        self.out = out_dir
        self.in_flight = None
        self.answered = set()
        self.lock = threading.Lock()

    def log(self, line):
        with open(os.path.join(self.out, "log"), "a") as f:
            f.write("%d %s\n" % (time.monotonic_ns(), line))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out as two writes: without TCP_NODELAY the body
    # waits for the client's delayed ACK (40 ms), which bench/lambda would count
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass

    def reply(self, code, body=b"{}", headers=()):
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        st = self.server.state
        st.log("GET " + self.path)
        if self.path != PREFIX + "/invocation/next":
            return self.reply(404, b'{"errorMessage":"no such route"}')
        with st.lock:
            if not st.events:
                return self.reply(410, b'{"errorMessage":"no event left"}')
            name = st.events.pop(0)
            rid = "req-" + (name[:-5] if name.endswith(".json") else name)
            st.in_flight = rid
        gate = os.path.join(st.events_dir, "." + name[:-5] + ".gate")
        while os.path.exists(gate):
            time.sleep(0.01)
        with open(os.path.join(st.events_dir, name), "rb") as f:
            body = f.read()
        deadline = int(time.time() * 1000) + 30000
        self.reply(200, body, [("Lambda-Runtime-Aws-Request-Id", rid),
                               ("Lambda-Runtime-Deadline-Ms", str(deadline)),
                               ("Lambda-Runtime-Trace-Id", "Root=1-test-" + rid),
                               ("Lambda-Runtime-Invoked-Function-Arn",
                                "arn:aws:lambda:us-east-1:000000000000:function:qw")])

    def do_POST(self):
        st = self.server.state
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        etype = self.headers.get("Lambda-Runtime-Function-Error-Type") or ""
        st.log("POST " + self.path)
        if self.path == PREFIX + "/init/error":
            self.save("init.error", body, etype)
            return self.reply(202, b'{"status":"OK"}')
        parts = self.path[len(PREFIX):].split("/")
        # ["", "invocation", id, "response"|"error"]
        if len(parts) != 4 or parts[1] != "invocation" or parts[3] not in ("response", "error"):
            return self.reply(404, b'{"errorMessage":"no such route"}')
        rid, kind = parts[2], parts[3]
        with st.lock:
            if rid != st.in_flight or rid in st.answered:
                st.log("REFUSED " + self.path)
                return self.reply(400, b'{"errorMessage":"InvalidRequestID"}')
            st.answered.add(rid)
            st.in_flight = None
        self.save(rid + "." + kind, body, etype if kind == "error" else None)
        self.reply(202, b'{"status":"OK"}')

    def save(self, name, body, etype):
        out = self.server.state.out
        if etype is not None:
            with open(os.path.join(out, name + "-type"), "w") as f:
                f.write(etype)
        with open(os.path.join(out, name + ".tmp"), "wb") as f:
            f.write(body)
        os.rename(os.path.join(out, name + ".tmp"), os.path.join(out, name))


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def process_request(self, request, client_address):
        self.state.log("ACCEPT")
        super().process_request(request, client_address)


def main():
    if len(sys.argv) != 4:
        sys.stderr.write(__doc__)
        return 64
    events_dir, out_dir, port_file = sys.argv[1:]
    os.makedirs(out_dir, exist_ok=True)
    srv = Server(("127.0.0.1", 0), Handler)
    srv.state = State(events_dir, out_dir)
    with open(port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(port_file + ".tmp", port_file)
    srv.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
