"""ng control: commands over UDP and the UNIX socket, the reply cache,
JSON, query/statistics/list shapes, Kamailio 5.6.3's real requests.
Issue 2 items 5, 6, 8, 9, 13, 15. Run: RTPGATE=build/relay/rtpgate
PYTHONPATH=tests/lib python3 tests/daemon/test_control.py [case...]"""

import os
import re
import socket
import time

from rgtest import (Call, Daemon, Leg, NoReply, Sdp, Suite, bdecode, bencode, call_id,
                    leg_counts, list_calls, query_legs, query_totals, stats_ports,
                    stats_sessions, text, vectors_dir)

suite = Suite(case_timeout=40)
_d = []


def D():
    """The daemon the cases share (200 ports = 50 streams: released ports
    rest a few seconds before reuse)."""
    if not _d:
        d = Daemon(ports=200).start()
        _d.append(d)
        # for reply_cache_30s: an offer under a known cookie, then its delete
        c = Call(d.ng)
        msg = {"sdp": c.a.sdp(), "call-id": c.cid, "from-tag": c.a_tag, "command": "offer"}
        d.ng.exchange(bencode(msg), cookie="rc30-%d" % os.getpid())
        _early.update(msg=msg, raw=d.ng.last_raw, t=time.monotonic(), cid=c.cid)
        c.delete()
        c.close()
    return _d[0]


_early = {}


def transports(t):
    d = D()
    out = [("udp", d.ng)]
    if d.unix:
        out.append(("unix", d.unix))
    return out


def check_sdp(t, what, d, body, other_port=None):
    """c= is the interface address, m= port in range and even, RTCP on
    port+1 unless rtcp-mux. Returns the port."""
    s = Sdp(body)
    t.need(what + ": one m= line", len(s.media) == 1, "1 m= line", body)
    port = s.port()
    t.eq(what + ": c= address", "127.0.0.1", s.addr())
    t.ok(what + ": m= port in range", port is not None and d.port_min <= port <= d.port_max,
         "%d..%d" % (d.port_min, d.port_max), port)
    t.ok(what + ": m= port even", port is not None and port % 2 == 0, "even", port)
    if s.media[0]["rtcp_mux"]:
        # an offer may carry a fallback a=rtcp:port+1 next to rtcp-mux (RFC 5761)
        t.ok(what + ": a=rtcp with rtcp-mux", s.media[0]["rtcp"] in (None, port, port + 1),
             "%d or %d" % (port, port + 1), s.media[0]["rtcp"])
    else:
        t.eq(what + ": RTCP port (a=rtcp or implied)", port + 1, s.rtcp_port())
    if other_port is not None:
        t.ok(what + ": differs from the other leg's port", port != other_port,
             "!= %s" % other_port, port)
    return port


@suite.case
def ping(t):
    for name, ng in transports(t):
        t.eq("ping over " + name, {"result": "pong"}, ng.cmd("ping"))


@suite.case
def ping_vectors(t):
    """Kamailio's start-up pings, byte for byte."""
    d = D()
    v = vectors_dir()
    raw = open(os.path.join(v, "udp-01-ping.bin"), "rb").read()
    r = d.ng.raw(raw)
    cookie = raw.split(b" ", 1)[0]
    t.need("UDP ping vector answered", r is not None, "a reply", r)
    t.eq("UDP reply cookie", cookie, r.split(b" ", 1)[0])
    t.eq("UDP reply body", {"result": "pong"}, text(bdecode(r.split(b" ", 1)[1])))
    if not d.unix:
        t.skip("no UNIX socket")
    raw = open(os.path.join(v, "unix-01-ping.bin"), "rb").read()
    r = d.unix.raw(raw)
    t.eq("UNIX ping vector reply", {"result": "pong"}, text(bdecode(r)) if r else r)


@suite.case
def unix_cookie_echoed(t):
    """A UNIX request that starts with a cookie gets the cookie back."""
    d = D()
    if not d.unix:
        t.skip("no UNIX socket")
    r = d.unix.raw(b"abc123 d7:command4:pinge", parse=None, timeout=1.0)
    t.need("reply", r, "a reply", r)
    t.ok("starts with the cookie", r.startswith(b"abc123 "), "abc123 ...", r)
    t.eq("body", {"result": "pong"}, text(bdecode(r.split(b" ", 1)[1])) if b" " in r else r)


@suite.case
def offer_answer(t):
    d = D()
    for name, ng in transports(t):
        c = Call(ng)
        r = t.result_ok("offer over " + name, c.offer())
        po = check_sdp(t, name + " offer reply", d, r["sdp"])
        r = t.result_ok("answer over " + name, c.answer())
        pa = check_sdp(t, name + " answer reply", d, r["sdp"], other_port=po)
        t.ok(name + ": RTP ports of the two legs not overlapping RTCP",
             abs(po - pa) >= 2, ">= 2 apart", (po, pa))
        t.ok(name + ": call listed", c.cid in list_calls(ng), c.cid, list_calls(ng))
        t.result_ok("delete over " + name, c.delete())
        c.close()


@suite.case
def offer_answer_mixed_transports(t):
    """Offer over UNIX, answer/query/delete over UDP: one call table."""
    d = D()
    if not d.unix:
        t.skip("no UNIX socket")
    c = Call(d.unix)
    t.result_ok("offer over unix", c.offer())
    c.ng = d.ng
    t.result_ok("answer over udp", c.answer())
    t.result_ok("query over udp", c.query())
    t.result_ok("delete over udp", c.delete())
    c.close()


@suite.case
def sdp_kept_lines(t):
    """Lines the relay does not understand are kept."""
    c = Call(D().ng)
    sdp = c.a.sdp(extra=["a=x-rgtest:keep me", "a=label:7"])
    r = t.result_ok("offer", c.offer(sdp))
    for l in ("a=x-rgtest:keep me", "a=label:7", "a=rtpmap:0 PCMU/8000", "a=ptime:20"):
        t.ok("offer reply keeps " + l, l in r["sdp"].splitlines(), l, r["sdp"])
    c.delete()
    c.close()


@suite.case
def rtcp_mux_offer(t):
    """An offer with a=rtcp-mux: the SDP sent on either keeps mux (RTCP on
    the RTP port) or, demuxed, has RTCP on port+1."""
    d = D()
    c = Call(d.ng)
    r = t.result_ok("offer", c.offer(c.a.sdp(rtcp_mux=True)))
    check_sdp(t, "mux offer reply", d, r["sdp"])
    c.delete()
    c2 = Call(d.ng)
    r = t.result_ok("offer rtcp-mux demux", c2.offer(c2.a.sdp(rtcp_mux=True), rtcp_mux=["demux"]))
    s = Sdp(r["sdp"])
    t.ok("demux: no a=rtcp-mux towards the callee", not s.media[0]["rtcp_mux"], "no rtcp-mux", r["sdp"])
    check_sdp(t, "demux offer reply", d, r["sdp"])
    c2.delete()
    c.close()
    c2.close()


@suite.case
def delete_unknown(t):
    for name, ng in transports(t):
        r = ng.cmd("delete", call_id=call_id(), from_tag="x")
        t.eq(name + " delete unknown: result", "ok", r.get("result"))
        t.ok(name + " delete unknown: warning", r.get("warning"), "a warning", r)
        r = ng.cmd("delete", call_id=call_id(), from_tag="x", flags=["fatal"])
        t.eq(name + " delete unknown fatal: result", "error", r.get("result"))
        t.ok(name + " delete unknown fatal: error-reason", r.get("error-reason"), "a reason", r)


@suite.case
def unknown_command(t):
    for name, ng in transports(t):
        r = ng.cmd("frobnicate", call_id=call_id())
        t.eq(name + " result", "error", r.get("result"))
        t.eq(name + " error-reason", "Unrecognized command", r.get("error-reason"))


@suite.case
def missing_command(t):
    for name, ng in transports(t):
        r = ng.request({"call-id": "x"})
        t.eq(name + " no command: result", "error", r.get("result"))
        t.ok(name + " no command: error-reason", r.get("error-reason"), "a reason", r)


@suite.case
def malformed_bencode(t):
    d = D()
    r = d.ng.raw(b"c1 d3:foo", 1.0)
    t.need("UDP malformed: a reply", r is not None, "a reply", r)
    t.ok("UDP malformed: cookie echoed", r.startswith(b"c1 "), "c1 ...", r)
    body = text(bdecode(r[3:])) if r.startswith(b"c1 ") else {}
    t.eq("UDP malformed: result", "error", body.get("result"))
    t.ok("UDP malformed: error-reason", body.get("error-reason"), "a reason", body)
    if d.unix:
        r = d.unix.raw(b"d3:fooi1e4:abcd", shut_wr=True, timeout=2.0)
        t.ok("UNIX malformed: reply or close after EOF", r is not None, "reply or close", r)
        if r:
            body = text(bdecode(r))
            t.eq("UNIX malformed: result", "error", body.get("result"))
            t.ok("UNIX malformed: error-reason", body.get("error-reason"), "a reason", body)


@suite.case
def no_cookie_no_reply(t):
    d = D()
    t.eq("UDP request without cookie: no reply", None, d.ng.raw(b"d7:command4:pinge", 0.7))
    t.eq("UDP datagram of only a word: no reply", None, d.ng.raw(b"justacookie", 0.5))
    t.eq("still answers", {"result": "pong"}, d.ng.cmd("ping"))


@suite.case
def duplicate_cookie(t):
    """A retransmitted offer (same cookie, same source) gets the identical
    reply and allocates nothing new."""
    d = D()
    st0 = d.ng.cmd("statistics")
    used0, _ = stats_ports(st0)
    c = Call(d.ng)
    msg = {"supports": ["load limit"], "sdp": c.a.sdp(), "call-id": c.cid,
           "received-from": ["IP4", "127.0.0.1"], "from-tag": c.a_tag, "command": "offer"}
    cookie = "dup%d" % os.getpid()
    r1 = d.ng.exchange(bencode(msg), cookie=cookie)
    raw1 = d.ng.last_raw
    used1, _ = stats_ports(d.ng.cmd("statistics"))
    r2 = d.ng.exchange(bencode(msg), cookie=cookie)
    t.eq("second reply identical", raw1, d.ng.last_raw)
    used2, _ = stats_ports(d.ng.cmd("statistics"))
    t.ok("statistics reports ports in use", used1 is not None, "a number", used1)
    if used0 is not None and used1 is not None:
        t.ok("offer took ports", used1 > used0, "> %d" % used0, used1)
    t.eq("ports in use after the duplicate", used1, used2)
    # back to back: the copy arrives while the first may still be handled
    c2 = Call(d.ng)
    msg["call-id"] = c2.cid
    pkt = b"dup2%d " % os.getpid() + bencode(msg)
    d.ng.drain()
    for _ in range(3):
        d.ng.send_raw(pkt)
    replies = [d.ng.recv_raw(2.0) for _ in range(3)]
    t.ok("three replies to three copies", all(replies), "3 replies", replies)
    t.ok("all identical", len(set(replies)) == 1, "identical", [r[:80] if r else r for r in replies])
    used3, _ = stats_ports(d.ng.cmd("statistics"))
    if used1 is not None and used0 is not None and used3 is not None:
        t.eq("ports in use after 3 copies of one offer", used1 + (used1 - used0), used3)
    # same cookie from another source is a different request
    other = type(d.ng)(d.ng_addr)
    r = other.request({"command": "delete", "call-id": c2.cid, "from-tag": c.a_tag}, cookie=cookie)
    t.eq("same cookie, other source: executed, not replayed", "ok", r.get("result"))
    t.ok("same cookie, other source: a delete reply, not the cached offer",
         "sdp" not in r, "no sdp", r)
    other.close()
    c.delete()
    c.close()
    c2.close()


@suite.case
def json_bodies(t):
    for name, ng in transports(t):
        r = ng.request_json({"command": "ping"})
        t.eq(name + " JSON ping", {"result": "pong"}, r)
        a = Leg()
        cid = call_id()
        r = ng.request_json({"command": "offer", "call-id": cid, "from-tag": "j1", "sdp": a.sdp()})
        t.eq(name + " JSON offer result", "ok", r.get("result"))
        t.ok(name + " JSON offer sdp", "m=audio" in str(r.get("sdp")), "sdp", r)
        r = ng.request_json({"command": "delete", "call-id": cid, "from-tag": "j1"})
        t.eq(name + " JSON delete result", "ok", r.get("result"))
        a.close()


@suite.case
def query_and_delete_replies(t):
    d = D()
    c = Call(d.ng).setup()
    ga, gb = c.flow(10)
    q = t.result_ok("query", c.query())
    t.ok("query: created", isinstance(q.get("created"), int) and q["created"] > 1e9,
         "unix time", q.get("created"))
    legs = query_legs(q)
    t.ok("query: tags has both tags", c.a_tag in legs and c.b_tag in legs,
         [c.a_tag, c.b_tag], list(legs))
    tot = query_totals(q)
    for kind in ("RTP", "RTCP"):
        for k in ("packets", "bytes", "errors"):
            t.ok("query totals %s %s is an int" % (kind, k), isinstance(tot[kind][k], int),
                 "int", q.get("totals"))
    t.eq("query totals RTP packets", 20, tot["RTP"]["packets"])
    t.ok("query reply < 1400 bytes over UDP", len(d.ng.last_raw) < 1400, "< 1400",
         len(d.ng.last_raw))
    r = t.result_ok("delete", c.delete())
    t.ok("delete reply < 1400 bytes", len(d.ng.last_raw) < 1400, "< 1400", len(d.ng.last_raw))
    t.ok("delete reply has totals", "totals" in r, "totals", r)
    t.eq("delete totals RTP packets", 20, query_totals(r)["RTP"]["packets"])
    c.close()


@suite.case
def statistics_and_list(t):
    d = D()
    st = d.ng.cmd("statistics")
    t.eq("statistics result", "ok", st.get("result"))
    used0, free0 = stats_ports(st)
    s0 = stats_sessions(st)
    t.ok("ports in use reported", used0 is not None, "a number", st)
    t.ok("ports free reported", free0 is not None, "a number", st)
    t.ok("sessions reported", s0 is not None, "a number", st)
    c = Call(d.ng).setup()
    st = d.ng.cmd("statistics")
    used1, free1 = stats_ports(st)
    if used0 is not None and used1 is not None:
        t.eq("ports in use after offer+answer (2 streams x RTP+RTCP)", used0 + 4, used1)
    if free0 is not None and free1 is not None:
        t.eq("ports free after offer+answer", free0 - 4, free1)
    if s0 is not None:
        t.eq("sessions after one call", s0 + 1, stats_sessions(st))
    calls = list_calls(d.ng)
    t.ok("list has the call", c.cid in calls, c.cid, calls)
    c.delete()
    time.sleep(0.3)
    st = d.ng.cmd("statistics")
    t.eq("ports in use after delete", used0, stats_ports(st)[0])
    t.eq("sessions after delete", s0, stats_sessions(st))
    t.ok("list without the call", c.cid not in list_calls(d.ng), "absent", list_calls(d.ng))
    c.close()


@suite.case
def kamailio_vectors(t):
    """Replays Kamailio 5.6.3's offer/answer/query/delete byte for byte over
    each transport (the SDP's media ports are fake; only replies count)."""
    d = D()
    v = vectors_dir()
    for name, cli in (("udp", d.ng), ("unix", d.unix)):
        if cli is None:
            continue
        for step in ("02-offer", "03-answer", "04-query", "05-delete"):
            raw = open(os.path.join(v, "%s-%s.bin" % (name, step)), "rb").read()
            if name == "udp":
                cookie, body = raw.split(b" ", 1)
                try:
                    # a fresh cookie: the reply cache of an earlier run must not answer
                    rb = cli.exchange(body, cookie=cookie.decode() + "x%d" % os.getpid())
                except NoReply:
                    rb = None
            else:
                rb = cli.raw(raw)
            t.need("%s %s: reply" % (name, step), rb, "a reply", rb)
            r = text(bdecode(rb))
            t.eq("%s %s: result" % (name, step), "ok", r.get("result"))
            if step in ("02-offer", "03-answer"):
                t.ok("%s %s: sdp" % (name, step), "m=audio" in str(r.get("sdp")), "sdp", r)
                if r.get("sdp"):
                    check_sdp(t, "%s %s" % (name, step), d, r["sdp"])
                    t.ok("%s %s: ICE removed" % (name, step),
                         not re.search(r"a=(ice-|candidate)", r["sdp"]), "no ICE lines", r["sdp"])
            if step in ("04-query", "05-delete"):
                t.ok("%s %s: < 1400 bytes" % (name, step), len(rb) < 1400, "< 1400", len(rb))
                t.ok("%s %s: totals" % (name, step), "totals" in r, "totals", r)


@suite.case
def numbers_as_strings_and_unknown_keys(t):
    c = Call(D().ng)
    r = c.offer(ptime="20", TOS="184", label="x", **{"delete delay": "0", "x-unknown-key": {"a": [1, "b"]},
                                                      "transport protocol": "RTP/AVP",
                                                      "received from": ["IP4", "127.0.0.1"]})
    t.eq("offer with string numbers and unknown keys", "ok", r.get("result"))
    r = c.answer(flags=["trust-address", "codec-accept-PCMU", "some-unknown-flag"])
    t.eq("answer with flags words", "ok", r.get("result"))
    t.eq("delete", "ok", c.delete().get("result"))
    c.close()


@suite.case
def duplicate_cookie_later_and_delete(t):
    """The reply cache outlives a few seconds, and a repeated delete is not
    run twice (the copy gets the first, warning-free reply)."""
    d = D()
    c = Call(d.ng).setup()
    msg = {"call-id": c.cid, "from-tag": c.a_tag, "command": "delete"}
    cookie = "dd%d" % os.getpid()
    r1 = text(bdecode(d.ng.exchange(bencode(msg), cookie=cookie)))
    raw1 = d.ng.last_raw
    t.eq("delete result", "ok", r1.get("result"))
    t.ok("first delete: no warning", "warning" not in r1, "no warning", r1)
    time.sleep(3)
    d.ng.exchange(bencode(msg), cookie=cookie)
    t.eq("same delete 3 s later: identical reply", raw1, d.ng.last_raw)
    c.close()


@suite.case
def sdp_rewrite(t):
    """Session and media c= become the interface address; o= only with
    replace origin; ICE lines go with ICE remove; foreign lines stay."""
    d = D()
    c = Call(d.ng)
    sdp = ("v=0\r\no=alice 42 7 IN IP4 10.9.9.9\r\ns=call\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
           "a=ice-lite\r\nm=audio %d RTP/AVP 0\r\nc=IN IP4 127.0.0.1\r\na=rtpmap:0 PCMU/8000\r\n"
           "a=ice-ufrag:Ab12\r\na=ice-pwd:abcdefghijklmnopqrstuv\r\n"
           "a=candidate:1 1 UDP 2130706431 127.0.0.1 %d typ host\r\na=x-foo:bar\r\na=sendrecv\r\n"
           % (c.a.rtp_port, c.a.rtp_port))
    r = t.result_ok("offer with replace origin + ICE remove",
                    c.offer(sdp, replace=["origin", "session-connection"], ICE="remove"))
    out = r["sdp"]
    s = Sdp(out)
    t.eq("session c=", "127.0.0.1", s.conn)
    t.ok("every c= is the interface address",
         all(l.endswith(" 127.0.0.1") for l in out.splitlines() if l.startswith("c=")),
         "c=IN IP4 127.0.0.1", [l for l in out.splitlines() if l.startswith("c=")])
    t.ok("o= address replaced", s.origin and s.origin.endswith("IN IP4 127.0.0.1"), "... IN IP4 127.0.0.1",
         s.origin)
    t.ok("ICE attributes removed", not re.search(r"a=(ice-|candidate)", out), "none", out)
    t.ok("s=call kept", "s=call" in out.splitlines(), "s=call", out)
    t.ok("a=x-foo:bar kept", "a=x-foo:bar" in out.splitlines(), "a=x-foo:bar", out)
    t.ok("a=sendrecv kept", "a=sendrecv" in out.splitlines(), "a=sendrecv", out)
    c.delete()
    c2 = Call(d.ng)
    r = t.result_ok("offer without replace", c2.offer(sdp.replace("alice 42", "bob 43")))
    t.ok("o= untouched without replace origin", "o=bob 43 7 IN IP4 10.9.9.9" in r["sdp"].splitlines(),
         "o=bob 43 7 IN IP4 10.9.9.9", Sdp(r["sdp"]).origin)
    t.ok("lines kept, in order", [l for l in r["sdp"].splitlines() if l.startswith("a=x-foo")] == ["a=x-foo:bar"],
         "a=x-foo:bar once", r["sdp"])
    c2.delete()
    c.close()
    c2.close()


@suite.case
def several_m_lines(t):
    d = D()
    a2, b2 = Leg(), Leg()
    c = Call(d.ng)

    def two(leg, leg2):
        s = leg.sdp()
        return s + ("m=video %d RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=sendrecv\r\n" % leg2.rtp_port)
    r = t.result_ok("offer with audio + video", c.offer(two(c.a, a2)))
    so = Sdp(r["sdp"])
    t.need("two m= lines in the offer reply", len(so.media) == 2, 2, r["sdp"])
    t.eq("m= types", ["audio", "video"], [m["type"] for m in so.media])
    r = t.result_ok("answer with audio + video", c.answer(two(c.b, b2)))
    sa = Sdp(r["sdp"])
    t.need("two m= lines in the answer reply", len(sa.media) == 2, 2, r["sdp"])
    ports = [so.port(0), so.port(1), sa.port(0), sa.port(1)]
    t.eq("four distinct relay ports", 4, len(set(ports)))
    t.ok("all in range and even", all(d.port_min <= p <= d.port_max and p % 2 == 0 for p in ports),
         "even, in range", ports)
    # media on the second stream
    a2.peer = (sa.addr(1), sa.port(1), sa.rtcp_port(1))
    b2.peer = (so.addr(1), so.port(1), so.rtcp_port(1))
    a2.send_rtp(5, 0, pt=96)
    b2.send_rtp(5, 0, pt=96)
    gb, ga = b2.recv_rtp(5), a2.recv_rtp(5)
    t.eq("video stream both ways", (5, 5), (len(gb), len(ga)))
    t.eq("video A->B from the video port advertised to B", {("127.0.0.1", so.port(1))}, {s for _, s in gb})
    t.eq("no video on the audio legs", (0, 0), (len(c.a.recv_rtp(timeout=0.2)), len(c.b.recv_rtp(timeout=0.2))))
    q = c.query()
    t.ok("query reply with two streams < 1400 bytes", len(d.ng.last_raw) < 1400, "< 1400", len(d.ng.last_raw))
    c.delete()
    c.close()
    a2.close()
    b2.close()


@suite.case
def reoffer_keeps_ports(t):
    """A re-INVITE's offer (same call, same tags) and a repeated answer keep
    the streams' ports instead of taking new ones."""
    d = D()
    c = Call(d.ng).setup()
    p1 = c.relay_ports()
    used1, _ = stats_ports(d.ng.cmd("statistics"))
    t.result_ok("re-offer", c.offer())
    t.result_ok("re-answer", c.answer())
    t.eq("relay ports after re-offer/answer", p1, c.relay_ports())
    t.eq("ports in use after re-offer/answer", used1, stats_ports(d.ng.cmd("statistics"))[0])
    gb, ga = c.flow(5)
    t.eq("media after re-offer", (5, 5), (len(gb), len(ga)))
    c.delete()
    c.close()


@suite.case
def two_interfaces_direction(t):
    """--interface is repeatable with names; direction [offerer side,
    answerer side] picks the address each leg is shown (rtpengine's rule)."""
    with Daemon(ports=20, interface=None,
                args=["--interface=priv/127.0.0.1", "--interface=pub/127.0.0.1!203.0.113.9"]) as d:
        c = Call(d.ng)
        r = t.result_ok("offer priv->pub", c.offer(direction=["priv", "pub"]))
        t.eq("offer reply (to the callee, pub side): c=", "203.0.113.9", Sdp(r["sdp"]).addr())
        r = t.result_ok("answer", c.answer())
        t.eq("answer reply (to the caller, priv side): c=", "127.0.0.1", Sdp(r["sdp"]).addr())
        c2 = Call(d.ng)
        r = t.result_ok("offer pub->priv", c2.offer(direction=["pub", "priv"]))
        t.eq("offer reply (priv side): c=", "127.0.0.1", Sdp(r["sdp"]).addr())
        r = t.result_ok("answer", c2.answer())
        t.eq("answer reply (pub side): c=", "203.0.113.9", Sdp(r["sdp"]).addr())
        c3 = Call(d.ng)
        t.eq("offer without direction: result", "ok", c3.offer().get("result"))
        for x in (c, c2, c3):
            x.delete()
            x.close()


@suite.case
def unix_reply_in_one_read(t):
    """Kamailio reads the reply with a single read(): a big offer reply
    must be whole in the first chunk."""
    d = D()
    if not d.unix:
        t.skip("no UNIX socket")
    short = 0
    for i in range(15):
        c = Call(d.unix)
        sdp = c.a.sdp(extra=["a=x-pad%d:%s" % (j, "p" * 90) for j in range(60)])
        msg = {"sdp": sdp, "call-id": c.cid, "from-tag": c.a_tag, "command": "offer"}
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(3)
        s.connect(d.sock_path)
        s.sendall(bencode(msg))
        first = s.recv(1 << 20)
        s.close()
        try:
            r = text(bdecode(first))
        except Exception:
            short += 1
            continue
        if r.get("result") == "ok":
            d.ng.cmd("delete", call_id=c.cid, from_tag=c.a_tag)
        c.close()
    t.eq("replies (~6 KB) not whole in the first read, of 15", 0, short)


@suite.case
def callee_side_requests(t):
    """Kamailio swaps the tags for requests from the callee's side: a
    re-INVITE from B (offer from-tag=B to-tag=A), its answer from A, a
    query and a BYE's delete with from-tag=B all hit the same call."""
    d = D()
    c = Call(d.ng).setup()
    to_b, to_a = c.relay_ports()
    used = stats_ports(d.ng.cmd("statistics"))[0]
    r = d.ng.cmd("offer", call_id=c.cid, from_tag=c.b_tag, to_tag=c.a_tag, sdp=c.b.sdp(),
                 received_from=["IP4", "127.0.0.1"])
    t.eq("re-offer from the callee: result", "ok", r.get("result"))
    if r.get("sdp"):
        t.eq("callee's re-offer reply: the port A sends to", to_a, Sdp(r["sdp"]).port())
    r = d.ng.cmd("answer", call_id=c.cid, from_tag=c.b_tag, to_tag=c.a_tag, sdp=c.a.sdp(),
                 received_from=["IP4", "127.0.0.1"])
    t.eq("its answer from the caller: result", "ok", r.get("result"))
    if r.get("sdp"):
        t.eq("caller's answer reply: the port B sends to", to_b, Sdp(r["sdp"]).port())
    t.eq("ports in use unchanged", used, stats_ports(d.ng.cmd("statistics"))[0])
    gb, ga = c.flow(5)
    t.eq("media after the callee's re-INVITE", (5, 5), (len(gb), len(ga)))
    q = d.ng.cmd("query", call_id=c.cid, from_tag=c.b_tag, to_tag=c.a_tag)
    t.eq("query with swapped tags", "ok", q.get("result"))
    r = d.ng.cmd("delete", call_id=c.cid, from_tag=c.b_tag)
    t.eq("delete from the callee's side: result", "ok", r.get("result"))
    t.ok("...without a warning", "warning" not in r, "no warning", r)
    time.sleep(0.2)
    t.ok("call gone", c.cid not in list_calls(d.ng), "gone", list_calls(d.ng))
    c.close()


@suite.case
def odd_call_ids(t):
    """Call-IDs with spaces, quotes, non-ASCII and 400 characters work and
    come back from list unchanged."""
    d = D()
    for cid in ("with space@host", 'q"uo\'te', "\u00e9t\u00e9-\u4e2d@x", "x" * 400):
        c = Call(d.ng, cid=cid)
        r = c.offer()
        t.eq("offer with call-id %r: result" % cid[:20], "ok", r.get("result"))
        t.ok("listed unchanged: %r" % cid[:20], cid in list_calls(d.ng), "listed", list_calls(d.ng))
        c.delete()
        c.close()


@suite.case
def reply_cache_30s(t):
    """CONTROL.md: the UDP reply cache keeps a reply at least 30 s. The
    offer sent when the daemon started is repeated 31 s later: the same
    bytes come back and the (deleted) call is not created again."""
    d = D()
    wait = _early["t"] + 31 - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    d.ng.exchange(bencode(_early["msg"]), cookie="rc30-%d" % os.getpid())
    t.eq("reply to the 31 s old cookie", _early["raw"], d.ng.last_raw)
    t.ok("call not created again", _early["cid"] not in list_calls(d.ng), "absent", list_calls(d.ng))


@suite.case
def reply_cache_past_its_cap(t):
    """The reply cache keeps its newest 200,000 replies once it is full:
    after 200,500 requests a delete repeated under its cookie, with another
    request in between, still gets the first reply and does not run again.
    (Before 3a80679 the first eviction broke the cache's byte count and
    every later request emptied it: the copy ran the delete a second time
    and got "Call-ID not found".)"""
    with Daemon(ports=100) as d:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(5)
        s.connect(d.ng_addr)
        total, window, sent, got = 200500, 64, 0, 0
        ping = bencode({"command": "ping"})
        tag = b"cap%d." % os.getpid()
        try:
            while got < total:
                while sent - got < window and sent < total:
                    s.send(tag + b"%d " % sent + ping)
                    sent += 1
                s.recv(65536)
                got += 1
        except socket.timeout:
            pass
        s.close()
        t.eq("pings answered", total, got)
        c = Call(d.ng).setup()
        msg = {"call-id": c.cid, "from-tag": c.a_tag, "command": "delete"}
        cookie = "capdel%d" % os.getpid()
        r1 = text(bdecode(d.ng.exchange(bencode(msg), cookie=cookie)))
        raw1 = d.ng.last_raw
        t.ok("first delete: ok, no warning", r1.get("result") == "ok" and "warning" not in r1,
             "ok", r1)
        d.ng.cmd("ping")
        d.ng.exchange(bencode(msg), cookie=cookie)
        t.eq("the repeated delete: the first reply", raw1, d.ng.last_raw)
        c.close()


@suite.case
def burst_spreads_across_workers(t):
    """Ten offers sent back to back, before any reply: the calls are spread
    evenly over the two workers (the control thread counts what it handed
    out; the workers' own counters lag behind a burst)."""
    with Daemon(ports=100, args=["--num-threads=2"]) as d:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(3)
        sdp = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
               "t=0 0\r\nm=audio 30000 RTP/AVP 0\r\n")
        ids = [call_id() for _ in range(10)]
        for i, cid in enumerate(ids):
            s.sendto(b"burst%d " % i + bencode({"command": "offer", "call-id": cid,
                                                "from-tag": "ft", "sdp": sdp}), d.ng_addr)
        for _ in ids:
            s.recv(8192)
        st = d.ng.cmd("statistics")["statistics"]
        got = sorted(w["sessions"] for w in st["workers"])
        t.eq("sessions per worker", [5, 5], got)
        for cid in ids:
            d.ng.cmd("delete", call_id=cid, from_tag="ft")
        s.close()


@suite.case
def burst_replies_share_one_buffer(t):
    """Thirty offers and five retransmits sent back to back, before any
    reply: the replies of a batch are written end to end into one buffer
    that grows past its first 16 KB within a batch (the offers carry up
    to 3 KB of SDP each, 1.5 KB on average). Every reply reaches its own cookie with its own
    call's SDP, and a retransmit's reply is the original's."""
    with Daemon(ports=300) as d:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(3)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        pad = ["a=x-pad%d:%s" % (k, "p" * 150) for k in range(20)]
        ids = [call_id() for _ in range(30)]
        pkts = []
        for i, cid in enumerate(ids):
            sdp = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
                   "t=0 0\r\nm=audio %d RTP/AVP 0\r\na=x-burst:%d\r\n" % (30000 + 2 * i, i)
                   + "".join(l + "\r\n" for l in pad[:i % 21]))
            pkts.append(b"burst%d " % i + bencode({"command": "offer", "call-id": cid,
                                                   "from-tag": "ft", "sdp": sdp}))
        order = pkts[:12] + [pkts[3], pkts[7]] + pkts[12:25] + [pkts[20], pkts[0], pkts[24]] + pkts[25:]
        for p in order:
            s.sendto(p, d.ng_addr)
        got = {}
        for _ in order:
            raw = s.recv(65536)
            cookie, _, body = raw.partition(b" ")
            got.setdefault(cookie.decode(), []).append(body)
        t.eq("replies per cookie", [2 if i in (0, 3, 7, 20, 24) else 1 for i in range(30)],
             [len(got.get("burst%d" % i, [])) for i in range(30)])
        for i in range(30):
            bodies = got.get("burst%d" % i, [])
            if not bodies:
                continue
            r = text(bdecode(bodies[0]))
            t.eq("burst%d: result" % i, "ok", r.get("result"))
            lines = r.get("sdp", "").splitlines()
            t.ok("burst%d: its own SDP" % i, "a=x-burst:%d" % i in lines
                 and sum(l.startswith("a=x-pad") for l in lines) == i % 21,
                 "a=x-burst:%d and %d pad lines" % (i, i % 21), lines[:8])
            t.ok("burst%d: retransmit answered alike" % i, len(set(bodies)) == 1,
                 "identical", [b[:60] for b in bodies])
        for cid in ids:
            d.ng.cmd("delete", call_id=cid, from_tag="ft")
        s.close()


if __name__ == "__main__":
    suite.run()
