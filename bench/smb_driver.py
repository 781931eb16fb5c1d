#!/usr/bin/python3
"""npipe-bench's SMB section, the Python half (bench/cases_smb.cpp is the other): a private smbd
on 127.0.0.1 and a high port, a private npiped exporting npipe pipes through it, two npipe echo
servers exported (a byte pipe and a message pipe), and impacket as the foreign client, timed on
request. The set-up is the tests' own (tests/samba: smbd_fixture.PrivateSmbd, and test_serve's
start_broker and serve), so smbd is started in one place only.

Usage: /usr/bin/python3 bench/smb_driver.py BINDIR   (run by npipe-bench; impacket lives in
Debian's python3)

Lines on stdout, commands on stdin:
  first line:  "skip REASON" (then it exits 0: not root, no smbd, no impacket), or
               "ready PORT USER PASSWORD BYTE_PIPE MESSAGE_PIPE" once both servers listen
  "impacket rtt SECONDS"        64-byte TransactNamedPipe calls on MESSAGE_PIPE for SECONDS
                                after a warm-up: "ok MEDIAN_CALL_US"
  "impacket tp SECONDS CHUNK"   CHUNK bytes written to BYTE_PIPE and read back, repeatedly, for
                                SECONDS: "ok MIB_PER_SECOND" (payload of one direction)
  anything failing:             "error TEXT"
End of stdin (or SIGTERM, SIGINT, SIGHUP) ends it: the servers, the broker and smbd stop, the
temp directories go, and the Unix user goes too unless it existed before.
"""

import os
import secrets
import shutil
import signal
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "samba"))

USER = "npipe-bench"
BYTE_PIPE, MESSAGE_PIPE = "NpipeBenchBytes", "NpipeBenchMessages"
WARMUP = 20
READ_WRITE_ACCESS = 0x12019f


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def skip_reason():
    if os.geteuid() != 0:
        return "needs root (useradd, smbd's passdb and np/ directory)"
    if not shutil.which("smbd"):
        return "smbd not installed (Debian package samba)"
    try:
        import impacket.smbconnection  # noqa: F401
    except ImportError:
        return "impacket not installed for %s (Debian package python3-impacket)" % sys.executable
    return None


class Fixture:
    """smbd, the broker and the two echo servers; test_serve's start_broker() and serve() read
    only the attributes set here (base, rt, np_dir, env, procs, BROKER_ARGS)."""
    BROKER_ARGS = []

    def __init__(self, bindir):
        import test_serve
        test_serve.BINDIR = bindir
        self.start_broker_of = test_serve.SmbdAndBroker.start_broker.__func__
        self.serve_of = test_serve.SmbdAndBroker.serve
        self.broker_log_of = test_serve.SmbdAndBroker.broker_log.__func__
        self.smbd = None
        self.broker = None
        self.procs = []
        self.base = None
        self.user_created = False
        self.password = "Bench-" + secrets.token_hex(8)

    def broker_log(self):
        return self.broker_log_of(self)

    def start(self):
        from smbd_fixture import PrivateSmbd, user_exists
        self.user_created = not user_exists(USER)
        self.smbd = PrivateSmbd().start()
        uid = self.smbd.add_user(USER, self.password)
        self.np_dir = os.path.join(self.smbd.ncalrpc_dir, "np")
        os.makedirs(self.np_dir, mode=0o700, exist_ok=True)
        self.base = tempfile.mkdtemp(prefix="npipe-bench-smb-")
        self.rt = os.path.join(self.base, "rt")
        os.mkdir(self.rt, 0o700)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("NPIPE_")}
        self.env["NPIPE_RUNTIME_DIR"] = self.rt
        self.env["NPIPE_NO_AUTOSTART"] = "1"
        self.broker = self.start_broker_of(self)
        dacl = "D:(A;;FA;;;OW)(A;;GRGW;;;S-1-22-1-%d)" % uid
        self.serve_of(self, BYTE_PIPE, "--remote", "--echo", "--sddl", dacl)
        self.serve_of(self, MESSAGE_PIPE, "--remote", "--message", "--echo", "--sddl", dacl)

    def stop(self):
        """Every step tried even when one before it fails; the first failure is raised at the end."""
        from smbd_fixture import TIMEOUT, remove_user

        def end(p):
            if p.poll() is None:
                p.kill()
            p.wait(timeout=TIMEOUT)
        steps = [lambda p=p: end(p) for p in self.procs + ([self.broker] if self.broker else [])]
        if self.smbd:
            steps.append(self.smbd.stop)
        if self.base:
            steps.append(lambda: shutil.rmtree(self.base, ignore_errors=True))
        if self.user_created:
            steps.append(lambda: remove_user(USER))
        failure = None
        for step in steps:
            try:
                step()
            except Exception as e:
                failure = failure or e
        if failure:
            raise failure


class Impacket:
    """One logged-in impacket connection to IPC$, kept for the whole run (as npipe's client keeps
    its SMB connection); each measurement opens the pipe, times, and closes it."""

    def __init__(self, port, password):
        from impacket.smbconnection import SMBConnection
        self.c = SMBConnection("127.0.0.1", "127.0.0.1", sess_port=port)
        self.c.login(USER, password)
        self.t = self.c.connectTree("IPC$")

    def timed(self, pipe, seconds, once):
        """Calls once(f) on the opened pipe for SECONDS after a warm-up; returns each call's time."""
        f = self.c.openFile(self.t, "\\" + pipe, desiredAccess=READ_WRITE_ACCESS)
        try:
            for _ in range(WARMUP):
                once(f)
            calls, start = [], time.monotonic()
            prev = start
            while prev - start < seconds:
                once(f)
                now = time.monotonic()
                calls.append(now - prev)
                prev = now
            return calls
        finally:
            self.c.closeFile(self.t, f)

    def round_trip_us(self, seconds):
        msg = b"x" * 64

        def once(f):
            if len(self.c.transactNamedPipe(self.t, f, msg)) != len(msg):
                raise RuntimeError("short transact reply")
        # the median call, as npipe-bench's round trips (a call that waited for a busy CPU is ignored)
        return statistics.median(self.timed(MESSAGE_PIPE, seconds, once)) * 1e6

    def mib_per_second(self, seconds, chunk):
        data = b"b" * chunk

        def once(f):
            self.c.writeFile(self.t, f, data)
            got = 0
            while got < chunk:
                got += len(self.c.readFile(self.t, f, 0, chunk - got))
        calls = self.timed(BYTE_PIPE, seconds, once)
        return len(calls) * chunk / 1048576 / sum(calls)


def serve_commands(client):
    for line in sys.stdin:
        words = line.split()
        try:
            if words[:2] == ["impacket", "rtt"] and len(words) == 3:
                say("ok %.3f" % client.round_trip_us(float(words[2])))
            elif words[:2] == ["impacket", "tp"] and len(words) == 4:
                say("ok %.3f" % client.mib_per_second(float(words[2]), int(words[3])))
            else:
                say("error unknown command %r" % line.strip())
        except Exception as e:  # the run fails, the section goes on
            say("error %s: %s" % (type(e).__name__, str(e).replace("\n", " ")))


def on_signal(signum, frame):
    raise SystemExit(128 + signum)


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: smb_driver.py BINDIR\n")
        return 2
    reason = skip_reason()
    if reason:
        say("skip " + reason)
        return 0
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, on_signal)
    fixture = Fixture(sys.argv[1])
    try:
        fixture.start()
        client = Impacket(fixture.smbd.port, fixture.password)
        say("ready %d %s %s %s %s" % (fixture.smbd.port, USER, fixture.password, BYTE_PIPE, MESSAGE_PIPE))
        serve_commands(client)
    except Exception as e:
        say("error set-up failed: %s: %s" % (type(e).__name__, str(e).replace("\n", " ")[:2000]))
        return 1
    finally:
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)  # the clean-up runs to its end
        fixture.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
