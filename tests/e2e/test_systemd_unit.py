#!/usr/bin/env python3
"""End-to-end: tools/rtpgate.service under a real systemd.

Boots a minimal Debian 12 (debootstrap --variant=minbase plus systemd and
rtpgate's run-time libraries, built once and cached as a tarball) with
systemd-nspawn --boot, in a network namespace of its own. It installs
rtpgate by running the install lines of the unit's header one by one, from
a copy of the source tree and its build at /src (a system user, the binaries,
the unit, the example config, systemctl enable --now). Then it checks,
under the unit's sandbox:
  - the service is active, with its ng socket at /run/rtpgate/ng.sock,
    owned by rtpgate:rtpgate, mode 0660;
  - rtpgate-bench's relay, opus and g729 calls go through without loss;
  - `systemctl reload` reloads the settings;
  - `rtpgate-ctl drain` ends the service cleanly;
  - kernel forwarding works with the drop-in the unit's comment gives
    (and kernel-forward = auto): the kernel relays the packets.
Needs root. Exits 77 (skipped) without root, inside a chroot (where
systemd-nspawn cannot boot), or when no Debian root can be built here (no
mirror). RG_UNIT_CACHE overrides the cache directory
(/var/cache/rtpgate-tests).
"""

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RTPGATE = os.environ.get("RTPGATE", os.path.join(SRC, "build", "relay", "rtpgate"))
CTL = os.environ.get("RTPGATE_CTL", os.path.join(SRC, "build", "tools", "rtpgate-ctl"))
BENCH = os.environ.get("RTPGATE_BENCH", os.path.join(SRC, "build", "bench", "rtpgate-bench"))
UNIT = os.path.join(SRC, "tools", "rtpgate.service")
CONF = os.path.join(SRC, "tools", "rtpgate.conf.example")
CACHE = os.environ.get("RG_UNIT_CACHE", "/var/cache/rtpgate-tests")
# systemd, and what rtpgate, rtpgate-ctl and rtpgate-bench load at run time
PACKAGES = ["systemd", "systemd-sysv", "dbus", "libuv1", "libopus0", "libbcg729-0",
            "libspandsp2", "libsrtp2-1", "libinih1", "libjansson4", "libmicrohttpd12",
            "liburing2", "libbpf1", "python3"]


def comment_block(after):
    """The "#   " lines that follow the unit comment's line holding
    `after`, without their "#   "."""
    lines, on = [], False
    with open(UNIT) as f:
        for line in f:
            if on and line.startswith("#   "):
                lines.append(line[4:])
            elif on:
                break
            on = on or after in line
    return lines


def kfwd_dropin():
    """The drop-in for kernel forwarding, as the unit's comment gives it."""
    return "".join(comment_block("add this drop-in:"))


failures = []


def log(msg):
    print(msg, flush=True)


def check(what, ok, detail=""):
    log("%s %s%s" % ("ok  " if ok else "FAIL", what, "" if ok else ": " + str(detail)[-600:]))
    if not ok:
        failures.append(what)
    return ok


def skip(why):
    log("SKIP: " + why)
    sys.exit(77)


def mirror():
    """The host's Debian mirror, from its apt sources."""
    for path in ("/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"):
        try:
            with open(path) as f:
                text = f.read()
        except OSError:
            continue
        m = re.search(r"^URIs:\s*(\S+/debian)\s*$", text, re.M) or \
            re.search(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+/debian)\s+bookworm\b", text, re.M)
        if m:
            return m.group(1)
    return "http://deb.debian.org/debian"


def base_tarball():
    """The cached Debian root, built on first use."""
    key = hashlib.sha256(" ".join(PACKAGES).encode()).hexdigest()[:12]
    tar = os.path.join(CACHE, "unit-root-bookworm-%s.tar" % key)
    if os.path.exists(tar):
        return tar
    os.makedirs(CACHE, exist_ok=True)
    build = tempfile.mkdtemp(prefix="unit-root-", dir=CACHE)
    os.chmod(build, 0o755)      # "/" of the system it becomes
    log("building the Debian root once (debootstrap, a few minutes): " + tar)
    try:
        r = subprocess.run(["debootstrap", "--variant=minbase", "--include=" + ",".join(PACKAGES),
                            "--merged-usr", "bookworm", build, mirror()],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900)
        if r.returncode != 0:
            skip("debootstrap failed (no Debian mirror here?): " + r.stdout[-400:])
        subprocess.run(["tar", "-C", build, "-cf", tar + ".part", "."], check=True, timeout=300)
        os.rename(tar + ".part", tar)
    except subprocess.TimeoutExpired:
        skip("debootstrap took more than 15 minutes")
    finally:
        subprocess.run(["rm", "-rf", "--one-file-system", build])
    return tar


def nspawn_pipe(root, cmd):
    """A command in the root, without booting it."""
    return subprocess.run(["systemd-nspawn", "-q", "-D", root, "--register=no", "--keep-unit",
                           "--pipe", "/bin/sh", "-c", cmd],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)


class Container:
    def __init__(self, root):
        self.root = root
        self.proc = subprocess.Popen(
            ["systemd-nspawn", "-D", root, "--boot", "--register=no", "--keep-unit",
             "--private-network", "--console=pipe",
             # kernel forwarding inside: nspawn's own seccomp filter and
             # capability set otherwise keep bpf() from every process in it
             "--capability=CAP_BPF,CAP_PERFMON,CAP_NET_ADMIN,CAP_SYS_ADMIN",
             "--system-call-filter=bpf"],
            stdin=subprocess.DEVNULL, stdout=self.console(), stderr=subprocess.STDOUT)
        self.pid = None
        end = time.monotonic() + 30
        while time.monotonic() < end and self.proc.poll() is None and not self.pid:
            self.pid = self.init_pid()
            time.sleep(0.2)

    def console(self):
        """The boot console goes to a file (a pipe nobody reads would fill
        and stall the boot); shown when something fails."""
        self.console_path = self.root + ".console"
        return open(self.console_path, "wb")

    def console_tail(self):
        try:
            with open(self.console_path, errors="replace") as f:
                return f.read()[-600:]
        except OSError:
            return ""

    def init_pid(self):
        try:
            with open("/proc/%d/task/%d/children" % (self.proc.pid, self.proc.pid)) as f:
                kids = f.read().split()
        except OSError:
            return None
        return int(kids[0]) if kids else None

    def run(self, cmd, timeout=60):
        argv = ["nsenter", "-t", str(self.pid), "-a", "/bin/sh", "-c", cmd]
        try:
            return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess(argv, 124, "timed out after %d s" % timeout)

    def out(self, cmd, timeout=60):
        return self.run(cmd, timeout).stdout.strip()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)     # nspawn halts the container
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def bench(c, scenario):
    """Five calls of a scenario through the service; (sent, received) per direction."""
    pid = c.out("systemctl show -p MainPID --value rtpgate")
    r = c.run("/src/build/bench/rtpgate-bench --scenario %s --calls 5 --duration 2 --warmup 1 --quiet "
              "--ng unix:/run/rtpgate/ng.sock --relay-pid %s --json /tmp/bench.json" % (scenario, pid),
              timeout=60)
    try:
        row = json.loads(c.out("cat /tmp/bench.json"))["rows"][0]   # the container's /tmp
        return [(row[d]["sent"], row[d]["recv"]) for d in ("ab", "ba")], r.stdout
    except (OSError, ValueError, KeyError, IndexError):
        return None, r.stdout


def journal(c):
    return c.out("journalctl -b -u rtpgate --no-pager -o cat")


def wait_for(fn, secs):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if fn():
            return True
        time.sleep(0.2)
    return fn()


def main():
    if os.geteuid() != 0:
        skip("needs root (debootstrap, systemd-nspawn)")
    try:
        chroot = os.stat("/proc/1/root/.") != os.stat("/")
    except OSError:
        chroot = False    # not ours to look at; a failed boot below says it
    if chroot:
        skip("inside a chroot: systemd-nspawn cannot boot a container here")
    for tool in ("systemd-nspawn", "debootstrap", "nsenter"):
        if not shutil.which(tool):
            skip(tool + " missing (tools/setup installs systemd-container and debootstrap)")
    tar = base_tarball()
    root = tempfile.mkdtemp(prefix="rgtest-unit-", dir="/var/tmp")
    c = None
    try:
        subprocess.run(["tar", "-C", root, "-xf", tar], check=True, timeout=300)
        os.chmod(root, 0o755)       # "/" of the container: its users must get in
        # what the unit's install lines read, where they expect it: a
        # source tree at /src with its build in build/
        for src, dst in ((RTPGATE, "build/relay/rtpgate"), (CTL, "build/tools/rtpgate-ctl"),
                         (BENCH, "build/bench/rtpgate-bench"), (UNIT, "tools/rtpgate.service"),
                         (CONF, "tools/rtpgate.conf.example")):
            os.makedirs(os.path.dirname(os.path.join(root, "src", dst)), exist_ok=True)
            shutil.copy2(src, os.path.join(root, "src", dst))
        r = nspawn_pipe(root, "true")
        if r.returncode != 0:
            skip("systemd-nspawn cannot run a container here: " + r.stdout[-400:])
        c = Container(root)
        if not c.pid:
            skip("systemd-nspawn did not boot here: " + c.console_tail())
        state = c.run("systemctl is-system-running --wait", timeout=90)
        if state.returncode == 124:
            # the boot itself stalled (nothing of ours runs yet): this
            # machine cannot run it
            skip("the container's boot did not finish in 90 s: " + c.console_tail())
        log("system state: " + state.stdout.strip())
        # installed as the unit's header says, line by line
        steps = [line.strip() for line in comment_block("# Install")]
        check("the unit's header gives install lines", len(steps) >= 3, steps)
        for step in steps:
            r = c.run("cd /src && " + step)
            if not check("install: " + step, r.returncode == 0, r.stdout):
                return
        check("rtpgate.service active", c.out("systemctl is-active rtpgate") == "active", journal(c))
        # Type=simple: active once started, the socket follows
        check("ng socket at /run/rtpgate/ng.sock, rtpgate:rtpgate 0660",
              wait_for(lambda: c.out("stat -c '%U:%G %a' /run/rtpgate/ng.sock")
                       == "rtpgate:rtpgate 660", 5),
              c.out("ls -la /run/rtpgate; journalctl -b -u rtpgate --no-pager -o cat | tail -5"))
        check("rtpgate-ctl ping", c.out("rtpgate-ctl ping") == "pong")
        for scen in ("relay", "opus", "g729"):
            got, out = bench(c, scen)
            check("%s calls under the unit: every packet both ways" % scen,
                  got is not None and all(s > 0 and s == n for s, n in got), (got, out[-300:]))
        r = c.run("systemctl reload rtpgate")
        check("systemctl reload", r.returncode == 0 and
              wait_for(lambda: "settings reloaded" in journal(c), 5), r.stdout + journal(c)[-300:])
        c.run("rtpgate-ctl drain")
        check("rtpgate-ctl drain ends the service",
              wait_for(lambda: c.out("systemctl is-active rtpgate") == "inactive", 10) and
              c.out("systemctl show -p Result --value rtpgate") == "success",
              c.out("systemctl status rtpgate --no-pager") + journal(c)[-300:])

        # kernel forwarding with the unit comment's drop-in
        dropin_text = kfwd_dropin()
        check("the unit's comment gives a drop-in", dropin_text.startswith("[Service]\n"),
              dropin_text)
        dropin = os.path.join(root, "etc/systemd/system/rtpgate.service.d")
        os.makedirs(dropin, exist_ok=True)
        with open(os.path.join(dropin, "kernel-forward.conf"), "w") as f:
            f.write(dropin_text)
        conf = os.path.join(root, "etc/rtpgate/rtpgate.conf")
        with open(conf) as f:
            text = f.read()
        with open(conf, "w") as f:
            f.write(re.sub(r"^kernel-forward = \w+$", "kernel-forward = auto", text, flags=re.M))
        c.run("systemctl daemon-reload && systemctl restart rtpgate")
        on = wait_for(lambda: "kernel forwarding on" in journal(c), 5)
        check("kernel forwarding on with the drop-in", on, journal(c)[-400:])
        got, out = bench(c, "relay")
        check("relay calls with kernel forwarding: every packet both ways",
              got is not None and all(s > 0 and s == n for s, n in got), (got, out[-300:]))
        try:
            st = json.loads(c.out("rtpgate-ctl --json statistics"))["statistics"]["packets"]["kernel"]
        except (ValueError, KeyError):
            st = {}
        check("the kernel relayed packets", st.get("relayed", 0) > 0, st)
        c.run("systemctl stop rtpgate")
        check("stopped cleanly", c.out("systemctl show -p Result --value rtpgate") == "success",
              journal(c)[-300:])
    finally:
        if c:
            c.stop()
        subprocess.run(["rm", "-rf", "--one-file-system", root, root + ".console"])
    log("%s: %d failed" % (os.path.basename(__file__), len(failures)))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
