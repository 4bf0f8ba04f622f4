"""Kernel forwarding (--kernel-forward, relay/kfwd.c and kfwd.bpf.c): the
RTP of a plain call relayed by the tc program, checked from outside: the
packets arrive intact, in order, from the port the relay advertised; the
kernel's count is in statistics and query; a stranger still gets nothing
through; RTCP still goes through a worker; a new answer moves the
destination; a delete stops it and counts the kernel's last packets, in its totals
and its loss; the kernel's packets count in the call's loss and jitter; kernel-relayed media keeps a call from
timing out; a transcoded call stays with the workers; a party on another host (a
network namespace behind a veth) is reached through the route lookup and
redirect; bad settings and
missing privileges give clear errors; a killed daemon leaves no program
behind.
Run: RTPGATE=build/relay/rtpgate PYTHONPATH=tests/lib python3 tests/daemon/test_kfwd.py"""

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import time

import rgtest
from rgtest import (Call, Daemon, Leg, Sdp, Suite, free_udp_port, is_rtcp, list_calls,
                    pick_port_range, query_totals, rtp_build, rtp_parse, run_daemon, binary)

suite = Suite()
_d = []


def D():
    if not _d:
        _d.append(Daemon(ports=200, args=["--kernel-forward=on"]).start())
    return _d[0]


def kstats(d):
    """(relayed by the kernel, streams offloaded now, bad-source drops)."""
    p = d.ng.cmd("statistics")["statistics"]["packets"]
    return p["kernel"]["relayed"], p["kernel"]["streams"], p["dropped"]["bad source"]


def settle():
    """The workers read the kernel's counters once a second."""
    time.sleep(1.3)


def check_arrivals(t, what, got, sent, relay_port, addr="127.0.0.1"):
    t.eq(what + ": packets", len(sent), len(got))
    t.eq(what + ": source is the port the relay advertised", {(addr, relay_port)},
         {s[:2] for _, s in got})
    t.ok(what + ": payloads intact and in order", [p for p, _ in got] == sent, "identical bytes",
         "differ")


def both_ways(t, c, n, what="", addr="127.0.0.1"):
    """n RTP packets A->B, then n B->A, each checked on arrival."""
    to_b, to_a = c.relay_ports()
    sent_ab = send_collect(c.a, n)
    got_b = c.b.recv_rtp(n)
    sent_ba = send_collect(c.b, n)
    got_a = c.a.recv_rtp(n)
    check_arrivals(t, what + "A->B", got_b, sent_ab, to_b, addr)
    check_arrivals(t, what + "B->A", got_a, sent_ba, to_a, addr)


def send_collect(leg, n, pace=0.004):
    """Sends n RTP packets and returns them as sent."""
    out = []
    dst = (leg.peer[0], leg.peer[1])
    for i in range(n):
        leg.seq = (leg.seq + 1) & 0xffff
        leg.ts = (leg.ts + 160) & 0xffffffff
        p = rtp_build(leg.seq, leg.ts, leg.ssrc, plen=160)
        leg.rtp.sendto(p, dst)
        out.append(p)
        time.sleep(pace)
    return out


def flowing_call(t, d):
    """A call set up on d whose A->B RTP flows (5 packets)."""
    c = Call(d.ng).setup()
    send_collect(c.a, 5)
    t.eq("A->B flows", 5, len(c.b.recv_rtp(5)))
    return c


@suite.case
def kernel_relays_rtp(t):
    d = D()
    k0, s0, _ = kstats(d)
    c = Call(d.ng).setup()
    n = 60
    both_ways(t, c, n)
    settle()
    k1, s1, _ = kstats(d)
    # each direction's first packet latches its sender through a worker;
    # from the second on the kernel relays
    t.eq("relayed by the kernel", 2 * (n - 1), k1 - k0)
    t.eq("directions offloaded", 2, s1 - s0)
    tot = query_totals(c.query())
    t.eq("query counts every packet, the kernel's too", 2 * n, tot["RTP"]["packets"])
    t.eq("query bytes", 2 * n * 172, tot["RTP"]["bytes"])
    r = c.delete()
    t.eq("delete totals", 2 * n, query_totals(r)["RTP"]["packets"])
    settle()
    t.eq("nothing offloaded after delete", s0, kstats(d)[1])
    # the deleted call's ports relay nothing any more, kernel or not
    c.a.rtp.sendto(rtp_build(1, 1, c.a.ssrc), (c.a.peer[0], c.a.peer[1]))
    t.eq("after delete nothing reaches B", 0, len(c.b.recv_rtp(timeout=0.5)))
    c.close()


def quality_of(reply, tag):
    return ((reply.get("tags") or {}).get(tag) or {}).get("quality") or {}


def send_seq(leg, seqs, ts_step=160, pace=0.004, ssrc=None):
    """Sends one RTP packet per sequence number in seqs (timestamps follow
    the sequence, ts_step apart), pace seconds apart."""
    dst = (leg.peer[0], leg.peer[1])
    for q in seqs:
        leg.rtp.sendto(rtp_build(q & 0xffff, (q * ts_step) & 0xffffffff, ssrc or leg.ssrc, plen=160),
                       dst)
        time.sleep(pace)


@suite.case
def delete_counts_the_last_kernel_packets(t):
    """A delete right after the media, before a worker has read the kernel's
    counters again: its totals still count every packet, and its quality
    every gap (the entries the delete takes out of the kernel carry the
    rest)."""
    d = D()
    for rnd in range(3):
        k0 = kstats(d)[0]
        c = Call(d.ng).setup()
        n = 40
        both_ways(t, c, n, "round %d: " % rnd)
        # and A's sequence goes on with gaps: every 5th missing
        seq0 = c.a.seq + 1
        send_seq(c.a, [seq0 + i for i in range(25) if i % 5 != 2])
        t.eq("round %d: the ones with gaps arrive" % rnd, 20, len(c.b.recv_rtp(20)))
        r = c.delete()
        tot = query_totals(r)["RTP"]
        t.eq("round %d: delete packets" % rnd, 2 * n + 20, tot["packets"])
        t.eq("round %d: delete bytes" % rnd, (2 * n + 20) * 172, tot["bytes"])
        t.eq("round %d: the delete's quality has the gaps" % rnd, 5,
             quality_of(r, c.a_tag).get("packets lost"))
        c.close()
        # the worker counts the taken entries when it ends the session
        time.sleep(0.3)
        t.eq("round %d: statistics count the kernel's packets" % rnd, 2 * (n - 1) + 20,
             kstats(d)[0] - k0)


@suite.case
def kernel_counts_loss_and_jitter(t):
    """The kernel's packets count in the call's quality: sequence gaps are
    loss, uneven arrival is jitter; a new SSRC, and a jump in the sequence,
    go through a worker once and then to the kernel again, without bogus
    loss."""
    d = D()
    c = Call(d.ng).setup()
    k0 = kstats(d)[0]
    # 60 sequence numbers from 1000, every 10th missing: 6 lost
    seqs = [1000 + i for i in range(60) if i % 10 != 5]
    send_seq(c.a, seqs, pace=0.020)
    got = c.b.recv_rtp(len(seqs))
    t.eq("all sent arrive", len(seqs), len(got))
    settle()
    t.ok("the kernel relayed them", kstats(d)[0] - k0 >= len(seqs) - 1, ">= %d" % (len(seqs) - 1),
         kstats(d)[0] - k0)
    qa = quality_of(c.query(), c.a_tag)
    t.eq("gaps are lost packets", 6, qa.get("packets lost"))
    t.ok("loss permille about 100", 90 <= qa.get("loss permille", 0) <= 110, "~100", qa)
    t.ok("paced as stamped: little jitter", qa.get("jitter us", 99999) < 4000, "< 4 ms", qa)
    # packets 10 ms apart whose timestamps say 20 ms: |D| = 10 ms each time
    k1 = kstats(d)[0]
    send_seq(c.a, range(1060, 1120), pace=0.010)
    c.b.recv_rtp(60)
    settle()
    qa = quality_of(c.query(), c.a_tag)
    t.ok("through the kernel again", kstats(d)[0] - k1 >= 59, ">= 59", kstats(d)[0] - k1)
    t.eq("no new loss", 6, qa.get("packets lost"))
    t.ok("jitter near 10 ms", 6000 <= qa.get("jitter us", 0) <= 14000, "6..14 ms", qa)
    print("  quality of leg a after the uneven part: %r" % qa)
    # a new SSRC: its first packet goes through a worker, the rest through
    # the kernel; no loss counted across the change
    k2 = kstats(d)[0]
    send_seq(c.a, range(5000, 5040), ssrc=0x5eed1234)
    c.b.recv_rtp(40)
    # and a jump in that SSRC's sequence (a restart): two through a worker
    # (a second new view within a second waits for the workers' next look)
    time.sleep(1.1)
    send_seq(c.a, range(30000, 30040), ssrc=0x5eed1234)
    c.b.recv_rtp(40)
    settle()
    qa = quality_of(c.query(), c.a_tag)
    t.ok("the kernel relays the new SSRC and the jump", kstats(d)[0] - k2 >= 76, ">= 76",
         kstats(d)[0] - k2)
    t.eq("no loss from the SSRC change or the jump", 6, qa.get("packets lost"))
    # two new views within a second: the second goes to the kernel from
    # the workers' next look on, without loss either
    k3 = kstats(d)[0]
    send_seq(c.a, range(7000, 7010), ssrc=0x5eed5678)
    send_seq(c.a, range(7010, 7030), ssrc=0x5eed9abc)
    c.b.recv_rtp(30)
    settle()
    send_seq(c.a, range(7030, 7050), ssrc=0x5eed9abc)
    c.b.recv_rtp(20)
    settle()
    t.ok("back to the kernel after the workers' look", kstats(d)[0] - k3 >= 29, ">= 29",
         kstats(d)[0] - k3)
    t.eq("no loss from changes in quick succession", 6,
         quality_of(c.query(), c.a_tag).get("packets lost"))
    # more gaps, then a delete at once: the kernel's part since the
    # workers' last look counts too
    send_seq(c.a, [7050 + i for i in range(20) if i % 4 != 1], ssrc=0x5eed9abc)
    c.b.recv_rtp(15)
    r = c.delete()
    t.eq("the delete's quality has the last gaps", 11, quality_of(r, c.a_tag).get("packets lost"))
    c.close()


@suite.case
def ipv6_through_the_kernel(t):
    """--interface=::1: the kernel relays IPv6 RTP both ways, intact, from
    the advertised ports (the UDP checksum, which IPv6 requires, still
    right: the receiving socket drops a packet whose sum is wrong); gaps
    are lost packets; a stranger still gets nothing through."""
    if not rgtest.ipv6_loopback_usable():
        t.skip("::1 not usable here")
    with Daemon(ports=20, interface="::1", args=["--kernel-forward=on"]) as d:
        c = Call(d.ng, a=Leg("::1"), b=Leg("::1"))
        c.setup(received_from=["IP6", "::1"])
        k0 = kstats(d)[0]
        n = 40
        both_ways(t, c, n, "IPv6 ", addr="::1")
        settle()
        t.eq("relayed by the kernel", 2 * (n - 1), kstats(d)[0] - k0)
        # gaps, through the kernel
        k1 = kstats(d)[0]
        seq0 = c.a.seq + 1
        send_seq(c.a, [seq0 + i for i in range(30) if i % 10 != 4], pace=0.020)
        t.eq("with gaps: all sent arrive", 27, len(c.b.recv_rtp(27)))
        x = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        x.bind(("::1", 0))
        for i in range(10):
            x.sendto(rtp_build(i, i * 160, 0x5555), (c.a.peer[0], c.a.peer[1]))
        t.eq("a stranger's packets reach nobody", 0, len(c.b.recv_rtp(timeout=0.5)))
        x.close()
        settle()
        t.eq("the gaps' packets by the kernel", 27, kstats(d)[0] - k1)
        t.eq("gaps are lost packets", 3, quality_of(c.query(), c.a_tag).get("packets lost"))
        r = c.delete()
        t.eq("delete totals", 2 * n + 27, query_totals(r)["RTP"]["packets"])
        c.close()


@suite.case
def stranger_still_dropped(t):
    d = D()
    c = flowing_call(t, d)
    _, _, bad0 = kstats(d)
    x = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    x.bind(("127.0.0.1", 0))
    for i in range(20):
        x.sendto(rtp_build(i, i * 160, 0x5555), (c.a.peer[0], c.a.peer[1]))
    t.eq("a stranger's packets reach nobody", 0, len(c.b.recv_rtp(timeout=0.5)))
    t.eq("and are counted as bad source", 20, kstats(d)[2] - bad0)
    # the party's own packets still flow, through the kernel (counted
    # from after the workers' next look, which takes in flowing_call's)
    settle()
    k0 = kstats(d)[0]
    send_collect(c.a, 10)
    t.eq("A->B still flows", 10, len(c.b.recv_rtp(10)))
    settle()
    t.eq("through the kernel", 10, kstats(d)[0] - k0)
    x.close()
    c.delete()
    c.close()


@suite.case
def rtcp_through_worker(t):
    d = D()
    c = Call(d.ng).setup()
    send_collect(c.a, 5)
    send_collect(c.b, 5)
    c.a.recv_rtp(5)
    c.b.recv_rtp(5)
    rb = Sdp(c.offer_reply["sdp"]).rtcp_port()
    c.a.send_rtcp(4, pace=0.005)
    got = c.b.recv_rtcp(4)
    t.eq("RTCP A->B", 4, len(got))
    t.ok("as RTCP, from the relay's RTCP port", all(is_rtcp(p) and s == ("127.0.0.1", rb) for p, s in got),
         "RTCP from %d" % rb, [s for _, s in got])
    tot = query_totals(c.query())
    t.eq("RTCP counted", 4, tot["RTCP"]["packets"])
    c.delete()
    c.close()


@suite.case
def new_answer_moves_destination(t):
    """A new answer (B moves to another port) reaches the packets before
    they do: from the reply on, none goes to the old port (README
    "Ordering"), although the kernel relayed the call until then. Several
    rounds, each right after the kernel took over again."""
    c = flowing_call(t, D())
    for rnd in range(8):
        send_collect(c.a, 3)
        c.b.recv_rtp(3)
        old_b = c.b
        c.b = Leg()
        c.b.ssrc = old_b.ssrc
        t.eq("re-answer %d" % rnd, "ok", c.answer().get("result"))
        sent = send_collect(c.a, 5, pace=0.001)
        got = c.b.recv_rtp(5)
        t.eq("round %d: every packet after the reply reaches B's new port" % rnd, 5, len(got))
        t.ok("round %d: intact" % rnd, [p for p, _ in got] == sent, "identical", "differ")
        t.eq("round %d: none the old one" % rnd, 0, len(old_b.recv_rtp(timeout=0.2)))
        old_b.close()
    c.delete()
    c.close()


@suite.case
def kernel_media_keeps_call_alive(t):
    with Daemon(ports=20, args=["--kernel-forward=on", "--timeout=2"]) as d:
        c = Call(d.ng).setup()
        k0 = kstats(d)[0]
        end = time.monotonic() + 4.5
        while time.monotonic() < end:
            send_collect(c.a, 10, pace=0.02)
            send_collect(c.b, 10, pace=0.02)
        settle()
        t.ok("media went through the kernel", kstats(d)[0] - k0 > 150, "> 150 packets", kstats(d)[0] - k0)
        t.ok("the call outlived --timeout=2 while media flowed", c.cid in list_calls(d.ng), "listed",
             list_calls(d.ng))
        time.sleep(4)
        t.ok("and timed out once it stopped", c.cid not in list_calls(d.ng), "gone", list_calls(d.ng))
        c.close()


@suite.case
def transcoded_call_stays_in_worker(t):
    d = D()
    c = Call(d.ng)
    r = c.offer(sdp=c.a.sdp(codecs=((0, "PCMU/8000"),)), codec={"mask": ["PCMU"], "transcode": ["PCMA"]})
    t.eq("offer", "ok", r.get("result"))
    t.eq("answer PCMA", "ok", c.answer(sdp=c.b.sdp(codecs=((8, "PCMA/8000"),))).get("result"))
    s0 = kstats(d)[1]
    send_collect(c.a, 20)
    got = c.b.recv_rtp(20)
    t.ok("B gets PCMA", got and all(rtp_parse(p)["pt"] == 8 for p, _ in got), "pt 8",
         [rtp_parse(p)["pt"] for p, _ in got[:3]])
    t.eq("no direction of it offloaded", s0, kstats(d)[1])
    c.delete()
    c.close()



def sh(*args):
    return subprocess.run(list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20)


class Netns:
    """Two network namespaces of this test's own: "relay" (the daemon, at
    10.77.0.1 and fd77::1 on a veth) and "peers" (the parties, 10.77.0.2
    and .3, fd77::2 and ::3, on the veth's other end), so the parties are another host to the relay and
    its packets to them are routed: route lookup, neighbour MAC, redirect
    out of the veth. The test process moves itself between them (setns) to
    make its sockets and start the daemon, and comes back after."""

    def __init__(self):
        tag = "rgkf%d" % os.getpid()
        self.relay, self.peers = tag + "r", tag + "p"
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.home = os.open("/proc/self/ns/net", os.O_RDONLY)

    def up(self):
        steps = [("ip", "netns", "add", self.relay), ("ip", "netns", "add", self.peers),
                 ("ip", "link", "add", "rgkfv0", "netns", self.relay, "type", "veth", "peer",
                  "name", "rgkfv1", "netns", self.peers),
                 ("ip", "-n", self.relay, "addr", "add", "10.77.0.1/24", "dev", "rgkfv0"),
                 ("ip", "-n", self.peers, "addr", "add", "10.77.0.2/24", "dev", "rgkfv1"),
                 ("ip", "-n", self.peers, "addr", "add", "10.77.0.3/24", "dev", "rgkfv1"),
                 ("ip", "-n", self.relay, "addr", "add", "fd77::1/64", "dev", "rgkfv0", "nodad"),
                 ("ip", "-n", self.peers, "addr", "add", "fd77::2/64", "dev", "rgkfv1", "nodad"),
                 ("ip", "-n", self.peers, "addr", "add", "fd77::3/64", "dev", "rgkfv1", "nodad"),
                 ("ip", "-n", self.relay, "link", "set", "lo", "up"),
                 ("ip", "-n", self.relay, "link", "set", "rgkfv0", "up"),
                 ("ip", "-n", self.peers, "link", "set", "lo", "up"),
                 ("ip", "-n", self.peers, "link", "set", "rgkfv1", "up")]
        for st in steps:
            p = sh(*st)
            if p.returncode != 0:
                return "%s: %s" % (" ".join(st), p.stdout.decode().strip())
        return None

    def forwarding(self, on):
        sh("ip", "netns", "exec", self.relay, "sysctl", "-qw", "net.ipv4.ip_forward=%d" % on,
           "net.ipv6.conf.all.forwarding=%d" % on)

    def enter(self, name):
        fd = os.open("/var/run/netns/" + name, os.O_RDONLY) if name else self.home
        try:
            if self.libc.setns(fd, 0x40000000) != 0:   # CLONE_NEWNET
                raise OSError(ctypes.get_errno(), "setns " + (name or "home"))
        finally:
            if name:
                os.close(fd)

    def down(self):
        self.enter(None)
        for n in (self.relay, self.peers):
            sh("ip", "netns", "del", n)


@suite.case
def routed_party_through_veth(t):
    if os.geteuid() != 0 or not shutil.which("ip"):
        t.skip("needs root and ip (iproute2) for network namespaces")
    ns = Netns()
    why = ns.up()
    if why:
        ns.down()
        t.skip("cannot make network namespaces here: " + why)
    try:
        runs = [(fam, addrs, fwd)
                for fam, addrs in (("IP4", ("10.77.0.1", "10.77.0.2", "10.77.0.3")),
                                   ("IP6", ("fd77::1", "fd77::2", "fd77::3")))
                for fwd in (1, 0)]
        for fam, (relay, pa, pb), fwd in runs:
            ns.forwarding(fwd)
            ns.enter(ns.relay)
            d = Daemon(ports=20, interface=relay, args=["--kernel-forward=on"]).start()
            ns.enter(ns.peers)
            a, b = Leg(pa), Leg(pb)
            ns.enter(ns.relay)
            try:
                c = Call(d.ng, a=a, b=b)
                c.offer(received_from=[fam, pa])
                c.answer(received_from=[fam, pb])
                n = 40
                what = "%s, forwarding=%d" % (fam, fwd)
                both_ways(t, c, n, what + " ", relay)
                settle()
                k = kstats(d)[0]
                if fwd:
                    # the first packets of each direction wait for the
                    # neighbour's MAC in the worker; the rest are routed by
                    # the kernel
                    t.ok("%s: the kernel routed nearly all" % what, k >= 2 * (n - 5), ">= %d" % (2 * (n - 5)), k)
                else:
                    t.eq("%s: the kernel's route lookup refuses, the workers relay all" % what, 0, k)
                c.delete()
            finally:
                a.close()
                b.close()
                d.stop()
    finally:
        ns.down()
        os.close(ns.home)


@suite.case
def bad_settings(t):
    for args, name in ((["--kernel-forward=sometimes"], "--kernel-forward"),
                       (["--kernel-forward=on", "--interface=0.0.0.0"], "specific"),
                       (["--kernel-forward=on", "--interface=::"], "specific")):
        lo, hi = pick_port_range(4)
        rc, out = run_daemon(["--foreground", "--listen-ng=", "--listen-unix=", "--port-min=%d" % lo,
                              "--port-max=%d" % hi] + args, timeout=5)
        t.ok("%s: exit status" % args, rc != 0, "non-zero", rc)
        t.ok("%s: message names %s" % (args, name), name in out, name, out.strip()[-300:])


def as_nobody():
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or not setpriv:
        return None
    return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
            "--bounding-set=-all"]


@suite.case
def unprivileged(t):
    pre = as_nobody()
    if not pre:
        t.skip("needs root (to drop to nobody) and setpriv")
    exe = os.path.realpath(binary())
    lo, hi = pick_port_range(4)
    base = ["--foreground", "--listen-unix=", "--port-min=%d" % lo, "--port-max=%d" % hi,
            "--log-level=6", "--interface=127.0.0.1"]
    p = subprocess.run(pre + [exe, "--listen-ng=", "--kernel-forward=on"] + base,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
    out = p.stdout.decode()
    t.ok("on, without privileges: refuses to start", p.returncode != 0, "non-zero", p.returncode)
    t.ok("and says what it needs", "CAP_BPF" in out, "CAP_BPF", out.strip()[-300:])
    q = subprocess.Popen(pre + [exe, "--listen-ng=127.0.0.1:%d" % free_udp_port(),
                                "--kernel-forward=auto"] + base,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        time.sleep(1.0)
        t.ok("auto, without privileges: runs", q.poll() is None, "running", q.poll())
    finally:
        q.send_signal(signal.SIGTERM)
        out = q.communicate(timeout=10)[0].decode()
    t.ok("and says it relays in the workers", "kernel forwarding unavailable" in out,
         "a warning", out.strip()[-300:])


SYS_BPF = 321          # x86-64
BPF_PROG_GET_FD_BY_ID = 13


def prog_exists(prog_id):
    libc = ctypes.CDLL(None, use_errno=True)
    attr = (ctypes.c_uint8 * 128)()
    ctypes.memmove(attr, ctypes.byref(ctypes.c_uint32(prog_id)), 4)
    fd = libc.syscall(SYS_BPF, BPF_PROG_GET_FD_BY_ID, ctypes.byref(attr), 128)
    if fd >= 0:
        os.close(fd)
        return True
    return False


def link_prog_ids(pid):
    ids = set()
    for fd in os.listdir("/proc/%d/fdinfo" % pid):
        try:
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                txt = f.read()
        except OSError:
            continue
        if "link_type:" in txt:
            for line in txt.splitlines():
                if line.startswith("prog_id:"):
                    ids.add(int(line.split()[1]))
    return ids


@suite.case
def killed_daemon_leaves_nothing(t):
    if os.uname().machine != "x86_64":
        t.skip("the bpf() system call number here is x86-64's")
    d = Daemon(ports=20, args=["--kernel-forward=on"]).start()
    ids = link_prog_ids(d.proc.pid)
    t.ok("the daemon holds a link to its program", len(ids) == 1, "one", ids)
    t.ok("the program is loaded", all(prog_exists(i) for i in ids), "loaded", ids)
    c = Call(d.ng).setup()
    send_collect(c.a, 5)
    c.b.recv_rtp(5)
    os.kill(d.proc.pid, signal.SIGKILL)
    d.proc.wait(timeout=10)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(prog_exists(i) for i in ids):
        time.sleep(0.1)
    t.ok("after SIGKILL the kernel dropped the program", not any(prog_exists(i) for i in ids),
         "gone", ids)
    d.stopped = True   # killed on purpose: nothing for stop() to report
    if d in rgtest._live:
        rgtest._live.remove(d)
    c.close()


if __name__ == "__main__":
    suite.run()
