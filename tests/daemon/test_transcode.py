#!/usr/bin/env python3
"""Transcoding through the real daemon (issue 3 item 11).

For every ordered pair (A, B) of PCMU, PCMA, opus and G729, a caller that
speaks only A offers with codec {mask: [A], transcode: [B]} and a callee that
speaks only B answers. Each side sends 1 s of a 1 kHz tone at -10 dBFS, a
short pause, the 4 s speech file (tests/data/audio/speech-8k.raw) and two
RFC 4733 digits; each side decodes what arrives in its own codec.

Checks, per pair and direction:
- payload types: each side receives only its own codec's and its own
  telephone-event's payload type;
- tone: frequency within 1 % (zero crossings), level within 2 dB;
- speech: the Pearson correlation of the 10 ms RMS envelopes of what was
  sent and what arrived (aligned by the best lag in -20..+100 ms) is at
  least SPEECH_MIN[pair]: 0.99 between PCMU and PCMA (measured 1.000),
  0.93 when Opus or G.729 is on either side (measured 0.967-0.982, G.729
  lowest; RG_VERBOSE=1 prints every value). A
  misaligned copy of the same speech scores below 0.5, so the measure does
  tell "the same speech" from "some speech";
- DTMF: the same digits arrive as events, each with the same duration in
  milliseconds (rescaled between 8 and 48 kHz) and its end packets.
Then a 30 ms leg against a 20 ms leg (PCMU/30 -> PCMA/20, and PCMU/30 ->
PCMU/20, which is repacketised only) keeps sequence numbers and timestamps
continuous each way, and each leg gets rtpgate's own RTCP sender report for
the SSRC it receives. And PCMU -> opus with lost, reordered and duplicated
packets and an SSRC change keeps the opus leg's SSRC, sequence numbers and
timestamps continuous.

Audio is sent at four times real time (a transcoder does not care) and read
while sending, so the whole file stays well under 90 s. G.711 is coded here
in Python, independently of the daemon; Opus and G.729 go through
$CODEC_TOOL (tests/daemon/codec_tool.c on the codec library).
"""

import math
import os
import select
import struct
import subprocess
import sys
import time

import rgtest
from rgtest import Call, Daemon, Leg, Sdp, Suite, rtp_build, rtp_parse, is_rtcp

RATE = 8000
HERE = os.path.dirname(os.path.abspath(__file__))
SPEECH = os.path.join(HERE, "..", "data", "audio", "speech-8k.raw")
NAMES = ["PCMU", "PCMA", "opus", "G729"]
CODECS = {
    "PCMU": {"pt": 0, "rtpmap": "PCMU/8000", "clock": 8000, "fmtp": None},
    "PCMA": {"pt": 8, "rtpmap": "PCMA/8000", "clock": 8000, "fmtp": None},
    "G729": {"pt": 18, "rtpmap": "G729/8000", "clock": 8000, "fmtp": "annexb=no"},
    "opus": {"pt": 96, "rtpmap": "opus/48000/2", "clock": 48000, "fmtp": "useinbandfec=1"},
}
TE_PT = 101
TONE_DBFS = -10.0
TONE_S, PAUSE_S = 1.0, 0.2
PACE = 0.005           # one 20 ms packet each way every 5 ms
# Envelope correlation each pair must reach (see the file comment).
SPEECH_MIN = {}
for _a in NAMES:
    for _b in NAMES:
        lossy = {_a, _b} & {"opus", "G729"}
        SPEECH_MIN[(_a, _b)] = 0.93 if lossy else 0.99
VERBOSE = bool(os.environ.get("RG_VERBOSE"))

suite = Suite()
daemon = None


def get_daemon():
    global daemon
    if daemon is None or not daemon.alive():
        daemon = Daemon(ports=60).start()
    return daemon


# ---------------------------------------------------------------- G.711


ULAW_SEG_END = [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF]


def lin2ulaw(s):
    s >>= 2                      # 14-bit, as G.711 mu-law codes it
    if s < 0:
        s, mask = -s, 0x7F
    else:
        mask = 0xFF
    s = min(s, 8159) + 0x21
    seg = 0
    while seg < 8 and s > ULAW_SEG_END[seg]:
        seg += 1
    if seg >= 8:
        return 0x7F ^ mask
    return ((seg << 4) | ((s >> (seg + 1)) & 0x0F)) ^ mask


def ulaw2lin(u):
    u = ~u & 0xff
    exp, mant = (u >> 4) & 7, u & 0x0f
    s = (((mant << 3) + 0x84) << exp) - 0x84
    return -s if u & 0x80 else s


ALAW_SEG_END = [0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF, 0x3FFF, 0x7FFF]


def lin2alaw(s):
    s >>= 3                      # 13-bit magnitude, as G.711 A-law codes it
    if s >= 0:
        mask = 0xD5
    else:
        mask = 0x55
        s = -s - 1
    seg = 0
    while seg < 8 and s > ALAW_SEG_END[seg] >> 3:
        seg += 1
    if seg >= 8:
        return 0x7F ^ mask
    a = seg << 4
    a |= (s >> 1 if seg < 2 else s >> seg) & 0x0F
    return a ^ mask


def alaw2lin(a):
    a ^= 0x55
    t = (a & 0x0f) << 4
    seg = (a & 0x70) >> 4
    if seg == 0:
        t += 8
    elif seg == 1:
        t += 0x108
    else:
        t = (t + 0x108) << (seg - 1)
    return t if a & 0x80 else -t


ULAW_DEC = [ulaw2lin(i) for i in range(256)]
ALAW_DEC = [alaw2lin(i) for i in range(256)]


# ---------------------------------------------------------------- coding


def tool():
    t = os.environ.get("CODEC_TOOL")
    if not t:
        t = os.path.join(os.path.dirname(rgtest.binary()), "..", "tests", "daemon", "codec_tool")
    return t


def pcm_bytes(samples):
    return struct.pack("<%dh" % len(samples), *samples)


def encode(codec, samples, ptime=20):
    """RTP payloads of `ptime` ms each."""
    n = RATE * ptime // 1000
    samples = samples[:len(samples) - len(samples) % n]
    if codec == "PCMU":
        return [bytes(lin2ulaw(x) for x in samples[i:i + n]) for i in range(0, len(samples), n)]
    if codec == "PCMA":
        return [bytes(lin2alaw(x) for x in samples[i:i + n]) for i in range(0, len(samples), n)]
    out = subprocess.run([tool(), "encode", codec, str(ptime)], input=pcm_bytes(samples),
                         stdout=subprocess.PIPE, check=True).stdout
    frames, i = [], 0
    while i + 2 <= len(out):
        ln = struct.unpack("!H", out[i:i + 2])[0]
        frames.append(out[i + 2:i + 2 + ln])
        i += 2 + ln
    return frames


def decode(codec, records):
    """records: payload bytes, or an int = samples lost. PCM samples."""
    if codec in ("PCMU", "PCMA"):
        table = ULAW_DEC if codec == "PCMU" else ALAW_DEC
        out = []
        for r in records:
            out += [0] * r if isinstance(r, int) else [table[b] for b in r]
        return out
    blob = bytearray()
    for r in records:
        if isinstance(r, int):
            while r > 0:
                k = min(r, 8000)
                blob += struct.pack("!HH", 0xffff, k)
                r -= k
        else:
            blob += struct.pack("!H", len(r)) + r
    out = subprocess.run([tool(), "decode", codec], input=bytes(blob),
                         stdout=subprocess.PIPE, check=True).stdout
    return list(struct.unpack("<%dh" % (len(out) // 2), out))


def tone(seconds, hz=1000.0, dbfs=TONE_DBFS):
    amp = 32767 * 10 ** (dbfs / 20)
    return [int(round(amp * math.sin(2 * math.pi * hz * i / RATE))) for i in range(int(seconds * RATE))]


def speech():
    with open(SPEECH, "rb") as f:
        raw = f.read()
    return list(struct.unpack("<%dh" % (len(raw) // 2), raw))


_frames_cache = {}


def program(codec):
    """(payloads, source PCM) of tone + pause + speech for a codec."""
    if codec not in _frames_cache:
        pcm = tone(TONE_S) + [0] * int(PAUSE_S * RATE) + speech()
        pcm = pcm[:len(pcm) - len(pcm) % 160]
        _frames_cache[codec] = (encode(codec, pcm), pcm)
    return _frames_cache[codec]


# ---------------------------------------------------------------- measures


def rms(x):
    return math.sqrt(sum(v * v for v in x) / len(x)) if x else 0.0


def zc_freq(x):
    first = last = None
    count = 0
    for i in range(1, len(x)):
        if x[i - 1] < 0 <= x[i]:
            t = i - 1 + (-x[i - 1]) / (x[i] - x[i - 1])
            if first is None:
                first = t
            last = t
            count += 1
    return (count - 1) * RATE / (last - first) if count >= 2 and last > first else 0.0


def envelope(x, step=80):
    return [rms(x[i:i + step]) for i in range(0, len(x) - step + 1, step)]


def corr(a, b):
    n = min(len(a), len(b))
    if n < 10:
        return 0.0
    a, b = a[:n], b[:n]
    ma, mb = sum(a) / n, sum(b) / n
    cov = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    va = sum((x - ma) ** 2 for x in a)
    vb = sum((y - mb) ** 2 for y in b)
    return cov / math.sqrt(va * vb + 1e-9)


def best_env_corr(sent, got):
    """Envelope correlation at the best lag in -20..+100 ms (10 ms steps)."""
    es = envelope(sent)
    eg = envelope(got)
    best = (-1.0, 0)
    for lag in range(-2, 11):
        c = corr(es[max(0, -lag):], eg[max(0, lag):])
        if c > best[0]:
            best = (c, lag * 10)
    return best


# ---------------------------------------------------------------- legs


def sdp_for(leg, codec, ptime=20, te=True):
    c = CODECS[codec]
    pts = [c["pt"]] + ([TE_PT] if te else [])
    lines = ["v=0", "o=rgtest %d 1 IN IP4 127.0.0.1" % leg.rtp_port, "s=-",
             "c=IN IP4 127.0.0.1", "t=0 0",
             "m=audio %d RTP/AVP %s" % (leg.rtp_port, " ".join(map(str, pts))),
             "a=rtpmap:%d %s" % (c["pt"], c["rtpmap"])]
    if c["fmtp"]:
        lines.append("a=fmtp:%d %s" % (c["pt"], c["fmtp"]))
    if te:
        lines += ["a=rtpmap:%d telephone-event/%d" % (TE_PT, c["clock"]),
                  "a=fmtp:%d 0-16" % TE_PT]
    if leg.rtcp_port != leg.rtp_port + 1:
        lines.append("a=rtcp:%d" % leg.rtcp_port)
    lines += ["a=ptime:%d" % ptime, "a=sendrecv"]
    return "\r\n".join(lines) + "\r\n"


def codecs_in_sdp(body):
    m = Sdp(body).media[0]
    return [a.split()[1].split("/")[0] for a in m["attrs"] if a.startswith("rtpmap:")]


class Sender:
    """One side's outgoing stream: audio payloads, then events."""

    def __init__(self, leg, codec, ptime=20):
        self.leg = leg
        self.codec = codec
        self.pt = CODECS[codec]["pt"]
        self.clock = CODECS[codec]["clock"]
        self.step = self.clock * ptime // 1000
        self.seq = leg.seq
        self.ts = leg.ts
        self.queue = []

    def audio(self, payloads):
        for i, p in enumerate(payloads):
            self.queue.append(rtp_build(self.seq, self.ts, self.leg.ssrc, pt=self.pt,
                                        payload=p, marker=(i == 0)))
            self.seq = (self.seq + 1) & 0xffff
            self.ts = (self.ts + self.step) & 0xffffffff

    def digit(self, event, ms=100):
        """RFC 4733: a packet per 20 ms of growing duration, three ends."""
        n = ms // 20
        unit = self.clock // 50
        for i in range(n + 3):
            end = i >= n
            dur = unit * (min(i + 1, n))
            payload = struct.pack("!BBH", event, (0x80 if end else 0) | 10, dur)
            self.queue.append(rtp_build(self.seq, self.ts, self.leg.ssrc, pt=TE_PT,
                                        payload=payload, marker=(i == 0)))
            self.seq = (self.seq + 1) & 0xffff
        self.ts = (self.ts + unit * n) & 0xffffffff


def exchange(senders, pace=PACE, intervals=None, tail=0.6):
    """Sends every sender's queue, paced, reading all legs meanwhile.
    Returns {leg: (rtp list, rtcp list)} of received datagrams."""
    got = {id(s.leg): ([], []) for s in senders}
    socks = {}
    for s in senders:
        socks[s.leg.rtp] = got[id(s.leg)][0]
        socks[s.leg.rtcp] = got[id(s.leg)][1]
    intervals = intervals or [pace] * len(senders)
    nxt = [time.monotonic()] * len(senders)
    idx = [0] * len(senders)
    end = None
    while True:
        now = time.monotonic()
        busy = False
        for k, s in enumerate(senders):
            if idx[k] < len(s.queue):
                busy = True
                if now >= nxt[k]:
                    s.leg.rtp.sendto(s.queue[idx[k]], (s.leg.peer[0], s.leg.peer[1]))
                    idx[k] += 1
                    nxt[k] += intervals[k]
        if not busy:
            end = end or now + tail
            if now >= end:
                break
        wait = max(0.0, min([t for k, t in enumerate(nxt) if idx[k] < len(senders[k].queue)]
                            or [now + 0.05]) - time.monotonic())
        r, _, _ = select.select(list(socks), [], [], min(wait, 0.05))
        for sock in r:
            socks[sock].append(sock.recvfrom(65536)[0])
    return got


def split_stream(datagrams, audio_pt):
    """Parsed RTP: (audio packets, event packets, other payload types)."""
    pk = [p for p in (rtp_parse(d) for d in datagrams) if p]
    audio = [p for p in pk if p["pt"] == audio_pt]
    events = [p for p in pk if p["pt"] == TE_PT]
    other = sorted({p["pt"] for p in pk} - {audio_pt, TE_PT})
    return audio, events, other


def unwrap_seq(pkts):
    out, base, last = [], 0, None
    for p in pkts:
        s = p["seq"]
        if last is not None and s < last and last - s > 0x8000:
            base += 0x10000
        last = s
        out.append(dict(p, xseq=s + base))
    return sorted(out, key=lambda p: p["xseq"])


def digits_of(events, clock):
    """[(event, duration in ms, end packets)] per distinct event timestamp."""
    by_ts = {}
    order = []
    for p in events:
        if len(p["payload"]) < 4:
            continue
        ev, flags, dur = struct.unpack("!BBH", p["payload"][:4])
        if p["ts"] not in by_ts:
            by_ts[p["ts"]] = [ev, 0, 0]
            order.append(p["ts"])
        d = by_ts[p["ts"]]
        d[1] = max(d[1], dur)
        d[2] += 1 if flags & 0x80 else 0
    return [(by_ts[t][0], by_ts[t][1] * 1000 // clock, by_ts[t][2]) for t in order]


# ---------------------------------------------------------------- cases


def run_pair(c, a, b):
    d = get_daemon()
    call = Call(d.ng)
    try:
        r = call.offer(sdp=sdp_for(call.a, a), codec={"mask": [a], "transcode": [b]})
        c.need("%s>%s offer" % (a, b), r.get("result") == "ok", "ok", r)
        onward = codecs_in_sdp(r["sdp"])
        c.ok("%s>%s offer lists %s" % (a, b, b), b.lower() in [x.lower() for x in onward],
             b, onward)
        r = call.answer(sdp=sdp_for(call.b, b))
        c.need("%s>%s answer" % (a, b), r.get("result") == "ok", "ok", r)
        back = codecs_in_sdp(r["sdp"])
        c.ok("%s>%s answer to the caller is %s" % (a, b, a),
             back and back[0].lower() == a.lower(), a, back)
        sa, sb = Sender(call.a, a), Sender(call.b, b)
        fa, pcm_a = program(a)
        fb, pcm_b = program(b)
        sa.audio(fa)
        sb.audio(fb)
        for s in (sa, sb):
            s.digit(1)
            s.digit(11)
            s.audio(encode(s.codec, [0] * 800))
        got = exchange([sa, sb])
        for (src, dst, sent_pcm, leg) in ((a, b, pcm_a, call.b), (b, a, pcm_b, call.a)):
            what = "%s>%s" % (src, dst)
            clock = CODECS[dst]["clock"]
            audio, events, other = split_stream(got[id(leg)][0], CODECS[dst]["pt"])
            c.ok(what + " payload types", not other, "only %d and %d" % (CODECS[dst]["pt"], TE_PT), other)
            c.need(what + " audio packets", len(audio) > 200, "> 200", len(audio))
            pcm = decode_stream(dst, audio, clock)
            # tone: skip the first 0.25 s, up to 0.9 s
            t = pcm[2000:7200]
            f = zc_freq(t)
            lvl = 20 * math.log10(max(rms(t), 1e-9) / (32767 * 10 ** (TONE_DBFS / 20) / math.sqrt(2)))
            c.ok(what + " tone frequency", abs(f - 1000) <= 10, "1000 Hz +-1%", "%.1f Hz" % f)
            c.ok(what + " tone level", abs(lvl) <= 2.0, "0 +-2 dB", "%+.2f dB" % lvl)
            start = int((TONE_S + PAUSE_S) * RATE)
            sp = sent_pcm[start:]
            cc, lag = best_env_corr(sp, pcm[start:start + len(sp) + 1000])
            c.ok(what + " speech envelope correlation", cc >= SPEECH_MIN[(src, dst)],
                 ">= %.2f" % SPEECH_MIN[(src, dst)], "%.3f (lag %d ms)" % (cc, lag))
            digits = digits_of(events, clock)
            c.eq(what + " digits (event, ms, end packets)", [(1, 100, 3), (11, 100, 3)], digits)
            if VERBOSE:
                print("  %s: tone %.2f Hz %+.2f dB, speech corr %.3f at %d ms, digits %s"
                      % (what, f, lvl, cc, lag, digits))
    finally:
        call.delete()
        call.close()


def decode_stream(codec, audio, clock):
    recs, nxt = [], None
    scale = clock // RATE
    step = 20 * clock // 1000
    for p in unwrap_seq(audio):
        if nxt is not None:
            gap = (p["ts"] - nxt) & 0xffffffff
            if 0 < gap < clock * 5:
                recs.append(gap // scale)
        recs.append(p["payload"])
        nxt = (p["ts"] + step) & 0xffffffff
    return decode(codec, recs)


def make_pair_case(a, b):
    def case(c):
        run_pair(c, a, b)
    case.__name__ = "pair_%s_%s" % (a, b)
    return case


for _a in NAMES:
    for _b in NAMES:
        if _a != _b:
            suite.case(make_pair_case(_a, _b))


def continuity(c, what, pkts, step):
    pk = unwrap_seq(pkts)
    bad = [(p["xseq"], p["ts"], q["xseq"], q["ts"]) for p, q in zip(pk, pk[1:])
           if q["xseq"] != p["xseq"] + 1 or (q["ts"] - p["ts"]) & 0xffffffff != step]
    c.ok(what + " seq+1 and ts+%d throughout" % step, not bad, "none broken", bad[:3])
    c.ok(what + " one SSRC", len({p["ssrc"] for p in pk}) == 1, 1, {p["ssrc"] for p in pk})


@suite.case
def ptime_30_against_20(c):
    """PCMU/30 caller, PCMA/20 (then PCMU/20) callee, 1.5 s in real time."""
    for b in ("PCMA", "PCMU"):
        d = get_daemon()
        call = Call(d.ng)
        try:
            kw = {"codec": {"mask": ["PCMU"], "transcode": [b]}} if b != "PCMU" else {}
            r = call.offer(sdp=sdp_for(call.a, "PCMU", ptime=30), **kw)
            c.need("offer", r.get("result") == "ok", "ok", r)
            r = call.answer(sdp=sdp_for(call.b, b, ptime=20))
            c.need("answer", r.get("result") == "ok", "ok", r)
            sa, sb = Sender(call.a, "PCMU", ptime=30), Sender(call.b, b)
            t = tone(1.5)
            sa.audio(encode("PCMU", t, 30))
            sb.audio(encode(b, t, 20))
            got = exchange([sa, sb], intervals=[0.03, 0.02])
            what = "PCMU/30>%s/20" % b
            audio, _, other = split_stream(got[id(call.b)][0], CODECS[b]["pt"])
            c.ok(what + " packets", len(audio) >= 70, ">= 70", len(audio))
            continuity(c, what, audio, 160)
            pcm = decode_stream(b, audio, 8000)
            c.ok(what + " tone", abs(zc_freq(pcm[2000:]) - 1000) <= 10, "1000 Hz", zc_freq(pcm[2000:]))
            what = "%s/20>PCMU/30" % b
            audio_a, _, _ = split_stream(got[id(call.a)][0], 0)
            c.ok(what + " packets", len(audio_a) >= 46, ">= 46", len(audio_a))
            continuity(c, what, audio_a, 240)
            # rtpgate's own RTCP on each transcoded leg, about what it sent there
            for leg, pkts in ((call.a, audio_a), (call.b, audio)):
                srs = [x for x in got[id(leg)][1] if is_rtcp(x) and x[1] == 200]
                ssrcs = {struct.unpack("!I", x[4:8])[0] for x in srs}
                want = {p["ssrc"] for p in pkts}
                c.ok("%s leg SR from rtpgate for the SSRC it receives" % ("caller" if leg is call.a else "callee"),
                     srs and ssrcs <= want, want, ssrcs)
                if srs:
                    pc = struct.unpack("!I", srs[-1][20:24])[0]
                    c.ok("SR packet count within what was sent", 0 < pc <= len(pkts), "<= %d" % len(pkts), pc)
        finally:
            call.delete()
            call.close()


@suite.case
def codec_set_parameters(c):
    """codec.set "opus/48000/2/24000/40/complexity=3": the Opus side of the
    transcoder gets that bitrate, complexity and a 40 ms packetisation."""
    d = get_daemon()
    call = Call(d.ng)
    try:
        r = call.offer(sdp=sdp_for(call.a, "PCMU"),
                       codec={"mask": ["PCMU"], "transcode": ["opus"],
                              "set": ["opus/48000/2/24000/40/complexity=3"]})
        c.need("offer", r.get("result") == "ok", "ok", r)
        r = call.answer(sdp=sdp_for(call.b, "opus"))
        c.need("answer", r.get("result") == "ok", "ok", r)
        s = Sender(call.a, "PCMU")
        s.audio(encode("PCMU", tone(1.0)))
        got = exchange([s, Sender(call.b, "opus")])
        audio, _, _ = split_stream(got[id(call.b)][0], CODECS["opus"]["pt"])
        c.ok("opus packets", len(audio) >= 20, ">= 20", len(audio))
        continuity(c, "PCMU>opus/40", audio[1:], 1920)
        log = d.log_text()
        c.ok("transcoder set up with the set parameters",
             "40 ms, 24000 bit/s, complexity 3" in log, "40 ms, 24000 bit/s, complexity 3 in the log",
             [l for l in log.splitlines() if "transcoding" in l][-1:])
    finally:
        call.delete()
        call.close()


@suite.case
def loss_reorder_ssrc_change(c):
    """PCMU -> opus: 3 packets lost, two swapped, a duplicate and a new SSRC
    (new seq and ts) half-way: the opus leg still sees one SSRC, seq + 1 and
    ts + 960 throughout, and M only on the first packet after the change."""
    d = get_daemon()
    call = Call(d.ng)
    try:
        r = call.offer(sdp=sdp_for(call.a, "PCMU"), codec={"mask": ["PCMU"], "transcode": ["opus"]})
        c.need("offer", r.get("result") == "ok", "ok", r)
        r = call.answer(sdp=sdp_for(call.b, "opus"))
        c.need("answer", r.get("result") == "ok", "ok", r)
        frames = encode("PCMU", tone(2.0))
        s = Sender(call.a, "PCMU")
        s.audio(frames[:50])
        first = s.queue
        s.queue = []
        call.a.ssrc ^= 0x5a5a5a5a
        s.leg = call.a
        s.seq = (s.seq + 30000) & 0xffff
        s.ts = (s.ts + 123456789) & 0xffffffff
        s.audio(frames[50:])
        q = first + s.queue
        del q[70], q[40], q[20]                    # lost
        q[10], q[11] = q[11], q[10]                # reordered
        q.insert(30, q[29])                        # duplicated
        s.queue = q
        got = exchange([s, Sender(call.b, "opus")], tail=0.5)
        audio, _, other = split_stream(got[id(call.b)][0], CODECS["opus"]["pt"])
        c.ok("payload types", not other, "only opus", other)
        c.ok("packets at the opus leg", len(audio) >= 96, ">= 96", len(audio))
        continuity(c, "PCMU>opus with loss, reordering and an SSRC change", audio, 960)
        marks = [i for i, p in enumerate(unwrap_seq(audio)) if p["marker"]]
        c.ok("M on the first packet and the first after the SSRC change only",
             len(marks) == 2 and marks[0] == 0 and 45 <= marks[1] <= 50, "[0, ~48]", marks)
        pcm = decode_stream("opus", audio, 48000)
        f = zc_freq(pcm[2000:])
        c.ok("tone through it all", abs(f - 1000) <= 10, "1000 Hz +-1%", "%.1f Hz" % f)
    finally:
        call.delete()
        call.close()


@suite.case
def envelope_measure_tells_speech_apart(c):
    s = speech()
    cc = corr(envelope(s), envelope(s[2400:]))
    c.ok("speech against itself 300 ms off", cc < 0.5, "< 0.5", "%.3f" % cc)


if __name__ == "__main__":
    if not os.path.exists(tool()):
        print("codec_tool not found (set CODEC_TOOL)")
        sys.exit(1)
    suite.run()
