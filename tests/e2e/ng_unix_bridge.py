#!/usr/bin/python3
"""Development aid: give a UDP-only ng relay (Debian's rtpengine) the UNIX
socket transport Kamailio's rtpengine_sock "unix:PATH" uses, so the unix run
of test_kamailio.py can be tried without rtpgate.

    ng_unix_bridge.py UNIX_PATH UDP_PORT -- relay command line...

Starts the relay command as its child, listens on UNIX_PATH (stream), and for
every connection reads one complete bencode value (Kamailio does not close its
side before reading), sends it to 127.0.0.1:UDP_PORT with a cookie, and writes
the reply without the cookie back in one write. SIGTERM/SIGINT end the child
(by its PID) and the bridge. Example RELAY_CMD for test_kamailio.py:

    RELAY_CMD='tests/e2e/ng_unix_bridge.py {unix_sock} {ng_port} -- rtpengine
      --config-file=none --foreground --table=-1 --interface=127.0.0.1
      --listen-ng=127.0.0.1:{ng_port} --port-min={pmin} --port-max={pmax}
      --delete-delay=0 --log-stderr --pidfile={pidfile}'
"""

import os
import signal
import socket
import subprocess
import sys
import threading


def bencode_end(data, i=0):
    """Index just past the bencode value starting at data[i]; raises
    IndexError if data holds only part of it, ValueError if malformed."""
    c = data[i:i + 1]
    if c == b"i":
        end = data.index(b"e", i)
        return end + 1
    if c in (b"l", b"d"):
        i += 1
        while data[i:i + 1] != b"e":
            if i >= len(data):
                raise IndexError
            i = bencode_end(data, i)
        return i + 1
    if c.isdigit():
        colon = data.index(b":", i)
        end = colon + 1 + int(data[i:colon])
        if end > len(data):
            raise IndexError
        return end
    if not c:
        raise IndexError
    raise ValueError(f"bad bencode at {i}")


def serve(conn, udp_port, counter):
    with conn:
        conn.settimeout(5)
        data = b""
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
            try:
                bencode_end(data)
                break
            except (IndexError, ValueError) as e:
                if isinstance(e, ValueError):
                    return
        cookie = b"bridge%d" % next(counter)
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.settimeout(3)
        try:
            udp.sendto(cookie + b" " + data, ("127.0.0.1", udp_port))
            reply, _ = udp.recvfrom(65536)
        except OSError:
            return
        finally:
            udp.close()
        if reply.startswith(cookie + b" "):
            conn.sendall(reply[len(cookie) + 1:])


def main():
    if len(sys.argv) < 5 or sys.argv[3] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    path, udp_port, relay_cmd = sys.argv[1], int(sys.argv[2]), sys.argv[4:]
    child = subprocess.Popen(relay_cmd, stdin=subprocess.DEVNULL)

    def stop(signum, frame):
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(5)
            except subprocess.TimeoutExpired:
                child.kill()
        try:
            os.unlink(path)
        except OSError:
            pass
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    counter = iter(range(1 << 62))
    while child.poll() is None:
        listener.settimeout(0.5)
        try:
            conn, _ = listener.accept()
        except socket.timeout:
            continue
        threading.Thread(target=serve, args=(conn, udp_port, counter),
                         daemon=True).start()
    stop(None, None)


if __name__ == "__main__":
    sys.exit(main())
