"""Operations (issue 5): rtpgate-ctl, drain (ng command and SIGQUIT),
Prometheus metrics against docs/metrics.md, the rtpproxy protocol over UNIX
and UDP (including hostile input), per-call quality in query/delete,
--dump-config against tools/rtpgate.conf.example, --log-facility.
Run: RTPGATE=build/relay/rtpgate PYTHONPATH=tests/lib python3 tests/daemon/test_ops.py"""

import json
import os
import random
import re
import signal
import socket
import struct
import subprocess
import time
import urllib.request

import rgtest
from rgtest import (Call, Daemon, Leg, Suite, list_calls, run_daemon, stats_sessions,
                    wait_until)

suite = Suite(case_timeout=60)
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))


def ctl_path():
    p = os.environ.get("RTPGATE_CTL")
    if p:
        return p
    return os.path.normpath(os.path.join(os.path.dirname(rgtest.binary()), "..", "tools", "rtpgate-ctl"))


def ctl(d, *args, sock=None):
    """Runs rtpgate-ctl against d: (exit status, stdout, stderr)."""
    p = subprocess.run([ctl_path(), "-s", sock or d.sock_path] + list(args),
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def free_tcp_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def scrape(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
        return r.read().decode()


def metric(text, name, labels=None):
    """Value of one series (labels: dict that must match a subset), or None."""
    total = None
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$', line)
        if not m or m.group(1) != name:
            continue
        lab = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        if labels and any(lab.get(k) != v for k, v in labels.items()):
            continue
        total = (total or 0) + float(m.group(3))
    return total


def documented_metrics():
    with open(os.path.join(ROOT, "docs", "metrics.md")) as f:
        return re.findall(r"^\| `(rtpgate_[a-z0-9_]+)` \|", f.read(), re.M)


def exited(d, timeout):
    try:
        d.proc.wait(timeout)
        return True
    except subprocess.TimeoutExpired:
        return False


def forget(d):
    """d exited on its own (drain): keep rgtest from calling it a crash."""
    d.stopped = True
    if d in rgtest._live:
        rgtest._live.remove(d)
    d._logf.close()


# ---------------------------------------------------------------- rtpgate-ctl


@suite.case
def ctl_commands(t):
    t.need("rtpgate-ctl is built", os.access(ctl_path(), os.X_OK), ctl_path(), "missing")
    with Daemon(ports=8) as d:
        rc, out, err = ctl(d, "ping")
        t.eq("ping status", 0, rc)
        t.eq("ping output", "pong", out.strip())
        c = Call(d.ng).setup()
        gb, ga = c.flow(10)
        t.eq("media flows", (10, 10), (len(gb), len(ga)))
        rc, out, _ = ctl(d, "list")
        t.eq("list status", 0, rc)
        t.ok("list shows the call", c.cid in out.split(), c.cid, out)
        rc, out, _ = ctl(d, "query", c.cid)
        t.eq("query status", 0, rc)
        t.ok("query shows both tags", c.a_tag in out and c.b_tag in out, "both tags", out)
        t.ok("query shows totals", "totals:" in out and "packets:" in out, "totals", out)
        rc, out, _ = ctl(d, "--json", "query", c.cid)
        j = json.loads(out)
        t.eq("query --json result", "ok", j.get("result"))
        t.ok("query --json RTP packets counted", j["totals"]["RTP"]["packets"] >= 20, ">= 20", j.get("totals"))
        rc, out, _ = ctl(d, "--json", "statistics")
        t.eq("statistics --json", ("ok", 1), (json.loads(out).get("result"), stats_sessions(json.loads(out))))
        rc, out, _ = ctl(d, "statistics")
        t.ok("statistics human output", rc == 0 and "sessions:" in out, "sessions:", out[:300])
        rc, out, err = ctl(d, "query", "no-such-call")
        t.eq("query of an unknown call: status 1", 1, rc)
        t.ok("... and says why", "Unknown call-id" in err, "Unknown call-id", err)
        rc, out, err = ctl(d, "delete", c.cid)
        t.eq("delete status", 0, rc)
        t.ok("the call is gone", c.cid not in list_calls(d.ng), "gone", list_calls(d.ng))
        rc, _, err = ctl(d, "ping", sock=os.path.join(d.dir, "nope.sock"))
        t.eq("no daemon: status 3", 3, rc)
        rc, _, _ = ctl(d, "frobnicate")
        t.eq("unknown command: status 2", 2, rc)
        rc, _, _ = ctl(d, "query")
        t.eq("query without call-id: status 2", 2, rc)
        c.close()


@suite.case
def drain_command(t):
    d = Daemon(ports=8).start()
    c = Call(d.ng).setup()
    rc, out, _ = ctl(d, "drain")
    t.eq("drain status", 0, rc)
    t.ok("drain says one call is up", "1 call " in out, "1 call", out)
    c2 = Call(d.ng)
    r = c2.offer()
    t.eq("offer while draining (supports load limit)", "load limit", r.get("result"))
    r = d.ng.cmd("offer", call_id=rgtest.call_id(), from_tag="x", sdp=Leg().sdp())
    t.eq("offer while draining (no load limit support)",
         ("error", "Parallel session limit reached"), (r.get("result"), r.get("error-reason")))
    gb, ga = c.flow(10)
    t.eq("the existing call still relays", (10, 10), (len(gb), len(ga)))
    time.sleep(1.5)
    t.ok("still running while a call is up", d.alive(), "alive", "exited")
    t.result_ok("delete the last call", c.delete())
    t.ok("exits within 3 s of the last call", exited(d, 3.0), "exit", "still running")
    t.eq("exit status", 0, d.proc.returncode)
    t.ok("UNIX socket removed", not os.path.exists(d.sock_path), "removed", d.sock_path)
    forget(d)
    c.close()
    c2.close()


@suite.case
def sigquit_drains(t):
    d = Daemon(ports=8).start()
    c = Call(d.ng).setup()
    os.kill(d.pid, signal.SIGQUIT)
    t.ok("SIGQUIT logged", wait_until(lambda: "draining" in d.log_text(), 2.0), "draining", d.tail(5))
    r = Call(d.ng).offer()
    t.eq("offers get load limit after SIGQUIT", "load limit", r.get("result"))
    gb, ga = c.flow(5)
    t.eq("the existing call still relays", (5, 5), (len(gb), len(ga)))
    t.result_ok("delete", c.delete())
    t.ok("exits after the last call", exited(d, 3.0), "exit", "still running")
    t.eq("exit status", 0, d.proc.returncode)
    forget(d)
    c.close()


# ---------------------------------------------------------------- metrics


@suite.case
def metrics_documented_and_moving(t):
    names = documented_metrics()
    t.need("docs/metrics.md lists metrics", len(names) >= 20, ">= 20", len(names))
    port = free_tcp_port()
    with Daemon(ports=8, args=["--listen-http=127.0.0.1:%d" % port]) as d:
        text = scrape(port)
        for n in names:
            t.ok("metric %s present" % n, metric(text, n) is not None or
                 metric(text, n + "_count") is not None, "present", "missing")
        exposed = set(re.findall(r"^# TYPE (\S+)", text, re.M))
        t.eq("every exposed metric is documented", set(), exposed - set(names))
        t.eq("no call yet", 0, metric(text, "rtpgate_sessions_active"))
        c = Call(d.ng).setup()
        gb, ga = c.flow(20)
        t.eq("media flows", (20, 20), (len(gb), len(ga)))
        text = scrape(port)
        t.eq("sessions_active", 1, metric(text, "rtpgate_sessions_active"))
        t.eq("sessions_created_total", 1, metric(text, "rtpgate_sessions_created_total"))
        t.ok("packets_relayed_total >= 40", metric(text, "rtpgate_packets_relayed_total") >= 40,
             ">= 40", metric(text, "rtpgate_packets_relayed_total"))
        t.ok("bytes_relayed_total >= 40 * 172", metric(text, "rtpgate_bytes_relayed_total") >= 40 * 172,
             ">= 6880", metric(text, "rtpgate_bytes_relayed_total"))
        t.eq("ports_used", 4, metric(text, "rtpgate_ports_used"))
        t.eq("offer counted", 1, metric(text, "rtpgate_control_commands_total", {"command": "offer"}))
        t.eq("offer latency observed", 1, metric(text, "rtpgate_control_latency_seconds_count", {"command": "offer"}))
        t.eq("offer latency +Inf bucket", 1,
             metric(text, "rtpgate_control_latency_seconds_bucket", {"command": "offer", "le": "+Inf"}))
        t.eq("worker sessions", 1, metric(text, "rtpgate_worker_sessions"))
        # a packet from a stranger is a bad_source drop
        Leg().send_rtp(3, 0, to=("127.0.0.1", c.relay_ports()[0]))
        ok = wait_until(lambda: (metric(scrape(port), "rtpgate_packets_dropped_total",
                                        {"reason": "bad_source"}) or 0) >= 3, 2.0)
        t.ok("bad_source drops counted", ok, ">= 3",
             metric(scrape(port), "rtpgate_packets_dropped_total", {"reason": "bad_source"}))
        r = d.ng.cmd("answer", call_id="nope", from_tag="x", to_tag="y", sdp=Leg().sdp())
        text = scrape(port)
        t.eq("answer error counted", 1, metric(text, "rtpgate_control_errors_total", {"command": "answer"}))
        t.result_ok("delete", c.delete())
        text = scrape(port)
        t.eq("ended by delete", 1, metric(text, "rtpgate_sessions_ended_total", {"reason": "delete"}))
        t.eq("sessions_active after delete", 0, metric(text, "rtpgate_sessions_active"))
        t.ok("utilisation in 0..1", 0 <= metric(text, "rtpgate_worker_utilisation") <= d_workers(text),
             "0..1 per worker", metric(text, "rtpgate_worker_utilisation"))
        # a transcoded call: the offerer has PCMU only, the answerer PCMA only
        x = Call(d.ng)
        x.offer(sdp=x.a.sdp(codecs=((0, "PCMU/8000"),)), codec={"transcode": ["PCMA"]})
        r = x.answer(sdp=x.b.sdp(codecs=((8, "PCMA/8000"),)))
        if r.get("result") == "ok":
            gb, ga = x.flow(10)
            text = scrape(port)
            t.eq("transcoded_sessions PCMU>PCMA", 1,
                 metric(text, "rtpgate_transcoded_sessions", {"from": "PCMU", "to": "PCMA"}))
            t.ok("transcoded_packets_total moves", (metric(text, "rtpgate_transcoded_packets_total") or 0) > 0,
                 "> 0", metric(text, "rtpgate_transcoded_packets_total"))
            x.delete()
            t.eq("transcoded_sessions after delete", 0,
                 metric(scrape(port), "rtpgate_transcoded_sessions", {"from": "PCMU", "to": "PCMA"}))
        else:
            t.fail("transcoded call set up", "ok", r)
        x.close()
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
            t.ok("content type", r.headers.get("Content-Type", "").startswith("text/plain"),
                 "text/plain", r.headers.get("Content-Type"))
        try:
            urllib.request.urlopen("http://127.0.0.1:%d/other" % port, timeout=5)
            t.fail("other path", "404", "200")
        except urllib.error.HTTPError as e:
            t.eq("other path", 404, e.code)
        c.close()


def d_workers(text):
    return len(re.findall(r"^rtpgate_worker_utilisation\{", text, re.M))


@suite.case
def metrics_off_by_default(t):
    with Daemon(ports=4) as d:
        t.ok("no HTTP listener by default", "Prometheus" not in d.log_text(), "no metrics line",
             [l for l in d.log_text().splitlines() if "metrics" in l])


# ---------------------------------------------------------------- rtpproxy


class RtppDaemon(Daemon):
    """A daemon that also speaks rtpproxy: .rtpp (UNIX path), .rtpp_udp (port)."""

    def argv(self):
        self.rtpp = os.path.join(self.dir, "rtpp.sock")
        self.rtpp_udp = rgtest.free_udp_port()
        return super().argv() + ["--listen-rtpp-unix=" + self.rtpp,
                                 "--listen-rtpp=127.0.0.1:%d" % self.rtpp_udp]


def rtpp_unix(path, cmd):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(3)
    s.connect(path)
    s.sendall(cmd if isinstance(cmd, bytes) else cmd.encode())
    data = b""
    while True:
        b = s.recv(4096)
        if not b:
            break
        data += b
    s.close()
    return data.decode("latin-1")


@suite.case
def rtpproxy_unix_call(t):
    with RtppDaemon(ports=8) as d:
        sock = d.rtpp
        t.need("rtpproxy socket exists", wait_until(lambda: os.path.exists(sock), 2.0), sock)
        t.eq("V", "20040107\n", rtpp_unix(sock, "V"))
        for date, want in (("20040107", "1"), ("20050322", "1"), ("20060704", "1"),
                           ("20071116", "0"), ("20071218", "0"), ("20080403", "1"),
                           ("20081102", "1"), ("20081224", "0"), ("20090810", "0"),
                           ("19990101", "0")):
            t.eq("VF " + date, want + "\n", rtpp_unix(sock, "VF " + date))
        a, b = Leg(), Leg()
        cid = rgtest.call_id()
        r = rtpp_unix(sock, "Uc0,8,101 %s 127.0.0.1 %d fa;1" % (cid, a.rtp_port)).split()
        t.need("U answers PORT ADDR", len(r) == 2 and r[1] == "127.0.0.1" and r[0].isdigit(), "PORT 127.0.0.1", r)
        port_for_b = int(r[0])
        r = rtpp_unix(sock, "Lc0 %s 127.0.0.1 %d fa;1 tb;1" % (cid, b.rtp_port)).split()
        t.need("L answers PORT ADDR", len(r) == 2 and r[0].isdigit(), "PORT ADDR", r)
        port_for_a = int(r[0])
        t.ok("ports differ", port_for_a != port_for_b, "two ports", (port_for_a, port_for_b))
        a.peer = ("127.0.0.1", port_for_a, port_for_a + 1)
        b.peer = ("127.0.0.1", port_for_b, port_for_b + 1)
        a.send_rtp(10, 0.005)
        b.send_rtp(10, 0.005)
        t.eq("RTP a -> b through the relay", 10, len(b.recv_rtp(10)))
        t.eq("RTP b -> a through the relay", 10, len(a.recv_rtp(10)))
        t.ok("the call is an ordinary rtpgate call", cid in list_calls(d.ng), cid, list_calls(d.ng))
        q = rtpp_unix(sock, "Q %s fa tb" % cid).split()
        t.need("Q answers 5 numbers", len(q) == 5 and all(x.isdigit() for x in q), "5 numbers", q)
        t.eq("Q packets from each side", (10, 10), (int(q[1]), int(q[2])))
        t.ok("I", "active sessions: 1" in rtpp_unix(sock, "I"), "active sessions: 1", rtpp_unix(sock, "I"))
        # a second m= line (";2") is its own call
        r = rtpp_unix(sock, "U %s 127.0.0.1 %d fa;2" % (cid, a.rtp_port + 100)).split()
        t.ok("U for media 2", r and r[0].isdigit() and int(r[0]) > 0, "PORT", r)
        t.eq("D", "0\n", rtpp_unix(sock, "D %s fa tb" % cid))
        t.eq("calls after D", [], [c for c in list_calls(d.ng) if c.startswith(cid)])
        t.eq("D of an unknown call", "E8\n", rtpp_unix(sock, "D %s fa tb" % cid))
        t.eq("L of an unknown call", "E8\n", rtpp_unix(sock, "L nope 127.0.0.1 4000 x y"))
        r = rtpp_unix(sock, "U v6call ::1 4000 fa;1")
        t.ok("U with an IPv6 address on an IPv4-only relay still answers", r[:1].isdigit() or r.startswith("E"),
             "PORT or E", r)
        t.eq("X", "0\n", rtpp_unix(sock, "X"))
        t.eq("no calls after X", [], list_calls(d.ng))
        for bad, code in (("\n", "E1"), ("Z", "E2"), ("Ux cid 1.2.3.4 5 t", "E1"),
                          ("U cid 1.2.3.4 70000 t", "E3"), ("U cid nothost 5 t", "E3"),
                          ("U cid 1.2.3.4 5", "E1"), ("Uc999 cid 1.2.3.4 5 t", "E1"),
                          ("U6 cid 1.2.3.4 5 t", "E3"), ("Uz cid 1.2.3.4 5 t", "E1"),
                          ("U cid 1.2.3.4 5 t;1 u;2", "E1"), ("VF", "E1"), ("V\x00", "E1")):
            t.eq("error for %r" % bad, code + "\n", rtpp_unix(sock, bad))
        a.close()
        b.close()


@suite.case
def rtpproxy_hostile_input(t):
    rng = random.Random(5)
    words = ["U", "L", "D", "Q", "V", "VF", "I", "X", "Uc0,8", "Lz20", "UAIE6", "1.2.3.4", "::1",
             "5000", "-1", "99999999999", "tag;1", "tag;0", "tag;99", ";", "c", "\t", "é", "%s%n"]
    with RtppDaemon(ports=8) as d:
        wait_until(lambda: os.path.exists(d.rtpp), 2.0)
        bad = []
        for i in range(300):
            if i % 2:
                cmd = bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 120)))
            else:
                cmd = " ".join(rng.choice(words) for _ in range(rng.randrange(1, 9))).encode()
            r = rtpp_unix(d.rtpp, cmd)
            if not r.endswith("\n") or len(r) > 400:
                bad.append((cmd, r))
        t.eq("every hostile command got one reply line", [], bad[:3])
        t.eq("long line", "E1\n", rtpp_unix(d.rtpp, "U " + "x" * 5000))
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.settimeout(2)
        dst = ("127.0.0.1", d.rtpp_udp)
        u.sendto(b"ck1 V", dst)
        t.eq("UDP V echoes the cookie", b"ck1 20040107\n", u.recv(1000))
        cid = rgtest.call_id()
        u.sendto(("ck2 U %s 127.0.0.1 4000 fa;1" % cid).encode(), dst)
        first = u.recv(1000)
        u.sendto(("ck2 U %s 127.0.0.1 4000 fa;1" % cid).encode(), dst)
        again = u.recv(1000)
        t.eq("a retransmission gets the same reply", first, again)
        t.ok("reply has the cookie and a port", re.match(rb"^ck2 \d+ 127\.0\.0\.1\n$", first), "ck2 PORT ADDR", first)
        st = d.ng.cmd("statistics")
        t.eq("the retransmission did not run again", 1, rgtest.stats_sessions(st))
        u.sendto(b"nocookie", dst)
        try:
            r = u.recv(1000)
            t.fail("UDP without cookie", "no reply", r)
        except socket.timeout:
            pass
        u.close()
        t.ok("daemon alive", d.alive(), "alive", "dead")


# ---------------------------------------------------------------- quality


@suite.case
def quality_in_query_and_delete(t):
    with Daemon(ports=8) as d:
        c = Call(d.ng).setup()
        # a sends 50 packets with 5 gaps (10% loss as rtpgate sees it)
        dst = (c.a.peer[0], c.a.peer[1])
        seq, ts = 1000, 0
        for i in range(55):
            seq += 1
            ts += 160
            if i % 11 == 5:
                continue
            c.a.rtp.sendto(rgtest.rtp_build(seq, ts, c.a.ssrc), dst)
            time.sleep(0.004)
        c.b.send_rtp(20, 0.004)
        c.b.recv_rtp(50, timeout=1.0)
        time.sleep(0.2)
        q = d.ng.cmd("query", call_id=c.cid)
        t.result_ok("query", q)
        qa = find_quality(q, c.a_tag)
        t.need("query has quality for leg a", qa is not None, "quality dict", q)
        t.ok("leg a: packets lost counted", qa.get("packets lost") == 5, 5, qa)
        t.ok("leg a: loss percent about 10", 8 <= qa.get("loss permille", 0) / 10 <= 11, "~10%", qa)
        t.ok("leg a: MOS between 1 and 4.5", 10 <= qa.get("MOS x10", 0) <= 45, "10..45", qa)
        qb = find_quality(q, c.b_tag)
        t.ok("leg b: no loss", qb and qb.get("packets lost") == 0, 0, qb)
        # RTT: b's SR goes through the relay to a; a answers 150 ms later with an
        # RR quoting it (LSR) and saying it held it 100 ms (DLSR): the relay
        # sees ~50 ms of round trip to a. a also reports 25/256 lost.
        ntp = int((time.time() + 2208988800) * 65536) << 16
        sr = struct.pack("!BBHIIIIII", 0x80, 200, 6, c.b.ssrc, ntp >> 32, ntp & 0xffffffff, 0, 0, 0)
        c.b.rtcp.sendto(sr, (c.b.peer[0], c.b.peer[2]))
        got = c.a.recv_rtcp(1, timeout=1.0)
        t.need("SR relayed to a", len(got) == 1, 1, len(got))
        time.sleep(0.15)
        lsr = (ntp >> 16) & 0xffffffff
        rr = struct.pack("!BBHI", 0x81, 201, 7, c.a.ssrc) + struct.pack(
            "!IBBHIIII", c.b.ssrc, 25, 0, 3, 1000, 80, lsr, 6554)
        c.a.rtcp.sendto(rr, (c.a.peer[0], c.a.peer[2]))
        time.sleep(0.2)
        qa = find_quality(d.ng.cmd("query", call_id=c.cid), c.a_tag)
        t.ok("leg a: RTT from the RR about 50 ms", 20000 <= qa.get("rtt us", 0) <= 200000, "20..200 ms", qa)
        t.eq("leg a: reported loss permille (25/256)", 97, qa.get("reported loss permille"))
        print("  quality of leg a: %r" % qa)
        r = d.ng.cmd("delete", call_id=c.cid, from_tag=c.a_tag)
        t.result_ok("delete", r)
        t.ok("delete reply carries quality", find_quality(r, c.a_tag) is not None, "quality", r)
        size = len(rgtest.bencode(r))
        t.ok("delete reply under 1400 bytes", size < 1400, "< 1400", size)
        print("  delete reply: %d bytes bencoded" % size)
        c.close()


def find_quality(reply, tag):
    leg = (reply.get("tags") or {}).get(tag)
    if not isinstance(leg, dict):
        return None
    return leg.get("quality")


# ---------------------------------------------------------------- config


@suite.case
def dump_config_matches_example(t):
    rc, out = run_daemon(["--dump-config"])
    t.eq("--dump-config status", 0, rc)
    with open(os.path.join(ROOT, "tools", "rtpgate.conf.example")) as f:
        example = f.read()
    t.ok("tools/rtpgate.conf.example is what --dump-config prints "
         "(regenerate: build/relay/rtpgate --dump-config > tools/rtpgate.conf.example)",
         out == example, "equal", "differs")
    names = re.findall(r"^(?:# )?([a-z0-9-]+) =", example, re.M)
    rc, helptext = run_daemon(["--help"])
    for n in re.findall(r"^  --([a-z0-9-]+)=", helptext, re.M):
        t.ok("option %s in the example" % n, n in names, "listed", "missing")


@suite.case
def log_facility(t):
    rc, out = run_daemon(["--log-facility=nonsense"])
    t.eq("unknown facility: status", 2, rc)
    t.ok("... names the option", "--log-facility" in out, "--log-facility", out)
    with Daemon(ports=4, args=["--log-facility=local3"]) as d:
        t.ok("local3 accepted", d.alive(), "alive", "dead")


@suite.case
def kamailio_doc_matches_e2e_configs(t):
    with open(os.path.join(ROOT, "docs", "kamailio.md")) as f:
        doc = f.read()
    for name in ("kamailio.cfg.in", "kamailio-rtpproxy.cfg.in"):
        with open(os.path.join(ROOT, "tests", "e2e", name)) as f:
            cfg = f.read()
        t.ok("docs/kamailio.md holds tests/e2e/%s verbatim" % name, cfg in doc, "verbatim", "differs")


if __name__ == "__main__":
    suite.run()
