#!/usr/bin/env python3
"""Hostile clients against the HTTP/JSON face, while a gRPC client keeps being served.

    http-hostile.py HTTP_ADDR GRPC_ADDR FANOUT_CLI

Malformed requests, a huge header, slowloris connections dribbling their headers, and
thousands of idle connections: each is refused (an HTTP error, or the connection closed) or
timed out, and meanwhile `fanout-cli query` over gRPC and a plain HTTP request still succeed.
Exits non-zero naming every check that failed."""
import resource
import socket
import subprocess
import sys
import threading
import time

http_addr, grpc_addr, cli = sys.argv[1:4]
host, port = http_addr.rsplit(":", 1)
port = int(port)
failures = []


def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else ": " + detail), flush=True)
    if not ok:
        failures.append(name)


def exchange(payload, timeout=5.0):
    """Sends payload, returns what came back before the server closed (or the timeout)."""
    s = socket.create_connection((host, port), timeout=timeout)
    try:
        s.sendall(payload)
        got = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return got
            got += chunk
    except (socket.timeout, ConnectionResetError):
        return got
    finally:
        s.close()


def status(reply):
    line = reply.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def grpc_ok():
    r = subprocess.run([cli, "query", "--addr", grpc_addr, "--customer", "c-1", "--features", "tours"],
                       capture_output=True, timeout=20)
    return r.returncode == 0 and b'"succeeded": 1' in r.stdout


def http_ok():
    reply = exchange(b"GET /v1/features HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    return status(reply) == 200


# Malformed requests: an error status (or a closed connection), never a hang or a crash.
for name, payload in [
    ("garbage request line", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n"),
    ("header without a colon", b"GET /v1/features HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n"),
    ("unknown HTTP version", b"GET /v1/features HTTP/7.3\r\nHost: x\r\n\r\n"),
    ("HTTP/1.1 without Host", b"GET /v1/features HTTP/1.1\r\n\r\n"),
    ("bad chunked body", b"POST /v1/analytics:query HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
    ("conflicting lengths", b"POST /v1/analytics:query HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 9\r\n\r\nhello"),
]:
    reply = exchange(payload)
    check("malformed (%s): refused" % name, reply == b"" or status(reply) >= 400, repr(reply[:80]))

# A huge header: over the per-connection memory, refused with 431 (or 413), not buffered.
reply = exchange(b"GET /v1/features HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200000 + b"\r\n\r\n")
check("huge header: refused", status(reply) in (413, 431) or reply == b"", repr(reply[:80]))
reply = exchange(b"GET /v1/features HTTP/1.1\r\nHost: x\r\n" + b"X-Many: b\r\n" * 20000 + b"\r\n")
check("thousands of headers: refused", status(reply) in (400, 413, 431) or reply == b"", repr(reply[:80]))

# Slowloris: connections that send a header byte at a time; the faces keep serving meanwhile.
stop = threading.Event()


def dribble():
    try:
        s = socket.create_connection((host, port), timeout=30)
        s.sendall(b"GET /v1/features HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        while not stop.is_set():
            s.sendall(b"a")
            stop.wait(0.5)
        s.close()
    except OSError:
        pass  # refused or closed by the server: what a limit does


threads = [threading.Thread(target=dribble) for _ in range(200)]
for t in threads:
    t.start()
time.sleep(1.0)
check("slowloris: gRPC face serves", grpc_ok())
check("slowloris: HTTP face serves", http_ok())
stop.set()
for t in threads:
    t.join()

# Thousands of idle connections: more than the connection limit (half the aggregator's 4096
# descriptors); those past it wait in the listen backlog. The gRPC face keeps serving, and the
# server times every one of them out: the accepted ones first, then those it accepts next.
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
want = 2500
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, want + 200), hard))
idle = []
for _ in range(min(want, min(hard, want + 200) - 100)):
    try:
        idle.append(socket.create_connection((host, port), timeout=5))
    except OSError:
        break
print("opened %d idle connections" % len(idle), flush=True)
check("idle flood: thousands opened", len(idle) >= 2000, str(len(idle)))
check("idle flood: gRPC face serves", grpc_ok())
for s in idle:
    s.setblocking(False)
started = time.time()
open_left = len(idle)
while time.time() < started + 40 and open_left > 0:
    time.sleep(1.0)
    open_left = 0
    for s in idle:
        try:
            if s.recv(1) != b"":
                open_left += 1
        except BlockingIOError:
            open_left += 1
        except OSError:
            pass
print("idle connections closed by the server after %.0f s" % (time.time() - started), flush=True)
check("idle flood: timed out by the server within 40 s", open_left == 0, "%d still open" % open_left)
for s in idle:
    s.close()
check("after the flood: HTTP face serves", http_ok())
check("after the flood: gRPC face serves", grpc_ok())

sys.exit(1 if failures else 0)
