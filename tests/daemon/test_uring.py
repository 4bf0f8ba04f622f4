"""The worker loop's packet batching (relay/uring.c): a burst larger than a
worker's receive buffer ring goes through a single stream and relaying goes
on after it; --media-coalesce-us holds a busy worker's passes back without
losing or reordering anything; option bounds. The sockets of a call
sit in its worker's io_uring file table only while the call is up. Runs in
either --media-io mode (RG_DAEMON_ARGS), the burst case means most with
io_uring.
Run: RTPGATE=build/relay/rtpgate PYTHONPATH=tests/lib python3 tests/daemon/test_uring.py"""

import os
import re
import socket
import time

from rgtest import Call, Daemon, Suite, pid_udp_sockets, rtp_parse, run_daemon

suite = Suite()

RING_BUFS = 1024   # relay/uring.c: buffers a worker receives into


def stats_packets(d):
    return d.ng.cmd("statistics")["statistics"]["packets"]


def big_rcvbuf(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)


def check_relays(t, what, src, dst, n, gap=0.002):
    """n packets sent from src (a leg of a Call) all reach dst."""
    src.send_rtp(n, gap)
    t.eq(what, n, len(dst.recv_rtp(n)))


def check_in_order(t, got, step_ok, expect):
    """step_ok(seq difference mod 2^16) holds between each two packets of got."""
    seqs = [rtp_parse(p)["seq"] for p, _ in got]
    t.ok("in order", all(step_ok((y - x) & 0xffff) for x, y in zip(seqs, seqs[1:])), expect, seqs[:5])


def hang_up(c):
    c.delete()
    c.close()


@suite.case
def burst_beyond_buffer_ring(t):
    """3 x RING_BUFS packets sent back to back to one relay port: more than
    the worker can hold at once, so with io_uring the multishot receive
    runs out of buffers and is re-armed. What the relay took in it sends on
    (counted), what the kernel could not queue is the kernel's loss, and the
    stream keeps relaying afterwards. On a loaded machine the kernel may
    drop so much of a burst that less than a ring's worth reaches the
    worker, which then never runs dry: up to three bursts are sent until
    one gets more than a ring's worth through, and every burst is checked."""
    with Daemon(ports=20, args=["--num-threads=1"]) as d:
        c = Call(d.ng).setup()
        big_rcvbuf(c.b.rtp)
        n = 3 * RING_BUFS
        check_relays(t, "before the burst", c.a, c.b, 5)   # latch first
        most = 0
        for burst in range(3):
            before = stats_packets(d)["relayed"]
            c.a.send_rtp(n, 0)
            got = c.b.recv_rtp(n, timeout=3.0, quiet=0.5)
            after = stats_packets(d)
            relayed = after["relayed"] - before
            t.eq("burst %d: every packet the relay counted as relayed arrived" % burst, relayed,
                 len(got))
            t.eq("burst %d: no send errors" % burst, 0, after["dropped"]["send error"])
            check_in_order(t, got, lambda step: 0 < step < 0x8000, "increasing")
            most = max(most, len(got))
            if most > RING_BUFS:
                break
        t.ok("more than one buffer ring's worth went through", most > RING_BUFS,
             "> %d" % RING_BUFS, most)
        check_relays(t, "the stream relays after the burst", c.a, c.b, 10)
        check_relays(t, "and the other direction too", c.b, c.a, 10)
        hang_up(c)


@suite.case
def bursts_on_many_streams(t):
    """Eight calls burst at once (2,000 packets each way in all): a pass
    that holds many streams' packets and runs the buffer ring dry for
    several of them at a time."""
    with Daemon(ports=80, args=["--num-threads=2"]) as d:
        calls = [Call(d.ng).setup() for _ in range(8)]
        for c in calls:
            big_rcvbuf(c.a.rtp)
            big_rcvbuf(c.b.rtp)
            c.a.send_rtp(2, 0)
            c.b.send_rtp(2, 0)
        for c in calls:
            c.b.recv_rtp(2)
            c.a.recv_rtp(2)
        before = stats_packets(d)["relayed"]
        for c in calls:
            c.a.send_rtp(125, 0)
            c.b.send_rtp(125, 0)
        got = 0
        for i, c in enumerate(calls):
            gb, ga = c.b.recv_rtp(125, timeout=2.0, quiet=0.3), c.a.recv_rtp(125, timeout=2.0, quiet=0.3)
            got += len(gb) + len(ga)
            t.ok("call %d: only its own peer's packets" % i,
                 {rtp_parse(p)["ssrc"] for p, _ in gb} <= {c.a.ssrc} and
                 {rtp_parse(p)["ssrc"] for p, _ in ga} <= {c.b.ssrc}, "own peer", "crosstalk")
        t.eq("arrived = relayed", stats_packets(d)["relayed"] - before, got)
        t.ok("most arrived", got >= 1800, ">= 1800 of 2000", got)
        for c in calls:
            check_relays(t, "relays afterwards", c.a, c.b, 3)
            hang_up(c)


def ring_files(pid):
    """(io_uring instances of the process, inodes of the sockets in their
    file tables), from /proc's fdinfo, which lists each table's files."""
    rings, inodes = 0, set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)) != "anon_inode:[io_uring]":
                continue
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                info = f.read()
        except OSError:
            continue
        rings += 1
        inodes |= {int(i) for i in re.findall(r"^\s*\d+: socket:\[(\d+)\]$", info, re.M)}
    return rings, inodes


def port_inodes(pid, ports):
    """Inodes of the process's UDP sockets bound to these ports."""
    return {int(inode) for port, inode in pid_udp_sockets(pid).items() if port in ports}


@suite.case
def sockets_in_the_file_table(t):
    """With io_uring a call's four sockets are registered in its worker's
    file table while the call is up (its sends and receives name them
    there: no fd lookup per packet), and taken out when it ends: a socket
    left there would stay open, its port bound, after the relay let go of
    its fd."""
    with Daemon(ports=20, args=["--num-threads=1"]) as d:
        if not ring_files(d.pid)[0]:
            t.skip("no io_uring here (--media-io=epoll, or the kernel has none)")
        c = Call(d.ng).setup()
        check_relays(t, "relays a->b", c.a, c.b, 3)
        check_relays(t, "relays b->a", c.b, c.a, 3)
        mine = port_inodes(d.pid, [c.a.peer[1], c.a.peer[2], c.b.peer[1], c.b.peer[2]])
        t.eq("the call's sockets", 4, len(mine))
        t.eq("all in the table while the call is up", mine, ring_files(d.pid)[1] & mine)
        hang_up(c)
        end = time.monotonic() + 3
        while ring_files(d.pid)[1] and time.monotonic() < end:
            time.sleep(0.05)
        t.eq("none left after the delete", set(), ring_files(d.pid)[1])
        c = Call(d.ng).setup()
        check_relays(t, "a new call relays", c.a, c.b, 3)
        hang_up(c)


@suite.case
def coalesce_keeps_everything(t):
    """--media-coalesce-us=3000: a busy worker waits up to 3 ms for more
    packets. Nothing is lost or reordered, and no packet is held much
    longer than that (an idle worker still takes the first one at once)."""
    with Daemon(ports=20, args=["--num-threads=1", "--media-coalesce-us=3000"]) as d:
        c = Call(d.ng).setup()
        n = 60
        lat = []
        c.b.rtp.settimeout(1.0)
        for i in range(n):
            t0 = time.monotonic()
            c.a.send_rtp(1, 0)
            try:
                c.b.rtp.recvfrom(2048)
                lat.append(time.monotonic() - t0)
            except socket.timeout:
                pass
            if i % 3 == 2:
                time.sleep(0.004)   # idle gaps longer than the wait
        t.eq("one at a time: all arrive", n, len(lat))
        lat.sort()
        t.ok("median added latency under 3 ms + slack", lat[len(lat) // 2] < 0.003 + 0.020,
             "< 23 ms", "%.1f ms" % (lat[len(lat) // 2] * 1000))
        c.a.send_rtp(200, 0.0005)
        got = c.b.recv_rtp(200)
        t.eq("a paced stream: all arrive", 200, len(got))
        check_in_order(t, got, lambda step: step == 1, "consecutive")
        check_relays(t, "the other way, a burst", c.b, c.a, 50, gap=0)
        hang_up(c)


@suite.case
def coalesce_bounds(t):
    rc, out = run_daemon(["--media-coalesce-us=5001", "--port-min=30000", "--port-max=30010"])
    t.eq("--media-coalesce-us above 5000 is refused", 2, rc)
    t.ok("the message names the option", "media-coalesce-us" in out, "media-coalesce-us", out[:200])
    rc, out = run_daemon(["--help"])
    t.ok("--help lists it", "--media-coalesce-us" in out or "media-coalesce-us" in out, "listed", "missing")


@suite.case
def coalesce_with_epoll_is_ignored(t):
    """With --media-io=epoll the option cannot apply: rtpgate says so at
    start-up and relays as usual."""
    with Daemon(ports=20, args=["--media-io=epoll", "--media-coalesce-us=500"]) as d:
        c = Call(d.ng).setup()
        check_relays(t, "relays", c.a, c.b, 10)
        hang_up(c)
        log = open(os.path.join(d.dir, "stderr.log")).read()
        t.ok("start-up warning", "media-coalesce-us" in log and "ignored" in log, "warning", log[-300:])


if __name__ == "__main__":
    suite.run()
