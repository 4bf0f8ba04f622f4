"""Command line and config file: --help from the option table, bad options
and values name themselves, --config-file, --pidfile, --interface with an
advertised address, the defaults. Issue 2 items 3, 4.
Run: RTPGATE=build/relay/rtpgate PYTHONPATH=tests/lib python3 tests/daemon/test_cli.py"""

import os
import shutil
import socket
import subprocess
import tempfile

from rgtest import (Call, Daemon, NgUdp, NoReply, Sdp, Suite, binary, free_udp_port,
                    pick_port_range, run_daemon, stats_workers, udp_bindable)

suite = Suite()

OPTIONS = ["interface", "listen-ng", "listen-unix", "port-min", "port-max", "num-threads",
           "foreground", "pidfile", "log-level", "config-file", "timeout", "offer-timeout",
           "final-timeout", "max-sessions", "delete-delay", "scheduling", "priority"]


def safe_args():
    """Options that keep a daemon that wrongly starts off shared resources."""
    d = tempfile.mkdtemp(prefix="rgtest-cli-")
    lo, hi = pick_port_range(4)
    return ["--listen-ng=127.0.0.1:%d" % free_udp_port(), "--listen-unix=" + os.path.join(d, "s"),
            "--port-min=%d" % lo, "--port-max=%d" % hi, "--foreground"]


def rejected(t, what, args, must_name):
    """The binary exits non-zero within 5 s and its output names must_name."""
    try:
        rc, out = run_daemon(safe_args() + args, timeout=5)
    except subprocess.TimeoutExpired:
        return t.fail(what, "exit non-zero", "still running after 5 s (accepted %s)" % args)
    t.ok(what + ": exit status", rc != 0, "non-zero", rc)
    t.ok(what + ": message names " + must_name, must_name in out, must_name, out.strip()[-300:])


@suite.case
def help_lists_options(t):
    rc, out = run_daemon(["--help"])
    t.eq("--help exit status", 0, rc)
    for o in OPTIONS:
        t.ok("--help lists --" + o, "--" + o in out, "--" + o, "missing")


@suite.case
def unknown_option(t):
    rejected(t, "--no-such-option", ["--no-such-option"], "no-such-option")
    rejected(t, "--no-such=3", ["--no-such=3"], "no-such")
    rejected(t, "stray argument", ["stray"], "stray")


@suite.case
def bad_values(t):
    for args, name in [
        (["--port-min=abc"], "port-min"),
        (["--port-max=70000"], "port-max"),
        (["--port-min=20000", "--port-max=10000"], "port-min"),
        (["--port-min=-5"], "port-min"),
        (["--log-level=8"], "log-level"),
        (["--log-level=x"], "log-level"),
        (["--num-threads=abc"], "num-threads"),
        (["--timeout=abc"], "timeout"),
        (["--max-sessions=-1"], "max-sessions"),
        (["--listen-ng=not-an-address"], "listen-ng"),
        (["--listen-ng=127.0.0.1:99999"], "listen-ng"),
        (["--interface=999.1.1.1"], "interface"),
        (["--port-max"], "port-max"),
    ]:
        # later options override safe_args()' ones
        rejected(t, " ".join(args), args, name)


@suite.case
def config_file(t):
    tmp = tempfile.mkdtemp(prefix="rgtest-cli-")
    lo, hi = pick_port_range(10)
    ng = ("127.0.0.1", free_udp_port())
    sock = os.path.join(tmp, "ng.sock")
    path = os.path.join(tmp, "rtpgate.conf")
    with open(path, "w") as f:
        f.write("; rgtest\n[other]\nport-min = 1\n\n[rtpgate]\ninterface = 127.0.0.1\n"
                "listen-ng = %s:%d\nlisten-unix = %s\nport-min = %d\nport-max = %d\n"
                "log-level = 7\ntimeout = 30\nmax-sessions = 1\n" % (ng[0], ng[1], sock, lo, hi))
    d = Daemon(defaults=False, ng_addr=ng, sock_path=sock, unix=True,
               args=["--config-file=" + path, "--foreground"])
    d.start()
    d.port_min, d.port_max = lo, hi
    c = Call(d.ng)
    r = c.offer()
    t.eq("offer result (settings from the file)", "ok", r.get("result"))
    if r.get("sdp"):
        p = Sdp(r["sdp"]).port()
        t.ok("m= port in the file's range", lo <= p <= hi, "%d..%d" % (lo, hi), p)
    r = Call(d.ng).offer()
    t.eq("max-sessions = 1 from the file", "load limit", r.get("result"))
    if d.unix:
        t.eq("UNIX socket at the file's path answers", "pong", d.unix.cmd("ping").get("result"))
    d.stop()
    c.close()
    # the command line overrides the file
    lo2, hi2 = pick_port_range(10)
    d = Daemon(defaults=False, ng_addr=ng, sock_path=sock,
               args=["--config-file=" + path, "--foreground", "--port-min=%d" % lo2,
                     "--port-max=%d" % hi2, "--max-sessions=0"])
    d.start()
    c = Call(d.ng)
    r = c.offer()
    if r.get("sdp"):
        p = Sdp(r["sdp"]).port()
        t.ok("command line port range wins over the file", lo2 <= p <= hi2, "%d..%d" % (lo2, hi2), p)
    t.eq("second offer with --max-sessions=0 on the command line", "ok", Call(d.ng).offer().get("result"))
    d.stop()
    c.close()
    # a bad value in the file is named
    with open(path, "w") as f:
        f.write("[rtpgate]\nport-max = 70000\n")
    rejected(t, "config file port-max = 70000", ["--config-file=" + path], "port-max")
    with open(path, "w") as f:
        f.write("[rtpgate]\nno-such-thing = 1\n")
    rejected(t, "config file unknown option", ["--config-file=" + path], "no-such-thing")
    rejected(t, "missing config file", ["--config-file=" + os.path.join(tmp, "nope.conf")], "nope.conf")


@suite.case
def pidfile(t):
    tmp = tempfile.mkdtemp(prefix="rgtest-cli-")
    pf = os.path.join(tmp, "rtpgate.pid")
    with Daemon(ports=4, args=["--pidfile=" + pf]) as d:
        try:
            got = open(pf).read().strip()
        except OSError as e:
            got = str(e)
        t.eq("pidfile holds the daemon's PID", str(d.pid), got)


@suite.case
def interface_advertised(t):
    with Daemon(ports=10, interface="127.0.0.1!203.0.113.7") as d:
        c = Call(d.ng)
        r = t.result_ok("offer", c.offer())
        s = Sdp(r["sdp"])
        t.eq("c= is the advertised address", "203.0.113.7", s.addr())
        t.ok("m= port in range", d.port_min <= s.port() <= d.port_max, "in range", s.port())
        # media still works on the real address
        c.answer()
        to_b, to_a = c.relay_ports()
        c.a.peer = ("127.0.0.1", to_a, to_a + 1)
        c.b.peer = ("127.0.0.1", to_b, to_b + 1)
        gb, ga = c.flow(5)
        t.eq("media through the real address", (5, 5), (len(gb), len(ga)))
        c.close()


@suite.case
def log_level_and_threads(t):
    for args in (["--log-level=0"], ["--log-level=7", "--num-threads=1"], ["--num-threads=4"]):
        with Daemon(ports=10, args=args) as d:
            c = Call(d.ng).setup()
            gb, ga = c.flow(5)
            t.eq("%s: media flows" % " ".join(args), (5, 5), (len(gb), len(ga)))
            c.close()


def worker_sched(pid):
    """{thread name: (policy, rt priority, nice)} of the daemon's media workers."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        base = "/proc/%d/task/%s/" % (pid, tid)
        with open(base + "comm") as f:
            name = f.read().strip()
        with open(base + "stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        if name.startswith("rtpgate-w"):
            # after "pid (comm)": field 19 nice, 40 rt_priority, 41 policy
            out[name] = (int(fields[38]), int(fields[37]), int(fields[16]))
    return out


@suite.case
def scheduling(t):
    """--scheduling/--priority (rtpengine's names) reach every media worker
    and nothing else; media still flows; bad pairs are refused by name."""
    cases = [(["--scheduling=batch", "--priority=3"], (3, 0, 3)),
             (["--priority=2"], (0, 0, 2)),
             ([], (0, 0, 0))]
    if os.geteuid() == 0:
        cases.insert(0, (["--scheduling=fifo", "--priority=3"], (1, 3, 0)))
    for args, want in cases:
        with Daemon(ports=10, args=args + ["--num-threads=2"]) as d:
            got = worker_sched(d.pid)
            t.eq("%s: workers" % (args or "default"), ["rtpgate-w0", "rtpgate-w1"], sorted(got))
            for name, sched in sorted(got.items()):
                t.eq("%s: %s (policy, rt priority, nice)" % (args or "default", name), want, sched)
            with open("/proc/%d/stat" % d.pid) as f:
                main = f.read().rsplit(")", 1)[1].split()
            t.eq("%s: control thread untouched" % (args or "default"), (0, 0),
                 (int(main[38]), int(main[16])))
            c = Call(d.ng).setup()
            gb, ga = c.flow(5)
            t.eq("%s: media flows" % (args or "default"), (5, 5), (len(gb), len(ga)))
            c.close()
    # refused by the kernel (no CAP_SYS_NICE, RLIMIT_RTPRIO 0): said, and
    # the workers carry on as started
    setpriv = shutil.which("setpriv")
    if os.geteuid() == 0 and setpriv:
        tmp = tempfile.mkdtemp(prefix="rgtest-cli-")
        wrap = os.path.join(tmp, "rtpgate-nocap")
        with open(wrap, "w") as f:
            f.write("#!/bin/sh\nulimit -r 0\nexec %s --inh-caps=-sys_nice --bounding-set=-sys_nice "
                    "%s \"$@\"\n" % (setpriv, binary()))
        os.chmod(wrap, 0o755)
        with Daemon(ports=10, exe=wrap, args=["--scheduling=fifo", "--priority=3",
                                              "--num-threads=2"]) as d:
            got = worker_sched(d.pid)
            t.eq("refused fifo: workers as started", [(0, 0, 0)] * 2, list(got.values()))
            with open(d.log) as f:
                log = f.read()
            t.ok("refused fifo: the log says why", "cannot set scheduling fifo/3" in log,
                 "cannot set scheduling fifo/3", log[-300:])
            c = Call(d.ng).setup()
            gb, ga = c.flow(5)
            t.eq("refused fifo: media flows", (5, 5), (len(gb), len(ga)))
            c.close()
    rejected(t, "fifo without a priority", ["--scheduling=fifo"], "--scheduling=fifo")
    rejected(t, "unknown policy", ["--scheduling=deadline", "--priority=1"], "deadline")
    rejected(t, "nice out of range", ["--scheduling=other", "--priority=50"], "-20..19")


@suite.case
def default_socket_in_a_runtime_directory(t):
    """The systemd unit runs rtpgate as its own user with
    RuntimeDirectory=rtpgate: /run/rtpgate is the user's, /run is not. The
    default socket path must serve there, not fall back. Without that
    directory an unprivileged daemon falls back and says where. Run as
    nobody in a private mount namespace with /run on a tmpfs of its own."""
    unshare, setpriv = shutil.which("unshare"), shutil.which("setpriv")
    if os.geteuid() != 0 or not unshare or not setpriv:
        t.skip("needs root (a private /run) and unshare, setpriv")
    # in a chroot "/" is no mount point and a private mount namespace
    # cannot be had; without one the tmpfs would land on the real /run
    if subprocess.run([unshare, "-m", "--propagation", "private", "true"],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0:
        t.skip("no private mount namespace here (a chroot?)")
    tmp = tempfile.mkdtemp(prefix="rgtest-cli-")
    os.chmod(tmp, 0o755)
    xdg = os.path.join(tmp, "xdg")
    os.mkdir(xdg, 0o700)
    os.chown(xdg, 65534, 65534)
    wrap = os.path.join(tmp, "rtpgate-as-unit")
    with open(wrap, "w") as f:
        f.write("#!/bin/sh\n"
                "exec %s -m --propagation private sh -c '"
                "mount -t tmpfs -o mode=0755 rgtest /run || exit 1; "
                "if [ \"$RG_RUNDIR\" = 1 ]; then mkdir -m 0750 /run/rtpgate && "
                "chown 65534:65534 /run/rtpgate || exit 1; fi; "
                "XDG_RUNTIME_DIR=%s exec %s --reuid=65534 --regid=65534 --clear-groups "
                "%s \"$@\"' sh \"$@\"\n" % (unshare, xdg, setpriv, binary()))
    os.chmod(wrap, 0o755)
    args = ["--listen-unix=/run/rtpgate/ng.sock"]
    for rundir, want in (("1", "/run/rtpgate/ng.sock"), ("0", xdg + "/rtpgate/ng.sock")):
        os.environ["RG_RUNDIR"] = rundir
        try:
            with Daemon(ports=4, exe=wrap, unix=False, args=args) as d:
                c = Call(d.ng)
                t.eq("runtime directory %s: offer" % rundir, "ok", c.offer().get("result"))
                c.delete()
                c.close()
                with open(d.log) as f:
                    log = f.read()
        finally:
            del os.environ["RG_RUNDIR"]
        t.ok("runtime directory %s: serves on %s" % (rundir, want),
             "ng over UNIX socket %s " % want in log, want, log[-400:])
        warned = "nor /run is writable" in log
        t.eq("runtime directory %s: warns of a fallback" % rundir, rundir == "0", warned)
    shutil.rmtree(tmp, ignore_errors=True)


@suite.case
def stale_unix_socket(t):
    """After a kill -9 the socket file stays behind; the next start must
    still serve on that path."""
    tmp = tempfile.mkdtemp(prefix="rgtest-cli-")
    path = os.path.join(tmp, "ng.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()                      # leaves a dead socket file
    d = Daemon(ports=4, sock_path=path)
    try:
        d.start()
    except Exception as e:
        t.fail("start with a stale socket file", "serves on it", e)
        d.stop()
        return
    t.eq("ping over the reclaimed UNIX socket", "pong", d.unix.cmd("ping").get("result"))
    d.stop()


@suite.case
def num_threads_workers(t):
    """--num-threads=N gives N workers; without it, one per CPU (read from
    statistics when it reports workers)."""
    for args, want in ((["--num-threads=3"], 3), ([], os.cpu_count())):
        with Daemon(ports=10, args=args) as d:
            n = stats_workers(d.ng.cmd("statistics"))
            if n is None:
                t.skip("statistics does not report workers")
            t.eq("workers with %s" % (args or "no --num-threads"), want, n)


@suite.case
def defaults_without_options(t):
    """Item 4: no options at all -> ng on 127.0.0.1:22222, media 10000-20000,
    a UNIX socket at the default path. Only when nothing else holds them."""
    if not udp_bindable(22222):
        t.skip("127.0.0.1:22222 is in use by something else")
    default_sock = "/run/rtpgate/ng.sock"
    if os.path.exists(default_sock):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(default_sock)
            s.close()
            t.skip("another daemon serves %s" % default_sock)
        except OSError:
            pass
    d = Daemon(defaults=False, ng_addr=("127.0.0.1", 22222), unix=False, args=[])
    try:
        d.start()
    except Exception as e:
        t.fail("starts with no options", "ping answered on 127.0.0.1:22222", e)
        d.stop()
        return
    c = Call(d.ng)
    r = c.offer()
    t.eq("offer result", "ok", r.get("result"))
    if r.get("sdp"):
        p = Sdp(r["sdp"]).port()
        t.ok("m= port in 10000..20000", 10000 <= p <= 20000, "10000..20000", p)
        t.eq("c= 127.0.0.1", "127.0.0.1", Sdp(r["sdp"]).addr())
    c.delete()
    t.ok("UNIX socket at " + default_sock, os.path.exists(default_sock), "exists", "absent")
    d.stop()
    c.close()


if __name__ == "__main__":
    suite.run()
