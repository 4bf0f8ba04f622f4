"""rgtest - the shared Python library of rtpgate's daemon and end-to-end tests.

Python 3 standard library only. What is here, top to bottom:

- bencode: bencode()/bdecode() and bdecode_prefix() (for reading a stream
  until one value is complete); text() turns decoded bytes into str.
- ng clients: NgUdp (cookie, retransmits, raw datagrams) and NgUnix (one
  request per connection, bare bencode, reply read until it parses), both
  with a JSON variant. `ng.cmd("offer", call_id=..., sdp=...)` spells
  underscores as hyphens.
- Daemon: starts $RTPGATE on a temp dir, a random free media port range, a
  free ng UDP port and a UNIX socket; waits for ping; stops it by PID and
  reports crashes (exit status, sanitizer text in its stderr).
- SDP: sdp_audio() builds a one-stream audio body, Sdp reads c=/m=/a=rtcp.
- RTP: rtp_build()/rtp_parse(), rtcp_sr(), and Leg: an RTP and an RTCP
  socket on 127.0.0.1 that sends paced packets and counts what arrives.
- Suite: a tiny runner; cases print "expected vs got" and the process exits
  non-zero when any case failed.

Accessors that read daemon replies whose exact key names were not fixed by
the spec (stats_ports, stats_sessions, query_totals, query_legs) are small
functions on purpose: adapt them in one place.

When $RTPGATE names Debian's `rtpengine`, Daemon starts it with rtpengine's
options instead (no UNIX socket), so the clients can be tried against it.
"""

import errno
import itertools
import json
import os
import random
import re
import select
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback

# ---------------------------------------------------------------- bencode


class BencodeError(ValueError):
    pass


class Incomplete(BencodeError):
    """The data ends before the value does (read more and retry)."""


def bencode(v):
    """Encodes dict/list/int/str/bytes. Dict keys keep their order, as
    Kamailio's do (it does not sort them)."""
    out = []
    _benc(v, out)
    return b"".join(out)


def _benc(v, out):
    if isinstance(v, bool):
        v = int(v)
    if isinstance(v, int):
        out.append(b"i%de" % v)
    elif isinstance(v, str):
        b = v.encode("utf-8", "surrogateescape")
        out.append(b"%d:" % len(b) + b)
    elif isinstance(v, (bytes, bytearray)):
        out.append(b"%d:" % len(v) + bytes(v))
    elif isinstance(v, (list, tuple)):
        out.append(b"l")
        for x in v:
            _benc(x, out)
        out.append(b"e")
    elif isinstance(v, dict):
        out.append(b"d")
        for k, x in v.items():
            _benc(k, out)
            _benc(x, out)
        out.append(b"e")
    else:
        raise TypeError("cannot bencode %r" % type(v))


def _bdec(d, i, depth):
    if depth > 200:
        raise BencodeError("nested too deep")
    if i >= len(d):
        raise Incomplete("truncated")
    c = d[i:i + 1]
    if c == b"i":
        j = d.find(b"e", i)
        if j < 0:
            if re.fullmatch(rb"-?\d*", d[i + 1:]):
                raise Incomplete("truncated integer")
            raise BencodeError("bad integer at %d" % i)
        s = d[i + 1:j]
        if not re.fullmatch(rb"-?\d+", s):
            raise BencodeError("bad integer at %d" % i)
        return int(s), j + 1
    if c == b"l":
        i += 1
        out = []
        while True:
            if i >= len(d):
                raise Incomplete("truncated list")
            if d[i:i + 1] == b"e":
                return out, i + 1
            v, i = _bdec(d, i, depth + 1)
            out.append(v)
    if c == b"d":
        i += 1
        out = {}
        while True:
            if i >= len(d):
                raise Incomplete("truncated dict")
            if d[i:i + 1] == b"e":
                return out, i + 1
            k, i = _bdec(d, i, depth + 1)
            if not isinstance(k, bytes):
                raise BencodeError("dict key is not a string")
            v, i = _bdec(d, i, depth + 1)
            out[k] = v
    if c.isdigit():
        j = d.find(b":", i)
        if j < 0:
            if d[i:].isdigit():
                raise Incomplete("truncated length")
            raise BencodeError("bad string length at %d" % i)
        s = d[i:j]
        if not s.isdigit():
            raise BencodeError("bad string length at %d" % i)
        n = int(s)
        if j + 1 + n > len(d):
            raise Incomplete("truncated string")
        return bytes(d[j + 1:j + 1 + n]), j + 1 + n
    raise BencodeError("unexpected byte %r at %d" % (c, i))


def bdecode_prefix(data):
    """Decodes one value from the start of data: (value, bytes used).
    Raises Incomplete when more bytes are needed, BencodeError when bad."""
    return _bdec(bytes(data), 0, 0)


def bdecode(data):
    """Decodes exactly one value (no trailing bytes); strings stay bytes."""
    v, n = bdecode_prefix(data)
    if n != len(data):
        raise BencodeError("%d trailing bytes" % (len(data) - n))
    return v


def text(v):
    """Decoded bencode with every bytes turned into str (utf-8, lossless)."""
    if isinstance(v, bytes):
        return v.decode("utf-8", "surrogateescape")
    if isinstance(v, list):
        return [text(x) for x in v]
    if isinstance(v, dict):
        return {text(k): text(x) for k, x in v.items()}
    return v


# ---------------------------------------------------------------- ng clients


class NoReply(Exception):
    pass


def _ng_msg(command, kw):
    msg = {}
    for k, v in kw.items():
        msg[k.replace("_", "-")] = v
    msg["command"] = command
    return msg


_cookie_seq = itertools.count(1)


def new_cookie():
    """Unique within this process, as Kamailio's are (pid and a counter):
    the daemon answers a repeated (source, cookie) from its reply cache for
    60 s, so two requests that drew the same random cookie got the first
    one's reply (24 random bits alone collided in about 3 % of runs of
    1,000 requests)."""
    return "%d_%06x_%d" % (os.getpid(), random.getrandbits(24), next(_cookie_seq))


class NgUdp:
    """ng over UDP: '<cookie> <body>' both ways. One socket per client, so
    the (source, cookie) pair the daemon caches is stable."""

    def __init__(self, addr, timeout=2.0, bind_addr="127.0.0.1"):
        self.addr = addr
        self.timeout = timeout
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((bind_addr, 0))
        self.last_cookie = None
        self.last_raw = None

    def close(self):
        self.sock.close()

    def send_raw(self, data):
        self.sock.sendto(data, self.addr)

    def recv_raw(self, timeout=None):
        """Next datagram or None after timeout."""
        r, _, _ = select.select([self.sock], [], [], self.timeout if timeout is None else timeout)
        if not r:
            return None
        return self.sock.recv(65536)

    def drain(self):
        while self.recv_raw(0) is not None:
            pass

    def raw(self, data, timeout=None):
        """Sends a datagram, returns the first reply datagram or None."""
        self.drain()
        self.send_raw(data)
        return self.recv_raw(timeout)

    def exchange(self, body, cookie=None, timeout=None, retransmit=0):
        """Sends '<cookie> <body>' (retransmitting up to `retransmit` times,
        each after `timeout`) and returns the reply body (bytes, without the
        cookie). Raises NoReply."""
        cookie = cookie or new_cookie()
        self.last_cookie = cookie
        pkt = cookie.encode() + b" " + body
        t = self.timeout if timeout is None else timeout
        self.drain()
        for _ in range(retransmit + 1):
            self.send_raw(pkt)
            end = time.monotonic() + t
            while True:
                left = end - time.monotonic()
                if left <= 0:
                    break
                d = self.recv_raw(left)
                if d is None:
                    break
                c, _, rest = d.partition(b" ")
                if c == cookie.encode():
                    self.last_raw = d
                    return rest
        raise NoReply("no reply to cookie %s from %s:%d" % (cookie, *self.addr))

    def request(self, msg, **kw):
        """Bencode request -> decoded reply (str keys/values)."""
        return text(bdecode(self.exchange(bencode(msg), **kw)))

    def request_json(self, msg, **kw):
        return json.loads(self.exchange(json.dumps(msg).encode(), **kw))

    def cmd(self, command, **kw):
        opts = {k: kw.pop(k) for k in ("cookie", "timeout", "retransmit") if k in kw}
        return self.request(_ng_msg(command, kw), **opts)


class NgUnix:
    """ng over a UNIX stream socket as Kamailio 5.6 uses it: one request per
    connection, bare body, the reply read until it parses."""

    def __init__(self, path, timeout=2.0):
        self.path = path
        self.timeout = timeout

    def raw(self, data, timeout=None, shut_wr=False, parse="bencode"):
        """Connects, writes data, reads until a complete reply (parse:
        'bencode', 'json' or None = until EOF). Returns the bytes read,
        b'' when the daemon closed without a reply, None on timeout."""
        t = self.timeout if timeout is None else timeout
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(t)
        try:
            s.connect(self.path)
            try:
                if data:
                    s.sendall(data)
                if shut_wr:
                    s.shutdown(socket.SHUT_WR)
            except (BrokenPipeError, ConnectionResetError):
                pass    # closed on us (e.g. request too big): read what it said
            buf = b""
            end = time.monotonic() + t
            while True:
                left = end - time.monotonic()
                if left <= 0:
                    return buf or None
                s.settimeout(left)
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    return buf or None
                except ConnectionResetError:
                    return buf
                if not chunk:
                    return buf
                buf += chunk
                if _complete(buf, parse):
                    return buf
        finally:
            s.close()

    def exchange(self, body, timeout=None, parse="bencode"):
        r = self.raw(body, timeout, parse=parse)
        if not r:
            raise NoReply("no reply on %s" % self.path)
        return r

    def request(self, msg, timeout=None):
        return text(bdecode(self.exchange(bencode(msg), timeout)))

    def request_json(self, msg, timeout=None):
        return json.loads(self.exchange(json.dumps(msg).encode(), timeout, parse="json"))

    def cmd(self, command, **kw):
        opts = {k: kw.pop(k) for k in ("timeout",) if k in kw}
        return self.request(_ng_msg(command, kw), **opts)


def _complete(buf, parse):
    if parse == "bencode":
        try:
            bdecode_prefix(buf)
            return True
        except Incomplete:
            return False
        except BencodeError:
            return True    # will not get better by reading more
    if parse == "json":
        try:
            json.loads(buf)
            return True
        except ValueError:
            return False
    return False


# ---------------------------------------------------------------- ports


def udp_bindable(port, addr="127.0.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((addr, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_udp_port(addr="127.0.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 0))
    p = s.getsockname()[1]
    s.close()
    return p


def ipv6_loopback_usable():
    """Whether a UDP socket can bind ::1 here (a test skips IPv6 if not)."""
    try:
        s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s6.bind(("::1", 0))
        s6.close()
        return True
    except OSError:
        return False


NG_PORTS = 1000   # the top of the span: test daemons' ng ports, no media


def _span():
    """Test daemons' ports go between rtpgate's default range (10000-20000)
    and the kernel's ephemeral ports, so that no client socket bound to
    port 0 lands on one; 30000-60000 if there is no room."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            eph = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        eph = 32768
    return (20002, eph - 1) if eph - 20002 >= 6000 else (30000, 60000)


def _default_span():
    """Media ranges: the span below its ng ports."""
    lo, hi = _span()
    return lo, hi - NG_PORTS


def pick_ng_port():
    """A test daemon's ng port: in the span, above every media range."""
    lo, hi = _span()
    return pick_port_range(2, hi - NG_PORTS + 1, hi)[0]


def pick_port_range(size, lo=None, hi=None):
    """A random [min, max] range of `size` ports (min even) in which every
    port (or, for big ranges, a sample of 16) can be bound right now."""
    if lo is None or hi is None:
        lo, hi = _default_span()
    size = max(2, size)
    for _ in range(200):
        base = random.randrange(lo, hi - size) & ~1
        ports = list(range(base, base + size))
        sample = ports if size <= 16 else [ports[0], ports[-1]] + random.sample(ports, 14)
        if all(udp_bindable(p) for p in sample):
            return base, base + size - 1
    raise RuntimeError("no free port range of %d found" % size)


def udp_ports_bound(ports):
    """Ports (of the given ones) some socket has bound on any address, from
    /proc/net/udp and /proc/net/udp6."""
    want = set(ports)
    found = set()
    for f in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(f) as fh:
                next(fh)
                for line in fh:
                    local = line.split()[1]
                    p = int(local.rsplit(":", 1)[1], 16)
                    if p in want:
                        found.add(p)
        except OSError:
            pass
    return found


def pid_udp_sockets(pid, files=("/proc/net/udp", "/proc/net/udp6")):
    """{port: socket inode (str)} of the UDP sockets process pid holds open."""
    inodes = set()
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                t = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            m = re.match(r"socket:\[(\d+)\]", t)
            if m:
                inodes.add(m.group(1))
    except OSError:
        return {}
    out = {}
    for f in files:
        try:
            with open(f) as fh:
                next(fh)
                for line in fh:
                    cols = line.split()
                    if cols[9] in inodes:
                        out[int(cols[1].rsplit(":", 1)[1], 16)] = cols[9]
        except OSError:
            pass
    return out


def pid_udp_ports(pid):
    """UDP ports bound by the sockets process pid holds open."""
    return set(pid_udp_sockets(pid))


# ---------------------------------------------------------------- daemon


CRASH_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:",
               "ThreadSanitizer", "UndefinedBehaviorSanitizer", "Segmentation fault")


class DaemonError(Exception):
    pass


def binary():
    b = os.environ.get("RTPGATE")
    if not b:
        here = os.path.dirname(os.path.abspath(__file__))
        b = os.path.join(here, "..", "..", "build", "relay", "rtpgate")
    return b


def is_rtpengine(path=None):
    return "rtpengine" in os.path.basename(path or binary())


class Daemon:
    """One running daemon. Use as a context manager or call start()/stop().

    ports: size of the media port range; args: extra command-line options;
    unix: give it a UNIX control socket; ready: wait for ping.
    After start: .ng (NgUdp), .unix (NgUnix or None), .port_min/.port_max,
    .ng_addr, .sock_path, .dir, .pid, .log (stderr file)."""

    def __init__(self, ports=20, args=(), unix=True, ready=True, ng=True,
                 interface="127.0.0.1", exe=None, start_timeout=10.0,
                 defaults=True, ng_addr=None, sock_path=None):
        self.defaults = defaults      # False: argv is exe + args only
        self.fixed_ng_addr = ng_addr
        self.fixed_sock_path = sock_path
        self.exe = exe or binary()
        self.rtpengine = is_rtpengine(self.exe)
        self.nports = ports
        self.extra = list(args)
        self.want_unix = unix and not self.rtpengine
        self.want_ready = ready
        self.want_ng = ng
        self.interface = interface
        self.start_timeout = start_timeout
        self.proc = None
        self.dir = None
        self.ng = None
        self.unix = None
        self.rc = None
        self.stopped = False
        self.problems = []

    # building the command line
    def argv(self):
        a = [self.exe]
        if not self.defaults:
            return a + self.extra
        has = lambda name: any(x == name or x.startswith(name + "=") for x in self.extra)
        if self.interface and not has("--interface"):
            a.append("--interface=" + self.interface)
        if self.want_ng and not has("--listen-ng"):
            a.append("--listen-ng=%s:%d" % self.ng_addr)
        if not self.rtpengine and not has("--listen-unix"):
            a.append("--listen-unix=" + (self.sock_path if self.want_unix else ""))
        if not has("--port-min"):
            a.append("--port-min=%d" % self.port_min)
        if not has("--port-max"):
            a.append("--port-max=%d" % self.port_max)
        a.append("--foreground")
        if not has("--log-level"):
            a.append("--log-level=7")
        if self.rtpengine:
            t = socket.socket()
            t.bind(("127.0.0.1", 0))
            cli = t.getsockname()[1]
            t.close()
            a += ["--table=-1", "--log-stderr", "--listen-cli=127.0.0.1:%d" % cli]
            if not has("--num-threads"):
                a.append("--num-threads=2")
        # RG_DAEMON_ARGS: extra options for every daemon a test starts
        # (e.g. "--media-io=epoll"), to rerun a suite under another mode
        return a + self.extra + shlex.split(os.environ.get("RG_DAEMON_ARGS", ""))

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="rgtest-")
        self.port_min, self.port_max = pick_port_range(self.nports)
        # the control port, like the media range, outside the ephemeral
        # ports (from among those the kernel once gave the test's own ng
        # client the port just picked, and its ping came back to itself),
        # and apart from every media range
        self.ng_addr = self.fixed_ng_addr or ("127.0.0.1", pick_ng_port())
        self.sock_path = self.fixed_sock_path or os.path.join(self.dir, "ng.sock")
        self.log = os.path.join(self.dir, "stderr.log")
        self.cmdline = self.argv()
        self._logf = open(self.log, "wb")
        self.proc = subprocess.Popen(self.cmdline, stdin=subprocess.DEVNULL,
                                     stdout=self._logf, stderr=subprocess.STDOUT,
                                     cwd=self.dir)
        self.pid = self.proc.pid
        _live.append(self)
        if self.want_ng:
            self.ng = NgUdp(self.ng_addr)
        if self.want_unix:
            self.unix = NgUnix(self.sock_path)
        if self.want_ready:
            self.wait_ready()
        return self

    def wait_ready(self):
        end = time.monotonic() + self.start_timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise DaemonError("daemon exited with %s while starting\n%s"
                                  % (self.proc.returncode, self.tail()))
            try:
                if self.want_ng:
                    r = self.ng.cmd("ping", timeout=0.2)
                    if r.get("result") != "pong":
                        raise DaemonError("ping answered %r" % r)
                if self.want_unix:
                    if not os.path.exists(self.sock_path):
                        raise NoReply("no socket yet")
                    self.unix.cmd("ping", timeout=0.5)
                return
            except (NoReply, OSError):
                time.sleep(0.05)
        raise DaemonError("daemon not ready after %.0f s\n%s" % (self.start_timeout, self.tail()))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def tail(self, n=30):
        try:
            with open(self.log, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return "(no log)"
        return "--- last %d lines of %s ---\n%s" % (n, self.log, "\n".join(lines[-n:]))

    def log_text(self):
        try:
            with open(self.log, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def crash_marks(self):
        t = self.log_text()
        return [m for m in CRASH_MARKS if m in t]

    def stop(self, sig=signal.SIGTERM, bound=5.0):
        """Stops it by PID; returns a list of problems (empty = clean)."""
        if self.stopped:
            return self.problems
        self.stopped = True
        if self in _live:
            _live.remove(self)
        probs = []
        if self.proc.poll() is not None:
            probs.append("daemon had already exited (status %s) before stop" % self.proc.returncode)
        else:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(bound)
            except subprocess.TimeoutExpired:
                probs.append("daemon did not exit within %.0f s of signal %d; killed" % (bound, sig))
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait()
        self.rc = self.proc.returncode
        if self.rc not in (0, -signal.SIGTERM, -signal.SIGKILL) or (
                self.rc == -signal.SIGKILL and not probs):
            probs.append("exit status %s%s" % (
                self.rc, " (signal %s)" % signal.Signals(-self.rc).name if self.rc < 0 else ""))
        marks = self.crash_marks()
        if marks:
            probs.append("stderr mentions " + ", ".join(marks))
        for c in (self.ng,):
            if c:
                c.close()
        self._logf.close()
        self.problems = probs
        if probs:
            print("daemon %s: %s\n%s" % (" ".join(self.cmdline), "; ".join(probs), self.tail(40)))
        elif os.environ.get("RG_KEEP") is None:
            shutil.rmtree(self.dir, ignore_errors=True)
        return probs

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        p = self.stop()
        if p and exc[0] is None:
            raise DaemonError("; ".join(p))
        return False


_live = []


def stop_all():
    for d in list(_live):
        d.stop()


def run_daemon(args, timeout=5.0):
    """Runs the binary to completion (for --help and bad options): returns
    (exit status, stdout+stderr text)."""
    p = subprocess.run([binary()] + list(args), stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace")


# ---------------------------------------------------------------- reply accessors
# Key names the spec leaves open are read here only.


def _find(d, pred, depth=0):
    """Depth-first: first (key, value) in nested dicts/lists with pred(key, value)."""
    if depth > 6:
        return None
    if isinstance(d, dict):
        for k, v in d.items():
            if pred(k, v):
                return (k, v)
        for v in d.values():
            r = _find(v, pred, depth + 1)
            if r:
                return r
    elif isinstance(d, list):
        for v in d:
            r = _find(v, pred, depth + 1)
            if r:
                return r
    return None


def _norm(k):
    return re.sub(r"[ _-]", "", str(k).lower())


def _num(v):
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def stats_ports(st):
    """(in use, free) media ports from a statistics reply; None when absent.
    Accepts {"ports": {"used"|"in use"|..., "free"}} at any depth, flat
    "ports in use"/"ports free" keys, or rtpengine's per-interface
    "ports": {"used", "free"} lists (summed)."""
    used_keys = ("used", "inuse", "busy", "allocated")
    used = free = None
    blocks = []

    def collect(d, depth=0):
        if depth > 6:
            return
        if isinstance(d, dict):
            for k, v in d.items():
                if _norm(k) == "ports" and isinstance(v, dict):
                    blocks.append(v)
                else:
                    collect(v, depth + 1)
        elif isinstance(d, list):
            for v in d:
                collect(v, depth + 1)
    collect(st)
    for b in blocks:
        u = next((_num(v) for k, v in b.items() if _norm(k) in used_keys), None)
        f = next((_num(v) for k, v in b.items() if _norm(k) == "free"), None)
        if u is not None:
            used = (used or 0) + u
        if f is not None:
            free = (free or 0) + f
    if used is None:
        r = _find(st, lambda k, v: _norm(k) in ("portsinuse", "portsused", "usedports") and _num(v) is not None)
        used = _num(r[1]) if r else None
    if free is None:
        r = _find(st, lambda k, v: _norm(k) in ("portsfree", "freeports") and _num(v) is not None)
        free = _num(r[1]) if r else None
    return used, free


def stats_sessions(st):
    """Current sessions from a statistics reply, or None. Prefers a
    "sessions" dict's active/current count, then a number under a
    session-count key (rtpengine's "sessionsown")."""
    r = _find(st, lambda k, v: _norm(k) == "sessions" and isinstance(v, dict))
    if r:
        for k, v in r[1].items():
            if _norm(k) in ("active", "current", "own", "now", "inuse", "count") and _num(v) is not None:
                return _num(v)
    for keys in (("sessions", "sessionsown", "currentsessions", "sessionscurrent", "activesessions"),
                 ("sessionstotal",)):
        r = _find(st, lambda k, v: _norm(k) in keys and _num(v) is not None)
        if r:
            return _num(r[1])
    return None


def stats_workers(st):
    """Number of media workers from a statistics reply (length of a
    "workers" list, or a number under "workers"/"threads"), or None."""
    r = _find(st, lambda k, v: _norm(k) in ("workers", "threads", "numthreads"))
    if not r:
        return None
    return len(r[1]) if isinstance(r[1], list) else _num(r[1])


def query_totals(q):
    """{"RTP": {"packets","bytes","errors"}, "RTCP": {...}} with ints."""
    t = q.get("totals", {})
    out = {}
    for kind in ("RTP", "RTCP"):
        d = t.get(kind, {}) if isinstance(t, dict) else {}
        out[kind] = {k: _num(d.get(k)) for k in ("packets", "bytes", "errors")}
    return out


def query_legs(q):
    """The per-leg dict keyed by tag ({} when absent)."""
    t = q.get("tags")
    return t if isinstance(t, dict) else {}


def leg_counts(leg, kind="RTP", direction=None):
    """Sum of packets/bytes/errors of one kind over a leg's streams.
    Tolerant of layouts: {"RTP": {...}, "RTCP": {...}} (optionally split
    by direction "in"/"out", "received"/"sent", "rx"/"tx"), and rtpengine's
    {"medias": [{"streams": [{"flags": ["RTP"], "stats": {...}}]}]}.
    A counter dict with no kind around it counts as RTP."""
    tot = {"packets": 0, "bytes": 0, "errors": 0}
    dirs = {"in": ("in", "received", "rx", "recv"), "out": ("out", "sent", "tx", "send")}

    def walk(d, ctx, depth=0):
        if depth > 8:
            return
        if isinstance(d, list):
            for v in d:
                walk(v, ctx, depth + 1)
            return
        if not isinstance(d, dict):
            return
        lp = _num(d.get("local port"))
        if lp is not None:
            ctx = "RTCP" if lp % 2 else "RTP"    # rtcp-mux streams are even
        fl = d.get("flags")
        if isinstance(fl, list):
            for f in fl:
                if str(f).upper() in ("RTP", "RTCP"):
                    ctx = str(f).upper()
        if "packets" in d and not any(isinstance(v, (dict, list)) for v in d.values()):
            if (ctx or "RTP") == kind.upper():
                for k in tot:
                    tot[k] += _num(d.get(k)) or 0
            return
        for k, v in d.items():
            nk = _norm(k)
            if nk in ("rtp", "rtcp"):
                walk(v, nk.upper(), depth + 1)
            elif nk in dirs["in"] + dirs["out"]:
                if direction is None or nk in dirs[direction]:
                    walk(v, ctx, depth + 1)
            elif nk != "flags":
                walk(v, ctx, depth + 1)
    walk(leg, None)
    return tot


def warn_or_error(r):
    return r.get("warning") or r.get("error-reason")


# ---------------------------------------------------------------- SDP


def sdp_audio(port, addr="127.0.0.1", rtcp_port=None, rtcp_mux=False,
              codecs=((0, "PCMU/8000"), (8, "PCMA/8000"), (101, "telephone-event/8000")),
              sess_id=None, extra=(), direction="sendrecv", origin="rgtest"):
    """A one-stream audio SDP body (CRLF lines). a=rtcp is written when the
    RTCP port is not RTP+1 or rtcp_mux is set."""
    sess_id = sess_id or random.randrange(1, 1 << 30)
    fam = "IP6" if ":" in addr else "IP4"
    lines = ["v=0",
             "o=%s %d 1 IN %s %s" % (origin, sess_id, fam, addr),
             "s=-",
             "c=IN %s %s" % (fam, addr),
             "t=0 0",
             "m=audio %d RTP/AVP %s" % (port, " ".join(str(pt) for pt, _ in codecs))]
    for pt, name in codecs:
        lines.append("a=rtpmap:%d %s" % (pt, name))
        if name.startswith("telephone-event"):
            lines.append("a=fmtp:%d 0-16" % pt)
    if rtcp_mux:
        lines.append("a=rtcp-mux")
    if rtcp_port is not None and rtcp_port != port + 1:
        lines.append("a=rtcp:%d" % rtcp_port)
    lines.append("a=ptime:20")
    lines += list(extra)
    if direction:
        lines.append("a=" + direction)
    return "\r\n".join(lines) + "\r\n"


class Sdp:
    """Reads what the tests check: session/media c=, m= ports, a=rtcp,
    rtcp-mux, and every attribute line per media."""

    def __init__(self, body):
        self.raw = body
        self.lines = [l for l in re.split(r"\r?\n", body) if l]
        self.conn = None
        self.origin = None
        self.session_attrs = []
        self.media = []
        cur = None
        for l in self.lines:
            k, _, v = l.partition("=")
            if k == "m":
                p = v.split()
                port = p[1].split("/")[0] if len(p) > 1 else ""
                cur = {"type": p[0] if p else "", "port": _num(port),
                       "proto": p[2] if len(p) > 2 else "", "fmts": p[3:],
                       "conn": None, "rtcp": None, "rtcp_addr": None,
                       "rtcp_mux": False, "attrs": []}
                self.media.append(cur)
            elif k == "c":
                addr = v.split()[-1] if v.split() else None
                if cur is None:
                    self.conn = addr
                else:
                    cur["conn"] = addr
            elif k == "o" and cur is None:
                self.origin = v
            elif k == "a":
                if cur is None:
                    self.session_attrs.append(v)
                    continue
                cur["attrs"].append(v)
                if v == "rtcp-mux":
                    cur["rtcp_mux"] = True
                elif v.startswith("rtcp:"):
                    p = v[5:].split()
                    cur["rtcp"] = _num(p[0])
                    if len(p) >= 4:
                        cur["rtcp_addr"] = p[3]

    def addr(self, i=0):
        """Media i's connection address (media c= over session c=)."""
        return self.media[i]["conn"] or self.conn

    def port(self, i=0):
        return self.media[i]["port"]

    def rtcp_port(self, i=0):
        """Where RTCP goes: the RTP port when muxed, else a=rtcp or port+1."""
        m = self.media[i]
        if m["rtcp_mux"]:
            return m["port"]
        return m["rtcp"] if m["rtcp"] is not None else m["port"] + 1

    def rtcp_addr(self, i=0):
        return self.media[i]["rtcp_addr"] or self.addr(i)


# ---------------------------------------------------------------- RTP


def rtp_build(seq, ts, ssrc, pt=0, payload=None, marker=False, plen=160):
    if payload is None:
        payload = bytes([0xff]) * plen
    b0 = 0x80
    b1 = (0x80 if marker else 0) | (pt & 0x7f)
    return struct.pack("!BBHII", b0, b1, seq & 0xffff, ts & 0xffffffff, ssrc & 0xffffffff) + payload


def rtp_parse(data):
    """dict(version, pt, marker, seq, ts, ssrc, payload) or None."""
    if len(data) < 12:
        return None
    b0, b1, seq, ts, ssrc = struct.unpack("!BBHII", data[:12])
    if b0 >> 6 != 2:
        return None
    cc = b0 & 0x0f
    off = 12 + 4 * cc
    if b0 & 0x10:
        if len(data) < off + 4:
            return None
        off += 4 + 4 * struct.unpack("!H", data[off + 2:off + 4])[0]
    end = len(data)
    if b0 & 0x20 and end > off:
        end -= data[-1]
    if off > end:
        return None
    return {"version": 2, "pt": b1 & 0x7f, "marker": bool(b1 & 0x80), "seq": seq,
            "ts": ts, "ssrc": ssrc, "payload": data[off:end]}


def rtcp_sr(ssrc, packets=0, octets=0, rtp_ts=0):
    """A minimal RTCP sender report (PT 200, no report blocks)."""
    now = time.time() + 2208988800
    ntp_hi = int(now)
    ntp_lo = int((now - ntp_hi) * (1 << 32))
    return struct.pack("!BBHIIIIII", 0x80, 200, 6, ssrc, ntp_hi, ntp_lo,
                       rtp_ts & 0xffffffff, packets, octets)


def is_rtcp(data):
    return len(data) >= 8 and data[0] >> 6 == 2 and 192 <= data[1] <= 223


class Leg:
    """One call leg: an RTP and an RTCP socket on addr. Tries an even/odd
    pair first so plain SDP (no a=rtcp) is right; else any two ports."""

    def __init__(self, addr="127.0.0.1", ssrc=None):
        self.addr = addr
        fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
        self.ssrc = ssrc or random.getrandbits(32)
        self.seq = random.getrandbits(16)
        self.ts = random.getrandbits(32)
        self.rtp = self.rtcp = None
        for _ in range(50):
            a = socket.socket(fam, socket.SOCK_DGRAM)
            a.bind((addr, 0))
            p = a.getsockname()[1]
            if p % 2 == 0:
                b = socket.socket(fam, socket.SOCK_DGRAM)
                try:
                    b.bind((addr, p + 1))
                    self.rtp, self.rtcp = a, b
                    break
                except OSError:
                    b.close()
            a.close()
        if self.rtp is None:
            self.rtp = socket.socket(fam, socket.SOCK_DGRAM)
            self.rtp.bind((addr, 0))
            self.rtcp = socket.socket(fam, socket.SOCK_DGRAM)
            self.rtcp.bind((addr, 0))
        self.rtp_port = self.rtp.getsockname()[1]
        self.rtcp_port = self.rtcp.getsockname()[1]
        self.peer = None          # (addr, rtp port, rtcp port) to send to

    def close(self):
        self.rtp.close()
        self.rtcp.close()

    def sdp(self, **kw):
        return sdp_audio(self.rtp_port, self.addr, rtcp_port=self.rtcp_port, **kw)

    def set_peer_from_sdp(self, body, i=0):
        s = Sdp(body)
        self.peer = (s.addr(i), s.port(i), s.rtcp_port(i))
        return self.peer

    def send_rtp(self, n=10, pace=0.02, pt=0, plen=160, to=None):
        """Sends n packets (one every `pace` s); returns bytes of RTP sent."""
        dst = to or (self.peer[0], self.peer[1])
        total = 0
        for i in range(n):
            self.seq = (self.seq + 1) & 0xffff
            self.ts = (self.ts + 160) & 0xffffffff
            p = rtp_build(self.seq, self.ts, self.ssrc, pt=pt, plen=plen)
            self.rtp.sendto(p, dst)
            total += len(p)
            if pace and i + 1 < n:
                time.sleep(pace)
        return total

    def send_rtcp(self, n=1, to=None, pace=0.0):
        dst = to or (self.peer[0], self.peer[2])
        total = 0
        for i in range(n):
            p = rtcp_sr(self.ssrc, i, i * 160)
            self.rtcp.sendto(p, dst)
            total += len(p)
            if pace:
                time.sleep(pace)
        return total

    @staticmethod
    def _recv(sock, expect, timeout, quiet):
        """Datagrams until `expect` arrived or nothing came for `quiet` s or
        timeout passed: list of (data, source)."""
        got = []
        end = time.monotonic() + timeout
        while expect is None or len(got) < expect:
            left = end - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select([sock], [], [], min(left, quiet) if got else left)
            if not r:
                if got:
                    break
                continue
            got.append(sock.recvfrom(65536))
        return got

    def recv_rtp(self, expect=None, timeout=2.0, quiet=0.5):
        return self._recv(self.rtp, expect, timeout, quiet)

    def recv_rtcp(self, expect=None, timeout=2.0, quiet=0.5):
        return self._recv(self.rtcp, expect, timeout, quiet)

    def drain(self):
        for s in (self.rtp, self.rtcp):
            while select.select([s], [], [], 0)[0]:
                s.recvfrom(65536)


class Call:
    """A two-leg call through the daemon: leg a (caller, from-tag) offers,
    leg b (callee, to-tag) answers. The SDP the offer returns goes to b (the
    relay port b sends to); the SDP the answer returns goes to a."""

    def __init__(self, ng, a=None, b=None, cid=None, a_tag=None, b_tag=None):
        self.ng = ng
        self.a = a or Leg()
        self.b = b or Leg()
        self.cid = cid or call_id()
        self.a_tag = a_tag or "a%06x" % random.getrandbits(24)
        self.b_tag = b_tag or "b%06x" % random.getrandbits(24)
        self.offer_reply = self.answer_reply = None

    def offer(self, sdp=None, **kw):
        kw.setdefault("received_from", ["IP4", "127.0.0.1"])
        kw.setdefault("supports", ["load limit"])
        r = self.ng.cmd("offer", call_id=self.cid, from_tag=self.a_tag,
                        sdp=sdp if sdp is not None else self.a.sdp(), **kw)
        self.offer_reply = r
        if r.get("result") == "ok" and r.get("sdp"):
            self.b.set_peer_from_sdp(r["sdp"])
        return r

    def answer(self, sdp=None, **kw):
        kw.setdefault("received_from", ["IP4", "127.0.0.1"])
        kw.setdefault("supports", ["load limit"])
        r = self.ng.cmd("answer", call_id=self.cid, from_tag=self.a_tag, to_tag=self.b_tag,
                        sdp=sdp if sdp is not None else self.b.sdp(), **kw)
        self.answer_reply = r
        if r.get("result") == "ok" and r.get("sdp"):
            self.a.set_peer_from_sdp(r["sdp"])
        return r

    def setup(self, **kw):
        """Offer then answer; raises DaemonError unless both are ok."""
        for step in (self.offer, self.answer):
            r = step(**kw)
            if r.get("result") != "ok" or not r.get("sdp"):
                raise DaemonError("%s failed: %r" % (step.__name__, r))
        return self

    def query(self, **kw):
        return self.ng.cmd("query", call_id=self.cid, from_tag=self.a_tag, **kw)

    def delete(self, **kw):
        return self.ng.cmd("delete", call_id=self.cid, from_tag=self.a_tag, **kw)

    def relay_ports(self):
        """(port advertised to b, port advertised to a) from the replies."""
        return (Sdp(self.offer_reply["sdp"]).port() if self.offer_reply else None,
                Sdp(self.answer_reply["sdp"]).port() if self.answer_reply else None)

    def flow(self, n=20, pace=0.005, timeout=2.0):
        """n RTP packets each way at once; returns (got at b, got at a) as
        lists of (data, source)."""
        self.a.drain()
        self.b.drain()
        self.a.send_rtp(n, pace)
        self.b.send_rtp(n, pace)
        return self.b.recv_rtp(n, timeout), self.a.recv_rtp(n, timeout)

    def close(self):
        self.a.close()
        self.b.close()


def list_calls(ng):
    """Call-ids from a list reply (key "calls", as rtpengine)."""
    r = ng.cmd("list")
    c = r.get("calls")
    return c if isinstance(c, list) else []


# ---------------------------------------------------------------- runner


class CaseFailed(Exception):
    pass


class CaseSkipped(Exception):
    pass


class Check:
    """Handed to each case. eq/ok record a failure and go on; need() stops
    the case."""

    def __init__(self, name):
        self.name = name
        self.failures = []

    def fail(self, what, expected, got):
        msg = "%s: expected %s, got %s" % (what, expected, _short(got))
        self.failures.append(msg)
        print("  FAIL " + msg, flush=True)
        return False

    def eq(self, what, expected, got):
        if expected != got:
            return self.fail(what, repr(expected), repr(got))
        return True

    def ok(self, what, cond, expected="true", got=None):
        if not cond:
            return self.fail(what, expected, got if got is not None else cond)
        return True

    def need(self, what, cond, expected="true", got=None):
        if not self.ok(what, cond, expected, got):
            raise CaseFailed(what)

    def skip(self, why):
        raise CaseSkipped(why)

    def result_ok(self, what, r):
        """Reply's result is ok; returns the reply."""
        self.need(what + " result", r.get("result") == "ok", "result ok", r)
        return r


def _short(v, n=400):
    s = v if isinstance(v, str) else repr(v)
    return s if len(s) <= n else s[:n] + "...(%d chars)" % len(s)


class Suite:
    """Cases registered with @suite.case run in order; a case may take a
    Check. Daemons still running after a case are checked for a crash."""

    def __init__(self, name=None, case_timeout=30):
        self.name = name or os.path.basename(sys.argv[0])
        self.cases = []
        self.case_timeout = case_timeout
        self.shared = []     # daemons the file keeps across cases

    def case(self, fn):
        self.cases.append(fn)
        return fn

    def run(self):
        only = sys.argv[1:]
        failed = []
        t0 = time.monotonic()

        def alarm(*_):
            raise CaseFailed("case timed out after %d s" % self.case_timeout)
        signal.signal(signal.SIGALRM, alarm)
        for fn in self.cases:
            if only and fn.__name__ not in only:
                continue
            c = Check(fn.__name__)
            t = time.monotonic()
            signal.alarm(self.case_timeout)
            skipped = None
            try:
                fn(c)
            except CaseSkipped as e:
                skipped = str(e)
            except CaseFailed as e:
                if not c.failures:
                    c.failures.append(str(e))
                    print("  FAIL " + str(e))
            except Exception as e:
                c.failures.append("exception %r" % e)
                print("  FAIL exception:\n" + traceback.format_exc())
            finally:
                signal.alarm(0)
            for d in list(_live):
                if d.proc and d.proc.poll() is not None and not d.stopped:
                    c.failures.append("daemon died")
                    print("  FAIL daemon died (status %s)\n%s" % (d.proc.returncode, d.tail()))
                    d.stop()
            status = "FAIL" if c.failures else "skip" if skipped else "ok"
            if skipped:
                print("  skipped: " + skipped)
            print("%-4s %s (%.1f s)" % (status, fn.__name__, time.monotonic() - t), flush=True)
            if c.failures:
                failed.append(fn.__name__)
        for d in list(_live):
            if d.stop():
                failed.append("daemon shutdown")
        n = len([f for f in self.cases if not only or f.__name__ in only])
        print("%s: %d cases, %d failed%s (%.1f s)" % (
            self.name, n, len(failed), (": " + ", ".join(failed)) if failed else "",
            time.monotonic() - t0), flush=True)
        sys.exit(1 if failed else 0)


def call_id():
    return "rgtest-%d-%08x@127.0.0.1" % (os.getpid(), random.getrandbits(32))


def vectors_dir():
    d = os.environ.get("RG_VECTORS")
    if d:
        return os.path.join(d, "kamailio-5.6.3") if os.path.isdir(os.path.join(d, "kamailio-5.6.3")) else d
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(here, "..", "data", "vectors", "kamailio-5.6.3")


def wait_until(pred, timeout, step=0.1):
    """Polls pred() until true or timeout; returns the last value."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= end:
            return v
        time.sleep(step)
