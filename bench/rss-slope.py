#!/usr/bin/env python3
"""bench/rss-slope.py RTPGATE [N1 N2]: resident memory per relayed call.

Starts the daemon on a private port range, sets up N1 and then N2 calls over
ng UDP (offer + answer, no media), and prints the RSS after each step and
the slope (KB per call) between them, which leaves out what the daemon
holds whatever the number of calls. Bounded: at most a few thousand calls,
one daemon, stopped at the end.
"""
import os
import re
import socket
import subprocess
import sys
import tempfile
import time


def bencode(x):
    if isinstance(x, int):
        return b"i%de" % x
    if isinstance(x, str):
        x = x.encode()
    if isinstance(x, bytes):
        return b"%d:%s" % (len(x), x)
    if isinstance(x, dict):
        return b"d" + b"".join(bencode(k) + bencode(v) for k, v in sorted(x.items())) + b"e"
    raise TypeError(x)


def main():
    exe = sys.argv[1]
    n1, n2 = (int(sys.argv[2]), int(sys.argv[3])) if len(sys.argv) > 3 else (100, 500)
    n2 = min(n2, 3000)
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    ng_port = probe.getsockname()[1]
    probe.close()
    base = 30000 + (os.getpid() % 200) * 100
    tmp = tempfile.mkdtemp()
    p = subprocess.Popen([exe, "--listen-ng=127.0.0.1:%d" % ng_port, "--listen-unix=",
                          "--port-min=%d" % base, "--port-max=%d" % (base + 4 * n2 + 10),
                          "--log-level=3"], stderr=open(os.path.join(tmp, "log"), "w"))
    try:
        time.sleep(0.5)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(2)

        def rss():
            return int(re.search(r"VmRSS:\s+(\d+)", open("/proc/%d/status" % p.pid).read()).group(1))

        def sdp(port):
            return ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                    "m=audio %d RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\n"
                    "a=rtpmap:101 telephone-event/8000\r\n" % port)

        def call(i):
            for k, cmd in enumerate(("offer", "answer")):
                req = {"command": cmd, "call-id": "rss-%d" % i, "from-tag": "ft",
                       "sdp": sdp(20000 + 2 * i)}
                if cmd == "answer":
                    req["to-tag"] = "tt"
                s.sendto(b"c%d-%d " % (i, k) + bencode(req), ("127.0.0.1", ng_port))
                s.recv(8192)

        r0 = rss()
        for i in range(n1):
            call(i)
        r1 = rss()
        for i in range(n1, n2):
            call(i)
        r2 = rss()
        print("idle %d KB; %d calls %d KB; %d calls %d KB; slope %.1f KB per call"
              % (r0, n1, r1, n2, r2, (r2 - r1) / (n2 - n1)))
    finally:
        p.terminate()
        p.wait(timeout=10)


if __name__ == "__main__":
    main()
