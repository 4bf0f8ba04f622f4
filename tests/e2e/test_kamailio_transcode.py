#!/usr/bin/python3
"""End-to-end transcoding: Kamailio + SIPp, a PCMU caller and a callee that
speaks only PCMA, G729 or opus (issue 3 item 12 and its "done when").

For each target codec X, one run (one relay, one Kamailio, one call):
- Kamailio's request route calls
  rtpengine_offer("codec-mask-PCMU codec-transcode-X replace-origin ...")
  (kamailio.cfg.in with those two flags added to the offer);
- the SIPp UAC offers only PCMU (+ telephone-event/8000); the SIPp UAS
  answers with only X (+ telephone-event at X's clock); scenarios are
  uac.xml/uas.xml with their SDP swapped, written at test time;
- each party plays a pcap made here with codec_tool: 1 s of a 1 kHz tone,
  3 s of tests/data/audio/speech-8k.raw, then the digits 1 and # as RFC 4733
  events, in its own codec, paced in real time by SIPp;
- the loopback sniffer (test_kamailio.Sniffer, extended to keep payloads)
  checks:
  * the INVITE the UAS got offers X and not PCMU, the 200 OK the UAC got
    answers PCMU;
  * payload types on each path: UAC -> relay only PCMU/te, relay -> UAS
    only X/te, UAS -> relay only X/te, relay -> UAC only PCMU/te, and media
    both ways (at least 100 audio packets each way out of the relay);
  * what each party received decodes (in its codec) to the tone (1 kHz
    within 1 %, level within 2 dB) and to the same speech (envelope
    correlation at least test_transcode.SPEECH_MIN of that pair; see
    tests/daemon/test_transcode.py);
  * the digits arrive as the same events with the same durations;
  * rtpgate sends its own RTCP sender reports to each party's RTP port + 1.
Needs root, kamailio, sipp and $CODEC_TOOL (meson sets it); exits 77
(skipped) without them. E2E_CODECS=PCMA,G729,opus picks the runs.
"""

import os
import random
import re
import shutil
import signal
import struct
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "daemon"))

import test_kamailio as tk      # noqa: E402  the Kamailio/SIPp/sniffer helpers
import test_transcode as tt     # noqa: E402  codecs, tone and speech measures

SKIP = 77
CALL_S = 5.5                    # the UAC hangs up this long after its pcap starts
TE_PT = 101
UAC_SSRC = 0x11AC7001
UAS_SSRC = 0x22A57002
PARTY = {   # codec: (payload type, m= formats, SDP attribute lines, clock)
    "PCMU": (0, ["a=rtpmap:0 PCMU/8000"], 8000),
    "PCMA": (8, ["a=rtpmap:8 PCMA/8000"], 8000),
    "G729": (18, ["a=rtpmap:18 G729/8000", "a=fmtp:18 annexb=no"], 8000),
    "opus": (96, ["a=rtpmap:96 opus/48000/2", "a=fmtp:96 useinbandfec=1"], 48000),
}
log = tk.log


class PayloadSniffer(tk.Sniffer):
    """test_kamailio's sniffer, also keeping each RTP packet of the flows."""

    def __init__(self, *a, **kw):
        self.rtp = {}
        super().__init__(*a, **kw)

    def take(self, frame, when):
        super().take(frame, when)
        if len(frame) < 14 + 20 + 8 or frame[12:14] != b"\x08\x00":
            return
        ip = frame[14:]
        ihl = (ip[0] & 0x0F) * 4
        if ip[9] != 17:
            return
        sport, dport = struct.unpack("!HH", ip[ihl:ihl + 4])
        body = bytes(ip[ihl + 8:])
        if not (self.pmin <= sport <= self.pmax or self.pmin <= dport <= self.pmax):
            return
        p = tt.rtp_parse(body)
        if p and not tt.is_rtcp(body):
            self.rtp.setdefault((sport, dport), []).append(p)

    def pts(self, sport, dport):
        out = {}
        for p in self.rtp.get((sport, dport), ()):
            out[p["pt"]] = out.get(p["pt"], 0) + 1
        return out

    def rtcp_srs(self, sport, dport):
        return sum(1 for _, _, r in self.flows.get((sport, dport), ()) if r)


def sdp_lines(codec):
    pt, attrs, clock = PARTY[codec]
    return (["m=audio [media_port] RTP/AVP %d %d" % (pt, TE_PT)] + attrs +
            ["a=rtpmap:%d telephone-event/%d" % (TE_PT, clock), "a=fmtp:%d 0-16" % TE_PT])


def scenario(src, codec, dst, pause_ms=None):
    """uac.xml/uas.xml with the SDP's m= block replaced by codec's."""
    with open(os.path.join(HERE, src)) as f:
        text = f.read()
    pat = re.compile(r"^( *)m=audio \[media_port\].*?\n(?:\1a=(?:rtpmap|fmtp):.*\n)+", re.M)
    m = pat.search(text)
    if not m:
        raise RuntimeError("no m= block in " + src)
    ind = m.group(1)
    text = text[:m.start()] + "".join(ind + l + "\n" for l in sdp_lines(codec)) + text[m.end():]
    if pause_ms is not None:
        text, n = re.subn(r'<pause milliseconds="\d+"/>', '<pause milliseconds="%d"/>' % pause_ms, text)
        if n != 1:
            raise RuntimeError("no pause in " + src)
    with open(dst, "w") as f:
        f.write(text)


def write_pcap(path, codec, ssrc):
    """tone + speech in codec, then digits 1 and #; RTP to port 6000."""
    pt, _, clock = PARTY[codec]
    frames, pcm = program(codec)
    step = clock // 50
    seq = random.randrange(1 << 16)
    ts = random.randrange(1 << 32)
    t = 1_700_000_000.0
    recs = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]

    def add(ptype, payload, marker=False, advance=True):
        nonlocal seq, t
        rtp = struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | ptype, seq & 0xFFFF,
                          ts & 0xFFFFFFFF, ssrc) + payload
        recs.append(tk.pcap_udp_frame(t, 6000, rtp))
        seq += 1
        if advance:
            t += 0.02

    for i, f in enumerate(frames):
        add(pt, f, marker=(i == 0))
        ts += step
    for ev in (1, 11):
        for i in range(8):     # 5 x 20 ms, then three end packets
            end = i >= 5
            add(TE_PT, struct.pack("!BBH", ev, (0x80 if end else 0) | 10, step * min(i + 1, 5)),
                marker=(i == 0), advance=(i < 5 or i == 7))
        ts += 5 * step
        for _ in range(3):
            add(pt, frames[-1])
            ts += step
    with open(path, "wb") as f:
        f.write(b"".join(recs))
    return pcm


_programs = {}


def program(codec):
    if codec not in _programs:
        pcm = tt.tone(1.0) + tt.speech()[:3 * 8000]
        _programs[codec] = (tt.encode(codec, pcm), pcm)
    return _programs[codec]


def received_sdp_fmts(path, first_line_re):
    """m=audio formats of the first matching message with SDP."""
    try:
        with open(path, errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    for block in re.split(r"\n-{20,}[^\n]*\n", "\n" + text):
        if "message received" not in block:
            continue
        lines = [l.strip() for l in block.splitlines() if l.strip() and "message received" not in l]
        if not lines or not re.match(first_line_re, lines[0]):
            continue
        for l in lines:
            m = re.match(r"m=audio \d+ \S+ (.*)", l)
            if m:
                return [int(x) for x in m.group(1).split()]
    return None


def check_direction(what, pkts, codec, sent_pcm, failures):
    pt, _, clock = PARTY[codec]
    audio = [p for p in pkts if p["pt"] == pt]
    events = [p for p in pkts if p["pt"] == TE_PT]
    pcm = tt.decode_stream(codec, audio, clock)
    tone = pcm[2000:7200]
    f = tt.zc_freq(tone)
    ref = 32767 * 10 ** (tt.TONE_DBFS / 20) / 2 ** 0.5
    lvl = 20 * tt.math.log10(max(tt.rms(tone), 1e-9) / ref)
    sp = sent_pcm[8000:]
    cc, lag = tt.best_env_corr(sp, pcm[8000:8000 + len(sp) + 1000])
    digits = tt.digits_of(events, clock)
    src, dst = what.split(">")
    need = tt.SPEECH_MIN[(src, dst)]
    ok_tone = abs(f - 1000) <= 10 and abs(lvl) <= 2
    ok_speech = cc >= need
    ok_digits = [(d, ms) for d, ms, _ in digits] == [(1, 100), (11, 100)] and all(e >= 1 for _, _, e in digits)
    log(f"    {what}: {len(audio)} audio packets, tone {f:.1f} Hz {lvl:+.2f} dB (expected 1000 Hz "
        f"+-1 %, 0 +-2 dB) {'ok' if ok_tone else 'FAIL'}; speech envelope correlation {cc:.3f} "
        f"at {lag} ms (expected >= {need}) {'ok' if ok_speech else 'FAIL'}; digits {digits} "
        f"(expected 1 and 11, 100 ms each, with end packets) {'ok' if ok_digits else 'FAIL'}")
    if not ok_tone:
        failures.append(f"{what}: tone {f:.1f} Hz {lvl:+.2f} dB")
    if not ok_speech:
        failures.append(f"{what}: speech envelope correlation {cc:.3f} < {need}")
    if not ok_digits:
        failures.append(f"{what}: digits {digits}")


def run_codec(codec, rng, base_tmp):
    tmp = tempfile.mkdtemp(prefix=f"xc-{codec}-", dir=base_tmp)
    failures = []
    procs = tk.Procs()
    sniffer = None
    try:
        plan = tk.PortPlan(rng)
        pmin, pmax = plan.media_range(200)
        ng_port = plan.block()
        argv = tk.relay_argv("udp", ng_port, pmin, pmax, os.path.join(tmp, "ng.sock"), tmp,
                             os.path.join(tmp, "relay.pid"))
        relay_log = os.path.join(tmp, "relay.log")
        relay = procs.start("relay", argv, relay_log)
        if not tk.wait_for(f"the relay on udp port {ng_port}", lambda: tk.ng_ping_udp(ng_port), 10, relay):
            return [f"relay not ready; its log:\n" + tk.tail(relay_log)]
        sip_port, uas_port, uac_port = plan.block(), plan.block(), plan.block()
        uac_media, uas_media = plan.block(4, 2), plan.block(4, 2)
        with open(os.path.join(HERE, "kamailio.cfg.in")) as f:
            cfg = f.read()
        offer = 'rtpengine_offer("'
        if cfg.count(offer) != 1:
            return ["kamailio.cfg.in: expected one rtpengine_offer call"]
        cfg = cfg.replace(offer, offer + f"codec-mask-PCMU codec-transcode-{codec} ")
        for key, val in (("SIP_PORT", sip_port), ("UAS_PORT", uas_port),
                         ("RTPENGINE_SOCK", f"udp:127.0.0.1:{ng_port}")):
            cfg = cfg.replace(f"@{key}@", str(val))
        cfg_path = os.path.join(tmp, "kamailio.cfg")
        with open(cfg_path, "w") as f:
            f.write(cfg)
        rundir = os.path.join(tmp, "kamailio-run")
        os.mkdir(rundir)
        kam_log = os.path.join(tmp, "kamailio.log")
        kam = procs.start("kamailio", [tk.tool("kamailio"), "-f", cfg_path, "-DD", "-E", "-m", "64",
                                       "-M", "8", "-Y", rundir, "-P",
                                       os.path.join(rundir, "kamailio.pid")], kam_log, cwd=tmp)
        if not tk.wait_for(f"Kamailio on udp port {sip_port}", lambda: tk.udp_port_bound(sip_port), 10, kam):
            return [f"Kamailio did not start; its log:\n" + tk.tail(kam_log)]
        time.sleep(0.5)

        scenario("uac.xml", "PCMU", os.path.join(tmp, "uac.xml"), pause_ms=int(CALL_S * 1000))
        scenario("uas.xml", codec, os.path.join(tmp, "uas.xml"))
        uac_pcm = write_pcap(os.path.join(tmp, "uac.pcap"), "PCMU", UAC_SSRC)
        uas_pcm = write_pcap(os.path.join(tmp, "uas.pcap"), codec, UAS_SSRC)
        sniffer = PayloadSniffer(pmin, pmax, sip_port)
        sipp = tk.tool("sipp")
        common = ["-i", "127.0.0.1", "-mi", "127.0.0.1", "-nostdin", "-m", "1", "-trace_msg",
                  "-trace_err", "-timeout", "30s", "-timeout_error"]
        uas_msgs = os.path.join(tmp, "uas-messages.log")
        uas = procs.start("sipp UAS", [sipp, "-sf", os.path.join(tmp, "uas.xml"), "-p", str(uas_port),
                                       "-mp", str(uas_media), "-message_file", uas_msgs,
                                       "-error_file", os.path.join(tmp, "uas-errors.log")] + common,
                          os.path.join(tmp, "uas.log"), cwd=tmp)
        if not tk.wait_for(f"SIPp UAS on udp port {uas_port}", lambda: tk.udp_port_bound(uas_port), 10, uas):
            return ["SIPp UAS did not start; its log:\n" + tk.tail(os.path.join(tmp, "uas.log"))]
        uac_msgs = os.path.join(tmp, "uac-messages.log")
        uac = procs.start("sipp UAC", [sipp, f"127.0.0.1:{sip_port}", "-sf", os.path.join(tmp, "uac.xml"),
                                       "-s", "xc", "-p", str(uac_port), "-mp", str(uac_media),
                                       "-l", "1", "-message_file", uac_msgs,
                                       "-error_file", os.path.join(tmp, "uac-errors.log")] + common,
                          os.path.join(tmp, "uac.log"), cwd=tmp)
        try:
            uac_rc = uac.wait(30)
        except tk.subprocess.TimeoutExpired:
            uac_rc = procs.stop(uac)
            failures.append("SIPp UAC did not finish in 30 s")
        try:
            uas_rc = uas.wait(10)
        except tk.subprocess.TimeoutExpired:
            uas_rc = procs.stop(uas)
        time.sleep(0.3)
        sniffer.close()
        log(f"  SIPp exit status: UAC {uac_rc}, UAS {uas_rc} (expected 0 and 0)")
        if uac_rc != 0 or uas_rc != 0:
            failures.append(f"SIPp reported a failed call (UAC {uac_rc}, UAS {uas_rc})")

        pt = PARTY[codec][0]
        offered = received_sdp_fmts(uas_msgs, r"INVITE ")
        answered = received_sdp_fmts(uac_msgs, r"SIP/2\.0 200 ")
        ok = offered is not None and pt in offered and 0 not in offered
        log(f"  INVITE to the UAS offers formats {offered} (expected {pt}, not 0) {'ok' if ok else 'FAIL'}")
        if not ok:
            failures.append(f"INVITE to the UAS offers {offered}")
        ok = bool(answered) and answered[0] == 0
        log(f"  200 OK to the UAC answers formats {answered} (expected 0 first) {'ok' if ok else 'FAIL'}")
        if not ok:
            failures.append(f"200 OK to the UAC answers {answered}")
        a_sdp = tk.sipp_received_sdp(uac_msgs, r"SIP/2\.0 200 ")
        b_sdp = tk.sipp_received_sdp(uas_msgs, r"INVITE ")
        if len(a_sdp) != 1 or len(b_sdp) != 1:
            failures.append(f"expected one call with SDP each side, saw {len(a_sdp)} / {len(b_sdp)}")
            return failures
        a_port = list(a_sdp.values())[0][1]
        b_port = list(b_sdp.values())[0][1]
        paths = [("UAC -> relay", uac_media, a_port, {0, TE_PT}, False),
                 ("relay -> UAS", b_port, uas_media, {pt, TE_PT}, True),
                 ("UAS -> relay", uas_media, b_port, {pt, TE_PT}, False),
                 ("relay -> UAC", a_port, uac_media, {0, TE_PT}, True)]
        for what, sp, dp, allowed, out in paths:
            seen = sniffer.pts(sp, dp)
            audio = sum(n for p, n in seen.items() if p != TE_PT)
            ok = seen and set(seen) <= allowed and audio >= (100 if out else 1)
            log(f"    {what:14} {sp}->{dp}: payload types {seen} (expected only {sorted(allowed)}"
                f"{', >= 100 audio packets' if out else ''}) {'ok' if ok else 'FAIL'}")
            if not ok:
                failures.append(f"{what}: payload types {seen}")
        check_direction(f"PCMU>{codec}", sniffer.rtp.get((b_port, uas_media), []), codec, uac_pcm, failures)
        check_direction(f"{codec}>PCMU", sniffer.rtp.get((a_port, uac_media), []), "PCMU", uas_pcm, failures)
        if not os.environ.get("RELAY_CMD"):
            for what, sp, dp in (("relay -> UAC", a_port + 1, uac_media + 1),
                                 ("relay -> UAS", b_port + 1, uas_media + 1)):
                n = sniffer.rtcp_srs(sp, dp)
                log(f"    RTCP {what} {sp}->{dp}: {n} reports from rtpgate (expected >= 1) {'ok' if n else 'FAIL'}")
                if not n:
                    failures.append(f"no RTCP {what}")
        if relay.poll() is not None:
            failures.append(f"relay exited during the test (status {relay.returncode})")
    finally:
        if sniffer is not None:
            sniffer.close()
        procs.stop_all()
        if failures:
            for name in ("relay.log", "kamailio.log", "uac-errors.log", "uas-errors.log"):
                log(f"  --- last lines of {name} ---\n" + tk.tail(os.path.join(tmp, name)))
            log(f"  (logs kept in {tmp})")
    return failures


def main():
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    missing = [t for t in ("kamailio", "sipp") if tk.tool(t) is None]
    if missing:
        log(f"SKIP: {', '.join(missing)} not installed")
        return SKIP
    if os.geteuid() != 0:
        log("SKIP: needs root (SIPp's pcap play and the loopback sniffer use raw sockets)")
        return SKIP
    if not os.access(tt.tool(), os.X_OK):
        log(f"SKIP: no codec_tool at {tt.tool()} (set CODEC_TOOL; meson does)")
        return SKIP
    rng = random.Random()
    base_tmp = tempfile.mkdtemp(prefix="rtpgate-e2e-xc-")
    os.chmod(base_tmp, 0o755)
    results = {}
    started = time.monotonic()
    for codec in os.environ.get("E2E_CODECS", "PCMA,G729,opus").split(","):
        log(f"=== codec-mask-PCMU codec-transcode-{codec}: SIPp PCMU caller, {codec}-only callee ===")
        try:
            results[codec] = run_codec(codec, rng, base_tmp)
        except Exception as e:
            results[codec] = [f"{type(e).__name__}: {e}"]
    log(f"=== summary ({time.monotonic() - started:.1f} s) ===")
    failed = False
    for codec, res in results.items():
        log(f"PCMU<->{codec}: {'FAILED' if res else 'passed'}")
        for f in res:
            log(f"  - {f}")
        failed |= bool(res)
    if not failed:
        shutil.rmtree(base_tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
