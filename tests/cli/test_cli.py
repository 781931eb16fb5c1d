#!/usr/bin/env python3
"""End-to-end tests of the npipe command-line tool: the real binary, real processes, a real broker.

Usage: python3 tests/cli/test_cli.py BINDIR [unittest arguments, e.g. a test name]

Every test gets its own runtime directory (NPIPE_RUNTIME_DIR), so its own broker, which tearDown
stops with `npipe broker stop`. Conditions are polled with deadlines, never slept on; every
subprocess has a timeout. The last line printed is "N passed, M failed".
"""

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

BINDIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "bin")
TIMEOUT = 15  # seconds for any single subprocess call or condition


def process_running(pid):
    """False once the process has exited (a zombie not yet reaped by init counts as exited)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):
        return False


def full_name(name):
    return "\\\\.\\pipe\\" + name


class CliTest(unittest.TestCase):
    # ---- fixtures ---------------------------------------------------------------------------

    def setUp(self):
        self.base = tempfile.mkdtemp(prefix="npipe-cli-")
        self.rt = os.path.join(self.base, "rt")
        os.mkdir(self.rt, 0o700)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("NPIPE_")}
        self.env["NPIPE_RUNTIME_DIR"] = self.rt
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            try:
                p.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
            for stream in (p.stdin, p.stdout, p.stderr):
                if stream:
                    stream.close()
        self.npipe("broker", "stop")
        shutil.rmtree(self.base, ignore_errors=True)

    # ---- helpers ----------------------------------------------------------------------------

    def npipe(self, *args, input=b"", env=None, timeout=TIMEOUT):
        """Runs npipe to completion; returns the CompletedProcess (bytes)."""
        return subprocess.run([os.path.join(BINDIR, "npipe"), *args], input=input, capture_output=True,
                              env=env or self.env, timeout=timeout)

    def start(self, *args, stdin=subprocess.DEVNULL, env=None, log=None):
        """Starts npipe in the background; stdout is a pipe, stderr goes to a log file."""
        log = log or os.path.join(self.base, "log-%d.txt" % len(self.procs))
        with open(log, "wb") as err:
            p = subprocess.Popen([os.path.join(BINDIR, "npipe"), *args], stdin=stdin, stdout=subprocess.PIPE,
                                 stderr=err, env=env or self.env)
        p.log = log
        self.procs.append(p)
        return p

    @staticmethod
    def stderr_of(p):
        with open(p.log, "rb") as f:
            return f.read().decode(errors="replace")

    def wait_until(self, predicate, what):
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.02)
        self.fail("timed out waiting for " + what)

    def serve(self, name, *options):
        """Starts `npipe serve NAME OPTIONS` and returns once an instance listens."""
        p = self.start("serve", name, *options)

        def ready():
            if p.poll() is not None:
                self.fail("serve exited with %s: %s" % (p.returncode, self.stderr_of(p)))
            return self.npipe("wait", name, "--timeout", "100").returncode == 0

        self.wait_until(ready, "pipe %s to listen" % name)
        return p

    def info(self, name):
        r = self.npipe("info", name, "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def read_until(self, p, expected):
        """Reads p's stdout until it has `expected` bytes (without waiting for its end)."""
        got = b""
        deadline = time.monotonic() + TIMEOUT
        fd = p.stdout.fileno()
        while len(got) < len(expected) and time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                got += chunk
        return got

    def finish(self, p, input=None):
        """Closes p's stdin (after writing `input`) and waits for it: (returncode, stdout)."""
        out, _ = p.communicate(input=input, timeout=TIMEOUT)
        return p.returncode, out

    def stop(self, p, sig=signal.SIGTERM):
        p.send_signal(sig)
        p.wait(timeout=TIMEOUT)
        return p.returncode

    # ---- help and usage ---------------------------------------------------------------------

    def test_help_of_every_command(self):
        for cmd in ([], ["serve"], ["connect"], ["call"], ["wait"], ["list"], ["info"], ["broker"],
                    ["broker", "status"], ["broker", "stop"], ["monitor"], ["rules"], ["rules", "list"],
                    ["rules", "test"], ["audit"], ["acl"]):
            r = self.npipe(*cmd, "--help")
            self.assertEqual(r.returncode, 0, cmd)
            text = r.stdout.decode()
            self.assertIn("Usage:", text, cmd)
            self.assertTrue(text.splitlines()[0].strip(), "%s has a one-line description" % cmd)

    def test_usage_errors_exit_2(self):
        for cmd in ([], ["bogus"], ["serve"], ["serve", "x", "--echo", "--exec"], ["serve", "x", "--exec"],
                    ["serve", "x", "--instances", "0"],
                    ["serve", "x", "--inbound", "--outbound"], ["wait", "x", "--timeout", "soon"]):
            r = self.npipe(*cmd)
            self.assertEqual(r.returncode, 2, "%s: %s" % (cmd, r.stderr))

    # ---- serve --echo + connect ---------------------------------------------------------------

    def test_echo_message_roundtrip(self):
        self.serve("echo", "--echo", "--message")
        r = self.npipe("connect", "echo", "--message", input=b"hello")
        self.assertEqual((r.returncode, r.stdout), (0, b"hello"), r.stderr)
        # The full name works as well, and a client in byte read mode gets the same bytes.
        r = self.npipe("connect", full_name("ECHO"), input=b"second")
        self.assertEqual((r.returncode, r.stdout), (0, b"second"), r.stderr)

    def test_echo_byte_roundtrip(self):
        server = self.serve("echo", "--echo")
        client = self.start("connect", "echo", stdin=subprocess.PIPE)
        client.stdin.write(b"ping\n")
        client.stdin.flush()
        self.assertEqual(self.read_until(client, b"ping\n"), b"ping\n")
        client.stdin.write(b"pong\n")
        client.stdin.close()  # a byte pipe has no end of data: the client reads on...
        self.assertEqual(self.read_until(client, b"pong\n"), b"pong\n")
        self.assertIsNone(client.poll())
        # ... until the server closes: SIGTERM ends serve cleanly and the client normally.
        self.assertEqual(self.stop(server), 0, self.stderr_of(server))
        self.assertEqual(client.wait(timeout=TIMEOUT), 0, self.stderr_of(client))
        self.assertIn("listening on " + full_name("echo"), self.stderr_of(server))
        self.assertEqual(server.stdout.read(), b"", "serve --echo prints nothing on stdout")
        r = self.npipe("info", "echo")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"ERROR_FILE_NOT_FOUND", r.stderr)

    def test_connect_quit_after(self):
        self.serve("echo", "--echo")
        r = self.npipe("connect", "echo", "-q", "300", input=b"x" * 200000)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"x" * 200000)

    def test_many_clients_at_once(self):
        self.serve("echo", "--echo", "--message")
        # Instances are created as clients arrive: clients that come together wait for one (--wait).
        clients = [self.start("connect", "echo", "--message", "--wait", "10000", stdin=subprocess.PIPE)
                   for _ in range(5)]
        for i, c in enumerate(clients):
            self.assertEqual(self.finish(c, b"client %d" % i), (0, b"client %d" % i), self.stderr_of(c))

    def test_sigint_closes_instances(self):
        server = self.serve("echo", "--echo", "--message")
        self.assertEqual(self.stop(server, signal.SIGINT), 0, self.stderr_of(server))
        r = self.npipe("wait", "echo", "--timeout", "100")
        self.assertIn(b"ERROR_FILE_NOT_FOUND", r.stderr)

    # ---- call ---------------------------------------------------------------------------------

    def test_call(self):
        self.serve("rpc", "--echo", "--message")
        r = self.npipe("call", "rpc", "hi there")
        self.assertEqual((r.returncode, r.stdout), (0, b"hi there"), r.stderr)  # no newline: not a terminal
        r = self.npipe("call", full_name("rpc"), "--timeout", "1000", input=b"from stdin\n")
        self.assertEqual((r.returncode, r.stdout), (0, b"from stdin\n"), r.stderr)

    def test_call_prints_a_long_reply_whole(self):
        # CallNamedPipe's fixed buffer is no limit of the CLI: a 300 KiB reply (several times the
        # 64 KiB the first read takes) is printed to its last byte, exit 0, nothing on stderr.
        self.serve("rpc", "--echo", "--message")
        request = bytes((i * 7 + i // 251) % 256 for i in range(300 * 1024))
        r = self.npipe("call", "rpc", input=request)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(r.stdout), len(request))
        self.assertTrue(r.stdout == request, "the reply differs from byte %d on" %
                        next((i for i, (a, b) in enumerate(zip(r.stdout, request)) if a != b), -1))
        self.assertEqual(r.stderr, b"")
        # A reply of exactly one first read's size, and one byte more, end where they should too.
        for size in (65536, 65537):
            r = self.npipe("call", "rpc", input=request[:size])
            self.assertEqual((r.returncode, r.stdout), (0, request[:size]), r.stderr)

    def test_concurrent_calls_share_one_instance(self):
        self.serve("rpc", "--echo", "--message", "--instances", "1")
        callers = [self.start("call", "rpc", "request %d" % i, "--timeout", "10000") for i in range(8)]
        for i, c in enumerate(callers):
            self.assertEqual(self.finish(c), (0, b"request %d" % i), self.stderr_of(c))

    def test_call_needs_a_message_pipe(self):
        self.serve("bytes", "--echo")
        r = self.npipe("call", "bytes", "x")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"message pipe", r.stderr)

    # ---- list and info ------------------------------------------------------------------------

    def test_empty_namespace(self):
        r = self.npipe("list")
        self.assertEqual((r.returncode, r.stdout), (0, b"(no pipes)\n"), r.stderr)
        r = self.npipe("list", "--json")
        self.assertEqual((r.returncode, json.loads(r.stdout)), (0, []), r.stderr)

    def test_list_and_info(self):
        server = self.serve("status", "--echo", "--message", "--instances", "3", "--default-timeout", "250")
        p = self.info("status")
        for key in ("name", "type", "access", "max_instances", "current_instances", "owner_uid", "instances",
                    "in_buffer_size", "out_buffer_size", "default_timeout_ms"):
            self.assertIn(key, p)
        self.assertEqual(p["name"], full_name("status"))
        self.assertEqual((p["type"], p["access"]), ("message", "duplex"))
        self.assertEqual((p["max_instances"], p["current_instances"]), (3, 1))
        self.assertEqual(p["owner_uid"], os.getuid())
        self.assertEqual(p["default_timeout_ms"], 250)
        buffers = {"out_buffer_size": p["out_buffer_size"], "in_buffer_size": p["in_buffer_size"]}
        self.assertEqual(p["instances"], [{"state": "listening", "server_pid": server.pid, "server_uid": os.getuid(),
                                           "client_pid": None, "client_uid": None,
                                           "client_account": None, "client_address": None, **buffers}])

        # A client attached: its instance is connected, and serve adds a listening one.
        client = self.start("connect", "status", "--message", stdin=subprocess.PIPE)

        def attached():
            p = self.info("status")
            connected = [i for i in p["instances"] if i["state"] == "connected"]
            listening = [i for i in p["instances"] if i["state"] == "listening"]
            return p if connected and listening else None

        p = self.wait_until(attached, "a connected and a listening instance")
        self.assertEqual(p["current_instances"], 2)
        connected = [i for i in p["instances"] if i["state"] == "connected"][0]
        self.assertEqual(connected, {"state": "connected", "server_pid": server.pid, "server_uid": os.getuid(), "client_pid": client.pid,
                                     "client_uid": os.getuid(), "client_account": None, "client_address": None,
                                     **buffers})

        r = self.npipe("list", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        listed = json.loads(r.stdout)
        self.assertEqual([x["name"] for x in listed], [full_name("status")])
        self.assertEqual(listed[0]["instances"], p["instances"])

        r = self.npipe("list")
        self.assertEqual(r.returncode, 0, r.stderr)
        table = r.stdout.decode()
        self.assertIn(full_name("status"), table)
        self.assertIn("connected", table)
        self.assertIn(str(client.pid), table)
        self.assertEqual(table.splitlines()[0].split()[:3], ["NAME", "TYPE", "ACCESS"])

        r = self.npipe("info", "status")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("message", r.stdout.decode())

        self.assertEqual(self.finish(client, b"bye"), (0, b"bye"), self.stderr_of(client))

    def test_a_server_of_another_type_joins_the_pipe_as_its_type(self):
        # Windows takes a further instance of another type or limit and keeps the pipe's: a byte
        # server joins a message pipe with a message instance.
        first = self.serve("mixed", "--echo", "--message", "--instances", "4")
        second = self.start("serve", "mixed", "--echo", "--instances", "2")
        p = self.wait_until(lambda: (lambda q: q if len({i["server_pid"] for i in q["instances"]}) == 2 else None)(
            self.info("mixed")), "an instance of each server")
        self.assertEqual((p["type"], p["max_instances"]), ("message", 4))
        self.assertEqual(second.poll(), None, self.stderr_of(second))
        self.assertEqual(self.stop(second), 0, self.stderr_of(second))
        self.assertEqual(self.stop(first), 0, self.stderr_of(first))

    def test_info_errors(self):
        r = self.npipe("info", "missing")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"ERROR_FILE_NOT_FOUND", r.stderr)
        r = self.npipe("info", "n" * 300)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"ERROR_INVALID_NAME", r.stderr)

    # ---- security descriptors ---------------------------------------------------------------------

    def test_default_descriptor_and_json_keys(self):
        self.serve("private", "--echo")
        info = self.info("private")
        uid = os.geteuid()
        self.assertEqual(info["owner_sid"], "S-1-22-1-%d" % uid)
        self.assertEqual(info["sddl"], "O:S-1-22-1-%dG:S-1-22-2-%dD:(A;;FA;;;S-1-22-1-%d)(A;;FA;;;BA)"
                         % (uid, os.getegid(), uid))
        self.assertIs(info["remote"], False)
        listed = json.loads(self.npipe("list", "--json").stdout)
        self.assertTrue({"owner_sid", "sddl", "remote"} <= set(listed[0]))

    def test_sddl_option_and_acl_in_words(self):
        self.serve("shared", "--echo", "--sddl", "D:(D;;FA;;;AN)(A;;GRGW;;;WD)(A;;FA;;;OW)")
        r = self.npipe("acl", "shared")
        self.assertEqual(r.returncode, 0, r.stderr)
        text = r.stdout.decode()
        self.assertIn("DENY NT AUTHORITY\\ANONYMOUS LOGON (S-1-5-7)", text)
        self.assertIn("RW  Everyone (S-1-1-0)", text)
        r = self.npipe("acl", "shared", "--json")
        acl = json.loads(r.stdout)
        self.assertEqual([a["type"] for a in acl["dacl"]], ["deny", "allow", "allow"])
        self.assertEqual(acl["dacl"][1]["sid"], "S-1-1-0")

    def test_bad_sddl_is_a_usage_error_with_the_position(self):
        r = self.npipe("serve", "bad", "--sddl", "D:(A;;FA;;;XX)")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"at offset 11", r.stderr)
        r = self.npipe("serve", "bad", "--sddl", "D:(A;;FA;;;WD)", "--windows-default-acl")
        self.assertEqual(r.returncode, 2)

    def test_list_risky(self):
        self.serve("safe", "--echo")
        self.serve("readable", "--echo", "--windows-default-acl")
        self.serve("open", "--echo", "--sddl", "D:(A;;FA;;;WD)")
        r = self.npipe("list", "--risky", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        risky = json.loads(r.stdout)
        self.assertEqual([p["name"] for p in risky], [full_name("open")])
        self.assertIn("Everyone may write", risky[0]["risk"])

    # ---- errors of connect and wait -------------------------------------------------------------

    def test_wait_on_missing_pipe(self):
        r = self.npipe("wait", "missing", "--timeout", "100")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"ERROR_FILE_NOT_FOUND", r.stderr)

    def test_connect_to_missing_pipe(self):
        r = self.npipe("connect", "missing")
        self.assertEqual(r.returncode, 1)
        err = r.stderr.decode()
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertTrue(err.startswith("npipe: cannot open " + full_name("missing") + ": ERROR_FILE_NOT_FOUND (2)"),
                        err)
        self.assertIn("no server has created this pipe", err)

    def test_busy_then_wait(self):
        self.serve("one", "--echo", "--message", "--instances", "1")
        first = self.start("connect", "one", "--message", stdin=subprocess.PIPE)
        self.wait_until(lambda: self.info("one")["instances"][0]["state"] == "connected", "the first client")
        r = self.npipe("connect", "one", input=b"x")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"ERROR_PIPE_BUSY (231)", r.stderr)
        self.assertIn(b"--wait", r.stderr)
        r = self.npipe("wait", "one", "--timeout", "50")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"ERROR_SEM_TIMEOUT", r.stderr)
        # With --wait the next client gets the instance once the first is done.
        second = self.start("connect", "one", "--message", "--wait", "10000", stdin=subprocess.PIPE)
        self.assertEqual(self.finish(first, b"first"), (0, b"first"), self.stderr_of(first))
        self.assertEqual(self.finish(second, b"second"), (0, b"second"), self.stderr_of(second))

    def test_no_autostart(self):
        env = dict(self.env, NPIPE_NO_AUTOSTART="1")
        for cmd in (["connect", "x"], ["serve", "x", "--echo"]):
            r = self.npipe(*cmd, env=env)
            self.assertEqual(r.returncode, 1, cmd)
            self.assertIn(b"ERROR_SERVICE_NOT_ACTIVE (1062)", r.stderr, cmd)
            self.assertIn(b"NPIPE_NO_AUTOSTART", r.stderr, cmd)
        r = self.npipe("list", env=env)  # looking never starts a broker
        self.assertEqual((r.returncode, r.stdout), (0, b"(no pipes)\n"), r.stderr)

    def test_first_instance(self):
        self.serve("solo", "--echo")
        r = self.npipe("serve", "solo", "--echo", "--first-instance")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"ERROR_ACCESS_DENIED", r.stderr)

    # ---- --exec and the terminal bridge -------------------------------------------------------

    def test_exec_message(self):
        self.serve("upper", "--message", "--exec", "tr", "a-z", "A-Z")
        r = self.npipe("connect", "upper", "--message", input=b"hello")
        self.assertEqual((r.returncode, r.stdout), (0, b"HELLO"), r.stderr)
        clients = [self.start("connect", "upper", "--wait", "10000", stdin=subprocess.PIPE) for _ in range(3)]
        for i, c in enumerate(clients):
            self.assertEqual(self.finish(c, b"client %d" % i), (0, b"CLIENT %d" % i), self.stderr_of(c))

    def test_exec_arguments_verbatim(self):
        self.serve("sed", "--message", "--exec", "sed", "-e", "s/a/b/")
        r = self.npipe("connect", "sed", input=b"aaa\n")
        self.assertEqual((r.returncode, r.stdout), (0, b"baa\n"), r.stderr)

    def test_exec_byte_pipe(self):
        server = self.serve("date", "--exec", "echo", "hi", "there")
        r = self.npipe("connect", "date")
        self.assertEqual((r.returncode, r.stdout), (0, b"hi there\n"), r.stderr)
        r = self.npipe("connect", "date")  # served again
        self.assertEqual((r.returncode, r.stdout), (0, b"hi there\n"), r.stderr)
        # The server closing ends connect, though its stdin is still open.
        client = self.start("connect", "date", stdin=subprocess.PIPE)
        self.assertEqual(client.wait(timeout=TIMEOUT), 0, self.stderr_of(client))
        self.assertEqual(client.stdout.read(), b"hi there\n")
        self.assertEqual(self.stop(server), 0)
        self.assertEqual(server.stdout.read(), b"")

    def test_exec_one_way_pipes(self):
        self.serve("out", "--outbound", "--exec", "echo", "news")
        self.assertEqual(self.info("out")["access"], "outbound")
        r = self.npipe("connect", "out")  # opened read-only
        self.assertEqual((r.returncode, r.stdout), (0, b"news\n"), r.stderr)

        sink = self.serve("in", "--inbound", "--message", "--exec", "cat")
        self.assertEqual(self.info("in")["access"], "inbound")
        r = self.npipe("connect", "in", input=b"to the server")  # opened write-only
        self.assertEqual((r.returncode, r.stdout), (0, b""), r.stderr)
        self.assertEqual(self.read_until(sink, b"to the server"), b"to the server")  # cat writes to serve's stdout

    def test_exec_missing_program(self):
        server = self.serve("nothing", "--exec", "/nonexistent/program")
        r = self.npipe("connect", "nothing")
        self.assertEqual((r.returncode, r.stdout), (0, b""), r.stderr)
        self.wait_until(lambda: "cannot run /nonexistent/program: ERROR_FILE_NOT_FOUND" in self.stderr_of(server),
                        "serve to report the missing program")

    def test_terminal_bridge(self):
        server = self.start("serve", "chat", "--message", stdin=subprocess.PIPE)
        self.wait_until(lambda: self.npipe("wait", "chat", "--timeout", "100").returncode == 0, "the pipe")
        server.stdin.write(b"from the server")
        server.stdin.close()
        r = self.npipe("connect", "chat", "--message", input=b"from the client")
        self.assertEqual((r.returncode, r.stdout), (0, b"from the server"), r.stderr)
        self.assertEqual(self.read_until(server, b"from the client"), b"from the client")
        self.assertEqual(server.wait(timeout=TIMEOUT), 0, self.stderr_of(server))
        self.assertIn("listening on " + full_name("chat"), self.stderr_of(server))
        self.assertEqual(self.npipe("list").stdout, b"(no pipes)\n")  # serve ends after one client

    # ---- broker and global options --------------------------------------------------------------

    def test_broker_status_and_stop(self):
        r = self.npipe("broker", "status")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"no broker", r.stderr)
        server = self.serve("b", "--echo")
        r = self.npipe("broker", "status", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        status = json.loads(r.stdout)
        for key in ("pid", "uid", "scope", "runtime_dir", "protocol_version", "uptime_seconds", "pipes",
                    "instances", "connections_served"):
            self.assertIn(key, status)
        self.assertEqual((status["uid"], status["scope"], status["pipes"]), (os.getuid(), "user", 1))
        self.assertEqual(os.path.realpath(status["runtime_dir"]), os.path.realpath(self.rt))
        self.assertEqual(status["limits"]["descriptor_bytes_per_uid"], 1 << 20)
        self.assertEqual(status["limits"]["connections_per_uid"], 4096)
        r = self.npipe("broker", "status")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("pid:", r.stdout.decode())
        self.assertIn("1048576 bytes of security descriptors", r.stdout.decode())
        self.assertIn(str(status["pid"]), r.stdout.decode())
        self.assertEqual(self.stop(server), 0)
        r = self.npipe("broker", "stop")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"stopped", r.stdout)
        self.assertFalse(process_running(status["pid"]), "the broker has exited")
        r = self.npipe("broker", "status")
        self.assertEqual(r.returncode, 1)
        r = self.npipe("broker", "stop")
        self.assertEqual((r.returncode, r.stdout), (0, b"no broker running\n"), r.stderr)

    def test_global_options(self):
        env = {k: v for k, v in self.env.items() if k != "NPIPE_RUNTIME_DIR"}
        env["XDG_RUNTIME_DIR"] = os.path.join(self.base, "xdg")  # never the real one
        os.mkdir(env["XDG_RUNTIME_DIR"], 0o700)
        server = self.start("--runtime-dir", self.rt, "serve", "g", "--echo", env=env)
        self.wait_until(lambda: self.npipe("wait", "g", "--timeout", "100", "--runtime-dir", self.rt,
                                           env=env).returncode == 0, "the pipe")
        r = self.npipe("--runtime-dir", self.rt, "list", "--json", env=env)
        self.assertEqual([p["name"] for p in json.loads(r.stdout)], [full_name("g")])
        r = self.npipe("info", "g", "--runtime-dir", self.rt, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.npipe("list", env=env)  # another namespace
        self.assertEqual(r.stdout, b"(no pipes)\n")
        self.assertEqual(self.stop(server), 0)
        self.npipe("broker", "stop", env=env)

    # ---- for defenders: monitor, rules, audit ------------------------------------------------

    def test_monitor_json_and_readable(self):
        server = self.serve("watched", "--echo")
        r = self.npipe("connect", "watched", "-q", "200", input=b"hello")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.npipe("monitor", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        events = [json.loads(line) for line in r.stdout.decode().splitlines()]
        types = [e["EventType"] for e in events]
        self.assertEqual(types[0], "BrokerStarted")
        for t in ("CreatePipe", "ConnectPipe", "DisconnectPipe"):
            self.assertIn(t, types)
        connect = next(e for e in events if e["EventType"] == "ConnectPipe")
        self.assertEqual(connect["PipeName"], "\\watched")
        self.assertEqual(connect["PeerProcessId"], server.pid)
        self.assertTrue(connect["Image"].endswith("/npipe"))
        gone = next(e for e in events if e["EventType"] == "DisconnectPipe")
        self.assertEqual((gone["BytesFromClient"], gone["BytesToClient"]), (5, 5))
        r = self.npipe("monitor")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.decode().splitlines()
        self.assertEqual(len(lines), len(events))
        self.assertIn("ConnectPipe", lines[types.index("ConnectPipe")])
        self.assertNotIn("\033[", r.stdout.decode(), "no colour when stdout is not a terminal")
        r = self.npipe("monitor", "--since", "1h", "--json")
        self.assertEqual(len(r.stdout.decode().splitlines()), len(events))
        future = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() + 3600))
        r = self.npipe("monitor", "--since", future)
        self.assertEqual((r.returncode, r.stdout), (0, b""), r.stderr)
        r = self.npipe("monitor", "--since", "yesterday-ish")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(self.stop(server), 0)

    def test_monitor_follow_streams_live(self):
        self.serve("first", "--echo")
        follower = self.start("monitor", "--json", "--follow")
        got = b""
        deadline = time.monotonic() + TIMEOUT
        while b"\"CreatePipe\"" not in got and time.monotonic() < deadline:
            ready, _, _ = select.select([follower.stdout.fileno()], [], [], 0.1)
            if ready:
                got += os.read(follower.stdout.fileno(), 65536)
        self.assertIn(b"\"CreatePipe\"", got, "the retained events first")
        self.serve("second", "--echo")
        got = b""
        deadline = time.monotonic() + TIMEOUT
        while b"\\\\second" not in got and time.monotonic() < deadline:
            ready, _, _ = select.select([follower.stdout.fileno()], [], [], 0.1)
            if ready:
                got += os.read(follower.stdout.fileno(), 65536)
        self.assertIn(b"\\\\second", got, "a pipe created after the monitor started")
        follower.send_signal(signal.SIGINT)
        follower.wait(timeout=TIMEOUT)

    def test_monitor_follow_starts_the_broker(self):
        # Where no broker can start on demand, the error stays: autostart off, the system scope.
        r = self.npipe("monitor", "--follow", env=dict(self.env, NPIPE_NO_AUTOSTART="1"), timeout=5)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(b"no broker running", r.stderr)
        r = self.npipe("monitor", "--follow", "--system", "--runtime-dir", os.path.join(self.base, "none"), timeout=5)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(b"no broker running", r.stderr)
        # A defender starts watching before anything else runs in the user scope.
        follower = self.start("monitor", "--json", "--follow")
        self.wait_until(lambda: follower.poll() is not None or self.npipe("broker", "status").returncode == 0,
                        "the monitor to start a broker")
        self.assertIsNone(follower.poll(), "monitor --follow exited: %s" % self.stderr_of(follower))
        self.serve("late", "--echo")
        got = b""
        events = []
        deadline = time.monotonic() + TIMEOUT
        while ("CreatePipe", "\\late") not in [(e["EventType"], e.get("PipeName")) for e in events] \
                and time.monotonic() < deadline and follower.poll() is None:
            ready, _, _ = select.select([follower.stdout.fileno()], [], [], 0.1)
            if ready:
                got += os.read(follower.stdout.fileno(), 65536)
                events = [json.loads(line) for line in got.split(b"\n")[:-1]]  # whole lines only
        self.assertIn(("CreatePipe", "\\late"), [(e["EventType"], e.get("PipeName")) for e in events],
                      "the create seen: %r; stderr: %s" % (got, self.stderr_of(follower)))
        self.assertEqual(events[0]["EventType"], "BrokerStarted", "nothing of the new broker is missed")
        follower.send_signal(signal.SIGINT)
        follower.wait(timeout=TIMEOUT)

    def test_rules_test_and_list(self):
        r = self.npipe("rules", "test", "MSSE-1234-server")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"CobaltStrike Named Pipe", r.stdout)
        self.assertIn(b"Florian Roth", r.stdout, "every match names the rule's author (DRL 1.1)")
        r = self.npipe("rules", "test", "\\\\.\\pipe\\PSEXESVC", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("PsExec Default Named Pipe", [m["title"] for m in json.loads(r.stdout)["matches"]])
        r = self.npipe("rules", "test", "wkssvc")
        self.assertEqual(r.returncode, 1, "an ordinary name matches nothing")
        self.assertIn(b"no rule matches", r.stdout)
        rules = os.path.join(self.base, "rules")
        os.mkdir(rules)
        with open(os.path.join(rules, "mine.yml"), "w") as f:
            f.write("title: Mine\nid: 0f0f0f0f-0000-0000-0000-000000000001\nauthor: me\nlevel: low\n"
                    "logsource:\n  category: pipe_created\ndetection:\n  sel:\n    PipeName|re: '^\\\\mine-[0-9]+$'\n"
                    "    Image|endswith: '/tool'\n  condition: sel\n")
        with open(os.path.join(rules, "broken.yml"), "w") as f:
            f.write("detection: [\n")
        r = self.npipe("rules", "test", "mine-42", "--image", "/usr/bin/tool", "--rules", rules, "--no-default-rules")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"Mine", r.stdout)
        self.assertIn(b"broken.yml", r.stderr, "a rule file that does not load is named")
        r = self.npipe("rules", "test", "mine-42", "--image", "/usr/bin/other", "--rules", rules, "--no-default-rules")
        self.assertEqual(r.returncode, 1)
        r = self.npipe("rules", "list", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        listed = json.loads(r.stdout)
        self.assertGreaterEqual(len(listed), 20)
        self.assertTrue(all(rule["author"] and rule["id"] and rule["title"] for rule in listed))

    def test_audit(self):
        r = self.npipe("audit")
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn(b"0 findings", r.stdout)
        self.serve("MSSE-77-server", "--echo")
        self.serve("open-door", "--echo", "--sddl", "D:(A;;GRGW;;;WD)(A;;FA;;;OW)")
        r = self.npipe("audit", "--json")
        self.assertEqual(r.returncode, 1, "findings")
        findings = json.loads(r.stdout)
        kinds = {(f["kind"], f["pipe"]) for f in findings}
        self.assertIn(("rule-match", full_name("MSSE-77-server")), kinds)
        self.assertIn(("open-acl", full_name("open-door")), kinds)
        if os.getuid() == 0:
            self.assertIn(("root-server-open-to-all", full_name("open-door")), kinds)


def main():
    global BINDIR
    args = sys.argv[1:]
    if args and not args[0].startswith("-"):
        BINDIR = args.pop(0)
    BINDIR = os.path.abspath(BINDIR)
    if not os.access(os.path.join(BINDIR, "npipe"), os.X_OK):
        print("no npipe binary in %s" % BINDIR, file=sys.stderr)
        print("0 passed, 1 failed")
        return 1
    program = unittest.main(argv=[sys.argv[0], *args], exit=False, verbosity=2)
    result = program.result
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = result.testsRun - failed - len(result.skipped)
    sys.stderr.flush()
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 0 if failed == 0 and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
