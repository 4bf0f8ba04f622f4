#!/usr/bin/python3
"""End-to-end test: Debian's Kamailio 5.6 and SIPp make calls through the relay.

For each control transport (Kamailio's rtpengine_sock "unix:PATH" and
"udp:127.0.0.1:PORT") this test:

1. starts the relay under test on a random free port range, with ng over UDP on
   a random loopback port and (rtpgate) a UNIX socket in a temporary folder;
2. writes a Kamailio config from kamailio.cfg.in and starts Kamailio in the
   foreground on a random loopback SIP port, as user `kamailio` like Debian's
   service (so rtpgate's UNIX socket must be reachable: --unix-mode=0666);
3. starts a SIPp UAS, then a SIPp UAC that makes CALLS overlapping calls
   through Kamailio; in each call both parties play about 2 s of PCMA RTP
   and 4 RTCP sender reports (pcap files written here, a distinct SSRC per
   side) and the UAC hangs up;
4. sniffs the loopback interface (AF_PACKET, needs root like SIPp's pcap play)
   and checks, per call:
   - the SDP each SIPp party received names 127.0.0.1 and a port inside the
     relay's range (so the relay rewrote it), a different port per side;
   - RTP went UAC -> relay port A and relay port B -> UAS carrying the UAC's
     SSRC, and UAS -> relay port B and relay port A -> UAC carrying the UAS's
     SSRC: at least 90 % of what each party sent until shortly before its
     BYE, sent from the port the relay advertised to the receiving party;
   - the same for RTCP between the RTP ports + 1 (at least one each way);
   - Kamailio's $rtpstat (the relay's query totals) on the BYE counts at
     least 90 % of the RTP sent into the relay;
5. checks that after the BYEs (delete) the relay holds no UDP socket in its
   port range and no more file descriptors than before the calls.

Which relay:
- RTPGATE=path/to/rtpgate (set by meson; default build/relay/rtpgate): the
  daemon under test, both runs.
- RELAY_CMD="..." overrides it with any ng relay command line; {ng_port},
  {pmin}, {pmax}, {pidfile}, {unix_sock}, {tmpdir} are filled in. The unix run
  only happens if RELAY_CMD contains {unix_sock}. For Debian's rtpengine:
    RELAY_CMD='rtpengine --config-file=none --foreground --table=-1
      --interface=127.0.0.1 --listen-ng=127.0.0.1:{ng_port} --port-min={pmin}
      --port-max={pmax} --delete-delay=0 --log-stderr --pidfile={pidfile}'
  (ng_unix_bridge.py in this folder adds the unix transport to it.)
- E2E_TRANSPORTS=unix,udp picks the runs (default both); E2E_CALLS=N makes
  N calls per run instead of 4 (started 100 ms apart, so up to about 30 overlap).
test_rtpproxy.py imports this file and swaps HERE, relay_argv, ng_ping_*,
check_rtpstat; keep those names and signatures.
Exit 77 (meson: skipped) when not root or a tool is missing. Every process
started here is ended by its PID, also when meson's timeout sends SIGTERM.
"""

import os
import random
import re
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CALLS = int(os.environ.get("E2E_CALLS", "4"))   # started 100 ms apart
RTP_PACKETS = 100          # per party per call: 2 s of 20 ms PCMA
RTP_PTIME = 0.020
RTCP_EVERY = 25            # an RTCP SR every 25 RTP packets (0.5 s): 4 per party
UAC_SSRC = 0x11AC0001
UAS_SSRC = 0x22A50002
RANGE_SIZE = max(200, 8 * CALLS)   # relay port range size
MIN_FORWARD_SHARE = 0.9    # share of sent packets that must come out of the relay
MIN_SENT = 10              # packets each party must have sent (busy machines lag)
BYE_MARGIN = 0.3           # s: packets sent closer to the BYE may be dropped
SKIP = 77


def tool(name):
    """Path of kamailio or sipp: $KAMAILIO / $SIPP (set by meson), else PATH
    and /usr/sbin."""
    path = os.environ.get(name.upper())
    if path and os.access(path, os.X_OK):
        return path
    return shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin")


def log(msg):
    print(msg, flush=True)


# ---------------------------------------------------------------------------
# ports and sockets


PORT_AREA = (20000, 30000)   # below the kernel's ephemeral ports and below
                             # the 30000+ ranges the daemon tests pick


def udp_bindable(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_udp_port(rng=None):
    """A free UDP port outside PORT_AREA (the kernel picks an ephemeral one),
    so it never meets a PortPlan's ports. test_rtpproxy.py uses it."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


class PortPlan:
    """Hands out ports for one run, none twice: the relay's media range first,
    then single ports and blocks (SIPp's -mp port P uses P..P+3: RTP, RTCP
    offset and a video pair) that are free now and outside that range."""

    def __init__(self, rng):
        self.rng = rng
        self.taken = set()

    def media_range(self, size):
        used = set(proc_udp_sockets().values())
        for _ in range(200):
            pmin = self.rng.randrange(PORT_AREA[0], PORT_AREA[1] - size) & ~1
            pmax = pmin + size - 1
            if not any(pmin <= p <= pmax for p in used):
                self.taken.update(range(pmin, pmax + 1))
                return pmin, pmax
        raise RuntimeError("no free port range found")

    def block(self, count=1, align=1):
        for _ in range(500):
            base = self.rng.randrange(PORT_AREA[0], PORT_AREA[1] - count)
            base -= base % align
            ports = range(base, base + count)
            if any(p in self.taken for p in ports):
                continue
            if all(udp_bindable(p) for p in ports):
                self.taken.update(ports)
                return base
        raise RuntimeError("no free UDP ports found")


def proc_udp_sockets():
    """{inode: local port} of every UDP/UDP6 socket on the machine."""
    out = {}
    for name in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    port = int(fields[1].rsplit(":", 1)[1], 16)
                    out[int(fields[9])] = port
        except OSError:
            pass
    return out


def pid_socket_inodes(pid):
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            m = re.match(r"socket:\[(\d+)\]", target)
            if m:
                inodes.add(int(m.group(1)))
    except OSError:
        pass
    return inodes


def pid_fd_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


def pid_ports_in_range(pid, pmin, pmax):
    socks = proc_udp_sockets()
    return sorted(socks[i] for i in pid_socket_inodes(pid)
                  if i in socks and pmin <= socks[i] <= pmax)


def udp_port_bound(port):
    return port in proc_udp_sockets().values()


def wait_for(what, predicate, timeout, proc=None):
    """Polls predicate() until true or timeout; gives up early if proc exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if proc is not None and proc.poll() is not None:
            log(f"  gave up waiting for {what}: the process exited ({proc.returncode})")
            return False
        time.sleep(0.1)
    log(f"  timed out after {timeout} s waiting for {what}")
    return False


# ---------------------------------------------------------------------------
# ng ping (readiness of the relay)


def ng_ping_udp(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.3)
    try:
        cookie = b"e2e%d" % random.randrange(1 << 30)
        s.sendto(cookie + b" d7:command4:pinge", ("127.0.0.1", port))
        data, _ = s.recvfrom(4096)
        return data.startswith(cookie + b" ") and b"pong" in data
    except OSError:
        return False
    finally:
        s.close()


def ng_ping_unix(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(0.5)
    try:
        s.connect(path)
        s.sendall(b"d7:command4:pinge")
        data = s.recv(4096)
        return b"pong" in data
    except OSError:
        return False
    finally:
        s.close()


# ---------------------------------------------------------------------------
# test audio: a pcap of PCMA RTP that SIPp's play_pcap_audio replays


def pcap_udp_frame(t, port, data):
    """One pcap record: Ethernet/IPv4/UDP to `port` carrying data."""
    udp = struct.pack("!HHHH", port, port, 8 + len(data), 0) + data
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000,
                     64, 17, 0, socket.inet_aton("127.0.0.1"),
                     socket.inet_aton("127.0.0.1")) + udp
    frame = b"\0" * 12 + b"\x08\x00" + ip
    return struct.pack("<IIII", int(t), int(round((t % 1) * 1e6)) % 1000000,
                       len(frame), len(frame)) + frame


def write_rtp_pcap(path, ssrc, packets):
    """pcap of PCMA RTP to port 6000, 20 ms apart, and an RTCP sender report
    to port 6001 every RTCP_EVERY packets. SIPp replaces the addresses and
    keeps the port offset: RTCP goes from its media port + 1 to the remote
    RTP port + 1."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    seq = random.randrange(1 << 16)
    ts = random.randrange(1 << 32)
    t0 = 1_700_000_000.0
    for i in range(packets):
        t = t0 + i * RTP_PTIME
        payload = bytes((0xD5 ^ ((i * 7 + j * 13) & 0x3F)) for j in range(160))
        rtp = struct.pack("!BBHII", 0x80, (0x80 if i == 0 else 0) | 8,
                          (seq + i) & 0xFFFF, (ts + 160 * i) & 0xFFFFFFFF,
                          ssrc) + payload
        out.append(pcap_udp_frame(t, 6000, rtp))
        if i % RTCP_EVERY == RTCP_EVERY // 2:
            sr = struct.pack("!BBHIIIIII", 0x80, 200, 6, ssrc, int(t) + 2208988800,
                             0, (ts + 160 * i) & 0xFFFFFFFF, i + 1, (i + 1) * 160)
            out.append(pcap_udp_frame(t + 0.001, 6001, sr))
    with open(path, "wb") as f:
        f.write(b"".join(out))


# ---------------------------------------------------------------------------
# loopback sniffer


class Sniffer:
    """Records UDP packets on `lo` that have one end in [pmin, pmax] with the
    kernel's receive time: flows[(sport, dport)] = [(time, ssrc or None)],
    and the first time a BYE for each Call-ID reached the SIP port:
    byes[call_id] = time."""

    SO_RCVBUFFORCE = 33
    SO_TIMESTAMP = 29
    SOL_PACKET = 263
    PACKET_STATISTICS = 6

    def __init__(self, pmin, pmax, sip_port):
        self.pmin, self.pmax, self.sip_port = pmin, pmax, sip_port
        self.flows = {}
        self.byes = {}
        self.call_ports = {}    # Call-ID: (port to UAC, port to UAS), by the checks
        self.drops = 0
        self.stop = threading.Event()
        self.stop_at = None
        # protocol 0: nothing is queued before the filter is on and bind()
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        self.filtered = self.attach_filter()
        try:    # root: past net.core.rmem_max, so a busy machine loses nothing
            self.sock.setsockopt(socket.SOL_SOCKET, self.SO_RCVBUFFORCE, 16 << 20)
        except OSError:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
        self.sock.setsockopt(socket.SOL_SOCKET, self.SO_TIMESTAMP, 1)
        self.sock.bind(("lo", 0x0003))          # ETH_P_ALL
        self.sock.settimeout(0.2)
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def attach_filter(self):
        """Kernel-side filter (classic BPF, SO_ATTACH_FILTER): only IPv4/UDP
        with a port in [pmin, pmax] or to the SIP port is queued, so other
        loopback traffic on the machine cannot overflow the buffer."""
        pmin, pmax, sip = self.pmin, self.pmax, self.sip_port
        prog = [  # (code, jt, jf, k); jumps are relative to the next one
            (0x28, 0, 0, 12),        # 0  ldh [12]           ethertype
            (0x15, 0, 11, 0x0800),   # 1  jeq IPv4 else drop
            (0x30, 0, 0, 23),        # 2  ldb [23]           IP protocol
            (0x15, 0, 9, 17),        # 3  jeq UDP else drop
            (0xB1, 0, 0, 14),        # 4  ldxb 4*([14]&0xf)  IP header length
            (0x48, 0, 0, 14),        # 5  ldh [x+14]         source port
            (0x35, 0, 1, pmin),      # 6  jge pmin else 8
            (0x25, 0, 4, pmax),      # 7  jgt pmax then 8 else accept
            (0x48, 0, 0, 16),        # 8  ldh [x+16]         destination port
            (0x15, 2, 0, sip),       # 9  jeq SIP port: accept
            (0x35, 0, 2, pmin),      # 10 jge pmin else drop
            (0x25, 1, 0, pmax),      # 11 jgt pmax then drop else accept
            (0x06, 0, 0, 0xFFFF),    # 12 accept
            (0x06, 0, 0, 0),         # 13 drop
        ]
        try:
            import ctypes
            code = b"".join(struct.pack("HBBI", *ins) for ins in prog)
            buf = ctypes.create_string_buffer(code, len(code))
            fprog = struct.pack("HL", len(prog), ctypes.addressof(buf))
            self.sock.setsockopt(socket.SOL_SOCKET, 26, fprog)  # SO_ATTACH_FILTER
            return True
        except (OSError, ImportError, struct.error) as e:
            log(f"  note: no kernel filter on the sniffer ({e}); reading all of lo")
            return False

    def run(self):
        # runs until stopped and every packet captured before the stop is
        # read: a busy machine may leave this thread well behind the traffic
        while True:
            try:
                frame, anc, _, addr = self.sock.recvmsg(65535, 64)
            except socket.timeout:
                if self.stop.is_set():
                    return
                continue
            except OSError:
                return
            if addr[2] == socket.PACKET_OUTGOING:   # lo shows each packet twice
                continue
            when = time.time()
            for level, kind, data in anc:
                if level == socket.SOL_SOCKET and kind == self.SO_TIMESTAMP:
                    sec, usec = struct.unpack("qq", data[:16])
                    when = sec + usec / 1e6
            if self.stop_at is not None and when >= self.stop_at:
                return
            self.take(frame, when)

    def take(self, frame, when):
        if len(frame) < 14 + 20 + 8 or frame[12:14] != b"\x08\x00":
            return
        ip = frame[14:]
        ihl = (ip[0] & 0x0F) * 4
        if ip[9] != 17 or len(ip) < ihl + 8:
            return
        sport, dport = struct.unpack("!HH", ip[ihl:ihl + 4])
        body = ip[ihl + 8:]
        if dport == self.sip_port and body.startswith(b"BYE "):
            m = re.search(rb"\r\n(?:Call-ID|i)\s*:\s*(\S+)", body, re.I)
            if m:
                self.byes.setdefault(m.group(1).decode(errors="replace"), when)
            return
        if not (self.pmin <= sport <= self.pmax or self.pmin <= dport <= self.pmax):
            return
        ssrc, rtcp = None, False
        if len(body) >= 12 and body[0] >> 6 == 2:
            rtcp = 200 <= body[1] <= 204
            ssrc = struct.unpack("!I", body[4:8] if rtcp else body[8:12])[0]
        self.flows.setdefault((sport, dport), []).append((when, ssrc, rtcp))

    def close(self):
        if self.stop.is_set():
            return
        self.stop_at = time.time()
        self.stop.set()
        self.thread.join(15)
        try:
            stats = self.sock.getsockopt(self.SOL_PACKET, self.PACKET_STATISTICS, 8)
            self.drops = struct.unpack("II", stats)[1]
        except OSError:
            pass
        self.sock.close()

    def count(self, sport, dport, ssrc, rtcp=False, before=None):
        return sum(1 for t, s, r in self.flows.get((sport, dport), ())
                   if s == ssrc and r == rtcp and (before is None or t < before))

    def describe(self, sport, dport):
        counts = {}
        for _, s, r in self.flows.get((sport, dport), ()):
            counts[(r, s)] = counts.get((r, s), 0) + 1
        return ", ".join((f"{'RTCP' if r else 'RTP'} ssrc {s:#x}: {n}" if s is not None
                          else f"not RTP: {n}")
                         for (r, s), n in sorted(counts.items(), key=lambda kv: -kv[1])) or "nothing"


# ---------------------------------------------------------------------------
# SIPp message logs


def sipp_received_sdp(path, first_line_re):
    """{Call-ID: (c= address, m=audio port)} from the messages SIPp received
    whose first line matches first_line_re and that carry an SDP body."""
    try:
        with open(path, errors="replace") as f:
            text = f.read()
    except OSError:
        return {}
    out = {}
    for block in re.split(r"\n-{20,}[^\n]*\n", "\n" + text):
        if "message received" not in block:
            continue
        lines = [l.strip() for l in block.splitlines()]
        lines = [l for l in lines if "message received" not in l]
        while lines and not lines[0]:
            lines.pop(0)
        if not lines or not re.match(first_line_re, lines[0]):
            continue
        call_id = addr = port = None
        for l in lines:
            m = re.match(r"(?i)(Call-ID|i)\s*:\s*(\S+)", l)
            if m and call_id is None:
                call_id = m.group(2)
            m = re.match(r"c=IN IP4 (\S+)", l)
            if m:
                addr = m.group(1)
            m = re.match(r"m=audio (\d+) ", l)
            if m:
                port = int(m.group(1))
        if call_id and port is not None:
            out[call_id] = (addr, port)
    return out


# ---------------------------------------------------------------------------
# processes


def proc_start_time(pid):
    """Start time of a process (field 22 of /proc/PID/stat), None if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def proc_children(pid):
    """[(pid, start time)] of the live children of pid."""
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append((int(entry), fields[19]))
    return kids


class Procs:
    """The processes this test started. All stay in the test's process group
    (so meson's timeout kill reaches them too); each is stopped by its PID:
    SIGTERM, then SIGKILL after a grace period. Children a process forked
    (Kamailio's workers) are noted before it is stopped and killed by PID if
    they outlive it."""

    def __init__(self):
        self.procs = []

    def start(self, name, argv, logpath, cwd=None):
        log(f"  starting {name}: {' '.join(shlex.quote(a) for a in argv)}")
        logf = open(logpath, "wb")
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf,
                             stderr=subprocess.STDOUT, cwd=cwd)
        logf.close()
        self.procs.append((name, p))
        return p

    def stop(self, p, timeout=5):
        name = next((n for n, q in self.procs if q is p), None)
        if name is None:
            return None
        kids = proc_children(p.pid) if p.poll() is None else []
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                log(f"  {name} (pid {p.pid}) ignored SIGTERM for {timeout} s: SIGKILL")
                p.kill()
                p.wait(5)
        deadline = time.monotonic() + 2
        for pid, started in kids:
            while proc_start_time(pid) == started and time.monotonic() < deadline:
                time.sleep(0.05)
            if proc_start_time(pid) == started:
                log(f"  {name}'s child {pid} outlived it: SIGKILL")
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        return p.returncode

    def stop_all(self):
        for name, p in reversed(self.procs):
            self.stop(p)


def tail(path, lines=25):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return "(no log)\n"


# ---------------------------------------------------------------------------
# one run: one relay, one Kamailio, one batch of calls


def rtpgate_path():
    return os.environ.get("RTPGATE") or os.path.normpath(os.path.join(
        HERE, "..", "..", "build", "relay", "rtpgate"))


def relay_argv(transport, ng_port, pmin, pmax, unix_sock, tmpdir, pidfile):
    relay_cmd = os.environ.get("RELAY_CMD")
    if relay_cmd:
        if transport == "unix" and "{unix_sock}" not in relay_cmd:
            return None
        cmd = relay_cmd.format(ng_port=ng_port, pmin=pmin, pmax=pmax,
                               unix_sock=unix_sock, tmpdir=tmpdir,
                               pidfile=pidfile)
        return shlex.split(cmd)
    return [rtpgate_path(), "--foreground", "--interface=127.0.0.1",
            f"--listen-ng=127.0.0.1:{ng_port}", f"--listen-unix={unix_sock}",
            f"--port-min={pmin}", f"--port-max={pmax}", "--num-threads=2",
            "--log-level=6", "--delete-delay=0", f"--pidfile={pidfile}",
            "--unix-mode=0666"]


def kamailio_user():
    """(name, uid, gid) Kamailio drops to, or None to keep root. Like Debian's
    service: user `kamailio` (E2E_KAMAILIO_USER, "" for root), so the UNIX
    socket's permissions are exercised; root under RELAY_CMD, whose relay may
    not make its socket reachable for others."""
    import pwd
    name = os.environ.get("E2E_KAMAILIO_USER", "kamailio")
    if not name or os.environ.get("RELAY_CMD"):
        return None
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        return None
    return name, pw.pw_uid, pw.pw_gid


def relay_pid(proc, pidfile):
    """The relay's PID: from its pidfile when it wrote one (a wrapper such as
    ng_unix_bridge.py runs it as a child), else the process started."""
    try:
        with open(pidfile) as f:
            pid = int(f.read().split()[0])
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError, IndexError):
        return proc.pid


def run_transport(transport, rng, base_tmp):
    """Returns a list of failure strings (empty: passed) or None (skipped)."""
    tmp = tempfile.mkdtemp(prefix=f"{transport}-", dir=base_tmp)
    failures = []
    procs = Procs()
    sniffer = None
    try:
        unix_sock = os.path.join(tmp, "ng.sock")
        relay_log = os.path.join(tmp, "relay.log")
        # Ports are free when picked, but on a shared machine another test
        # may take one before the relay binds it: then try new ones.
        for attempt in range(3):
            plan = PortPlan(rng)
            pmin, pmax = plan.media_range(RANGE_SIZE)
            ng_port = plan.block()
            argv = relay_argv(transport, ng_port, pmin, pmax, unix_sock, tmp,
                              os.path.join(tmp, "relay.pid"))
            if argv is None:
                log(f"[{transport}] SKIPPED: RELAY_CMD has no {{unix_sock}}, so that "
                    "relay cannot listen on a UNIX socket (rtpengine cannot); only "
                    "rtpgate runs the unix: variant")
                return None
            log(f"[{transport}] relay media range {pmin}-{pmax}, ng udp "
                f"127.0.0.1:{ng_port}" + (f", unix {unix_sock}" if transport == "unix" else ""))
            relay = procs.start("relay", argv, relay_log)
            if transport == "unix":
                ready = wait_for("the relay to answer ping on " + unix_sock,
                                 lambda: ng_ping_unix(unix_sock), 10, relay)
                sock_spec = f"unix:{unix_sock}"
            else:
                ready = wait_for(f"the relay to answer ping on udp port {ng_port}",
                                 lambda: ng_ping_udp(ng_port), 10, relay)
                sock_spec = f"udp:127.0.0.1:{ng_port}"
            if ready:
                break
            procs.stop(relay)
            if "in use" not in tail(relay_log).lower() or attempt == 2:
                failures.append(f"relay not ready (exit status {relay.poll()}); "
                                "its log:\n" + tail(relay_log))
                return failures
            log("  a port was taken meanwhile (relay log: "
                f"{tail(relay_log, 1).strip()}); again with other ports")

        # Kamailio
        sip_port = plan.block()
        uas_port = plan.block()
        uac_port = plan.block()
        uac_media = plan.block(4, 2)
        uas_media = plan.block(4, 2)
        with open(os.path.join(HERE, "kamailio.cfg.in")) as f:
            cfg = f.read()
        for key, val in (("SIP_PORT", sip_port), ("UAS_PORT", uas_port),
                         ("RTPENGINE_SOCK", sock_spec)):
            cfg = cfg.replace(f"@{key}@", str(val))
        cfg_path = os.path.join(tmp, "kamailio.cfg")
        with open(cfg_path, "w") as f:
            f.write(cfg)
        rundir = os.path.join(tmp, "kamailio-run")
        os.mkdir(rundir)
        kam_log = os.path.join(tmp, "kamailio.log")
        kam_argv = [tool("kamailio"), "-f", cfg_path, "-DD", "-E", "-m", "64",
                    "-M", "8", "-Y", rundir, "-P", os.path.join(rundir, "kamailio.pid")]
        user = kamailio_user()
        if user:
            # it must reach its config, its runtime folder and the socket
            for d in (base_tmp, tmp):
                os.chmod(d, 0o755)
            os.chown(rundir, user[1], user[2])
            kam_argv += ["-u", user[0], "-g", user[0]]
            log(f"  Kamailio drops to user {user[0]}, as Debian's service does")
        kam = procs.start("kamailio", kam_argv, kam_log, cwd=tmp)
        if not wait_for(f"Kamailio on udp port {sip_port}",
                        lambda: udp_port_bound(sip_port), 10, kam):
            failures.append(f"Kamailio did not start (exit status {kam.poll()}); its log:\n"
                            + tail(kam_log))
            return failures
        time.sleep(0.5)   # its start-up ping to the relay
        rpid = relay_pid(relay, os.path.join(tmp, "relay.pid"))
        fds_before = pid_fd_count(rpid)

        # SIPp parties and the sniffer
        write_rtp_pcap(os.path.join(tmp, "uac.pcap"), UAC_SSRC, RTP_PACKETS)
        write_rtp_pcap(os.path.join(tmp, "uas.pcap"), UAS_SSRC, RTP_PACKETS)
        sniffer = Sniffer(pmin, pmax, sip_port)
        sipp = tool("sipp")
        common = ["-i", "127.0.0.1", "-mi", "127.0.0.1", "-nostdin",
                  "-m", str(CALLS), "-trace_msg", "-trace_err",
                  "-timeout", "40s", "-timeout_error"]
        uas_msgs = os.path.join(tmp, "uas-messages.log")
        uas = procs.start("sipp UAS", [
            sipp, "-sf", os.path.join(HERE, "uas.xml"), "-p", str(uas_port),
            "-mp", str(uas_media), "-message_file", uas_msgs,
            "-error_file", os.path.join(tmp, "uas-errors.log"),
        ] + common, os.path.join(tmp, "uas.log"), cwd=tmp)
        if not wait_for(f"SIPp UAS on udp port {uas_port}",
                        lambda: udp_port_bound(uas_port), 10, uas):
            failures.append("SIPp UAS did not start; its log:\n"
                            + tail(os.path.join(tmp, "uas.log")))
            return failures
        uac_msgs = os.path.join(tmp, "uac-messages.log")
        uac = procs.start("sipp UAC", [
            sipp, f"127.0.0.1:{sip_port}", "-sf", os.path.join(HERE, "uac.xml"),
            "-s", "e2e", "-p", str(uac_port), "-mp", str(uac_media),
            "-l", str(CALLS), "-r", "10", "-message_file", uac_msgs,
            "-error_file", os.path.join(tmp, "uac-errors.log"),
        ] + common, os.path.join(tmp, "uac.log"), cwd=tmp)
        # while the calls run, watch how many ports of the range the relay
        # holds: proves the after-delete check below looks at the right process
        held_max = 0
        deadline = time.monotonic() + 45
        while uac.poll() is None and time.monotonic() < deadline:
            held_max = max(held_max, len(pid_ports_in_range(rpid, pmin, pmax)))
            time.sleep(0.1)
        if uac.poll() is None:
            procs.stop(uac)
            failures.append("SIPp UAC did not finish in 45 s")
        uac_rc = uac.returncode
        try:
            uas_rc = uas.wait(10)
        except subprocess.TimeoutExpired:
            uas_rc = procs.stop(uas)
            failures.append("SIPp UAS did not finish 10 s after the UAC")
        time.sleep(0.3)
        sniffer.close()
        log(f"  SIPp exit status: UAC {uac_rc}, UAS {uas_rc} (expected 0 and 0: "
            f"{CALLS} successful calls each)")
        if uac_rc != 0 or uas_rc != 0:
            failures.append(f"SIPp reported failed calls (UAC {uac_rc}, UAS {uas_rc})")
            for name in ("uac-errors.log", "uas-errors.log", "uac.log"):
                log(f"  --- {name} ---\n" + tail(os.path.join(tmp, name), 15))

        failures += check_media(transport, sniffer, pmin, pmax,
                                uac_msgs, uas_msgs, uac_media, uas_media)

        # delete leaves nothing behind
        overlap = min(CALLS, 4)    # calls 100 ms apart, 3 s long: these overlap
        log(f"  during the calls the relay (pid {rpid}) held up to {held_max} "
            f"UDP ports of {pmin}-{pmax} (expected >= {2 * overlap}: an RTP port "
            f"per side for {overlap} overlapping calls)")
        if held_max < 2 * overlap:
            failures.append(f"relay held only {held_max} ports during {CALLS} calls")
        wait_for("the relay to release its ports",
                 lambda: not pid_ports_in_range(rpid, pmin, pmax), 5)
        left = pid_ports_in_range(rpid, pmin, pmax)
        fds_after = pid_fd_count(rpid)
        log(f"  after the BYEs: relay UDP sockets in {pmin}-{pmax}: "
            f"{left or 'none'} (expected none); relay fds before the calls "
            f"{fds_before}, after {fds_after} (expected after <= before)")
        if left:
            failures.append(f"relay still holds ports {left} after delete")
        if fds_after > fds_before:
            failures.append(f"relay holds {fds_after - fds_before} more fds than "
                            "before the calls")
        failures += check_rtpstat(transport, sniffer, kam_log, uac_media, uas_media)
        if relay.poll() is not None:
            failures.append(f"relay exited during the test (status {relay.returncode})")
    finally:
        if sniffer is not None:
            sniffer.close()
        procs.stop_all()
        if failures:
            for name in ("relay.log", "kamailio.log"):
                log(f"  --- last lines of {name} ---\n" + tail(os.path.join(tmp, name)))
            log(f"  (logs kept in {tmp})")
    return failures


def check_rtpstat(transport, sniffer, kam_log, uac_media, uas_media):
    """The relay's own counters, as Kamailio's $rtpstat read them (query
    totals) on each BYE, must count the RTP the parties sent into the relay
    until shortly before the BYE (at least 90 % of it)."""
    failures = []
    try:
        with open(kam_log, errors="replace") as f:
            text = f.read()
    except OSError:
        text = ""
    lines = re.findall(r"e2e: BYE call-id=(\S+) rtpstat=(.*)", text)
    if len(lines) < CALLS:
        failures.append(f"{transport}: Kamailio logged $rtpstat for {len(lines)} "
                        f"BYEs, expected {CALLS}")
    for call_id, stat in lines:
        m = re.search(r"RTP: (\d+) bytes, (\d+) packets", stat)
        bye = sniffer.byes.get(call_id)
        before = bye - BYE_MARGIN if bye is not None else None
        sent = 0
        if call_id in sniffer.call_ports:
            a_port, b_port = sniffer.call_ports[call_id]
            sent = (sniffer.count(uac_media, a_port, UAC_SSRC, False, before)
                    + sniffer.count(uas_media, b_port, UAS_SSRC, False, before))
        need = int(sent * MIN_FORWARD_SHARE)
        got = int(m.group(2)) if m else -1
        ok = got >= need and got > 0
        log(f"  $rtpstat at BYE of {call_id}: {stat.strip()[:120]} (expected RTP "
            f">= {need} packets: 90 % of the {sent} sent into the relay) "
            f"{'ok' if ok else 'FAIL'}")
        if not ok:
            failures.append(f"{transport} call {call_id}: $rtpstat counts {got} RTP "
                            f"packets, expected >= {need}")
    return failures


def check_media(transport, sniffer, pmin, pmax, uac_msgs, uas_msgs,
                uac_media, uas_media):
    failures = []
    # the SDP the UAC got in 200 OK, and the UAS got in the INVITE
    uac_sdp = sipp_received_sdp(uac_msgs, r"SIP/2\.0 200 ")
    uas_sdp = sipp_received_sdp(uas_msgs, r"INVITE ")
    log(f"  calls with SDP seen: UAC got {len(uac_sdp)} 200 OK, UAS got "
        f"{len(uas_sdp)} INVITE (expected {CALLS} each)")
    if len(uac_sdp) != CALLS or len(uas_sdp) != CALLS:
        failures.append(f"expected {CALLS} calls with SDP on each side, saw "
                        f"{len(uac_sdp)} / {len(uas_sdp)}")
    for call_id in sorted(uac_sdp):
        a_addr, a_port = uac_sdp[call_id]
        b_addr, b_port = uas_sdp.get(call_id, (None, None))
        log(f"  call {call_id}: relay ports advertised to UAC "
            f"{a_addr}:{a_port}, to UAS {b_addr}:{b_port} (expected 127.0.0.1, "
            f"in {pmin}-{pmax}, different)")
        bad = []
        for who, addr, port in (("UAC", a_addr, a_port), ("UAS", b_addr, b_port)):
            if addr != "127.0.0.1" or port is None or not pmin <= port <= pmax:
                bad.append(f"SDP to {who} names {addr}:{port}, not the relay")
        if not bad and a_port == b_port:
            bad.append("same relay port advertised to both sides")
        sniffer.call_ports[call_id] = (a_port, b_port)
        if bad:
            failures += [f"{transport} call {call_id}: {b}" for b in bad]
            continue
        # Packets a party sent after its BYE left may meet a deleted session;
        # only those sent at least BYE_MARGIN before it must come out.
        bye = sniffer.byes.get(call_id)
        before = bye - BYE_MARGIN if bye is not None else None
        if bye is None:
            failures.append(f"{transport} call {call_id}: no BYE seen on the wire")
        flows = [
            # what, sender port, receiver port, ssrc, what it relays
            ("UAC -> relay", uac_media, a_port, UAC_SSRC, None),
            ("relay -> UAS", b_port, uas_media, UAC_SSRC, (uac_media, a_port)),
            ("UAS -> relay", uas_media, b_port, UAS_SSRC, None),
            ("relay -> UAC", a_port, uac_media, UAS_SSRC, (uas_media, b_port)),
        ]
        # RTCP: from/to each RTP port + 1
        flows += [("RTCP " + what, sport + 1, dport + 1, ssrc,
                   source and (source[0] + 1, source[1] + 1))
                  for what, sport, dport, ssrc, source in flows]
        for what, sport, dport, ssrc, source in flows:
            rtcp = what.startswith("RTCP")
            least = 1 if rtcp else MIN_SENT
            if source is None:
                got = sniffer.count(sport, dport, ssrc, rtcp, before)
                need = least
                note = (f"SIPp plays {RTP_PACKETS // RTCP_EVERY if rtcp else RTP_PACKETS}"
                        f"; counted until {BYE_MARGIN} s before the BYE")
            else:
                got = sniffer.count(sport, dport, ssrc, rtcp)
                sent = sniffer.count(source[0], source[1], ssrc, rtcp, before)
                need = max(least, int(sent * MIN_FORWARD_SHARE))
                note = f"{int(MIN_FORWARD_SHARE * 100)} % of the {sent} it was sent"
            ok = got >= need
            log(f"    {what:18} {sport}->{dport} ssrc {ssrc:#x}: {got} packets "
                f"(expected >= {need}, {note}) {'ok' if ok else 'FAIL'}"
                + ("" if ok else f"; seen on that path: {sniffer.describe(sport, dport)}"))
            if not ok:
                failures.append(f"{transport} call {call_id}: {what} {sport}->{dport}: "
                                f"{got} packets, expected >= {need}")
    if sniffer.drops:
        log(f"  note: the loopback sniffer lost {sniffer.drops} packets (busy "
            "machine); counts above may be low")
    return failures


def main():
    # meson's timeout sends SIGTERM: unwind so every finally stops its processes
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    missing = [t for t in ("kamailio", "sipp") if tool(t) is None]
    if missing:
        log(f"SKIP: {', '.join(missing)} not installed (tools/setup installs them)")
        return SKIP
    if os.geteuid() != 0:
        log("SKIP: needs root (SIPp's pcap play and the loopback sniffer use raw sockets)")
        return SKIP
    if not os.environ.get("RELAY_CMD"):
        rtpgate = rtpgate_path()
        if not os.access(rtpgate, os.X_OK):
            log(f"FAIL: {rtpgate} is not an executable (set RTPGATE; meson does)")
            return 1
    transports = os.environ.get("E2E_TRANSPORTS", "unix,udp").split(",")
    rng = random.Random()
    base_tmp = tempfile.mkdtemp(prefix="rtpgate-e2e-")
    started = time.monotonic()
    results = {}
    for transport in transports:
        log(f"=== Kamailio rtpengine_sock over {transport}: {CALLS} SIPp calls ===")
        try:
            results[transport] = run_transport(transport, rng, base_tmp)
        except Exception as e:   # report and go on with the other transport
            results[transport] = [f"{type(e).__name__}: {e}"]
    log(f"=== summary ({time.monotonic() - started:.1f} s) ===")
    failed = False
    for transport, res in results.items():
        if res is None:
            log(f"{transport}: skipped")
        elif res:
            failed = True
            log(f"{transport}: FAILED")
            for f in res:
                log(f"  - {f}")
        else:
            log(f"{transport}: passed")
    if not failed:
        shutil.rmtree(base_tmp, ignore_errors=True)
    if all(r is None for r in results.values()):
        return SKIP
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
