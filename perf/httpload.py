#!/usr/bin/python3
"""Minimal HTTP load generator for peers wrk cannot drive (`openssl ocsp` answers wrk's requests with nothing).
Each of CONNS threads sends POST requests (a new connection per request when the server closes) for DURATION seconds.
Prints the same RESULT line as perf/wrk/report.lua. Good for servers up to a few thousand requests/s (the peer
measured with it is far below that ceiling; check by pointing it at nginx)."""
import socket, sys, threading, time

host, port, path, body_file, ctype, conns, duration = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], \
    sys.argv[5], int(sys.argv[6]), float(sys.argv[7])
body = open(body_file, "rb").read()
req = (b"POST %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
       % (path.encode(), host.encode(), port, ctype.encode(), len(body))) + body
lat, errors, lock = [], [0], threading.Lock()
stop = time.monotonic() + duration

def worker():
    mine, errs = [], 0
    while time.monotonic() < stop:
        t0 = time.monotonic()
        try:
            s = socket.create_connection((host, port), timeout=5)
            s.sendall(req)
            data = b""
            while True:
                d = s.recv(65536)
                if not d:
                    break
                data += d
            s.close()
            if not data.startswith(b"HTTP/1.") or b" 200 " not in data[:16]:
                errs += 1
                continue
            mine.append(time.monotonic() - t0)
        except OSError:
            errs += 1
    with lock:
        lat.extend(mine)
        errors[0] += errs

t0 = time.monotonic()
ths = [threading.Thread(target=worker) for _ in range(conns)]
for t in ths: t.start()
for t in ths: t.join()
secs = time.monotonic() - t0
lat.sort()
pct = lambda p: lat[min(len(lat) - 1, int(len(lat) * p / 100))] * 1000 if lat else 0
print("RESULT rps=%.0f p50_ms=%.3f p99_ms=%.3f requests=%d errors=%d non2xx=0" %
      (len(lat) / secs, pct(50), pct(99), len(lat), errors[0]))
