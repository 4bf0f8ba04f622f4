"""RTP Bleed (issue 6 item 4): an attacker on other local addresses
(127.0.0.2 .. 127.0.0.5) sprays every port of rtpgate's range with RTP and
RTCP before the call, between offer and answer, and while the parties talk.
It must receive none of their media; nothing it sends may reach a party or
move a latch (the parties keep getting only each other's packets, from the
right relay ports); the drops are counted. Also: the same spray against an
SRTP leg, and control requests from a source outside --ng-allow.
Run: RTPGATE=build/relay/rtpgate PYTHONPATH=tests/lib python3 tests/daemon/test_bleed.py"""

import os
import tempfile
import random
import resource
import select
import socket
import struct
import threading
import time

from rgtest import (Call, Daemon, Leg, NgUdp, NoReply, Suite, bencode, free_udp_port,
                    pick_port_range, rtcp_sr, rtp_build, rtp_parse)

suite = Suite(case_timeout=120)
ATTACKER_IPS = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"]


def stats(ng):
    return ng.cmd("statistics")["statistics"]


def dropped(ng):
    return {k: int(v) for k, v in stats(ng)["packets"]["dropped"].items()}


class Attacker:
    """Sockets on several addresses that spray a port range and keep
    everything that comes back."""

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi
        self.socks = []
        for ip in ATTACKER_IPS:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((ip, 0))
            s.setblocking(False)
            self.socks.append(s)
        self.ssrc = random.getrandbits(32)
        self.seq = random.getrandbits(16)
        self.sent = 0
        self.got = []
        self.stop_flag = threading.Event()
        self.thread = None

    def spray_once(self):
        """One packet of each kind to every port from every address."""
        for port in range(self.lo, self.hi + 1):
            for s in self.socks:
                self.seq = (self.seq + 1) & 0xffff
                for p in (rtp_build(self.seq, self.seq * 160, self.ssrc, plen=160),
                          rtcp_sr(self.ssrc, self.seq, self.seq * 160)):
                    try:
                        s.sendto(p, ("127.0.0.1", port))
                        self.sent += 1
                    except OSError:
                        pass    # ICMP port unreachable reported on a later send
        self.collect()

    def collect(self):
        while True:
            r, _, _ = select.select(self.socks, [], [], 0)
            if not r:
                return
            for s in r:
                try:
                    self.got.append(s.recvfrom(65536))
                except OSError:
                    pass

    def _run(self, pace):
        while not self.stop_flag.is_set():
            self.spray_once()
            time.sleep(pace)

    def start(self, pace=0.02):
        self.thread = threading.Thread(target=self._run, args=(pace,), daemon=True)
        self.thread.start()

    def stop(self):
        self.stop_flag.set()
        if self.thread:
            self.thread.join(10)
        time.sleep(0.2)
        self.collect()

    def close(self):
        for s in self.socks:
            s.close()


def exchange(t, what, c, n, to_b, to_a):
    """Both parties send n RTP and 3 RTCP; each must get exactly the other's
    packets, from the relay port advertised to it."""
    c.a.drain()
    c.b.drain()
    for i in range(n):
        c.a.send_rtp(1, 0)
        c.b.send_rtp(1, 0)
        time.sleep(0.002)
    c.a.send_rtcp(3)
    c.b.send_rtcp(3)
    gb = c.b.recv_rtp(None, timeout=1.5, quiet=0.4)
    ga = c.a.recv_rtp(None, timeout=1.5, quiet=0.4)
    rb = c.b.recv_rtcp(None, timeout=1.0, quiet=0.3)
    ra = c.a.recv_rtcp(None, timeout=1.0, quiet=0.3)
    for who, got, ssrc, port in (("B", gb, c.a.ssrc, to_b), ("A", ga, c.b.ssrc, to_a)):
        ssrcs = {(rtp_parse(p) or {}).get("ssrc") for p, _ in got}
        t.eq("%s: %s got only its peer's SSRC" % (what, who), {ssrc}, ssrcs)
        t.eq("%s: %s got every packet once" % (what, who), n, len(got))
        t.eq("%s: %s's packets came from the relay port facing it" % (what, who),
             {("127.0.0.1", port)}, {s for _, s in got})
    for who, got, ssrc, port in (("B", rb, c.a.ssrc, to_b + 1), ("A", ra, c.b.ssrc, to_a + 1)):
        t.eq("%s: %s got exactly its peer's 3 RTCP" % (what, who),
             [ssrc] * 3, [struct.unpack("!I", p[4:8])[0] for p, _ in got])
        t.eq("%s: %s's RTCP came from the relay RTCP port" % (what, who),
             {("127.0.0.1", port)}, {s for _, s in got})


@suite.case
def bleed_spray_before_during_after(t):
    with Daemon(ports=24) as d:
        atk = Attacker(d.port_min, d.port_max)
        atk.spray_once()                 # before any call: nothing is bound
        c = Call(d.ng)
        r = c.offer()
        t.need("offer ok", r.get("result") == "ok", "ok", r)
        base = dropped(d.ng)
        for _ in range(3):               # offer done, no answer yet
            atk.spray_once()
        # the parties' own first packets go out only now: a relay that
        # learned from the first source would have latched the attacker
        c.answer()
        to_b, to_a = c.relay_ports()
        atk.start(0.01)
        exchange(t, "during the spray", c, 50, to_b, to_a)
        time.sleep(0.3)
        exchange(t, "still during the spray", c, 50, to_b, to_a)
        atk.stop()
        for _ in range(3):
            atk.spray_once()
        exchange(t, "after the spray", c, 20, to_b, to_a)
        atk.collect()
        t.eq("the attacker received nothing", [], [(len(p), s) for p, s in atk.got][:5])
        dr = dropped(d.ng)
        n = dr["bad source"] - base["bad source"]
        t.ok("spray counted as bad-source drops", n > 0, "> 0", n)
        t.ok("no more drops counted than sprayed", n <= atk.sent, "<= %d" % atk.sent, n)
        q = c.query()
        t.ok("query shows errors on the call", int(q["totals"]["RTP"]["errors"]) > 0, "> 0",
             q["totals"])
        print("  attacker sent %d packets, %d counted as bad source" % (atk.sent, n))
        c.delete()
        c.close()
        atk.close()


@suite.case
def bleed_against_srtp_leg(t):
    """The attacker sprays the ports of an RTP<->SRTP call: the SRTP side
    must neither accept its (unauthenticated) packets nor leak."""
    with Daemon(ports=12) as d:
        atk = Attacker(d.port_min, d.port_max)
        c = Call(d.ng)
        r = c.offer(transport_protocol="RTP/SAVP")
        t.need("offer ok", r.get("result") == "ok", "ok", r)
        crypto = [a for a in r["sdp"].split("\r\n") if a.startswith("a=crypto:1 ")]
        t.need("a=crypto offered", crypto, "a line", r["sdp"])
        key = "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVpBQkNE"
        r = c.answer(sdp=c.b.sdp(extra=[key]).replace(" RTP/AVP ", " RTP/SAVP "))
        t.need("answer ok", r.get("result") == "ok", "ok", r)
        atk.start(0.01)
        c.a.send_rtp(20, 0.002)
        time.sleep(0.5)
        atk.stop()
        got_a = c.a.recv_rtp(timeout=0.5)
        t.eq("A (plain side) got nothing: only the attacker sent towards it", [], got_a)
        t.eq("the attacker received nothing", 0, len(atk.got))
        t.eq("B got A's 20 packets (protected)", 20, len(c.b.recv_rtp(20, timeout=1.0)))
        c.delete()
        c.close()
        atk.close()


@suite.case
def control_from_outside_allow_list(t):
    """UDP ng from 127.0.0.2 with --ng-allow=127.0.0.1/32 is dropped (no
    reply) and counted; 127.0.0.1 still works."""
    with Daemon(ports=4, args=["--ng-allow=127.0.0.1/32"]) as d:
        bad = NgUdp(d.ng_addr, timeout=0.5, bind_addr="127.0.0.2")
        for _ in range(5):
            t.eq("ping from 127.0.0.2: no reply", None,
                 bad.raw(b"c1 " + bencode({"command": "ping"}), timeout=0.3))
        bad.close()
        st = stats(d.ng)
        t.eq("still answers 127.0.0.1", "pong", d.ng.cmd("ping")["result"])
        t.ok("the refused requests are counted as dropped",
             int(st["control"]["dropped"]) >= 5, ">= 5", st["control"])


@suite.case
def control_default_binds_loopback(t):
    """Without --listen-ng the UDP control socket (if any) listens only on
    loopback, and the default allow-list is loopback only."""
    with Daemon(ports=4) as d:
        bad = NgUdp(d.ng_addr, timeout=0.5, bind_addr="127.0.0.3")
        t.eq("127.0.0.3 is loopback: default allow-list 127.0.0.0/8 answers it", "pong",
             bad.cmd("ping").get("result"))
        bad.close()


@suite.case
def control_request_too_big(t):
    with Daemon(ports=4, args=["--max-request=2048"]) as d:
        big = bencode({"command": "ping", "pad": "x" * 4000})
        r = d.ng.raw(b"c2 " + big, timeout=0.5)
        t.ok("an oversized UDP request gets no pong", r is None or b"pong" not in r, "no pong", r)
        if d.unix:
            r = d.unix.raw(big, timeout=1.0)
            t.ok("an oversized UNIX request gets no pong", not r or b"pong" not in r, "no pong", r)
        t.eq("the daemon still answers", "pong", d.ng.cmd("ping")["result"])
        st = stats(d.ng)
        t.ok("counted", int(st["control"]["dropped"]) + int(st["control"]["malformed"]) >= 1,
             ">= 1", st["control"])


def mutate(b, rnd):
    b = bytearray(b)
    for _ in range(rnd.randint(1, 8)):
        op = rnd.randrange(4)
        i = rnd.randrange(len(b) + 1)
        if op == 0 and b:
            b[min(i, len(b) - 1)] = rnd.randrange(256)
        elif op == 1:
            b[i:i] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 6)))
        elif op == 2 and b:
            del b[i:i + rnd.randint(1, 20)]
        else:
            b = b[:i]
    return bytes(b)


@suite.case
def hostile_input_keeps_calls(t):
    """Thousands of mutated ng requests (UDP and UNIX) and malformed RTP/RTCP
    from the parties' own addresses: the daemon stays up and the call keeps
    relaying both ways."""
    import glob
    from rgtest import vectors_dir
    rnd = random.Random(6)
    seeds = [open(f, "rb").read() for f in sorted(glob.glob(os.path.join(vectors_dir(), "*.bin")))]
    t.need("ng vectors found", seeds, "some", vectors_dir())
    with Daemon(ports=20) as d:
        c = Call(d.ng).setup()
        to_b, to_a = c.relay_ports()
        raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sent = 0
        for i in range(3000):
            m = mutate(rnd.choice(seeds), rnd)
            raw.sendto(m or b"x", d.ng_addr)
            sent += 1
            if d.unix and i % 30 == 0:
                d.unix.raw(m, timeout=0.05)
            if i % 100 == 0:
                time.sleep(0.01)
        for i in range(2000):
            pkt = mutate(rtp_build(i, i * 160, c.a.ssrc) if i % 2 else rtcp_sr(c.a.ssrc), rnd)
            (c.a.rtp if i % 2 else c.a.rtcp).sendto(pkt or b"\x80", ("127.0.0.1", to_a + (i % 2 == 0)))
        c.a.drain()
        c.b.drain()
        time.sleep(0.3)
        c.a.drain()
        c.b.drain()
        t.ok("daemon alive", d.alive(), "running", d.tail(5))
        t.eq("ping", "pong", d.ng.cmd("ping")["result"])
        gb, ga = c.flow(20)
        t.eq("the call still relays A->B", 20, len(gb))
        t.eq("the call still relays B->A", 20, len(ga))
        st = stats(d.ng)
        print("  %d mutated ng requests, 2000 mutated RTP/RTCP; control %s" % (sent, st["control"]))
        c.delete()
        c.close()
        raw.close()


@suite.case
def unix_socket_mode_owner_group(t):
    """The UNIX socket is 0660 by default; --unix-owner/--unix-group set who
    owns it (names or numbers); an unknown group stops the start-up."""
    import grp
    import pwd
    import stat
    user = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name
    with Daemon(ports=4, args=["--unix-owner=" + user, "--unix-group=" + group]) as d:
        if not d.unix:
            t.skip("no UNIX socket")
        st = os.stat(d.sock_path)
        t.eq("mode", 0o660, stat.S_IMODE(st.st_mode))
        t.eq("owner and group", (os.getuid(), os.getgid()), (st.st_uid, st.st_gid))
    with Daemon(ports=4, args=["--unix-group=%d" % os.getgid()]) as d:
        t.eq("numeric group", os.getgid(), os.stat(d.sock_path).st_gid)
    d = Daemon(ports=4, args=["--unix-group=no-such-group-rg"], ready=False).start()
    try:
        d.proc.wait(5)
    except Exception:
        pass
    t.ok("an unknown group: the daemon does not start", d.proc.poll() not in (None, 0),
         "non-zero exit", d.proc.poll())
    t.ok("and says why", "no group 'no-such-group-rg'" in d.log_text(), "the reason", d.tail(5))
    d.stopped = True
    d._logf.close()
    # the rtpproxy socket gets the same: its directory made, mode, group
    other = [g for g in grp.getgrall() if g.gr_gid != os.getgid()]
    if os.geteuid() == 0 and other:
        gid = other[0].gr_gid
        path = os.path.join(tempfile.mkdtemp(prefix="rgtest-rtpp-"), "sub", "rtpp.sock")
        with Daemon(ports=4, args=["--listen-rtpp-unix=" + path, "--unix-group=%d" % gid,
                                   "--unix-mode=0640"]) as d:
            st = os.stat(path)
            t.eq("rtpproxy socket: mode", 0o640, stat.S_IMODE(st.st_mode))
            t.eq("rtpproxy socket: group", gid, st.st_gid)


def max_open_files(pid):
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                return int(line.split()[3])
    return None


@suite.case
def nofile_raised_for_the_port_range(t):
    """Soft limit 256, hard limit higher: rtpgate raises its soft limit to
    what a 2000-port range needs."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2400:
        t.skip("hard open-file limit %d is too low for this case" % hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
    try:
        d = Daemon(ports=2000).start()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    try:
        n = max_open_files(d.pid)
        t.ok("soft limit raised to at least range + 256", n is not None and n >= 2256, ">= 2256", n)
        t.ok("no warning about the limit", "open-file limit" not in d.log_text(), "none", d.tail(5))
    finally:
        d.stop()


@suite.case
def nofile_too_low_says_so(t):
    """Soft and hard limit 300 for a 2000-port range: the daemon starts and
    either raises the limit (root with CAP_SYS_RESOURCE may) or says clearly
    that the range cannot be served."""
    import subprocess
    lo, hi = pick_port_range(2000)
    cmd = [os.environ.get("RTPGATE", "build/relay/rtpgate"), "--interface=127.0.0.1",
           "--listen-ng=127.0.0.1:%d" % free_udp_port(), "--listen-unix=",
           "--port-min=%d" % lo, "--port-max=%d" % hi, "--foreground", "--log-level=6"]

    def limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (300, 300))
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, preexec_fn=limit)
    out = b""
    end = time.monotonic() + 5
    os.set_blocking(p.stdout.fileno(), False)
    while time.monotonic() < end and b"ready" not in out:
        time.sleep(0.1)
        out += p.stdout.read() or b""
    alive = p.poll() is None
    n = max_open_files(p.pid) if alive else None
    if alive:
        p.terminate()
        p.wait(5)
    out += p.stdout.read() or b""
    text = out.decode("utf-8", "replace")
    warned = "open-file limit is 300" in text and "port range needs" in text
    t.ok("the limit was raised, or a clear message names the limit and the range",
         warned or (n or 0) >= 2256, "warning or >= 2256", (n, text[-600:]))
    t.ok("it keeps running (calls beyond the limit fail cleanly)", alive, "running", p.returncode)


if __name__ == "__main__":
    suite.run()
