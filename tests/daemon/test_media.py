"""Media through the daemon: RTP and RTCP both ways with counts, the source
port each leg sees, query counters, rtcp-mux, several calls at once, and
latching (a stranger gets nothing through). Issue 2 items 11, 13, 15.
Run: RTPGATE=build/relay/rtpgate PYTHONPATH=tests/lib python3 tests/daemon/test_media.py"""

import socket
import time

from rgtest import (Call, Daemon, Leg, Sdp, Suite, ipv6_loopback_usable, is_rtcp, leg_counts,
                    query_legs, query_totals, rtp_build, rtp_parse)

suite = Suite()
_d = []


def D():
    if not _d:
        _d.append(Daemon(ports=200).start())
    return _d[0]


def check_arrivals(t, what, got, n, ssrc, relay_port, sent=None):
    """n packets arrived, all from 127.0.0.1:relay_port, carrying ssrc, in
    order and intact."""
    t.eq(what + ": packets", n, len(got))
    srcs = {s for _, s in got}
    t.eq(what + ": source (the relay port advertised to this leg)", {("127.0.0.1", relay_port)}, srcs)
    ps = [rtp_parse(p) for p, _ in got]
    t.ok(what + ": all parse as RTP with the sender's SSRC",
         all(p and p["ssrc"] == ssrc for p in ps), "ssrc %08x" % ssrc,
         {("%08x" % p["ssrc"]) if p else None for p in ps})
    if sent is not None and len(got) == len(sent):
        t.ok(what + ": payloads intact", [p for p, _ in got] == sent, "identical bytes", "differ")


@suite.case
def rtp_both_ways(t):
    c = Call(D().ng).setup()
    to_b, to_a = c.relay_ports()
    n = 50
    c.a.send_rtp(n, 0.004)
    got_b = c.b.recv_rtp(n)
    c.b.send_rtp(n, 0.004)
    got_a = c.a.recv_rtp(n)
    check_arrivals(t, "A->B", got_b, n, c.a.ssrc, to_b)
    check_arrivals(t, "B->A", got_a, n, c.b.ssrc, to_a)
    seqs = [rtp_parse(p)["seq"] for p, _ in got_b]
    t.ok("A->B in order", all((y - x) & 0xffff == 1 for x, y in zip(seqs, seqs[1:])), "consecutive", seqs[:10])
    t.eq("nothing on B's RTCP socket", 0, len(c.b.recv_rtcp(timeout=0.2)))
    c.delete()
    c.close()


@suite.case
def rtcp_both_ways(t):
    c = Call(D().ng).setup()
    to_b, to_a = c.relay_ports()
    rb = Sdp(c.offer_reply["sdp"]).rtcp_port()
    ra = Sdp(c.answer_reply["sdp"]).rtcp_port()
    c.a.send_rtcp(5, pace=0.005)
    got_b = c.b.recv_rtcp(5)
    c.b.send_rtcp(5, pace=0.005)
    got_a = c.a.recv_rtcp(5)
    t.eq("A->B RTCP packets", 5, len(got_b))
    t.eq("B->A RTCP packets", 5, len(got_a))
    t.eq("A->B RTCP source", {("127.0.0.1", rb)}, {s for _, s in got_b})
    t.eq("B->A RTCP source", {("127.0.0.1", ra)}, {s for _, s in got_a})
    t.ok("RTCP arrives as RTCP", all(is_rtcp(p) for p, _ in got_a + got_b), "RTCP SR", [p[:2] for p, _ in got_a])
    t.eq("RTCP on port+1 (a=rtcp)", (to_b + 1, to_a + 1), (rb, ra))
    c.delete()
    c.close()


@suite.case
def query_counts(t):
    c = Call(D().ng).setup()
    na, nb = 30, 20
    c.a.send_rtp(na, 0.003, plen=160)
    c.b.send_rtp(nb, 0.003, plen=80)
    c.a.send_rtcp(3)
    c.b.send_rtcp(2)
    got_b, got_a = c.b.recv_rtp(na), c.a.recv_rtp(nb)
    c.b.recv_rtcp(3)
    c.a.recv_rtcp(2)
    t.eq("arrived A->B, B->A", (na, nb), (len(got_b), len(got_a)))
    q = c.query()
    tot = query_totals(q)
    t.eq("totals RTP packets", na + nb, tot["RTP"]["packets"])
    whole = na * 172 + nb * 92
    payload = na * 160 + nb * 80
    t.ok("totals RTP bytes (whole RTP packets or payloads)", tot["RTP"]["bytes"] in (whole, payload),
         "%d or %d" % (whole, payload), tot["RTP"]["bytes"])
    t.eq("totals RTP errors", 0, tot["RTP"]["errors"])
    t.eq("totals RTCP packets", 5, tot["RTCP"]["packets"])
    legs = query_legs(q)
    la = leg_counts(legs.get(c.a_tag, {}))
    lb = leg_counts(legs.get(c.b_tag, {}))
    # a leg's counters may hold what it sent, or what it sent and received
    t.ok("leg A RTP packets", la["packets"] in (na, na + nb), "%d or %d" % (na, na + nb), legs.get(c.a_tag))
    t.ok("leg B RTP packets", lb["packets"] in (nb, na + nb), "%d or %d" % (nb, na + nb), legs.get(c.b_tag))
    r = c.delete()
    t.eq("delete totals RTP packets", na + nb, query_totals(r)["RTP"]["packets"])
    c.close()


@suite.case
def rtcp_mux_both(t):
    """Both legs use rtcp-mux: RTCP goes over the RTP ports."""
    c = Call(D().ng)
    r = t.result_ok("offer", c.offer(c.a.sdp(rtcp_mux=True)))
    if not Sdp(r["sdp"]).media[0]["rtcp_mux"]:
        t.skip("relay does not offer rtcp-mux onwards by default")
    t.result_ok("answer", c.answer(c.b.sdp(rtcp_mux=True)))
    to_b, to_a = c.relay_ports()
    t.ok("answer to A keeps rtcp-mux", Sdp(c.answer_reply["sdp"]).media[0]["rtcp_mux"], "rtcp-mux",
         c.answer_reply["sdp"])
    for s, leg, dst in ((c.a, c.b, to_a), (c.b, c.a, to_b)):
        s.rtp.sendto(rtp_build(1, 1, s.ssrc), (s.peer[0], s.peer[1]))
        s.rtp.sendto(b"\x80\xc8\x00\x06" + bytes(24), (s.peer[0], s.peer[1]))
    got_b = c.b.recv_rtp(2)
    got_a = c.a.recv_rtp(2)
    t.eq("B gets RTP+RTCP on its RTP port", 2, len(got_b))
    t.eq("A gets RTP+RTCP on its RTP port", 2, len(got_a))
    t.ok("B got an RTCP packet", any(is_rtcp(p) for p, _ in got_b), "RTCP", [p[:2] for p, _ in got_b])
    c.delete()
    c.close()


@suite.case
def rtcp_mux_demux(t):
    """Kamailio's rtcp-mux-demux: A muxes, B gets a plain offer; B's RTCP to
    port+1 reaches A on A's RTP port."""
    c = Call(D().ng)
    r = t.result_ok("offer", c.offer(c.a.sdp(rtcp_mux=True), rtcp_mux=["demux"]))
    t.ok("offer reply: no rtcp-mux", not Sdp(r["sdp"]).media[0]["rtcp_mux"], "no rtcp-mux", r["sdp"])
    t.result_ok("answer", c.answer())
    to_b, to_a = c.relay_ports()
    t.ok("answer reply to A has rtcp-mux", Sdp(c.answer_reply["sdp"]).media[0]["rtcp_mux"],
         "rtcp-mux", c.answer_reply["sdp"])
    c.b.send_rtcp(3, pace=0.005)
    got = c.a.recv_rtp(3)
    t.eq("B's RTCP arrives on A's RTP socket", 3, len(got))
    t.eq("from the relay's port advertised to A", {("127.0.0.1", to_a)}, {s for _, s in got})
    c.a.rtp.sendto(b"\x80\xc8\x00\x06" + bytes(24), (c.a.peer[0], c.a.peer[1]))
    got = c.b.recv_rtcp(1)
    t.eq("A's muxed RTCP arrives on B's RTCP socket", 1, len(got))
    c.delete()
    c.close()


@suite.case
def many_calls_no_crosstalk(t):
    calls = [Call(D().ng).setup() for _ in range(6)]
    for c in calls:
        c.a.send_rtp(15, 0)
        c.b.send_rtp(15, 0)
    for i, c in enumerate(calls):
        gb, ga = c.b.recv_rtp(15), c.a.recv_rtp(15)
        t.eq("call %d: A->B count" % i, 15, len(gb))
        t.eq("call %d: B->A count" % i, 15, len(ga))
        t.ok("call %d: only the own peer's SSRC" % i,
             {rtp_parse(p)["ssrc"] for p, _ in gb} <= {c.a.ssrc} and
             {rtp_parse(p)["ssrc"] for p, _ in ga} <= {c.b.ssrc}, "own peer", "other calls' packets")
    for c in calls:
        c.delete()
        c.close()


def stranger_socket():
    """A socket on 127.0.0.2 when the host routes it, else 127.0.0.1."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.2", 0))
    except OSError:
        s.bind(("127.0.0.1", 0))
    return s


@suite.case
def latching_stranger_dropped(t):
    """A stranger on another IP (127.0.0.2) after the legs latched."""
    stranger_after_latch(t, stranger_socket())


@suite.case
def latching_stranger_same_ip_dropped(t):
    """A stranger on the legs' IP but another port, after they latched."""
    x = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    x.bind(("127.0.0.1", 0))
    stranger_after_latch(t, x)


def stranger_after_latch(t, x):
    c = Call(D().ng).setup()
    to_b, to_a = c.relay_ports()
    gb, ga = c.flow(10)
    t.eq("before: flow both ways", (10, 10), (len(gb), len(ga)))
    # RTCP latches on its own stream: let the legs' RTCP go first too
    c.a.send_rtcp(1)
    c.b.send_rtcp(1)
    t.eq("before: RTCP both ways", (1, 1), (len(c.b.recv_rtcp(1)), len(c.a.recv_rtcp(1))))
    before = query_totals(c.query())
    ssrc = 0x5a5a5a5a
    for port in (to_a, to_b):
        for i in range(20):
            x.sendto(rtp_build(i, i * 160, ssrc), ("127.0.0.1", port))
        for i in range(3):
            x.sendto(b"\x80\xc8\x00\x06" + ssrc.to_bytes(4, "big") + bytes(20), ("127.0.0.1", port + 1))
    time.sleep(0.2)
    # the stranger's packets must not reach either leg
    stray = [p for p, _ in c.a.recv_rtp(timeout=0.4) + c.b.recv_rtp(timeout=0.4)
             + c.a.recv_rtcp(timeout=0.2) + c.b.recv_rtcp(timeout=0.2)]
    t.eq("stranger's packets reaching the legs", 0, len(stray))
    # the real legs keep working and the stranger hears nothing of it
    gb, ga = c.flow(10)
    t.eq("after: A->B", 10, len(gb))
    t.eq("after: B->A", 10, len(ga))
    t.eq("after: A->B still from the advertised port", {("127.0.0.1", to_b)}, {s for _, s in gb})
    t.eq("after: B->A still from the advertised port", {("127.0.0.1", to_a)}, {s for _, s in ga})
    x.settimeout(0.3)
    heard = 0
    try:
        while True:
            x.recv(2048)
            heard += 1
    except (socket.timeout, BlockingIOError):
        pass
    t.eq("packets the stranger received", 0, heard)
    after = query_totals(c.query())
    t.eq("RTP packets counted are only the real ones", (before["RTP"]["packets"] or 0) + 20,
         after["RTP"]["packets"])
    dropped = (after["RTP"]["errors"] or 0) - (before["RTP"]["errors"] or 0)
    t.ok("stranger's RTP counted as errors/drops", dropped >= 40, ">= 40", after)
    x.close()
    c.delete()
    c.close()


@suite.case
def media_during_control_burst(t):
    """Control work does not stall media: 300 packets each way at 5 ms
    pacing all arrive while calls are set up and torn down meanwhile."""
    import threading
    d = Daemon(ports=1600).start()
    c = Call(d.ng).setup()
    c.a.rtp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    c.b.rtp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    n = 300
    th = [threading.Thread(target=leg.send_rtp, args=(n, 0.005)) for leg in (c.a, c.b)]
    for x in th:
        x.start()
    errors = 0
    t0 = time.monotonic()
    i = 0
    while any(x.is_alive() for x in th) and i < 350:
        ng = d.unix if (d.unix and i % 2) else d.ng
        k = Call(ng)
        try:
            k.setup()
            ng.cmd("statistics")
            k.query()
            k.delete()
        except Exception as e:
            errors += 1
            if errors <= 3:
                print("  call %d over %s: %s" % (i, "unix" if ng is d.unix else "udp", e))
        k.close()
        i += 1
        time.sleep(0.002)
    burst = time.monotonic() - t0
    for x in th:
        x.join()
    gb, ga = c.b.recv_rtp(n, timeout=3), c.a.recv_rtp(n, timeout=3)
    print("  (%d call set-ups in %.2f s)" % (i, burst))
    t.eq("control burst errors", 0, errors)
    t.eq("packets A->B, B->A during the burst", (n, n), (len(gb), len(ga)))
    c.delete()
    c.close()
    t.eq("daemon stops cleanly", [], d.stop())


@suite.case
def ipv6_call(t):
    """--interface=::1: IPv6 SDP, media both ways from the advertised ports."""
    if not ipv6_loopback_usable():
        t.skip("::1 not usable here")
    with Daemon(ports=10, interface="::1") as d:
        c = Call(d.ng, a=Leg("::1"), b=Leg("::1"))
        r = t.result_ok("offer", c.offer(received_from=["IP6", "::1"]))
        s = Sdp(r["sdp"])
        t.ok("c=IN IP6 ::1", "c=IN IP6 ::1" in r["sdp"].splitlines(), "c=IN IP6 ::1", r["sdp"])
        t.ok("m= port in range", d.port_min <= s.port() <= d.port_max, "in range", s.port())
        t.result_ok("answer", c.answer(received_from=["IP6", "::1"]))
        to_b, to_a = c.relay_ports()
        gb, ga = c.flow(10)
        t.eq("IPv6 A->B, B->A", (10, 10), (len(gb), len(ga)))
        t.eq("A->B from the port advertised to B", {("::1", to_b)}, {x[:2] for _, x in gb})
        t.eq("B->A from the port advertised to A", {("::1", to_a)}, {x[:2] for _, x in ga})
        c.delete()
        c.close()


def drain_sock(x, wait=0.3):
    x.settimeout(wait)
    n = 0
    try:
        while True:
            x.recv(4096)
            n += 1
    except (socket.timeout, BlockingIOError):
        pass
    return n


@suite.case
def stranger_first_never_latches(t):
    """A stranger on another IP that sends before the legs (README rule 3)
    gets nothing through and does not take the latch."""
    c = Call(D().ng).setup()
    to_b, to_a = c.relay_ports()
    x = stranger_socket()
    if x.getsockname()[0] != "127.0.0.2":
        t.skip("127.0.0.2 not usable here")
    for port in (to_a, to_b):
        for i in range(10):
            x.sendto(rtp_build(i, i * 160, 0x11111111), ("127.0.0.1", port))
    t.eq("stranger's packets reaching the legs", (0, 0),
         (len(c.a.recv_rtp(timeout=0.3)), len(c.b.recv_rtp(timeout=0.3))))
    gb, ga = c.flow(10)
    t.eq("the legs then flow both ways", (10, 10), (len(gb), len(ga)))
    t.eq("stranger hears nothing", 0, drain_sock(x))
    x.close()
    c.delete()
    c.close()


@suite.case
def latching_nat_port_learned(t):
    """README rule 2: before anything latched, a packet from the SDP's IP
    but another port (NAT) is accepted and learned; then a third port is
    dropped; the exact SDP address may still take over; then the NAT port
    is dropped."""
    c = Call(D().ng).setup()
    to_b, to_a = c.relay_ports()
    nat = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    nat.bind(("127.0.0.1", 0))
    for i in range(5):
        nat.sendto(rtp_build(i, i * 160, 0x22222222), ("127.0.0.1", to_a))
    got = c.b.recv_rtp(5)
    t.eq("NAT-port packets from A's IP reach B", 5, len(got))
    c.b.send_rtp(5, 0)
    n = drain_sock(nat)
    t.eq("B's packets go to the learned NAT port", 5, n)
    t.eq("...and not to A's SDP port", 0, len(c.a.recv_rtp(timeout=0.2)))
    third = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    third.bind(("127.0.0.1", 0))
    for i in range(5):
        third.sendto(rtp_build(i, i * 160, 0x33333333), ("127.0.0.1", to_a))
    t.eq("a third port of the same IP after the latch: dropped", 0, len(c.b.recv_rtp(timeout=0.3)))
    c.a.send_rtp(5, 0)
    t.eq("A from its exact SDP address: accepted", 5, len(c.b.recv_rtp(5)))
    c.b.send_rtp(5, 0)
    t.eq("B's packets now go to A's SDP address", 5, len(c.a.recv_rtp(5)))
    t.eq("...and no longer to the NAT port", 0, drain_sock(nat, 0.2))
    for i in range(5):
        nat.sendto(rtp_build(i, i * 160, 0x22222222), ("127.0.0.1", to_a))
    t.eq("the NAT port after the SDP address confirmed: dropped", 0, len(c.b.recv_rtp(timeout=0.3)))
    nat.close()
    third.close()
    c.delete()
    c.close()


@suite.case
def strict_source_no_learning(t):
    """With flags [strict-source], a NAT port of the right IP is not learned."""
    c = Call(D().ng).setup(flags=["strict-source"])
    to_b, to_a = c.relay_ports()
    nat = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    nat.bind(("127.0.0.1", 0))
    for i in range(5):
        nat.sendto(rtp_build(i, i * 160, 0x44444444), ("127.0.0.1", to_a))
    t.eq("strict-source: other port of A's IP dropped", 0, len(c.b.recv_rtp(timeout=0.3)))
    gb, ga = c.flow(5)
    t.eq("strict-source: the legs flow", (5, 5), (len(gb), len(ga)))
    nat.close()
    c.delete()
    c.close()


@suite.case
def unanswered_offer_relays_nothing_to_stranger(t):
    """After an offer only, a packet to the port advertised to B is either
    relayed to A (early media, B not yet latched) or dropped; never sent
    elsewhere; and the daemon keeps working."""
    c = Call(D().ng)
    t.result_ok("offer", c.offer())
    to_b = Sdp(c.offer_reply["sdp"]).port()
    c.b.send_rtp(5, 0)
    got = c.a.recv_rtp(timeout=0.5)
    t.ok("early media reaches A or nothing", len(got) in (0, 5), "0 or 5", len(got))
    t.result_ok("answer", c.answer())
    gb, ga = c.flow(10)
    t.eq("after answer: flow both ways", (10, 10), (len(gb), len(ga)))
    c.delete()
    c.close()


@suite.case
def asymmetric_sends_to_sdp_address(t):
    """With flags [asymmetric], A sends from another port of its IP: that is
    accepted, nothing is learned, and B's media still goes to A's SDP port."""
    c = Call(D().ng).setup(flags=["asymmetric"])
    to_b, to_a = c.relay_ports()
    out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    out.bind(("127.0.0.1", 0))
    out.settimeout(0.3)
    for i in range(5):
        out.sendto(rtp_build(i, i * 160, 0x55555555), ("127.0.0.1", to_a))
    t.eq("asymmetric: A's packets from another port reach B", 5, len(c.b.recv_rtp(timeout=1.0)))
    c.b.send_rtp(5, 0)
    t.eq("asymmetric: B's media goes to A's SDP port", 5, len(c.a.recv_rtp(timeout=1.0)))
    try:
        got = out.recvfrom(2048)
    except socket.timeout:
        got = None
    t.eq("asymmetric: nothing goes to the port A sent from", None, got)
    out.close()
    c.delete()
    c.close()


if __name__ == "__main__":
    suite.run()
