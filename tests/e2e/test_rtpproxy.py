#!/usr/bin/env python3
"""End-to-end, rtpproxy protocol: Debian's Kamailio 5.6 `rtpproxy` module and
SIPp drive rtpgate through --listen-rtpp-unix (unix:) and --listen-rtpp
(udp:), the way an operator migrating from RTPproxy would point an unchanged
config at it (kamailio-rtpproxy.cfg.in, also in docs/kamailio.md).

It reuses test_kamailio.py whole -- processes, SIPp scenarios, the loopback
sniffer that proves RTP went both ways through the relay's ports, the port
and fd checks -- and swaps only what differs: the Kamailio config, the
relay's control options, the readiness probe ("V" instead of an ng ping) and
the $rtpstat check (rtpproxy's "Q" reply instead of rtpengine's totals).
Needs root like test_kamailio.py; exits 77 (skipped) without it.
"""

import os
import re
import shutil
import socket
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_kamailio as tk  # noqa: E402


def rtpp_unix(path, cmd):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(0.5)
    try:
        s.connect(path)
        s.sendall(cmd)
        return s.recv(4096)
    except OSError:
        return b""
    finally:
        s.close()


def rtpp_udp(port, cmd):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.3)
    try:
        s.sendto(b"e2e_1 " + cmd, ("127.0.0.1", port))
        return s.recvfrom(4096)[0]
    except OSError:
        return b""
    finally:
        s.close()


def relay_argv(transport, ng_port, pmin, pmax, unix_sock, tmpdir, pidfile):
    """test_kamailio's relay, with the rtpproxy protocol where Kamailio looks:
    the UNIX path and UDP port it was given become the rtpproxy ones, ng
    moves aside."""
    argv = ORIG_RELAY_ARGV(transport, tk.free_udp_port(RNG), pmin, pmax,
                           unix_sock + ".ng", tmpdir, pidfile)
    return argv + [f"--listen-rtpp-unix={unix_sock}", f"--listen-rtpp=127.0.0.1:{ng_port}"]


def check_rtpstat(transport, sniffer, kam_log, uac_media, uas_media):
    """$rtpstat is rtpproxy's Q reply "TTL FROM_A FROM_B RELAYED DROPPED": the
    packets counted from the two parties must be at least 90 % of the RTP
    they sent into the relay until shortly before the BYE."""
    failures = []
    try:
        with open(kam_log, errors="replace") as f:
            text = f.read()
    except OSError:
        text = ""
    lines = re.findall(r"e2e: BYE call-id=(\S+) rtpstat=(.*)", text)
    if len(lines) < tk.CALLS:
        failures.append(f"{transport}: Kamailio logged $rtpstat for {len(lines)} BYEs, "
                        f"expected {tk.CALLS}")
    for call_id, stat in lines:
        m = re.match(r"\s*(\d+) (\d+) (\d+) (\d+) (\d+)", stat)
        bye = sniffer.byes.get(call_id)
        before = bye - tk.BYE_MARGIN if bye is not None else None
        sent = 0
        if call_id in sniffer.call_ports:
            a_port, b_port = sniffer.call_ports[call_id]
            sent = (sniffer.count(uac_media, a_port, tk.UAC_SSRC, False, before)
                    + sniffer.count(uas_media, b_port, tk.UAS_SSRC, False, before))
        need = int(sent * tk.MIN_FORWARD_SHARE)
        got = int(m.group(2)) + int(m.group(3)) if m else -1
        ok = got >= need and got > 0
        tk.log(f"  $rtpstat (Q) at BYE of {call_id}: {stat.strip()[:80]} (expected "
               f"packets from the parties >= {need}: 90 % of the {sent} RTP sent) "
               f"{'ok' if ok else 'FAIL'}")
        if not ok:
            failures.append(f"{transport} call {call_id}: $rtpstat counts {got} packets, "
                            f"expected >= {need}")
    return failures


def main():
    global ORIG_RELAY_ARGV, RNG
    if os.environ.get("RELAY_CMD"):
        tk.log("SKIP: RELAY_CMD is set; the rtpproxy run needs rtpgate itself")
        return tk.SKIP
    # a directory that looks like tests/e2e to run_transport, with our config
    stage = tempfile.mkdtemp(prefix="rtpproxy-e2e-cfg-")
    for name in ("uac.xml", "uas.xml"):
        os.symlink(os.path.join(HERE, name), os.path.join(stage, name))
    shutil.copy(os.path.join(HERE, "kamailio-rtpproxy.cfg.in"),
                os.path.join(stage, "kamailio.cfg.in"))
    import random
    RNG = random.Random()
    ORIG_RELAY_ARGV = tk.relay_argv
    tk.HERE = stage
    tk.relay_argv = relay_argv
    tk.ng_ping_unix = lambda path: rtpp_unix(path, b"V").strip() == b"20040107"
    tk.ng_ping_udp = lambda port: rtpp_udp(port, b"V").strip() == b"e2e_1 20040107"
    tk.check_rtpstat = check_rtpstat
    try:
        return tk.main()
    finally:
        shutil.rmtree(stage, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
