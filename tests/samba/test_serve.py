#!/usr/bin/env python3
"""npipe servers reached by SMB clients through Samba's smbd, end to end: a private smbd
(smbd_fixture.py), a private npiped serving its np/ directory (--samba=DIR), `npipe serve
--remote` as the server and impacket (NTLM, and Kerberos from a private KDC: kdc_fixture.py) and
smbclient as the foreign clients.

Usage: python3 tests/samba/test_serve.py BINDIR [unittest arguments]

Needs root (useradd, smbd's passdb and np/ directory); skipped otherwise. Every wait has a
deadline; nothing sleeps. impacket runs under Debian's /usr/bin/python3.
"""

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kdc_fixture import PrivateKdc  # noqa: E402
from smbd_fixture import TIMEOUT, PrivateSmbd, select_wait  # noqa: E402
from test_samba import DEBIAN_PYTHON, impacket  # noqa: E402

BINDIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "bin")
USER, PASSWORD = "npipe-smb2", "Npipe-Test-pw2"
OTHER, OTHER_PASSWORD = "npipe-smb3", "Npipe-Test-pw3"

# impacket snippets: open NAME on IPC$, or print the NTSTATUS the open fails with.
OPEN = "f = c.openFile(t, '\\\\%s', desiredAccess=0x12019f)\n"
OPEN_STATUS = ("try:\n"
               "    c.openFile(t, '\\\\%s', desiredAccess=0x12019f)\n"
               "    print('opened')\n"
               "except SessionError as e:\n"
               "    print(hex(e.getErrorCode()))\n")
STATUS_OBJECT_NAME_NOT_FOUND = "0xc0000034"
STATUS_CONNECTION_DISCONNECTED = "0xc000020c"  # what smbd says when the broker hangs up on it
FILE_GENERIC_READ = 0x120089
STATUS_PIPE_DISCONNECTED = "0xc00000b0"
STATUS_PIPE_BROKEN = "0xc000014b"

# impacket logged in with Kerberos from the credential cache KRB5CCNAME names (the service
# ticket already in it: impacket reaches a KDC only on port 88).
KERBEROS_LOGIN = ("from impacket.smbconnection import SMBConnection, SessionError\n"
                  "c = SMBConnection(%r, '127.0.0.1', sess_port=%d)\n"
                  "c.kerberosLogin(%r, '', %r, useCache=True)\n"
                  "t = c.connectTree('IPC$')\n")


def wait_until(predicate, what):
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if predicate():
            return
        select_wait(0.02)
    raise AssertionError("timed out waiting for " + what)


@unittest.skipUnless(os.geteuid() == 0, "needs root: useradd, smbd's passdb and np/ directory")
class SmbdAndBroker(unittest.TestCase):
    """A private smbd and a private npiped serving its np/ (BROKER_ARGS added), and the helpers of
    the tests; no tests of its own."""
    BROKER_ARGS = []

    @classmethod
    def setUpClass(cls):
        cls.kdc = PrivateKdc().start()
        try:
            # smbd's own pipes beside npipe's on the same np/ directory (samba-dcerpcd's srvsvc)
            cls.smbd = PrivateSmbd(kdc=cls.kdc, rpc_pipes=True).start()
        except Exception:
            cls.kdc.stop()
            raise
        cls.uid = cls.smbd.add_user(USER, PASSWORD)
        cls.kdc.add_principal(USER, PASSWORD)
        cls.other_uid = cls.smbd.add_user(OTHER, OTHER_PASSWORD)
        cls.np_dir = os.path.join(cls.smbd.ncalrpc_dir, "np")
        os.makedirs(cls.np_dir, mode=0o700, exist_ok=True)
        os.chmod(cls.np_dir, 0o700)
        cls.base = tempfile.mkdtemp(prefix="npipe-serve-")
        cls.rt = os.path.join(cls.base, "rt")
        os.mkdir(cls.rt, 0o700)
        cls.env = {k: v for k, v in os.environ.items() if not k.startswith("NPIPE_")}
        cls.env["NPIPE_RUNTIME_DIR"] = cls.rt
        cls.env["NPIPE_NO_AUTOSTART"] = "1"
        cls.procs = []
        cls.broker = cls.start_broker()

    @classmethod
    def start_broker(cls):
        r, w = os.pipe()
        log = open(os.path.join(cls.base, "npiped.log"), "wb")
        p = subprocess.Popen([os.path.join(BINDIR, "npiped"), "--runtime-dir", cls.rt, "--samba=" + cls.np_dir,
                              "--ready-fd", str(w), "-v", "--handshake-timeout", "1000", *cls.BROKER_ARGS],
                             pass_fds=(w,), stdin=subprocess.DEVNULL,
                             stdout=log, stderr=subprocess.STDOUT, env=cls.env)
        log.close()
        os.close(w)
        try:
            import select
            ready, _, _ = select.select([r], [], [], TIMEOUT)
            if not ready or not os.read(r, 1):
                p.kill()
                raise RuntimeError("npiped did not start:\n" + cls.broker_log())
        finally:
            os.close(r)
        return p

    @classmethod
    def broker_log(cls):
        with open(os.path.join(cls.base, "npiped.log"), errors="replace") as f:
            return f.read()[-4000:]

    @classmethod
    def tearDownClass(cls):
        for p in cls.procs + [cls.broker]:
            if p.poll() is None:
                p.kill()
            p.wait(timeout=TIMEOUT)
            for stream in (p.stdout, p.stderr):
                if stream:
                    stream.close()
        cls.smbd.stop()
        cls.kdc.stop()
        shutil.rmtree(cls.base, ignore_errors=True)

    def serve(self, name, *options, stdout=None):
        """`npipe serve NAME OPTIONS` in the background, returned once an instance listens; its
        stdout goes to the file STDOUT names, if any."""
        log = os.path.join(self.base, "serve-%s.log" % name)
        with open(log, "wb") as err, open(stdout or os.devnull, "wb") as out:
            p = subprocess.Popen([os.path.join(BINDIR, "npipe"), "serve", name, *options], stdin=subprocess.DEVNULL,
                                 stdout=out, stderr=err, env=self.env)
        self.procs.append(p)

        def listening():
            if p.poll() is not None:
                raise AssertionError("serve exited with %s: %s" % (p.returncode, open(log).read()))
            r = subprocess.run([os.path.join(BINDIR, "npipe"), "wait", name, "--timeout", "100"], env=self.env,
                               capture_output=True, timeout=TIMEOUT)
            return r.returncode == 0

        wait_until(listening, "pipe %s to listen" % name)
        return p

    def exported(self, name):
        """What `npipe info` says of the pipe's remote access."""
        r = subprocess.run([os.path.join(BINDIR, "npipe"), "info", name, "--json"], env=self.env,
                           capture_output=True, timeout=TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)["remote"]

    def user_only(self, uid):
        """A DACL: the owner, and read and write for the Unix user `uid` (as smbd maps it)."""
        return "D:(A;;FA;;;OW)(A;;GRGW;;;S-1-22-1-%d)" % uid

    def run_impacket(self, body, user=USER, password=PASSWORD):
        try:
            return impacket(self.smbd, body, user, password)
        except AssertionError as e:
            raise AssertionError("%s\n--- npiped ---\n%s" % (e, self.broker_log()))

    def remote_server(self, role, name, sddl):
        """npipe_test_remote_server ROLE NAME SDDL, returned once its instance listens."""
        p = subprocess.Popen([os.path.join(BINDIR, "npipe_test_remote_server"), role, name, sddl],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env,
                             text=True)
        self.procs.append(p)
        ready, _, _ = select_ready(p.stdout, TIMEOUT)
        line = p.stdout.readline() if ready else ""
        if line.strip() != "ready":
            p.kill()
            raise AssertionError("the server did not start: %r %s" % (line, p.stderr.read()))
        return p

    def ending_server(self, how, name, uid):
        """npipe_test_remote_server HOW NAME (close, disconnect, die): a byte pipe for the Unix
        user UID whose server writes "last words" to its first client, then ends as HOW says
        when told on its stdin."""
        p = subprocess.Popen([os.path.join(BINDIR, "npipe_test_remote_server"), how, name,
                              "D:(A;;FA;;;OW)(A;;GRGW;;;S-1-22-1-%d)" % uid],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env,
                             text=True)
        self.procs.append(p)
        self.assertEqual(line_of(p.stdout), "ready", p.stderr.read() if p.poll() is not None else "")
        return p

    def end_server(self, server, how, unread=0):
        """Ends an ending_server() that has said "wrote", once the UNREAD bytes the client wrote
        have reached it: SIGKILL (die), or its CloseHandle or DisconnectNamedPipe done."""
        self.assertEqual(line_of(server.stdout), "wrote")
        server.stdin.write("%d\n" % unread)
        server.stdin.flush()
        if how == "die":
            self.assertEqual(line_of(server.stdout), "arrived")
            server.kill()
            server.wait(timeout=TIMEOUT)
            return
        self.assertEqual(line_of(server.stdout), {"close": "closed", "disconnect": "disconnected"}[how])

    def after_the_server_ends(self, how, name, client_writes, read_first=False):
        """impacket opens an ending_server(HOW), reads once first if READ_FIRST, writes "unread"
        if CLIENT_WRITES (the server never reads it), then reads after the server ended until a
        read fails: its lines."""
        server = self.ending_server(how, name, self.uid)
        script = ("import sys\n"
                  "from impacket.smbconnection import SMBConnection, SessionError\n"
                  "c = SMBConnection('127.0.0.1', '127.0.0.1', sess_port=%d)\n"
                  "c.login(%r, %r)\n"
                  "t = c.connectTree('IPC$')\n" % (self.smbd.port, USER, PASSWORD) + OPEN % name +
                  # a read before the end, said after it (two lines at once would defeat line_of)
                  ("first = c.readFile(t, f, 0, 65536).decode()\n" if read_first else "") +
                  ("c.writeFile(t, f, b'unread')\n" if client_writes else "") +
                  "print('written', flush=True)\n"
                  "sys.stdin.readline()\n" +
                  ("print('data', first, flush=True)\n" if read_first else "") +
                  "while True:\n"
                  "    try:\n"
                  "        print('data', c.readFile(t, f, 0, 65536).decode(), flush=True)\n"
                  "    except SessionError as e:\n"
                  "        print('status', hex(e.getErrorCode()))\n"
                  "        break\n")
        client = subprocess.Popen([DEBIAN_PYTHON, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        try:
            # impacket's WRITE has completed: "unread" is in the server's socket
            self.assertEqual(line_of(client.stdout), "written", client.stderr.read() if client.poll() else "")
            self.end_server(server, how, len("unread") if client_writes else 0)
            out, err = client.communicate("go\n", timeout=TIMEOUT)
        finally:
            if client.poll() is None:
                client.kill()
                client.wait(timeout=TIMEOUT)
            server.stdin.close()
            if server.poll() is None:
                server.wait(timeout=TIMEOUT)
        self.assertEqual(client.returncode, 0, err[-3000:])
        return out.split("\n")[:-1]

    def call_remote(self, name, user=USER, password=PASSWORD):
        """impacket opens NAME, sends one message, and returns (the JSON reply, its own port)."""
        out = self.run_impacket(OPEN % name + (
            "c.writeFile(t, f, b'who am I')\n"
            "print(c.readFile(t, f, 0, 65536).decode())\n"
            "print(c.getSMBServer()._NetBIOSSession.get_socket().getsockname()[1])\n"), user, password)
        return json.loads(out[0]), int(out[1])

    def events(self, pipe):
        """The broker's events about PIPE, as `npipe monitor --json` gives them."""
        r = subprocess.run([os.path.join(BINDIR, "npipe"), "monitor", "--json"], env=self.env, capture_output=True,
                           text=True, timeout=TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stderr)
        return [e for e in map(json.loads, r.stdout.splitlines()) if e.get("PipeName") == "\\" + pipe]


def line_of(stream):
    """The next line of a child's text stream, stripped; "" if none comes within TIMEOUT. For a
    child that prints one line and then waits: select() does not see a second line already in
    the stream's buffer."""
    ready, _, _ = select_ready(stream, TIMEOUT)
    return stream.readline().strip() if ready else ""


def select_ready(stream, timeout):
    import select
    return select.select([stream], [], [], timeout)


class ServeThroughSmbd(SmbdAndBroker):
    # ---- tests ----------------------------------------------------------------------------------

    def test_byte_mode_echo_and_a_big_transfer_byte_checked(self):
        self.serve("SmbByteEcho", "--remote", "--echo", "--sddl", self.user_only(self.uid))
        self.assertTrue(os.path.exists(os.path.join(self.np_dir, "smbbyteecho")))
        self.assertTrue(self.exported("SmbByteEcho"))
        out = self.run_impacket(OPEN % "SmbByteEcho" + (
            "import hashlib\n"
            "c.writeFile(t, f, b'hello')\n"
            "got = b''\n"
            "while len(got) < 5:\n"
            "    got += c.readFile(t, f, 0, 5 - len(got))\n"
            "print(got.decode())\n"
            "data = hashlib.sha256(b'seed').digest() * 32768\n"  # 1 MiB
            "back = b''\n"
            "for i in range(0, len(data), 60000):\n"
            "    chunk = data[i:i + 60000]\n"
            "    c.writeFile(t, f, chunk)\n"
            "    want = len(back) + len(chunk)\n"
            "    while len(back) < want:\n"
            "        back += c.readFile(t, f, 0, want - len(back))\n"
            "print(len(back), back == data)\n"))
        self.assertEqual(out, ["hello", "1048576 True"])

    def test_message_mode_transact_and_messages(self):
        self.serve("SmbMessageEcho", "--remote", "--message", "--echo", "--sddl", self.user_only(self.uid))
        out = self.run_impacket(OPEN % "SmbMessageEcho" + (
            "print(c.transactNamedPipe(t, f, b'ping' * 1000) == b'ping' * 1000)\n"
            "c.writeFile(t, f, b'm' * 40000)\n"
            "print(len(c.readFile(t, f, 0, 65536)))\n"
            "c.writeFile(t, f, b'one')\n"
            "c.writeFile(t, f, b'two')\n"
            "print(c.readFile(t, f, 0, 100).decode(), c.readFile(t, f, 0, 100).decode())\n"))
        self.assertEqual(out, ["True", "40000", "one two"])

    def test_a_user_the_dacl_does_not_grant_is_refused(self):
        self.serve("SmbDenied", "--remote", "--echo", "--sddl", self.user_only(self.uid))
        out = self.run_impacket(OPEN_STATUS % "SmbDenied", OTHER, OTHER_PASSWORD)
        self.assertEqual(out, [STATUS_CONNECTION_DISCONNECTED])
        self.assertIn("SMB user NPIPETEST\\%s" % OTHER, self.broker_log())
        # the same pipe, the user it names: served
        out = self.run_impacket(OPEN % "SmbDenied" + "print('opened')\n")
        self.assertEqual(out, ["opened"])

    def test_network_in_the_dacl_grants_every_remote_user(self):
        self.serve("SmbNetwork", "--remote", "--echo", "--sddl", "D:(A;;FA;;;OW)(A;;GRGW;;;NU)")
        out = self.run_impacket(OPEN % "SmbNetwork" + "print('opened')\n",
                                OTHER, OTHER_PASSWORD)
        self.assertEqual(out, ["opened"])

    def test_npipe_default_dacl_grants_the_network_nothing(self):
        self.serve("SmbDefaultAcl", "--remote", "--echo")
        out = self.run_impacket(OPEN_STATUS % "SmbDefaultAcl")
        self.assertEqual(out, [STATUS_CONNECTION_DISCONNECTED])

    def test_reject_remote_clients(self):
        self.serve("SmbRejects", "--remote", "--reject-remote-clients", "--echo", "--sddl", self.user_only(self.uid))
        self.assertFalse(os.path.exists(os.path.join(self.np_dir, "smbrejects")))
        out = self.run_impacket(OPEN_STATUS % "SmbRejects")
        self.assertEqual(out, [STATUS_OBJECT_NAME_NOT_FOUND])

    def test_a_pipe_not_exported_is_not_found(self):
        self.serve("SmbLocalOnly", "--echo", "--sddl", self.user_only(self.uid))
        self.assertFalse(os.path.exists(os.path.join(self.np_dir, "smblocalonly")))
        self.assertFalse(self.exported("SmbLocalOnly"))
        out = self.run_impacket(OPEN_STATUS % "SmbLocalOnly")
        self.assertEqual(out, [STATUS_OBJECT_NAME_NOT_FOUND])

    def test_an_unknown_pipe_is_not_found(self):
        out = self.run_impacket(OPEN_STATUS % "SmbNoSuchPipe")
        self.assertEqual(out, [STATUS_OBJECT_NAME_NOT_FOUND])

    def test_the_socket_goes_with_the_pipe(self):
        p = self.serve("SmbGoes", "--remote", "--echo", "--sddl", self.user_only(self.uid))
        path = os.path.join(self.np_dir, "smbgoes")
        self.assertTrue(os.path.exists(path))
        p.terminate()
        p.wait(timeout=TIMEOUT)
        wait_until(lambda: not os.path.exists(path), "the pipe's socket to go")

    def test_no_listening_instance_is_refused_at_once(self):
        # One instance, held by a first SMB client: a second open finds none listening.
        self.serve("SmbBusy", "--remote", "--instances", "1", "--echo", "--sddl", self.user_only(self.uid))
        out = self.run_impacket(OPEN % "SmbBusy" + OPEN_STATUS % "SmbBusy")
        self.assertEqual(out, [STATUS_CONNECTION_DISCONNECTED])

    def test_only_smbd_may_connect_to_the_socket(self):
        # A local user other than root and the directory's owner is hung up on without a word.
        self.serve("SmbOnlySmbd", "--remote", "--echo", "--sddl", self.user_only(self.uid))
        path = os.path.join(self.np_dir, "smbonlysmbd")
        os.chmod(self.np_dir, 0o711)  # let the user reach the socket for this test only
        try:
            code = ("import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect(%r)\n"
                    "s.settimeout(%d)\nprint(repr(s.recv(10)))\n" % (path, TIMEOUT))
            r = subprocess.run(["setpriv", "--reuid=%d" % self.uid, "--regid=%d" % self.uid, "--clear-groups",
                                "/usr/bin/python3", "-c", code], capture_output=True, text=True, timeout=TIMEOUT)
        finally:
            os.chmod(self.np_dir, 0o700)
        self.assertEqual(r.stdout.strip(), "b''", r.stderr)
        self.assertIn("not smbd's user", self.broker_log())

    def test_a_silent_or_garbled_smbd_connection_is_dropped(self):
        # As root (smbd's user): half a request, then silence, is dropped at the handshake
        # timeout (1 s here); a request that does not decode is dropped at once.
        import socket
        import struct
        self.serve("SmbHalf", "--remote", "--echo", "--sddl", self.user_only(self.uid))
        path = os.path.join(self.np_dir, "smbhalf")
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(TIMEOUT)
            s.connect(path)
            s.sendall(struct.pack(">I", 200) + b"NPAM")
            started = time.monotonic()
            self.assertEqual(s.recv(10), b"")
            self.assertLess(time.monotonic() - started, TIMEOUT)
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(TIMEOUT)
            s.connect(path)
            body = b"NPAM" + b"\xff" * 60
            s.sendall(struct.pack(">I", len(body)) + body)
            self.assertEqual(s.recv(10), b"")
        self.assertIn("smbd's request refused", self.broker_log())
        # and the pipe still serves
        out = self.run_impacket(OPEN % "SmbHalf" + "print('opened')\n")
        self.assertEqual(out, ["opened"])

    def test_kerberos_login_reaches_an_npipe_pipe(self):
        # A ticket from the private KDC; smbd maps USER@REALM to the Unix user USER, whom the DACL names.
        self.serve("SmbKerberos", "--remote", "--message", "--echo", "--sddl", self.user_only(self.uid))
        env = self.kdc.kinit(USER, PASSWORD)
        self.kdc.service_ticket(env, "cifs/" + self.smbd.host)
        script = KERBEROS_LOGIN % (self.smbd.host, self.smbd.port, USER, self.kdc.realm) + OPEN % "SmbKerberos" + (
            "print(c.transactNamedPipe(t, f, b'kerberos') .decode())\n")
        r = subprocess.run([DEBIAN_PYTHON, "-c", script], capture_output=True, text=True, timeout=TIMEOUT, env=env)
        self.assertEqual(r.stdout.split(), ["kerberos"], r.stderr[-3000:] + self.broker_log())
        # smbd names the workgroup as the domain of a Kerberos login whose realm is its own
        # (source3/auth/user_krb5.c), where an NTLM login gets the server's name (NPIPETEST)
        self.assertRegex(self.broker_log(), r"SMB user NPIPE\\%s \(from 127\.0\.0\.1:\d+\) connected to \\\\\.\\pipe\\SmbKerberos" % USER)
        # without the ticket, no session: nothing reaches the pipe
        r = subprocess.run([DEBIAN_PYTHON, "-c", script], capture_output=True, text=True, timeout=TIMEOUT,
                           env=self.kdc.env(self.kdc.new_ccache("empty")))
        self.assertNotEqual(r.returncode, 0)

    def test_smbds_own_pipes_are_served_beside_npipes(self):
        self.serve("SmbBeside", "--remote", "--message", "--echo", "--sddl", self.user_only(self.uid))
        out = self.run_impacket(
            "from impacket.dcerpc.v5 import transport, srvs\n"
            "r = transport.SMBTransport('127.0.0.1', %d, r'\\srvsvc', smb_connection=c)\n"
            "d = r.get_dce_rpc()\n"
            "d.connect()\n"
            "d.bind(srvs.MSRPC_UUID_SRVS)\n"
            "print(srvs.hNetrServerGetInfo(d, 101)['InfoStruct']['ServerInfo101']['sv101_name'].rstrip('\\0'))\n"
            % self.smbd.port + OPEN % "SmbBeside" + "print(c.transactNamedPipe(t, f, b'beside').decode())\n")
        self.assertEqual(out, ["NPIPETEST", "beside"])
        r = subprocess.run(["rpcclient", "-p", str(self.smbd.port), "-U", "%s%%%s" % (USER, PASSWORD), "-c", "srvinfo",
                            "127.0.0.1"], capture_output=True, text=True, timeout=TIMEOUT)
        self.assertIn("NPIPETEST", r.stdout, r.stderr)

    def test_smbclient_put_into_a_pipe_a_big_transfer_byte_checked(self):
        # smbclient writes a file into an inbound pipe; the server's child hashes what arrives
        # and prints the hash when the client closes its end.
        import hashlib
        data = hashlib.sha256(b"smbclient").digest() * 40000  # 1.25 MiB
        src = os.path.join(self.base, "put.bin")
        with open(src, "wb") as f:
            f.write(data)
        out = os.path.join(self.base, "put.sha256")
        self.serve("SmbPut", "--remote", "--inbound", "--sddl", self.user_only(self.uid), "--exec", "sha256sum",
                   stdout=out)
        r = subprocess.run(["smbclient", "-p", str(self.smbd.port), "-U", "%s%%%s" % (USER, PASSWORD),
                            "//127.0.0.1/IPC$", "-c", "put %s \\SmbPut" % src],
                           capture_output=True, text=True, timeout=TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr + self.broker_log())

        def hashed():
            with open(out) as f:
                return len(f.read().split()) >= 1
        wait_until(hashed, "the server's hash of what smbclient wrote")
        with open(out) as f:
            self.assertEqual(f.read().split()[0], hashlib.sha256(data).hexdigest())

    def test_smbclient_is_refused_a_pipe_the_dacl_does_not_grant_it(self):
        self.serve("SmbPutDenied", "--remote", "--inbound", "--sddl", self.user_only(self.uid), "--exec", "cat")
        src = os.path.join(self.base, "denied.txt")
        with open(src, "w") as f:
            f.write("not for you\n")
        r = subprocess.run(["smbclient", "-p", str(self.smbd.port), "-U", "%s%%%s" % (OTHER, OTHER_PASSWORD),
                            "//127.0.0.1/IPC$", "-c", "put %s \\SmbPutDenied" % src],
                           capture_output=True, text=True, timeout=TIMEOUT)
        self.assertIn("NT_STATUS_CONNECTION_DISCONNECTED", r.stdout + r.stderr)

    def test_the_npipe_server_killed_mid_transfer(self):
        # An outbound pipe that streams without end; the client checks every byte it reads.
        # Once a MiB has flowed the server is SIGKILLed: the client's reads end in an error
        # (never in wrong data), and the name is gone for the next open.
        server = self.serve("SmbKilled", "--remote", "--outbound", "--sddl", self.user_only(self.uid),
                            "--exec", "yes", "npipe-stream")
        body = (
            "f = c.openFile(t, '\\\\SmbKilled', desiredAccess=%d)\n"
            "import sys\n"
            "line, buf, total, said = b'npipe-stream\\n', b'', 0, False\n"
            "while True:\n"
            "    try:\n"
            "        chunk = c.readFile(t, f, 0, 65536)\n"
            "    except SessionError as e:\n"
            "        print('status', hex(e.getErrorCode()))\n"
            "        break\n"
            "    buf += chunk\n"
            "    n = len(buf) - len(buf) %% len(line)\n"
            "    if buf[:n] != line * (n // len(line)):\n"
            "        print('corrupt')\n"
            "        break\n"
            "    total, buf = total + n, buf[n:]\n"
            "    if total >= 1 << 20 and not said:\n"
            "        print('flowing', flush=True)\n"
            "        said = True\n" % FILE_GENERIC_READ)
        script = ("from impacket.smbconnection import SMBConnection, SessionError\n"
                  "c = SMBConnection('127.0.0.1', '127.0.0.1', sess_port=%d)\n"
                  "c.login(%r, %r)\n"
                  "t = c.connectTree('IPC$')\n" % (self.smbd.port, USER, PASSWORD)) + body
        client = subprocess.Popen([DEBIAN_PYTHON, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)
        try:
            import select
            ready, _, _ = select.select([client.stdout], [], [], TIMEOUT)
            first = client.stdout.readline().strip() if ready else "(nothing in %d s)" % TIMEOUT
            self.assertEqual(first, "flowing", client.stderr.read() if client.poll() is not None else "")
            server.kill()
            server.wait(timeout=TIMEOUT)
            rest, err = client.communicate(timeout=TIMEOUT)
        finally:
            if client.poll() is None:
                client.kill()
                client.wait(timeout=TIMEOUT)
        # smbd turns the end of its socket to npiped (EPIPE: CONNECTION_DISCONNECTED) into
        # STATUS_PIPE_DISCONNECTED, and only a reset (ECONNRESET) into STATUS_PIPE_BROKEN
        # (source3/smbd/smb2_ipc.c, nt_status_np_pipe). Windows answers a read whose server
        # died with STATUS_PIPE_BROKEN (ERROR_BROKEN_PIPE).
        self.assertEqual(rest.split(), ["status", STATUS_PIPE_DISCONNECTED], err[-3000:] + self.broker_log())
        wait_until(lambda: not os.path.exists(os.path.join(self.np_dir, "smbkilled")), "the pipe's socket to go")
        self.assertEqual(self.run_impacket(OPEN_STATUS % "SmbKilled"), [STATUS_OBJECT_NAME_NOT_FOUND])

    # How the server's end reaches the SMB client. smbd reads its socket to npipe's server: the
    # end of it (EOF, or POLLHUP: EPIPE) becomes STATUS_PIPE_DISCONNECTED, a reset (ECONNRESET)
    # STATUS_PIPE_BROKEN (source3/smbd/smb2_ipc.c, nt_status_np_pipe). Linux resets a Unix socket
    # only when its end closes with bytes unread in it (SO_LINGER does nothing there), so the
    # status says whether the server left some of the client's data unread. And smbd 4.17 drops
    # what it read in the READ that finds the end (np_ipc_readv_next_vector fails on the
    # tstream_pending_bytes error after the bytes): what the server wrote last reaches a client
    # only if it was read before the end (README: smbd's limits).

    def test_what_the_client_read_before_the_end_then_the_status(self):
        self.assertEqual(self.after_the_server_ends("close", "SmbEndCloseReadFirst", False, read_first=True),
                         ["data last words", "status " + STATUS_PIPE_DISCONNECTED])

    def assert_broken_after_last_words(self, lines):
        """As Windows: STATUS_PIPE_BROKEN (ERROR_BROKEN_PIPE). Windows hands over "last words"
        first; smbd 4.17 drops it unless it happened to read it off the socket before the reset
        (seen once in CI), so both are right, and nothing else is."""
        self.assertIn(lines, (["status " + STATUS_PIPE_BROKEN], ["data last words", "status " + STATUS_PIPE_BROKEN]))

    def test_the_server_closing_with_the_clients_data_unread_is_pipe_broken(self):
        self.assert_broken_after_last_words(self.after_the_server_ends("close", "SmbEndClose", True))

    def test_the_server_dying_with_the_clients_data_unread_is_pipe_broken(self):
        self.assert_broken_after_last_words(self.after_the_server_ends("die", "SmbEndDie", True))

    def test_the_server_closing_with_nothing_unread_is_pipe_disconnected(self):
        # Windows says STATUS_PIPE_BROKEN here; nothing in the socket, nothing for a reset (README).
        self.assertEqual(self.after_the_server_ends("close", "SmbEndCloseRead", False),
                         ["status " + STATUS_PIPE_DISCONNECTED])

    def test_disconnect_named_pipe_is_pipe_disconnected_even_with_data_unread(self):
        # DisconnectNamedPipe drops the client's unread bytes before the close (Windows voids
        # them too), so no reset: STATUS_PIPE_DISCONNECTED, as on Windows.
        self.assertEqual(self.after_the_server_ends("disconnect", "SmbEndDisconnect", True),
                         ["status " + STATUS_PIPE_DISCONNECTED])
        self.assertEqual(self.after_the_server_ends("disconnect", "SmbEndDisconnectRead", False),
                         ["status " + STATUS_PIPE_DISCONNECTED])

    def test_the_server_sees_who_the_remote_client_is(self):
        sddl = self.user_only(self.uid)
        server = self.remote_server("identity", "SmbWho", sddl)
        who, port = self.call_remote("SmbWho")
        server.wait(timeout=TIMEOUT)
        self.assertTrue(who["remote"])
        self.assertEqual((who["pid"], who["uid"], who["account"]), (0, self.uid, USER))
        self.assertEqual(who["domain"], "NPIPETEST")  # a passdb user's domain is the server's name
        self.assertEqual((who["address"], who["port"]), ("127.0.0.1", port))
        self.assertNotEqual(who["computer"], "")
        self.assertEqual(who["allowed"], 1)  # identification: this broker was not told otherwise
        # The token's domain SIDs (S-1-5-21-<server>-<rid>): the user and its groups; never the
        # administrators, the system or a Unix SID.
        self.assertTrue(any(s.startswith("S-1-5-21-") for s in who["sids"]), who["sids"])
        for never in ("S-1-5-32-544", "S-1-5-18", "S-1-5-4", "S-1-5-7"):
            self.assertNotIn(never, who["sids"])
        self.assertFalse(any(s.startswith("S-1-22-") for s in who["sids"]), who["sids"])

        # The events carry the remote peer: the connect (its actor) and the disconnect (its peer).
        def connect_and_disconnect():
            kinds = {e["EventType"]: e for e in self.events("SmbWho")}
            return "ConnectPipe" in kinds and "DisconnectPipe" in kinds

        wait_until(connect_and_disconnect, "the connect and disconnect events")
        for e in self.events("SmbWho"):
            if e["EventType"] in ("ConnectPipe", "DisconnectPipe"):
                self.assertEqual(e["RemoteAccount"], "NPIPETEST\\" + USER, e)
                self.assertEqual((e["RemoteAddress"], e["RemotePort"]), ("127.0.0.1", port), e)
                self.assertEqual(e["RemoteComputer"], who["computer"], e)
        connect = [e for e in self.events("SmbWho") if e["EventType"] == "ConnectPipe"][0]
        self.assertTrue(connect["Remote"])
        self.assertEqual((connect["ProcessId"], connect["Uid"]), (0, self.uid))

    def test_a_domain_sid_from_smbds_token_admits_its_user(self):
        # Learn the user's domain SID from a first connection, then name it alone in a DACL.
        self.remote_server("identity", "SmbLearnSid", self.user_only(self.uid))
        who, _ = self.call_remote("SmbLearnSid")
        user_sid = [s for s in who["sids"] if s.startswith("S-1-5-21-")][0]  # a token's user comes first
        self.serve("SmbDomainSid", "--remote", "--echo", "--sddl", "D:(A;;FA;;;OW)(A;;GRGW;;;%s)" % user_sid)
        out = self.run_impacket(OPEN % "SmbDomainSid" + "print('opened')\n")
        self.assertEqual(out, ["opened"])
        out = self.run_impacket(OPEN_STATUS % "SmbDomainSid", OTHER, OTHER_PASSWORD)
        self.assertEqual(out, [STATUS_CONNECTION_DISCONNECTED])
        # Administrators in a DACL admits no SMB user, whatever smbd's token says.
        self.serve("SmbAdmins", "--remote", "--echo", "--sddl", "D:(A;;FA;;;OW)(A;;GRGW;;;BA)(A;;GRGW;;;SY)")
        out = self.run_impacket(OPEN_STATUS % "SmbAdmins")
        self.assertEqual(out, [STATUS_CONNECTION_DISCONNECTED])

    def test_npipe_list_shows_the_remote_peer(self):
        self.serve("SmbListed", "--remote", "--echo", "--sddl", self.user_only(self.uid))
        script = ("from impacket.smbconnection import SMBConnection\n"
                  "import sys\n"
                  "c = SMBConnection('127.0.0.1', '127.0.0.1', sess_port=%d)\n"
                  "c.login(%r, %r)\n"
                  "t = c.connectTree('IPC$')\n" % (self.smbd.port, USER, PASSWORD)) + OPEN % "SmbListed" + (
            "print(c.getSMBServer()._NetBIOSSession.get_socket().getsockname()[1], flush=True)\n"
            "sys.stdin.readline()\n")
        client = subprocess.Popen(["/usr/bin/python3", "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        try:
            ready, _, _ = select_ready(client.stdout, TIMEOUT)
            line = client.stdout.readline() if ready else ""
            self.assertTrue(line.strip().isdigit(), "impacket: %r %s" % (line, client.stderr.read() if not ready else ""))
            port = int(line)
            r = subprocess.run([os.path.join(BINDIR, "npipe"), "info", "SmbListed", "--json"], env=self.env,
                               capture_output=True, text=True, timeout=TIMEOUT)
            instance = json.loads(r.stdout)["instances"][0]
            self.assertEqual(instance["client_account"], "NPIPETEST\\" + USER)
            self.assertEqual(instance["client_address"], "127.0.0.1:%d" % port)
            self.assertIsNone(instance["client_pid"])
            self.assertEqual(instance["client_uid"], self.uid)
            r = subprocess.run([os.path.join(BINDIR, "npipe"), "list"], env=self.env, capture_output=True, text=True,
                               timeout=TIMEOUT)
            self.assertIn("NPIPETEST\\%s@127.0.0.1:%d (SMB)" % (USER, port), r.stdout)
        finally:
            client.stdin.close()
            client.wait(timeout=TIMEOUT)
            client.stdout.close()
            client.stderr.close()

    def test_win32_the_remote_clients_computer_name_and_no_process(self):
        server = self.remote_server("win32", "SmbWin32", self.user_only(self.uid))
        facts, _ = self.call_remote("SmbWin32")
        server.wait(timeout=TIMEOUT)
        self.assertIsInstance(facts["computer_a"], str)
        self.assertNotEqual(facts["computer_a"], "")
        self.assertEqual(facts["computer_w"], facts["computer_a"])
        self.assertEqual(facts["short_buffer"], 122)  # ERROR_INSUFFICIENT_BUFFER
        self.assertEqual((facts["client_pid"], facts["client_session"]), (0, 0))
        # Identification only (this broker's default): impersonation is refused, the thread unchanged.
        self.assertEqual(facts["impersonate"], 1368)  # ERROR_CANNOT_IMPERSONATE
        self.assertEqual(facts["impersonating"]["euid"], 0)

    def test_an_exported_pipes_given_dacl_survives_a_broker_restart(self):
        # npipe's default DACL at create, then a DACL given by SetSecurityInfo: the instance that
        # comes back after the restart sends no SDDL, so only the saved state can say it was given.
        self.serve("SmbRestart", "--remote", "--echo")
        r = subprocess.run([os.path.join(BINDIR, "npipe_test_peer"), "set-dacl-as", "\\\\.\\pipe\\SmbRestart", "0",
                            "D:(A;;FA;;;OW)(A;;GRGW;;;NU)"], env=self.env, capture_output=True, timeout=TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.run_impacket(OPEN % "SmbRestart" + "print('opened')\n"), ["opened"])
        old = type(self).broker
        old.kill()
        old.wait(timeout=TIMEOUT)
        type(self).broker = self.start_broker()
        def back():
            r = subprocess.run([os.path.join(BINDIR, "npipe"), "info", "SmbRestart", "--json"], env=self.env,
                               capture_output=True, timeout=TIMEOUT)
            return r.returncode == 0 and json.loads(r.stdout)["remote"]

        wait_until(back, "the pipe to come back")
        self.assertEqual(self.run_impacket(OPEN % "SmbRestart" + "print('opened')\n"), ["opened"])


class ImpersonationThroughSmbd(SmbdAndBroker):
    """A broker told that SMB clients allow impersonation (npiped --samba-impersonation)."""
    BROKER_ARGS = ["--samba-impersonation"]

    def test_impersonating_a_remote_user_is_their_unix_token(self):
        server = self.remote_server("win32", "SmbImpersonate", self.user_only(self.uid))
        facts, _ = self.call_remote("SmbImpersonate")
        server.wait(timeout=TIMEOUT)
        self.assertEqual(facts["impersonate"], 0)
        self.assertEqual(facts["impersonating"]["euid"], self.uid)
        self.assertEqual(facts["impersonating"]["egid"], pwd.getpwuid(self.uid).pw_gid)
        self.assertIn(pwd.getpwuid(self.uid).pw_gid, facts["impersonating"]["groups"])
        self.assertEqual((facts["reverted"]["euid"], facts["reverted"]["egid"]), (0, 0))

    def test_the_server_is_told_impersonation_is_allowed(self):
        self.remote_server("identity", "SmbAllowed", self.user_only(self.uid))
        who, _ = self.call_remote("SmbAllowed")
        self.assertEqual(who["allowed"], 2)


if __name__ == "__main__":
    if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        BINDIR = sys.argv.pop(1)
    unittest.main(verbosity=2)
