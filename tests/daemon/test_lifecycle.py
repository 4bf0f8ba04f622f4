"""Session life: delete frees ports and sockets, port exhaustion, the
session limit, media/offer/final timeouts, delete-delay, reuse after the
quarantine. Issue 2 items 6, 9, 12, 15.
Run: RTPGATE=build/relay/rtpgate PYTHONPATH=tests/lib python3 tests/daemon/test_lifecycle.py"""

import os
import threading
import time

from rgtest import (Call, Daemon, Sdp, Suite, list_calls, pid_udp_ports, stats_ports,
                    stats_sessions, udp_bindable, wait_until)

suite = Suite(case_timeout=40)


def daemon_ports(d):
    """Media ports of d's range that the daemon process holds."""
    return {p for p in pid_udp_ports(d.pid) if d.port_min <= p <= d.port_max}


def gone(d, cid):
    return cid not in list_calls(d.ng)


@suite.case
def delete_frees_ports(t):
    with Daemon(ports=4) as d:
        c = Call(d.ng).setup()
        gb, ga = c.flow(5)
        t.eq("media flows", (5, 5), (len(gb), len(ga)))
        used, _ = stats_ports(d.ng.cmd("statistics"))
        t.eq("statistics: ports in use with one call", 4, used)
        t.eq("sockets the daemon holds in the range", 4, len(daemon_ports(d)))
        t.result_ok("delete", c.delete())
        ok = wait_until(lambda: stats_ports(d.ng.cmd("statistics"))[0] == 0, 1.0)
        t.ok("statistics: ports in use back to 0 within 1 s", ok, 0,
             stats_ports(d.ng.cmd("statistics")))
        ok = wait_until(lambda: not daemon_ports(d), 1.0)
        t.ok("daemon holds no socket in the range within 1 s", ok, "none", sorted(daemon_ports(d)))
        t.ok("the ports can be bound again", all(udp_bindable(p) for p in range(d.port_min, d.port_max + 1)),
             "bindable", [p for p in range(d.port_min, d.port_max + 1) if not udp_bindable(p)])
        t.eq("sessions after delete", 0, stats_sessions(d.ng.cmd("statistics")))
        # after the quarantine the 4 ports serve a new call
        c2 = Call(d.ng)
        t0 = time.monotonic()
        r = wait_until(lambda: c2.offer().get("result") == "ok", 12.0, step=0.5)
        t.ok("a new offer succeeds once the released ports rested", r, "ok within 12 s",
             c2.offer_reply)
        if r:
            print("  (ports reusable after %.1f s)" % (time.monotonic() - t0))
            t.result_ok("answer", c2.answer())
            gb, ga = c2.flow(5)
            t.eq("media on reused ports", (5, 5), (len(gb), len(ga)))
            c2.delete()
        c.close()
        c2.close()


@suite.case
def port_exhaustion(t):
    with Daemon(ports=4) as d:
        c = Call(d.ng).setup()
        c2 = Call(d.ng)
        r = c2.offer()
        t.eq("offer with no ports left: result", "error", r.get("result"))
        t.eq("offer with no ports left: error-reason", "Ran out of ports", r.get("error-reason"))
        t.eq("no half-made call listed", [c.cid], list_calls(d.ng))
        t.eq("ports in use unchanged", 4, stats_ports(d.ng.cmd("statistics"))[0])
        gb, ga = c.flow(5)
        t.eq("first call still flows", (5, 5), (len(gb), len(ga)))
        c.delete()
        c.close()
        c2.close()
    with Daemon(ports=6) as d:
        # 3 streams: an offer takes a stream per leg, so the second offer finds
        # one stream but needs two; the one it found must be given back
        c = Call(d.ng).setup()
        for i in range(3):
            c2 = Call(d.ng)
            r = c2.offer()
            t.eq("offer %d needing 2 streams with 1 left: error-reason" % (i + 2), "Ran out of ports",
                 r.get("error-reason"))
            c2.close()
        used, free = stats_ports(d.ng.cmd("statistics"))
        t.eq("no port leaked by the failed offers: in use", 4, used)
        # a pair taken and given back may rest before it counts as free
        ok = wait_until(lambda: stats_ports(d.ng.cmd("statistics")) == (4, 2), 10.0, step=0.5)
        t.ok("ports in use, free after the rest", ok, (4, 2), stats_ports(d.ng.cmd("statistics")))
        gb, ga = c.flow(5)
        t.eq("first call still flows", (5, 5), (len(gb), len(ga)))
        c.delete()
        c.close()


@suite.case
def max_sessions(t):
    with Daemon(ports=20, args=["--max-sessions=1"]) as d:
        c = Call(d.ng).setup()
        c2 = Call(d.ng)
        r = c2.offer(supports=["load limit"])
        t.eq("second offer with supports load limit: result", "load limit", r.get("result"))
        r = d.ng.cmd("offer", call_id=c2.cid, from_tag=c2.a_tag, sdp=c2.a.sdp())
        t.eq("second offer without supports: result", "error", r.get("result"))
        t.eq("second offer without supports: error-reason", "Parallel session limit reached",
             r.get("error-reason"))
        t.eq("only the first call listed", [c.cid], list_calls(d.ng))
        t.result_ok("delete first", c.delete())
        t.result_ok("offer after delete", c2.offer())
        c2.delete()
        c.close()
        c2.close()


def keep_sending(call, seconds, pace=0.05):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        call.a.send_rtp(1, 0)
        call.b.send_rtp(1, 0)
        time.sleep(pace)


@suite.case
def media_timeout(t):
    with Daemon(ports=20, args=["--timeout=2", "--offer-timeout=60"]) as d:
        quiet = Call(d.ng).setup()
        busy = Call(d.ng).setup()
        t0 = time.monotonic()
        th = threading.Thread(target=keep_sending, args=(busy, 4.5))
        th.start()
        ok = wait_until(lambda: gone(d, quiet.cid), 5.0, step=0.2)
        dt = time.monotonic() - t0
        t.ok("call without media ends within ~4 s", ok and dt <= 4.5, "gone by 4.5 s",
             "%s after %.1f s" % ("gone" if ok else "still listed", dt))
        t.ok("...but not at once", dt >= 1.5, ">= 1.5 s", "%.1f s" % dt)
        th.join()
        t.ok("call with media still listed after 4.5 s", busy.cid in list_calls(d.ng), busy.cid,
             list_calls(d.ng))
        gb, ga = busy.flow(5)
        t.eq("and still flows", (5, 5), (len(gb), len(ga)))
        used, _ = stats_ports(d.ng.cmd("statistics"))
        t.eq("ports in use: only the busy call's", 4, used)
        t.eq("media sockets the daemon holds: only the busy call's", 4, len(daemon_ports(d)))
        busy.delete()
        quiet.close()
        busy.close()


@suite.case
def offer_timeout(t):
    with Daemon(ports=20, args=["--offer-timeout=2", "--timeout=60"]) as d:
        offered = Call(d.ng)
        t.result_ok("offer", offered.offer())
        answered = Call(d.ng).setup()
        t0 = time.monotonic()
        ok = wait_until(lambda: gone(d, offered.cid), 5.0, step=0.2)
        dt = time.monotonic() - t0
        t.ok("unanswered offer ends within ~4 s", ok and dt <= 4.5, "gone by 4.5 s",
             "%s after %.1f s" % ("gone" if ok else "still listed", dt))
        t.ok("answered call (no media, --timeout=60) stays", answered.cid in list_calls(d.ng),
             answered.cid, list_calls(d.ng))
        t.eq("ports in use: only the answered call's", 4, stats_ports(d.ng.cmd("statistics"))[0])
        t.eq("media sockets the daemon holds: only the answered call's", 4, len(daemon_ports(d)))
        answered.delete()
        offered.close()
        answered.close()


@suite.case
def final_timeout(t):
    with Daemon(ports=20, args=["--final-timeout=3", "--timeout=60"]) as d:
        c = Call(d.ng).setup()
        t0 = time.monotonic()
        th = threading.Thread(target=keep_sending, args=(c, 5.5))
        th.start()
        ok = wait_until(lambda: gone(d, c.cid), 6.0, step=0.2)
        dt = time.monotonic() - t0
        th.join()
        t.ok("call with media ends at --final-timeout", ok and 2.0 <= dt <= 5.5, "gone at 3..5 s",
             "%s after %.1f s" % ("gone" if ok else "still listed", dt))
        t.eq("ports in use after the final timeout", 0, stats_ports(d.ng.cmd("statistics"))[0])
        t.eq("media sockets left after the final timeout", set(), daemon_ports(d))
        c.close()


@suite.case
def delete_delay(t):
    with Daemon(ports=20, args=["--delete-delay=2"]) as d:
        c = Call(d.ng).setup()
        t.result_ok("delete", c.delete())
        t0 = time.monotonic()
        gb, ga = c.flow(5)
        t.eq("media still relayed right after a delayed delete", (5, 5), (len(gb), len(ga)))
        ok = wait_until(lambda: stats_ports(d.ng.cmd("statistics"))[0] == 0, 5.0, step=0.2)
        dt = time.monotonic() - t0
        t.ok("ports freed ~2 s after delete", ok and 1.0 <= dt <= 4.5, "at 1..4.5 s",
             "%s after %.1f s" % ("freed" if ok else "not freed", dt))
        t.ok("call gone from list", gone(d, c.cid), "gone", list_calls(d.ng))
        t.eq("media sockets left after the delayed delete", set(), daemon_ports(d))
        # a per-request "delete delay" of 0 overrides the default
        c2 = Call(d.ng).setup()
        t.result_ok("delete with delete-delay 0", c2.delete(**{"delete delay": 0}))
        ok = wait_until(lambda: stats_ports(d.ng.cmd("statistics"))[0] == 0, 0.8, step=0.1)
        t.ok("request's delete delay 0 frees at once", ok, "freed within 0.8 s",
             stats_ports(d.ng.cmd("statistics")))
        c.close()
        c2.close()


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


@suite.case
def no_fd_leak(t):
    """100 calls set up and deleted, failed offers, timed-out calls: the
    daemon's open file count returns to where it started."""
    with Daemon(ports=800, args=["--timeout=1", "--offer-timeout=1"]) as d:
        d.ng.cmd("statistics")
        if d.unix:
            d.unix.cmd("ping")
        time.sleep(0.3)      # let the daemon close the UNIX connection
        base = fd_count(d.pid)
        for i in range(100):
            c = Call(d.ng if i % 2 else (d.unix or d.ng)).setup()
            if i % 10 == 0:
                c.flow(2, pace=0)
            c.delete()
            c.close()
        for i in range(20):
            Call(d.ng).offer(sdp="garbage")
            Call(d.ng).answer()          # answer for no call
        lone = [Call(d.ng) for _ in range(5)]
        for c in lone:
            c.offer()                    # left to the offer timeout
        ok = wait_until(lambda: not list_calls(d.ng), 5.0, step=0.3)
        t.ok("timed-out offers gone", ok, "no calls", list_calls(d.ng))
        time.sleep(0.3)
        now = fd_count(d.pid)
        t.ok("open files after 100 calls, 40 failures, 5 timeouts", now <= base, "<= %d" % base, now)
        t.eq("media sockets left in the range", set(), daemon_ports(d))
        t.eq("ports in use", 0, stats_ports(d.ng.cmd("statistics"))[0])
        for c in lone:
            c.close()


@suite.case
def ports_hard_to_guess(t):
    """Successive offers do not take consecutive ports, and two daemons
    on the same range start at different places."""
    firsts = []
    for run in range(2):
        with Daemon(ports=2000) as d:
            got = []
            for _ in range(8):
                c = Call(d.ng)
                r = c.offer()
                if r.get("sdp"):
                    got.append(Sdp(r["sdp"]).port())
                c.close()
            steps = {b - a for a, b in zip(got, got[1:])}
            t.ok("run %d: offers' ports are not a fixed-step sequence" % run, len(steps) > 1,
                 "varied steps", got)
            firsts.append(got[0] - d.port_min if got else None)
    t.ok("two runs start at different offsets", firsts[0] != firsts[1], "different", firsts)


@suite.case
def sigterm_with_calls(t):
    """SIGTERM with live calls: clean exit, status 0, no sanitizer report."""
    d = Daemon(ports=20).start()
    calls = [Call(d.ng).setup() for _ in range(3)]
    calls[0].flow(5)
    probs = d.stop()
    t.eq("problems at stop", [], probs)
    t.eq("exit status on SIGTERM", 0, d.rc)
    for c in calls:
        c.close()


if __name__ == "__main__":
    suite.run()
