"""Malformed control input never crashes the daemon, always gets an error
(or, for UDP without a cookie, nothing), leaves no half-made call, and a
call set up before keeps relaying. Issue 2 items 5, 6, 8, 15.
Run: RTPGATE=build/relay/rtpgate PYTHONPATH=tests/lib python3 tests/daemon/test_malformed.py"""

import os
import random
import socket
import time

from rgtest import (BencodeError, Call, Daemon, NgUdp, Suite, bdecode, bencode, list_calls,
                    stats_ports, text, vectors_dir)

suite = Suite(case_timeout=40)
_d = []
_canary = []


def D():
    if not _d:
        d = Daemon(ports=60, args=["--log-level=6"]).start()
        _d.append(d)
        _canary.append(Call(d.ng).setup())
    return _d[0]


def canary_ok(t, what):
    d = D()
    t.need(what + ": daemon alive", d.alive(), "alive", d.tail())
    gb, ga = _canary[0].flow(5, pace=0)
    t.eq(what + ": canary call flows both ways", (5, 5), (len(gb), len(ga)))
    t.eq(what + ": UDP ping", "pong", d.ng.cmd("ping").get("result"))
    if d.unix:
        t.eq(what + ": UNIX ping", "pong", d.unix.cmd("ping").get("result"))


def udp_reply(t, what, body, want_error=True):
    """Sends '<cookie> body'; the reply must come, echo the cookie and be
    result error with an error-reason."""
    d = D()
    cookie = b"m%06x" % random.getrandbits(24)
    r = d.ng.raw(cookie + b" " + body, 2.0)
    if r is None:
        return t.fail(what + " (UDP)", "an error reply", "no reply")
    if not r.startswith(cookie + b" "):
        return t.fail(what + " (UDP)", "cookie echoed", r[:60])
    try:
        v = text(bdecode(r[len(cookie) + 1:]))
    except BencodeError as e:
        return t.fail(what + " (UDP)", "a bencode reply", "%s: %r" % (e, r[:80]))
    if want_error:
        t.ok(what + " (UDP): result error with error-reason",
             v.get("result") == "error" and v.get("error-reason"), "error + reason", v)
    return v


def unix_reply(t, what, body, want_error=True):
    d = D()
    if not d.unix:
        return None
    r = d.unix.raw(body, timeout=2.0, shut_wr=True)
    if r is None:
        return t.fail(what + " (UNIX)", "a reply or a close after EOF", "nothing within 2 s")
    if r == b"":
        return None       # closed without a reply: acceptable for undecodable input
    # whatever precedes the first space may have been taken as a cookie and echoed
    ck = body.split(b" ", 1)[0] + b" " if b" " in body else None
    if ck and r.startswith(ck) and not body.startswith((b"d", b"l", b"i")):
        r = r[len(ck):]
    try:
        v = text(bdecode(r))
    except BencodeError as e:
        return t.fail(what + " (UNIX)", "a bencode reply", "%s: %r" % (e, r[:80]))
    if want_error:
        t.ok(what + " (UNIX): result error with error-reason",
             v.get("result") == "error" and v.get("error-reason"), "error + reason", v)
    return v


BAD_BENCODE = [
    ("truncated dict", b"d7:command4:pin"),
    ("truncated key", b"d7:comm"),
    ("lone d", b"d"),
    ("lone l", b"l"),
    ("unterminated int", b"i12"),
    ("string past end", b"d7:command400:ping"),
    ("non-dict int", b"i42e"),
    ("non-dict string", b"4:ping"),
    ("non-dict list", b"le"),
    ("list of dicts", b"ld7:command4:pingee"),
    ("empty dict", b"de"),
    ("int key", b"di1e4:pinge"),
    ("garbage", b"\x00\xff\xfe hello"),
    ("negative length", b"d7:command-4:pinge"),
    ("huge length", b"d7:command99999999999999999999:pinge"),
    ("huge int", b"d7:commandi99999999999999999999999999999999ee"),
    ("leading-zero length", b"d07:command4:pinge"),
    ("trailing bytes", b"d7:command4:pingeXYZ"),
    ("deep nesting", b"d7:command4:ping1:x" + b"l" * 5000 + b"e" * 5000 + b"e"),
    ("int with letters", b"d7:command4:ping1:xi1a2ee"),
]


@suite.case
def bad_bencode(t):
    for what, body in BAD_BENCODE:
        # 'trailing bytes' and 'leading-zero length' may be tolerated
        v = udp_reply(t, what, body, want_error=what not in ("trailing bytes", "leading-zero length", "deep nesting"))
        unix_reply(t, what, body, want_error=False)
    canary_ok(t, "after bad bencode")


@suite.case
def wrong_types(t):
    d = D()
    sdp = _canary[0].a.sdp()
    base = {"call-id": "wt-%d" % os.getpid(), "from-tag": "wt", "sdp": sdp}
    cases = [
        ("command is an int", {"command": 5}),
        ("command is a list", {"command": ["offer"]}),
        ("command is a dict", {"command": {"a": "b"}}),
        ("call-id is a dict", dict(base, command="offer", **{"call-id": {"x": 1}})),
        ("call-id is an int", dict(base, command="offer", **{"call-id": 7})),
        ("from-tag is a list", dict(base, command="offer", **{"from-tag": ["a"]})),
        ("sdp is an int", dict(base, command="offer", sdp=42)),
        ("sdp is a list", dict(base, command="offer", sdp=[sdp])),
    ]
    for what, msg in cases:
        v = udp_reply(t, what, bencode(msg))
        unix_reply(t, what, bencode(msg))
    # wrong types in optional keys: an error or ok, but a reply and no crash
    soft = [
        ("flags is a string", {"flags": "trust-address"}),
        ("flags holds ints", {"flags": [1, 2, {"x": 1}]}),
        ("received-from is a string", {"received-from": "127.0.0.1"}),
        ("received-from too short", {"received-from": ["IP4"]}),
        ("supports is an int", {"supports": 1}),
        ("replace is a dict", {"replace": {"origin": 1}}),
        ("codec is a list", {"codec": ["mask", "PCMU"]}),
        ("codec mask is a string", {"codec": {"mask": "PCMU"}}),
        ("ptime is garbage", {"ptime": "abc"}),
        ("delete delay negative", {"delete delay": -5}),
        ("rtcp-mux is a dict", {"rtcp-mux": {"demux": 1}}),
        ("ICE is a list", {"ICE": ["remove"]}),
    ]
    for i, (what, extra) in enumerate(soft):
        msg = dict(base, command="offer", **{"call-id": "soft-%d-%d" % (os.getpid(), i)})
        msg.update(extra)
        v = udp_reply(t, what, bencode(msg), want_error=False)
        if v and v.get("result") == "ok":
            d.ng.cmd("delete", call_id=msg["call-id"], from_tag="wt", **{"delete delay": 0})
    canary_ok(t, "after wrong types")


@suite.case
def missing_keys(t):
    sdp = _canary[0].a.sdp()
    for what, msg in [
        ("offer without call-id", {"command": "offer", "from-tag": "x", "sdp": sdp}),
        ("offer without from-tag", {"command": "offer", "call-id": "mk1", "sdp": sdp}),
        ("offer without sdp", {"command": "offer", "call-id": "mk2", "from-tag": "x"}),
        ("answer for no call", {"command": "answer", "call-id": "mk3", "from-tag": "x",
                                "to-tag": "y", "sdp": sdp}),
        ("query without call-id", {"command": "query"}),
        ("query for no call", {"command": "query", "call-id": "mk4"}),
        ("delete without call-id", {"command": "delete", "from-tag": "x"}),
    ]:
        udp_reply(t, what, bencode(msg))
        unix_reply(t, what, bencode(msg))
    calls = list_calls(D().ng)
    t.eq("no half-made calls listed", [], [c for c in calls if c.startswith("mk") or c == ""])
    canary_ok(t, "after missing keys")


def bad_sdps(port):
    ok_head = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    return [
        # (what, sdp, must be an error)
        ("garbage text", "hello world, not an SDP", True),
        ("empty sdp", "", True),
        ("m= port not a number", ok_head + "m=audio abc RTP/AVP 0\r\n", True),
        ("m= port 70000", ok_head + "m=audio 70000 RTP/AVP 0\r\n", True),
        ("c= bad address", ok_head.replace("c=IN IP4 127.0.0.1", "c=IN IP4 999.1.1.1")
         + "m=audio %d RTP/AVP 0\r\n" % port, True),
        ("m= line cut short", ok_head + "m=audio\r\n", True),
        ("no c= anywhere", ok_head.replace("c=IN IP4 127.0.0.1\r\n", "")
         + "m=audio %d RTP/AVP 0\r\n" % port, True),
        ("NUL bytes", ok_head + "m=audio %d RTP/AVP 0\r\na=x\x00y\r\n" % port, False),
        ("no m= line", ok_head, False),
        ("only v=", "v=0\r\n", True),
        ("a=rtcp garbage", ok_head + "m=audio %d RTP/AVP 0\r\na=rtcp:xyz\r\n" % port, False),
        ("a=rtcp 99999", ok_head + "m=audio %d RTP/AVP 0\r\na=rtcp:99999\r\n" % port, False),
        ("LF line ends, no final newline", ok_head.replace("\r\n", "\n") + "m=audio %d RTP/AVP 0" % port, False),
        ("very long line", ok_head + "m=audio %d RTP/AVP 0\r\na=x-long:%s\r\n" % (port, "z" * 60000), False),
        ("200 m= lines", ok_head + "".join("m=audio %d RTP/AVP 0\r\n" % (port + 2 * i) for i in range(200)), False),
        ("m= port 0 (disabled)", ok_head + "m=audio 0 RTP/AVP 0\r\n", False),
        ("IP6 c= with IP4 address", ok_head.replace("IN IP4 127.0.0.1\r\nt", "IN IP6 127.0.0.1\r\nt")
         + "m=audio %d RTP/AVP 0\r\n" % port, False),
    ]


@suite.case
def bad_sdp(t):
    d = D()
    used0 = stats_ports(d.ng.cmd("statistics"))[0]
    failed = []
    for i, (what, sdp, must_err) in enumerate(bad_sdps(_canary[0].a.rtp_port)):
        cid = "bs-%d-%d" % (os.getpid(), i)
        msg = {"command": "offer", "call-id": cid, "from-tag": "bs", "sdp": sdp}
        v = udp_reply(t, "offer with SDP: " + what, bencode(msg), want_error=must_err)
        if v and v.get("result") == "ok":
            d.ng.cmd("delete", call_id=cid, from_tag="bs", **{"delete delay": 0})
        elif v:
            failed.append(cid)
        if must_err and v and v.get("error-reason"):
            print("  (%s -> %s)" % (what, v.get("error-reason")))
    # an answer with bad SDP to a good offer
    c = Call(d.ng)
    t.result_ok("good offer", c.offer())
    r = c.answer(sdp="not an sdp at all")
    t.eq("answer with garbage SDP: result", "error", r.get("result"))
    t.result_ok("the same answer with a good SDP afterwards", c.answer())
    gb, ga = c.flow(5, pace=0)
    t.eq("that call flows", (5, 5), (len(gb), len(ga)))
    c.delete(**{"delete delay": 0})
    c.close()
    time.sleep(0.3)
    t.eq("ports in use back to the canary's", used0, stats_ports(d.ng.cmd("statistics"))[0])
    t.eq("no call left by a failed offer", [], [c for c in list_calls(d.ng) if c in failed])
    canary_ok(t, "after bad SDP")


@suite.case
def bad_json(t):
    for what, body in [("lone brace", b"{"), ("command is a number", b'{"command": 5}'),
                       ("array", b"[1,2]"), ("sdp is a number", b'{"command":"offer","call-id":"j","from-tag":"x","sdp":123}'),
                       ("bad utf-8", b'{"command":"ping\xff\xfe"}'),
                       ("deep", b"{" + b'"a":{' * 3000 + b"}" * 3000 + b"}")]:
        d = D()
        cookie = b"j%05x" % random.getrandbits(20)
        r = d.ng.raw(cookie + b" " + body, 2.0)
        t.ok(what + ": a reply", r is not None and r.startswith(cookie + b" "), "cookie + reply", r)
        if d.unix:
            r = d.unix.raw(body, timeout=2.0, shut_wr=True, parse=None)
            t.ok(what + " (UNIX): reply or close", r is not None, "reply or close", r)
    canary_ok(t, "after bad JSON")


@suite.case
def big_requests(t):
    d = D()
    big = bencode({"command": "offer", "call-id": "big", "from-tag": "x", "sdp": "v=0\r\n" + "a=x\r\n" * 12000})
    udp_reply(t, "60 KB UDP offer", big[:65000], want_error=True)
    if d.unix:
        huge = bencode({"command": "ping", "junk": "x" * (2 << 20)})
        r = d.unix.raw(huge, timeout=5.0, shut_wr=False)
        t.ok("2 MB UNIX request: error reply or close", r is not None, "reply or close", r)
    canary_ok(t, "after big requests")


@suite.case
def unix_connection_abuse(t):
    d = D()
    if not d.unix:
        t.skip("no UNIX socket")
    idle = []
    for _ in range(20):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(d.sock_path)
        idle.append(s)
    half = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    half.connect(d.sock_path)
    half.sendall(b"d7:command4:pi")   # half a request, then silence
    t0 = time.monotonic()
    t.eq("ping over UNIX with 21 idle connections open", "pong", d.unix.cmd("ping").get("result"))
    t.eq("ping over UDP meanwhile", "pong", d.ng.cmd("ping").get("result"))
    t.ok("answered quickly", time.monotonic() - t0 < 1.0, "< 1 s", time.monotonic() - t0)
    # a request written in slow pieces
    raw = open(os.path.join(vectors_dir(), "unix-01-ping.bin"), "rb").read()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(3)
    s.connect(d.sock_path)
    for i in range(0, len(raw), 4):
        s.sendall(raw[i:i + 4])
        time.sleep(0.05)
    got = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
            try:
                bdecode(got)
                break
            except BencodeError:
                continue
    except socket.timeout:
        pass
    s.close()
    t.eq("ping written 4 bytes at a time", {"result": "pong"}, text(bdecode(got)) if got else got)
    # clients that vanish before the reply
    for _ in range(10):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(d.sock_path)
        s.sendall(bencode({"command": "statistics"}))
        s.close()
    for s in idle + [half]:
        s.close()
    time.sleep(0.2)
    canary_ok(t, "after UNIX abuse")


@suite.case
def udp_odd_datagrams(t):
    d = D()
    for what, pkt in [("empty", b""), ("one space", b" "), ("cookie and space", b"abc "),
                      ("cookie only", b"abc"), ("space then body", b" d7:command4:pinge"),
                      ("two spaces", b"abc  d7:command4:pinge"), ("binary", bytes(range(256)))]:
        r = d.ng.raw(pkt, 0.3)
        t.ok(what + ": no reply, or an error reply", r is None or b"error" in r, "none or error", r)
    canary_ok(t, "after odd datagrams")


@suite.case
def bad_media_packets(t):
    """Junk on the media ports, from the latched legs themselves and from a
    stranger: empty, tiny, non-RTP, oversized (64 KB), bad RTCP lengths,
    random bytes. Nothing crashes, the call keeps relaying."""
    d = D()
    c = _canary[0]
    c.flow(2, pace=0)
    c.a.send_rtcp(1)
    c.b.send_rtcp(1)
    c.a.drain()
    c.b.drain()
    rnd = random.Random(99)
    junk = [b"", b"\x80", b"\x80\x00" + bytes(9), bytes(12), b"\x00" * 172,
            b"\x80\x00" + bytes(65000), b"\xbf\xff" + bytes(40),           # 15 CSRCs, short
            b"\x90\x00" + bytes(10) + b"\x00\x00\xff\xff",            # extension past the end
            b"\xa0\x00" + bytes(10) + b"\xff",                          # padding longer than packet
            b"\x80\xc8\xff\xff" + bytes(20),                           # RTCP length past the end
            b"\x80\xc9\x00\x00", b"\x81\xca\x00\x01" + bytes(4)]
    junk += [bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 300))) for _ in range(100)]
    x = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    x.bind(("127.0.0.1", 0))
    for sender in (c.a, c.b):
        for p in junk:
            for sock, port in ((sender.rtp, sender.peer[1]), (sender.rtcp, sender.peer[2])):
                try:
                    sock.sendto(p, (sender.peer[0], port))
                    x.sendto(p, (sender.peer[0], port))
                except OSError:
                    pass
    time.sleep(0.3)
    c.a.drain()
    c.b.drain()
    x.close()
    canary_ok(t, "after junk media")
    c.a.send_rtcp(2)
    t.eq("canary RTCP after junk", 2, len(c.b.recv_rtcp(2)))


@suite.case
def mutation_fuzz(t):
    """400 mutated copies of Kamailio's requests (fixed seed) over UDP."""
    d = D()
    rnd = random.Random(1234)
    v = vectors_dir()
    seeds = [open(os.path.join(v, f), "rb").read().split(b" ", 1)[1]
             for f in sorted(os.listdir(v)) if f.startswith("udp-")]
    fuzzer = NgUdp(d.ng_addr)
    answered = 0
    for i in range(400):
        b = bytearray(rnd.choice(seeds))
        for _ in range(rnd.randint(1, 6)):
            op = rnd.random()
            pos = rnd.randrange(len(b))
            if op < 0.4:
                b[pos] = rnd.randrange(256)
            elif op < 0.6:
                del b[pos:pos + rnd.randint(1, 20)]
            elif op < 0.8:
                b[pos:pos] = b"".join(rnd.choice([b"e", b"d", b"l", b"i", b":", b"9", b"0"]) for _ in range(rnd.randint(1, 4)))
            else:
                b = b[:pos]
            if not b:
                b = bytearray(b"d")
        r = fuzzer.raw(b"f%d " % i + bytes(b), 0.5)
        answered += r is not None
        if not d.alive():
            break
    fuzzer.close()
    t.ok("fuzzed requests answered", answered >= 390, ">= 390 of 400", answered)
    # fuzzed offers may have made calls; delete them all but the canary
    for cid in list_calls(d.ng):
        if cid != _canary[0].cid:
            d.ng.cmd("delete", call_id=cid, **{"delete delay": 0})
    canary_ok(t, "after fuzzing")


if __name__ == "__main__":
    suite.run()
