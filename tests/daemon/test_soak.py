"""Soak (issue 6 item 7): rounds of CALLS concurrent calls (a quarter of
them RTP<->SRTP) are set up, carry media both ways and are deleted, for a
bounded time. After a warm-up the daemon's resident size must stay flat
(within RSS_SLACK_KB), and after every round its open file descriptors and
ports must be back to the baseline. RG_SOAK_SECONDS sets the duration
(default 20 s; RG_SOAK=1 means 180 s, the long run kept out of tools/test).
Under AddressSanitizer the RSS check is skipped (its quarantine grows on
purpose); the fd and port checks still run.
Run: RTPGATE=build/relay/rtpgate PYTHONPATH=tests/lib python3 tests/daemon/test_soak.py"""

import base64
import os
import random
import select
import time

from rgtest import Call, Daemon, Leg, Sdp, Suite, call_id, stats_ports, stats_sessions, wait_until

CALLS = int(os.environ.get("RG_SOAK_CALLS", "100"))
RSS_SLACK_KB = 6 * 1024

suite = Suite(case_timeout=900)


def soak_seconds():
    if os.environ.get("RG_SOAK_SECONDS"):
        return float(os.environ["RG_SOAK_SECONDS"])
    return 180.0 if os.environ.get("RG_SOAK") else 20.0


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def nfds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def sanitized(exe):
    with open(exe, "rb") as f:
        return b"__asan_init" in f.read()


def drain(socks):
    n = 0
    while True:
        r, _, _ = select.select(socks, [], [], 0.05)
        if not r:
            return n
        for s in r:
            s.recvfrom(65536)
            n += 1


@suite.case
def soak_calls_no_leak(t):
    secs = soak_seconds()
    with Daemon(ports=CALLS * 4 + 200, args=["--port-quarantine=0"]) as d:
        asan = sanitized(d.exe)
        # the UNIX socket, as Kamailio uses it: over UDP every reply stays in
        # the reply cache for 30 s, which would read as growth here
        ng = d.unix or d.ng
        legs = [(Leg(), Leg()) for _ in range(CALLS)]
        socks = [s for a, b in legs for s in (a.rtp, a.rtcp, b.rtp, b.rtcp)]
        fd0 = nfds(d.pid)
        samples = []
        rounds = calls = pkts = 0
        end = time.monotonic() + secs
        key = base64.b64encode(os.urandom(30)).decode()
        while time.monotonic() < end or rounds < 3:
            active = []
            for i, (a, b) in enumerate(legs):
                c = Call(ng, a=a, b=b)
                srtp = i % 4 == 0
                r = c.offer(transport_protocol="RTP/SAVP") if srtp else c.offer()
                if r.get("result") != "ok":
                    t.fail("offer in round %d" % rounds, "ok", r)
                    continue
                if srtp:
                    bsdp = b.sdp(extra=["a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + key]).replace(
                        " RTP/AVP ", " RTP/SAVP ")
                    r = c.answer(sdp=bsdp)
                else:
                    r = c.answer()
                if r.get("result") != "ok":
                    t.fail("answer in round %d" % rounds, "ok", r)
                    continue
                active.append(c)
            for c in active:
                c.a.send_rtp(3, 0)
                c.b.send_rtp(3, 0)      # plain into an SRTP leg: dropped as auth
                c.a.send_rtcp(1)
                pkts += 7
            drain(socks)
            for c in active:
                c.delete()
            calls += len(active)
            rounds += 1
            st = ng.cmd("statistics")
            t.eq("round %d: no session left" % rounds, 0, stats_sessions(st))
            ok = wait_until(lambda: nfds(d.pid) <= fd0, 3.0)
            if not ok:
                t.fail("round %d: fds back to the baseline" % rounds, "<= %d" % fd0, nfds(d.pid))
            samples.append(rss_kb(d.pid))
            if t.failures:
                break
        warm = samples[min(2, len(samples) - 1)]
        peak = max(samples[2:] or samples)
        last = samples[-1]
        print("  RSS kB per round: %s" % " ".join(str(x) for x in samples))
        print("  %d rounds, %d calls, %d packets in %.0f s; RSS after warm-up %d kB, "
              "peak %d kB, last %d kB; fds %d -> %d%s" % (
                  rounds, calls, pkts, secs, warm, peak, last, fd0, nfds(d.pid),
                  " (ASan: RSS not checked)" if asan else ""))
        if not asan:
            t.ok("RSS flat after warm-up (peak - warm-up <= %d kB)" % RSS_SLACK_KB,
                 peak - warm <= RSS_SLACK_KB, "<= %d kB" % RSS_SLACK_KB, "%d kB" % (peak - warm))
        used, _ = stats_ports(d.ng.cmd("statistics"))
        t.eq("no port in use at the end", 0, used)
        for a, b in legs:
            a.close()
            b.close()


if __name__ == "__main__":
    suite.run()
