"""SDES-SRTP through the real daemon (issue 6 items 1-3): RTP<->SRTP both
ways, SRTP<->SRTP with four different keys, SRTCP, every suite, the SDES
flags, forged/tampered/replayed packets dropped and counted and never
latching, and a stream that crosses the 65,536 sequence rollover.

The SRTP party's cryptography is tests/daemon/srtp_peer, a small C program on
libsrtp2 directly (none of rtpgate's code): that is the interop peer.
Run: RTPGATE=build/relay/rtpgate SRTP_PEER=build/tests/daemon/srtp_peer \
     PYTHONPATH=tests/lib python3 tests/daemon/test_srtp.py"""

import base64
import os
import random
import re
import socket
import subprocess
import time

from rgtest import (Call, Daemon, Leg, Sdp, Suite, is_rtcp, rtcp_sr, rtp_build, rtp_parse,
                    wait_until)

SUITES = ["AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32",
          "AEAD_AES_128_GCM", "AEAD_AES_256_GCM"]
KEYLEN = {"AES_CM_128_HMAC_SHA1_80": 30, "AES_CM_128_HMAC_SHA1_32": 30,
          "AEAD_AES_128_GCM": 28, "AEAD_AES_256_GCM": 44}

suite = Suite(case_timeout=90)
_d = []


def D():
    if not _d:
        _d.append(Daemon(ports=200).start())
    return _d[0]


def peer_exe():
    p = os.environ.get("SRTP_PEER")
    if not p:
        here = os.path.dirname(os.path.abspath(__file__))
        p = os.path.join(here, "..", "..", "build", "tests", "daemon", "srtp_peer")
    return p


class Peer:
    """An SRTP endpoint's contexts (libsrtp2 in srtp_peer): tx protects what
    it sends, rx unprotects what it receives."""

    def __init__(self, suite_name, tx_key, rx_key):
        self.p = subprocess.Popen([peer_exe(), suite_name, tx_key.hex(), rx_key.hex()],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  bufsize=0)

    def _ask(self, op, pkts):
        self.p.stdin.write(b"".join(b"%s %s\n" % (op, p.hex().encode()) for p in pkts))
        out = []
        for _ in pkts:
            line = self.p.stdout.readline().decode().split()
            out.append(bytes.fromhex(line[1]) if line and line[0] == "ok" else
                       int(line[1]) if len(line) > 1 else -99)
        return out

    def protect(self, pkts, rtcp=False):
        return self._ask(b"P" if rtcp else b"p", pkts)

    def unprotect(self, pkts, rtcp=False):
        """Plain bytes per packet, or libsrtp's error code (int)."""
        return self._ask(b"U" if rtcp else b"u", pkts)

    def close(self):
        self.p.stdin.close()
        self.p.wait(5)
        self.p.stdout.close()


def cryptos(body, i=0):
    """[(tag, suite, key||salt bytes)] of media i's a=crypto lines."""
    out = []
    for a in Sdp(body).media[i]["attrs"]:
        m = re.match(r"crypto:(\d+) (\S+) inline:([A-Za-z0-9+/=]+)", a)
        if m:
            out.append((int(m.group(1)), m.group(2), base64.b64decode(m.group(3))))
    return out


def crypto_attr(tag, suite_name, key):
    return "a=crypto:%d %s inline:%s" % (tag, suite_name, base64.b64encode(key).decode())


def srtp_sdp(leg, lines, proto="RTP/SAVP"):
    return leg.sdp(extra=lines).replace(" RTP/AVP ", " %s " % proto)


def new_key(suite_name):
    return os.urandom(KEYLEN[suite_name])


def stats_dropped(ng):
    st = ng.cmd("statistics")["statistics"]["packets"]["dropped"]
    return {k: int(v) for k, v in st.items()}


def send_recv(t, what, src_sock, dst, pkts, rx_sock, expect_src, pace=0.001):
    """Sends pkts from src_sock to dst; returns what rx_sock got (data list)
    and checks each came from expect_src."""
    for p in pkts:
        src_sock.sendto(p, dst)
        if pace:
            time.sleep(pace)
    got = Leg._recv(rx_sock, len(pkts), 3.0, 0.5)
    srcs = {s for _, s in got}
    if got:
        t.eq(what + ": source", {expect_src}, srcs)
    return [d for d, _ in got]


def rtp_pkts(leg, n, seq0=None, plen=160):
    seq = leg.seq if seq0 is None else seq0
    out = []
    for i in range(n):
        seq = (seq + 1) & 0xffff
        leg.ts = (leg.ts + 160) & 0xffffffff
        out.append(rtp_build(seq, leg.ts, leg.ssrc, plen=plen,
                             payload=bytes(random.getrandbits(8) for _ in range(plen))))
    leg.seq = seq
    return out


class Bridge:
    """A call where either side may be SRTP. a_srtp/b_srtp: the suite that
    party uses or None for plain RTP."""

    def __init__(self, t, a_suite=None, b_suite=None, offer_kw=None, b_pick=None):
        self.t = t
        self.c = Call(D().ng)
        self.a_suite, self.b_suite = a_suite, b_suite
        kw = dict(offer_kw or {})
        a_lines = []
        if a_suite:
            # A offers every suite with its own keys, the wanted one first
            self.a_keys = {s: new_key(s) for s in SUITES}
            order = [a_suite] + [s for s in SUITES if s != a_suite]
            a_lines = [crypto_attr(i + 1, s, self.a_keys[s]) for i, s in enumerate(order)]
            self.a_tag = 1
            sdp = srtp_sdp(self.c.a, a_lines)
        else:
            sdp = self.c.a.sdp()
        if b_suite and not a_suite:
            kw.setdefault("transport_protocol", "RTP/SAVP")
        if a_suite and not b_suite:
            kw.setdefault("transport_protocol", "RTP/AVP")
        r = self.c.offer(sdp=sdp, **kw)
        t.need("offer ok", r.get("result") == "ok", "ok", r)
        self.offer_sdp = r["sdp"]
        off = Sdp(r["sdp"]).media[0]
        self.offered = cryptos(r["sdp"])
        t.eq("offer towards B: protocol", "RTP/SAVP" if b_suite else "RTP/AVP", off["proto"])
        if b_suite:
            pick = [x for x in self.offered if x[1] == (b_pick or b_suite)]
            t.need("offer towards B has a line for " + b_suite, pick, "a line", self.offered)
            self.b_tag, _, self.relay_key_b = pick[0]
            self.b_key = new_key(b_suite)
            bsdp = srtp_sdp(self.c.b, [crypto_attr(self.b_tag, b_suite, self.b_key)])
        else:
            t.eq("offer towards B: no a=crypto", [], self.offered)
            bsdp = self.c.b.sdp()
        r = self.c.answer(sdp=bsdp)
        t.need("answer ok", r.get("result") == "ok", "ok", r)
        self.answer_sdp = r["sdp"]
        ans = Sdp(r["sdp"]).media[0]
        got = cryptos(r["sdp"])
        t.eq("answer towards A: protocol", "RTP/SAVP" if a_suite else "RTP/AVP", ans["proto"])
        if a_suite:
            t.need("answer towards A has one a=crypto", len(got) == 1, 1, got)
            t.eq("answer towards A: tag and suite", (self.a_tag, a_suite), got[0][:2])
            self.relay_key_a = got[0][2]
            t.ok("rtpgate's key towards A is not A's own", self.relay_key_a != self.a_keys[a_suite],
                 "different", "same")
            self.pa = Peer(a_suite, self.a_keys[a_suite], self.relay_key_a)
        else:
            t.eq("answer towards A: no a=crypto", [], got)
            self.pa = None
        self.pb = Peer(b_suite, self.b_key, self.relay_key_b) if b_suite else None
        self.to_b, self.to_a = self.c.relay_ports()

    def send(self, side, pkts, rtcp=False, pace=0.001):
        """Sends from side ('a' or 'b') to the other, protected if that side is
        SRTP; returns the plain packets that arrived on the other side."""
        src, dst = (self.c.a, self.c.b) if side == "a" else (self.c.b, self.c.a)
        ps, pd = (self.pa, self.pb) if side == "a" else (self.pb, self.pa)
        relay_port = self.to_b if side == "a" else self.to_a
        wire = ps.protect(pkts, rtcp) if ps else pkts
        self.t.need("protect", all(isinstance(w, bytes) for w in wire), "bytes", wire[:3])
        sock = src.rtcp if rtcp else src.rtp
        port = src.peer[2] if rtcp else src.peer[1]
        rx = dst.rtcp if rtcp else dst.rtp
        got = send_recv(self.t, "%s->%s%s" % (side, "b" if side == "a" else "a", " RTCP" if rtcp else ""),
                        sock, (src.peer[0], port), wire, rx,
                        ("127.0.0.1", relay_port + (1 if rtcp else 0)), pace)
        if pd:
            got = pd.unprotect(got, rtcp)
        return got

    def check_flow(self, n=20, rtcp=True):
        for side in ("a", "b"):
            leg = self.c.a if side == "a" else self.c.b
            pkts = rtp_pkts(leg, n)
            got = self.send(side, pkts)
            self.t.eq("%s sends %d RTP: the other side gets them intact" % (side, n), pkts, got)
            if rtcp:
                rp = [rtcp_sr(leg.ssrc, i, i * 160) for i in range(3)]
                got = self.send(side, rp, rtcp=True)
                self.t.eq("%s sends 3 RTCP SR: the other side gets them intact" % side, rp, got)

    def close(self):
        for p in (self.pa, self.pb):
            if p:
                p.close()
        self.c.delete()
        self.c.close()


@suite.case
def rtp_to_srtp_every_suite(t):
    for s in SUITES:
        b = Bridge(t, b_suite=s)
        t.eq("offer towards B: one line per suite, in order", SUITES, [x[1] for x in b.offered])
        t.eq("offer towards B: tags 1..4", [1, 2, 3, 4], [x[0] for x in b.offered])
        t.eq("offer towards B: four different keys", 4, len({x[2] for x in b.offered}))
        t.eq("offer towards B: key lengths", [KEYLEN[x] for x in SUITES], [len(x[2]) for x in b.offered])
        b.check_flow()
        b.close()


@suite.case
def srtp_to_rtp_every_suite(t):
    for s in SUITES:
        b = Bridge(t, a_suite=s)
        b.check_flow()
        b.close()


@suite.case
def srtp_to_srtp_different_keys(t):
    b = Bridge(t, a_suite="AES_CM_128_HMAC_SHA1_80", b_suite="AEAD_AES_128_GCM")
    keys = [b.a_keys[b.a_suite], b.relay_key_a, b.b_key, b.relay_key_b]
    t.ok("A's, rtpgate's towards A, B's and rtpgate's towards B keys all differ",
         len({k[:16] for k in keys}) == 4, "4 different", [k.hex()[:8] for k in keys])
    t.ok("rtpgate's offer carries none of A's keys",
         not any(x[2] in b.a_keys.values() for x in b.offered), "none", b.offered)
    b.check_flow()
    b.close()


@suite.case
def srtp_to_srtp_other_suites(t):
    b = Bridge(t, a_suite="AEAD_AES_256_GCM", b_suite="AES_CM_128_HMAC_SHA1_32")
    b.check_flow()
    b.close()


@suite.case
def sdes_flags(t):
    ng = D().ng
    leg = Leg()
    r = ng.cmd("offer", call_id="sdes-no-%x" % random.getrandbits(32), from_tag="x",
               sdp=leg.sdp(), transport_protocol="RTP/SAVP",
               SDES=["no-AES_CM_128_HMAC_SHA1_32", "no-AEAD_AES_256_GCM"])
    t.eq("SDES no-X: offered suites",
         ["AES_CM_128_HMAC_SHA1_80", "AEAD_AES_128_GCM"], [x[1] for x in cryptos(r["sdp"])])
    r = ng.cmd("offer", call_id="sdes-only-%x" % random.getrandbits(32), from_tag="x",
               sdp=leg.sdp(), flags=["RTP/SAVP", "SDES-only-AEAD_AES_256_GCM"])
    t.eq("SDES-only-X flag: offered suites", ["AEAD_AES_256_GCM"], [x[1] for x in cryptos(r["sdp"])])
    line = crypto_attr(1, "AES_CM_128_HMAC_SHA1_80", new_key("AES_CM_128_HMAC_SHA1_80"))
    r = ng.cmd("offer", call_id="sdes-off-%x" % random.getrandbits(32), from_tag="x",
               sdp=srtp_sdp(leg, [line]), flags=["SDES-off"])
    t.eq("SDES-off on an SRTP offer: protocol towards B", "RTP/AVP", Sdp(r["sdp"]).media[0]["proto"])
    t.eq("SDES-off: no a=crypto towards B", [], cryptos(r["sdp"]))
    r = ng.cmd("offer", call_id="sdes-off2-%x" % random.getrandbits(32), from_tag="x",
               sdp=leg.sdp(), flags=["RTP/SAVP", "SDES-off"])
    t.eq("SDES-off with RTP/SAVP requested on a plain offer: plain towards B", "RTP/AVP",
         Sdp(r["sdp"]).media[0]["proto"])
    r = ng.cmd("offer", call_id="sdes-savpf-%x" % random.getrandbits(32), from_tag="x",
               sdp=srtp_sdp(leg, [line], "RTP/SAVPF"), transport_protocol="RTP/AVP")
    t.eq("RTP/SAVPF offer, transport-protocol RTP/AVP: protocol", "RTP/AVP", Sdp(r["sdp"]).media[0]["proto"])
    r = ng.cmd("offer", call_id="sdes-unsup-%x" % random.getrandbits(32), from_tag="x",
               sdp=srtp_sdp(leg, ["a=crypto:1 F8_128_HMAC_SHA1_80 inline:" + "A" * 40]),
               transport_protocol="RTP/AVP")
    t.eq("an offer with no supported suite: error", "error", r.get("result"))
    r = ng.cmd("offer", call_id="sdes-none-%x" % random.getrandbits(32), from_tag="x",
               sdp=leg.sdp(), transport_protocol="RTP/SAVP", SDES=["only-NOTASUITE", "no-AES_CM_128_HMAC_SHA1_80",
                                                                    "no-AES_CM_128_HMAC_SHA1_32", "no-AEAD_AES_128_GCM",
                                                                    "no-AEAD_AES_256_GCM"])
    t.eq("SDES flags that leave no suite: error", "error", r.get("result"))
    leg.close()


@suite.case
def plain_both_ways_untouched(t):
    """RTP/AVP with an a=crypto line (best-effort SRTP) and no
    transport-protocol: rtpgate leaves it to the endpoints."""
    c = Call(D().ng)
    line = crypto_attr(1, "AES_CM_128_HMAC_SHA1_80", new_key("AES_CM_128_HMAC_SHA1_80"))
    r = c.offer(sdp=c.a.sdp(extra=[line]))
    t.eq("protocol", "RTP/AVP", Sdp(r["sdp"]).media[0]["proto"])
    t.eq("the a=crypto line passes", [line[2:]], [a for a in Sdp(r["sdp"]).media[0]["attrs"] if a.startswith("crypto")])
    c.delete()
    c.close()


@suite.case
def forged_tampered_replayed_dropped(t):
    ng = D().ng
    b = Bridge(t, b_suite="AES_CM_128_HMAC_SHA1_80")
    before = stats_dropped(ng)
    # a stranger on B's own IP but another port: with a valid-looking but
    # forged packet it would be learned as B's NAT port if it were accepted
    nat = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    nat.bind(("127.0.0.1", 0))
    pk = rtp_pkts(b.c.b, 5)
    forged = [p + os.urandom(10) for p in pk]             # right length, wrong tag
    for p in forged:
        nat.sendto(p, ("127.0.0.1", b.to_b))
    # and from B's exact SDP address too
    for p in forged:
        b.c.b.rtp.sendto(p, ("127.0.0.1", b.to_b))
    t.eq("forged SRTP reaches nobody", 0, len(b.c.a.recv_rtp(timeout=0.5)))
    d = stats_dropped(ng)
    t.eq("forged SRTP counted as auth drops", 10, d["auth"] - before["auth"])
    # the latch did not move: A's packets still go to B's SDP port, not to the NAT port
    pa = rtp_pkts(b.c.a, 3)
    b.c.a.rtp.sendto(pa[0], (b.c.a.peer[0], b.c.a.peer[1]))
    t.eq("A's packet still reaches B's SDP port", 1, len(b.c.b.recv_rtp(1, timeout=1.0)))
    nat.setblocking(False)
    t.eq("nothing reaches the would-be NAT port", 0, len(Leg._recv(nat, None, 0.3, 0.2)))
    # a valid packet, then the same again (replay), then a tampered one
    good = b.pb.protect(rtp_pkts(b.c.b, 3))
    b.c.b.rtp.sendto(good[0], ("127.0.0.1", b.to_b))
    t.eq("a valid SRTP packet arrives", 1, len(b.c.a.recv_rtp(1, timeout=1.0)))
    before = stats_dropped(ng)
    b.c.b.rtp.sendto(good[0], ("127.0.0.1", b.to_b))
    bad = bytearray(good[1])
    bad[20] ^= 1
    b.c.b.rtp.sendto(bytes(bad), ("127.0.0.1", b.to_b))
    short = good[2][:14]
    b.c.b.rtp.sendto(short, ("127.0.0.1", b.to_b))
    t.eq("replayed, tampered and cut packets reach nobody", 0, len(b.c.a.recv_rtp(timeout=0.5)))
    d = stats_dropped(ng)
    t.eq("and are counted as auth drops", 3, d["auth"] - before["auth"])
    b.c.b.rtp.sendto(good[1], ("127.0.0.1", b.to_b))
    t.eq("the untampered original still arrives afterwards", 1, len(b.c.a.recv_rtp(1, timeout=1.0)))
    # SRTCP: tampered and replayed
    sr = b.pb.protect([rtcp_sr(b.c.b.ssrc, 1, 160)], rtcp=True)[0]
    bad = bytearray(sr)
    bad[10] ^= 0x80
    before = stats_dropped(ng)
    b.c.b.rtcp.sendto(bytes(bad), ("127.0.0.1", b.to_b + 1))
    t.eq("tampered SRTCP reaches nobody", 0, len(b.c.a.recv_rtcp(timeout=0.4)))
    b.c.b.rtcp.sendto(sr, ("127.0.0.1", b.to_b + 1))
    t.eq("valid SRTCP arrives", 1, len(b.c.a.recv_rtcp(1, timeout=1.0)))
    b.c.b.rtcp.sendto(sr, ("127.0.0.1", b.to_b + 1))
    t.eq("replayed SRTCP reaches nobody", 0, len(b.c.a.recv_rtcp(timeout=0.4)))
    t.eq("tampered + replayed SRTCP counted", 2, stats_dropped(ng)["auth"] - before["auth"])
    q = b.c.query()
    errs = sum(int(s["stats"]["errors"]) for leg in q["tags"].values() for m in leg["medias"]
               for s in m["streams"])
    t.ok("query shows the drops as errors", errs >= 15, ">= 15", errs)
    nat.close()
    b.close()


@suite.case
def rollover_through_the_daemon(t):
    """Both directions cross sequence number 65535 -> 0 (ROC 0 -> 1): 600
    packets starting 300 before the wrap."""
    b = Bridge(t, b_suite="AES_CM_128_HMAC_SHA1_80")
    n = 600
    for side in ("b", "a"):
        leg = b.c.b if side == "b" else b.c.a
        pkts = rtp_pkts(leg, n, seq0=65536 - 300)
        got = []
        for i in range(0, n, 100):
            got += b.send(side, pkts[i:i + 100], pace=0.0005)
        t.eq("%s: all %d packets across the wrap arrive intact" % (side, n), n,
             sum(1 for x, y in zip(pkts, got) if x == y))
    b.close()


@suite.case
def srtcp_on_a_muxed_port(t):
    """RTP<->SRTP with rtcp-mux on both sides: SRTCP and SRTP share B's RTP
    port and are told apart by packet type before authentication."""
    c = Call(D().ng)
    r = c.offer(sdp=c.a.sdp(rtcp_mux=True), transport_protocol="RTP/SAVP")
    t.need("offer ok", r.get("result") == "ok", "ok", r)
    tag, s_name, relay_key = cryptos(r["sdp"])[0]
    b_key = new_key(s_name)
    bsdp = srtp_sdp(c.b, [crypto_attr(tag, s_name, b_key)]).replace("a=ptime", "a=rtcp-mux\r\na=ptime")
    r = c.answer(sdp=bsdp)
    t.need("answer ok", r.get("result") == "ok", "ok", r)
    t.ok("answer towards A keeps rtcp-mux", Sdp(r["sdp"]).media[0]["rtcp_mux"], "a=rtcp-mux", r["sdp"])
    pb = Peer(s_name, b_key, relay_key)
    to_b, to_a = c.relay_ports()
    sr = rtcp_sr(c.b.ssrc, 1, 160)
    rtp = rtp_pkts(c.b, 3)
    wire = pb.protect([sr], rtcp=True) + pb.protect(rtp)
    for w in wire:
        c.b.rtp.sendto(w, ("127.0.0.1", to_b))
    got = [d for d, _ in c.a.recv_rtp(4, timeout=1.5)]
    t.eq("A gets B's RTCP and RTP, decrypted, on its muxed port", sorted([sr] + rtp), sorted(got))
    asr = rtcp_sr(c.a.ssrc, 2, 320)
    c.a.rtp.sendto(asr, ("127.0.0.1", to_a))
    got = [d for d, _ in c.b.recv_rtp(1, timeout=1.5)]
    t.eq("B gets A's RTCP as SRTCP on its RTP port", [asr], pb.unprotect(got, rtcp=True))
    pb.close()
    c.delete()
    c.close()


@suite.case
def reoffer_keeps_keys(t):
    b = Bridge(t, a_suite="AES_CM_128_HMAC_SHA1_80", b_suite="AES_CM_128_HMAC_SHA1_80")
    b.check_flow(5, rtcp=False)
    # A re-offers the same SDP: rtpgate offers B the same keys again
    r = b.c.ng.cmd("offer", call_id=b.c.cid, from_tag=b.c.a_tag,
                   sdp=srtp_sdp(b.c.a, [crypto_attr(1, b.a_suite, b.a_keys[b.a_suite])]))
    t.eq("re-offer: same keys towards B", b.offered, cryptos(r["sdp"]))
    r = b.c.answer(sdp=srtp_sdp(b.c.b, [crypto_attr(b.b_tag, b.b_suite, b.b_key)]))
    t.eq("re-answer: same key towards A", b.relay_key_a, cryptos(r["sdp"])[0][2])
    b.check_flow(5, rtcp=False)
    b.close()


if __name__ == "__main__":
    suite.run()
