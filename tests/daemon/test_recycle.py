"""Socket recycling: a deleted call's bound sockets go back to the port pool
and the next offer takes them instead of binding new ones, but only once
the port quarantine is over; a recycled socket never hands the old call's
packets to the new one; unused spares are closed, so open files return to
the baseline; statistics count spares as free ports.
Run: RTPGATE=build/relay/rtpgate PYTHONPATH=tests/lib python3 tests/daemon/test_recycle.py"""

import os
import time

from rgtest import (Call, Daemon, Suite, pid_udp_sockets, query_totals, rtp_parse, stats_ports,
                    stats_sessions, wait_until)

suite = Suite(case_timeout=40)


def range_sockets(d):
    """{port: socket inode} of the sockets the daemon holds in its range."""
    return {port: inode for port, inode in pid_udp_sockets(d.pid, ("/proc/net/udp",)).items()
            if d.port_min <= port <= d.port_max}


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


@suite.case
def reused_only_after_quarantine(t):
    with Daemon(ports=4, args=["--port-quarantine=1"]) as d:
        c = Call(d.ng).setup()
        before = range_sockets(d)
        t.eq("sockets of the call", 4, len(before))
        t.result_ok("delete", c.delete())
        t0 = time.monotonic()
        c2 = Call(d.ng)
        r = c2.offer()
        t.eq("offer at once, ports still resting: error-reason", "Ran out of ports",
             r.get("error-reason"))
        ok = wait_until(lambda: c2.offer().get("result") == "ok", 5.0, step=0.1)
        dt = time.monotonic() - t0
        t.ok("offer succeeds after the 1 s quarantine", ok and dt >= 0.9, "ok at >= 0.9 s",
             "%s after %.2f s" % (c2.offer_reply, dt))
        t.eq("the same sockets serve the new call (recycled, not re-bound)", before,
             range_sockets(d))
        t.result_ok("answer", c2.answer())
        gb, ga = c2.flow(5)
        t.eq("media on recycled sockets", (5, 5), (len(gb), len(ga)))
        t.eq("statistics: ports in use", 4, stats_ports(d.ng.cmd("statistics"))[0])
        c2.delete()
        c.close()
        c2.close()


@suite.case
def recycled_socket_drops_old_packets(t):
    for io in ("auto", "epoll"):
        print("  --media-io=%s" % io)
        old_packets_dropped(t, io)


def old_packets_dropped(t, io):
    with Daemon(ports=4, args=["--port-quarantine=0", "--media-io=" + io]) as d:
        c = Call(d.ng).setup()
        gb, ga = c.flow(3)
        t.eq("first call flows", (3, 3), (len(gb), len(ga)))
        before = range_sockets(d)
        t.result_ok("delete", c.delete())
        ok = wait_until(lambda: stats_sessions(d.ng.cmd("statistics")) == 0, 2.0)
        t.ok("session gone", ok, 0, stats_sessions(d.ng.cmd("statistics")))
        time.sleep(0.2)
        # the old parties keep sending to the ports of the ended call: the
        # packets wait in the spare sockets' receive queues
        c.a.send_rtp(10, 0)
        c.b.send_rtp(10, 0)
        c.a.send_rtcp(2)
        c.b.send_rtcp(2)
        time.sleep(0.1)
        c2 = Call(d.ng).setup()
        t.eq("the new call got the old sockets", before, range_sockets(d))
        gb, ga = c2.flow(5)
        for who, got, ssrc in (("B", gb, c2.a.ssrc), ("A", ga, c2.b.ssrc)):
            ssrcs = {(rtp_parse(p) or {}).get("ssrc") for p, _ in got}
            t.eq("new call's %s got only its peer's SSRC" % who, {ssrc}, ssrcs)
            t.eq("new call's %s got its peer's 5 packets, nothing more" % who, 5, len(got))
        late = c2.b.recv_rtp(None, timeout=0.3, quiet=0.3) + c2.a.recv_rtp(None, timeout=0.3, quiet=0.3)
        t.eq("nothing of the old call arrives later", [], late)
        rb = c2.b.recv_rtcp(None, timeout=0.2, quiet=0.2)
        t.eq("no old RTCP reaches the new call", [], rb)
        # the new call saw exactly its own parties' packets: the old ones
        # were drained before reuse, not received and dropped (nowhere to
        # send them before the answer) or counted as errors
        tot = query_totals(c2.query())
        t.eq("new call's totals: RTP packets, errors", (10, 0),
             (tot["RTP"]["packets"], tot["RTP"]["errors"]))
        t.eq("new call's totals: RTCP packets, errors", (0, 0),
             (tot["RTCP"]["packets"], tot["RTCP"]["errors"]))
        c2.delete()
        c.close()
        c2.close()


@suite.case
def fds_back_to_baseline(t):
    with Daemon(ports=200, args=["--port-quarantine=0"]) as d:
        d.ng.cmd("statistics")
        if d.unix:
            d.unix.cmd("ping")
        time.sleep(0.3)
        base = fd_count(d.pid)
        _, free0 = stats_ports(d.ng.cmd("statistics"))
        for rnd in range(3):
            calls = [Call(d.ng).setup() for _ in range(20)]
            used, free = stats_ports(d.ng.cmd("statistics"))
            t.eq("round %d: ports in use with 20 calls" % rnd, (80, free0 - 80), (used, free))
            for c in calls:
                t.result_ok("delete", c.delete())
                c.close()
            # spares count as free ports at once
            ok = wait_until(lambda: stats_ports(d.ng.cmd("statistics")) == (0, free0), 1.0)
            t.ok("round %d: statistics after the deletes" % rnd, ok, (0, free0),
                 stats_ports(d.ng.cmd("statistics")))
        ok = wait_until(lambda: fd_count(d.pid) <= base, 4.0, step=0.2)
        t.ok("open files back to the baseline within 4 s (idle spares closed)", ok, "<= %d" % base,
             fd_count(d.pid))
        t.eq("no socket left in the range", {}, range_sockets(d))
        c = Call(d.ng).setup()
        gb, ga = c.flow(3)
        t.eq("a call after the spares were closed flows", (3, 3), (len(gb), len(ga)))
        c.delete()
        c.close()


if __name__ == "__main__":
    suite.run()
