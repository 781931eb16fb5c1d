#!/usr/bin/env python3
"""npipe's own SMB client (\\\\HOST\\pipe\\NAME from Linux) against Samba's smbd, end to end: a
private smbd (smbd_fixture.py), a private npiped serving its np/ directory, `npipe serve
--remote` as the server, and the Win32 client npipe_remote_client (tests/helpers) as the
client, reaching smbd on 127.0.0.1 at the fixture's port through NPIPE_SMB_PORT.

Variants of smbd (signing mandatory, encryption required, each dialect, cipher and signing
algorithm, guest mapping) are more private smbds whose configuration differs in a line or two;
they share the first one's ncalrpc directory, so the same npiped serves the same pipes to all.

Usage: python3 tests/samba/test_client.py BINDIR [unittest arguments]
Needs root (useradd, smbd's passdb and np/ directory); skipped otherwise. Every wait has a
deadline; nothing sleeps.
"""

import os
import pty
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smbd_fixture import TIMEOUT, PrivateSmbd, free_port  # noqa: E402
import test_serve  # noqa: E402


USER, PASSWORD = "npipe-smbc", "Npipe-Client-pw1"
OTHER = "npipe-smbc-nobody"  # never added to any passdb


def sanitizer_env(env):
    """`env` for a client process of a sanitizer build: gss-ntlmssp's own leak suppressed
    (lsan-gssntlmssp.supp), with the slow unwinder that reaches its frames. Harmless otherwise."""
    e = dict(env)
    supp = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lsan-gssntlmssp.supp")
    # print_suppressions=0: the report of what was suppressed would go to stderr, which a test
    # on a pseudo-terminal reads together with stdout.
    e["LSAN_OPTIONS"] = ":".join(filter(None, [env.get("LSAN_OPTIONS"), "suppressions=" + supp,
                                               "print_suppressions=0"]))
    e["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"), "fast_unwind_on_malloc=0"]))
    return e


class SmbdVariant(PrivateSmbd):
    """A private smbd with `extra` lines in [global], sharing `ncalrpc_dir` with another."""

    def __init__(self, ncalrpc_dir, extra):
        super().__init__()
        with open(self.conf) as f:
            text = f.read()
        text = re.sub(r"ncalrpc dir = .*", "ncalrpc dir = " + ncalrpc_dir, text)
        text += "".join("    %s\n" % line for line in extra)
        with open(self.conf, "w") as f:
            f.write(text)
        self.ncalrpc_dir = ncalrpc_dir


FSCTL_VALIDATE_NEGOTIATE_INFO = 0x00140204


class NegotiationProxy:
    """A TCP relay between npipe's client and smbd on 127.0.0.1 that reads the SMB2 messages as
    they pass: it counts the client's FSCTL_VALIDATE_NEGOTIATE_INFO requests (signed, not
    encrypted: readable) and, with `tamper`, flips the DFS capability in smbd's NEGOTIATE
    response, as a man in the middle could (no signature covers that response before 3.1.1)."""

    def __init__(self, target_port, tamper=False):
        self.target_port, self.tamper = target_port, tamper
        self.validations = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.threads = []
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port), timeout=TIMEOUT)
            for a, b, edit in ((client, server, self.from_client), (server, client, self.from_server)):
                t = threading.Thread(target=self.relay, args=(a, b, edit), daemon=True)
                t.start()
                self.threads.append(t)

    @staticmethod
    def relay(src, dst, edit):
        """Whole transport messages (a 4-byte length, then the message) from src to dst."""
        src.settimeout(TIMEOUT)
        buf = b""
        try:
            while True:
                chunk = src.recv(65536)
                if not chunk:
                    break
                buf += chunk
                while len(buf) >= 4 and len(buf) >= 4 + struct.unpack(">I", buf[:4])[0]:
                    n = 4 + struct.unpack(">I", buf[:4])[0]
                    dst.sendall(buf[:4] + edit(bytearray(buf[4:n])))
                    buf = buf[n:]
        except OSError:
            pass
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def from_client(self, m):
        # an SMB2 IOCTL request (command 11) whose CtlCode is FSCTL_VALIDATE_NEGOTIATE_INFO
        if m[:4] == b"\xfeSMB" and struct.unpack_from("<H", m, 12)[0] == 11 and \
                struct.unpack_from("<I", m, 64 + 4)[0] == FSCTL_VALIDATE_NEGOTIATE_INFO:
            self.validations += 1
        return bytes(m)

    def from_server(self, m):
        # the NEGOTIATE response (command 0): Capabilities at 24 in its body
        if self.tamper and m[:4] == b"\xfeSMB" and struct.unpack_from("<H", m, 12)[0] == 0:
            m[64 + 24] ^= 0x01
        return bytes(m)

    def close(self):
        self.listener.close()
        for t in self.threads:
            t.join(TIMEOUT)


@unittest.skipUnless(os.geteuid() == 0, "needs root: useradd, smbd's passdb and np/ directory")
class ClientThroughSmbd(unittest.TestCase):
    """The fixture of test_serve.py (smbd, npiped --samba, serve()), used from the client side.
    (test_serve.ServeThroughSmbd is named through its module: imported by name, unittest would
    run its tests here too.)"""
    BROKER_ARGS = []  # what test_serve's setUpClass passes npiped beyond its defaults

    @classmethod
    def setUpClass(cls):
        test_serve.ServeThroughSmbd.setUpClass.__func__(cls)
        cls.client_uid = cls.smbd.add_user(USER, PASSWORD)
        cls.kdc.add_principal(USER, PASSWORD)  # USER@NPIPE.TEST: smbd maps it to the Unix USER
        dacl = "D:(A;;FA;;;OW)(A;;GRGW;;;S-1-22-1-%d)" % cls.client_uid
        # serve() reads only what setUpClass put on the class: called with the class as `self`.
        test_serve.ServeThroughSmbd.serve(cls, "RemoteBytes", "--remote", "--echo", "--sddl", dacl)
        test_serve.ServeThroughSmbd.serve(cls, "RemoteMessages", "--remote", "--message", "--echo", "--sddl", dacl)

    @classmethod
    def tearDownClass(cls):
        test_serve.ServeThroughSmbd.tearDownClass.__func__(cls)

    start_broker = classmethod(test_serve.ServeThroughSmbd.start_broker.__func__)
    broker_log = classmethod(test_serve.ServeThroughSmbd.broker_log.__func__)

    def client(self, command, name, port=None, user=USER, password=PASSWORD, host="127.0.0.1", env=None):
        """npipe_remote_client's output lines; credentials on its stdin (None: the caller's own)."""
        e = sanitizer_env(self.env if env is None else env)
        e["NPIPE_SMB_PORT"] = str(port or self.smbd.port)
        args = [os.path.join(self.bindir, "npipe_remote_client")]
        if user is not None:
            args.append("--credentials-stdin")
        args += [host, command, name]
        r = subprocess.run(args, input=("%s\n%s\n" % (user, password)) if user is not None else "", text=True,
                           capture_output=True, timeout=TIMEOUT * 3, env=e)
        self.assertEqual(r.returncode, 0, "%s\n%s" % (r.stdout, r.stderr))
        return r.stdout.split("\n")[:-1]

    def variant(self, *extra):
        v = SmbdVariant(self.smbd.ncalrpc_dir, extra)
        v.add_user(USER, PASSWORD)
        self.addCleanup(v.stop)
        return v.start()

    # ---- byte and message pipes ------------------------------------------------------------------

    def test_byte_pipe_echo_and_a_mebibyte_byte_checked(self):
        self.assertEqual(self.client("echo", "RemoteBytes"), ["echo hello"])
        self.assertEqual(self.client("big", "RemoteBytes"), ["big 1048576 same"])

    def test_message_pipe_more_data_transact_and_boundaries(self):
        self.assertEqual(self.client("message", "RemoteMessages"),
                         ["more 234 1000", "rest 0 39000 same", "transact 0 same", "one two"])

    def test_overlapped_read_on_a_remote_handle(self):
        self.assertEqual(self.client("overlapped", "RemoteMessages"), ["overlapped 997 0 async"])

    def test_cpp_and_async_apis_on_a_remote_pipe(self):
        self.assertEqual(self.client("cpp", "RemoteBytes"), ["cpp 0 hello"])
        self.assertEqual(self.client("async", "RemoteMessages"), ["async 0 hello"])

    def test_wait_and_call(self):
        # smbd answers FSCTL_PIPE_WAIT with STATUS_FS_DRIVER_REQUIRED: the wait succeeds at once
        # and the open that follows gives the answer (README: smbd's limits).
        self.assertEqual(self.client("wait", "RemoteMessages"), ["wait 0"])
        self.assertEqual(self.client("call", "RemoteMessages"), ["call 0 ping"])

    # ---- failures ---------------------------------------------------------------------------------

    def test_an_unknown_pipe_is_file_not_found(self):
        self.assertEqual(self.client("open", "NoSuchRemotePipe"), ["open 2"])

    def test_wrong_password_is_logon_failure(self):
        self.assertEqual(self.client("open", "RemoteBytes", password="not-the-password"), ["wnet 1326"])

    def test_an_unknown_user_is_logon_failure(self):
        self.assertEqual(self.client("open", "RemoteBytes", user=OTHER, password="x"), ["wnet 1326"])

    def test_a_guest_session_is_refused(self):
        # This smbd makes an unknown user a guest (and says so in SessionFlags): refused.
        v = self.variant("map to guest = bad user", "restrict anonymous = 0")
        self.assertEqual(self.client("open", "RemoteBytes", port=v.port, user=OTHER, password="x"), ["wnet 1326"])

    def test_nothing_listening_and_no_such_host_are_bad_netpath(self):
        self.assertEqual(self.client("open", "RemoteBytes", port=free_port()), ["wnet 53"])
        self.assertEqual(self.client("open", "RemoteBytes", port=free_port(), user=None), ["open 53"])
        self.assertEqual(self.client("open", "RemoteBytes", host="no-such-host.invalid", user=None), ["open 53"])

    def test_session_dropped_mid_read_is_broken_pipe(self):
        v = self.variant()
        e = sanitizer_env(self.env)
        e["NPIPE_SMB_PORT"] = str(v.port)
        p = subprocess.Popen([os.path.join(self.bindir, "npipe_remote_client"), "--credentials-stdin", "127.0.0.1",
                              "read", "RemoteMessages"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             env=e)
        try:
            p.stdin.write("%s\n%s\n" % (USER, PASSWORD))
            p.stdin.close()
            self.assertEqual(p.stdout.readline().strip(), "opened")  # the read is now waiting at smbd
            os.killpg(v.proc.pid, signal.SIGKILL)  # smbd and the child serving the session
            p.wait(timeout=TIMEOUT)
            self.assertEqual(p.stdout.read().split("\n")[:-1], ["read 109 0"])
            self.assertEqual(p.returncode, 0)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdout.close()

    def test_the_server_closing_dying_or_disconnecting(self):
        # What the server wrote is read, then the server's end goes. The client maps the status
        # smbd's READ fails with as Windows' redirector does: STATUS_PIPE_BROKEN is
        # ERROR_BROKEN_PIPE (109), STATUS_PIPE_DISCONNECTED ERROR_PIPE_NOT_CONNECTED (233). smbd
        # says BROKEN when the server's socket is reset - its close or death with the client's
        # bytes unread - and DISCONNECTED for any other end: a DisconnectNamedPipe (as Windows),
        # and also a close or death with nothing unread, where Windows would say BROKEN
        # (test_serve.py, README). (The data is read before the end: smbd 4.17 drops what a READ
        # gets together with the end, test_serve.py.)
        cases = [("close", False, 233), ("die", False, 233), ("disconnect", False, 233),
                 ("close", True, 109), ("die", True, 109), ("disconnect", True, 233)]
        for how, writes, error in cases:
            with self.subTest(how=how, client_writes=writes):
                name = "RemoteEnds" + how.capitalize() + ("Unread" if writes else "")
                server = test_serve.ServeThroughSmbd.ending_server(self, how, name, self.client_uid)
                e = sanitizer_env(self.env)
                e["NPIPE_SMB_PORT"] = str(self.smbd.port)
                p = subprocess.Popen([os.path.join(self.bindir, "npipe_remote_client"), "--credentials-stdin",
                                      "127.0.0.1", "write-drain" if writes else "drain", name], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=e)
                try:
                    p.stdin.write("%s\n%s\n" % (USER, PASSWORD))
                    p.stdin.flush()
                    self.assertEqual(test_serve.line_of(p.stdout), "read 0 10")
                    if writes:  # printed right after "read 0 10": it may be in the buffer already
                        self.assertEqual(p.stdout.readline().strip(), "written")
                    test_serve.ServeThroughSmbd.end_server(self, server, how, len("unread") if writes else 0)
                    out, _ = p.communicate("go\n", timeout=TIMEOUT)
                    self.assertEqual(out.split("\n")[:-1], ["read %d 0" % error])
                    self.assertEqual(p.returncode, 0)
                finally:
                    if p.poll() is None:
                        p.kill()
                        p.wait()
                    server.stdin.close()
                    if server.poll() is None:
                        server.wait(timeout=TIMEOUT)

    # ---- what the server requires -----------------------------------------------------------------

    def test_signing_mandatory(self):
        v = self.variant("server signing = mandatory")
        self.assertEqual(self.client("echo", "RemoteBytes", port=v.port), ["echo hello"])

    def test_encryption_required(self):
        v = self.variant("server smb encrypt = required")
        self.assertEqual(self.client("echo", "RemoteBytes", port=v.port), ["echo hello"])
        self.assertEqual(self.client("message", "RemoteMessages", port=v.port)[1], "rest 0 39000 same")

    def test_each_cipher(self):
        for cipher in ("aes-128-gcm", "aes-128-ccm", "aes-256-gcm", "aes-256-ccm"):
            with self.subTest(cipher=cipher):
                v = self.variant("server smb encrypt = required", "server smb3 encryption algorithms = " + cipher)
                self.assertEqual(self.client("echo", "RemoteBytes", port=v.port), ["echo hello"])
                v.stop()

    def test_each_signing_algorithm_and_dialect(self):
        for lines in (["server smb3 signing algorithms = aes-128-gmac"],
                      ["server smb3 signing algorithms = aes-128-cmac"],
                      ["server max protocol = SMB3_02"],   # AES-CMAC, no preauth hash
                      ["server max protocol = SMB3_00"],
                      ["server max protocol = SMB2_10"]):  # HMAC-SHA256
            with self.subTest(config=lines):
                v = self.variant("server signing = mandatory", *lines)
                self.assertEqual(self.client("echo", "RemoteBytes", port=v.port), ["echo hello"])
                v.stop()

    def test_validate_negotiate_for_3_0_and_3_0_2(self):
        # 3.0 and 3.0.2 repeat the negotiation over the signed session (smbd 4.17 answers it);
        # a NEGOTIATE response changed on the way is found out and the connection refused
        # (ERROR_ACCESS_DENIED at WNetAddConnection2). 3.1.1's pre-authentication hash does
        # that job (the same change fails the session setup's signature); 2.1 has neither.
        for dialect, validates in (("SMB3_00", 1), ("SMB3_02", 1), ("SMB3_11", 0), ("SMB2_10", 0)):
            with self.subTest(dialect=dialect):
                v = self.variant("server max protocol = " + dialect)
                proxy = NegotiationProxy(v.port)
                try:
                    self.assertEqual(self.client("echo", "RemoteBytes", port=proxy.port), ["echo hello"])
                finally:
                    proxy.close()
                self.assertEqual(proxy.validations, validates)
                if dialect != "SMB2_10":
                    tampered = NegotiationProxy(v.port, tamper=True)
                    try:
                        self.assertEqual(self.client("echo", "RemoteBytes", port=tampered.port), ["wnet 5"])
                    finally:
                        tampered.close()
                v.stop()

    def ntlm_user_file(self):
        """An environment whose NTLM credentials (gss-ntlmssp's NTLM_USER_FILE) are USER's."""
        path = os.path.join(self.base, "ntlm-users")
        with open(path, "w") as f:
            f.write("NPIPETEST:%s:%s\n" % (USER, PASSWORD))
        os.chmod(path, 0o600)
        e = sanitizer_env(self.env)
        e["NTLM_USER_FILE"] = path
        e["NPIPE_SMB_PORT"] = str(self.smbd.port)
        return e

    def test_the_cli_calls_and_connects_to_a_remote_pipe(self):
        e = self.ntlm_user_file()
        npipe = os.path.join(self.bindir, "npipe")
        r = subprocess.run([npipe, "call", "\\\\127.0.0.1\\pipe\\RemoteMessages", "ping"], env=e,
                           capture_output=True, timeout=TIMEOUT)
        self.assertEqual((r.returncode, r.stdout), (0, b"ping"), r.stderr)
        r = subprocess.run([npipe, "call", "\\\\127.0.0.1\\pipe\\NoSuchRemotePipe", "ping"], env=e,
                           capture_output=True, timeout=TIMEOUT)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"ERROR_FILE_NOT_FOUND", r.stderr)

    def test_callers_own_ntlm_credentials_from_ntlm_user_file(self):
        e = self.ntlm_user_file()
        self.assertEqual(self.client("echo", "RemoteBytes", user=None, env=e), ["echo hello"])

    # ---- Kerberos ---------------------------------------------------------------------------------

    def kerberos_env(self, ccache):
        """The client's environment with the private realm's configuration and CCACHE, and no
        NTLM credentials of any kind: only Kerberos can log it in."""
        e = self.kdc.env(ccache, base={k: v for k, v in self.env.items() if not k.startswith("NTLM")})
        return e

    def klist(self, env):
        r = subprocess.run(["klist"], env=env, capture_output=True, text=True, timeout=TIMEOUT)
        return r.stdout

    def test_kerberos_ticket_and_no_password(self):
        # A TGT from the private KDC, no password, no NTLM_USER_FILE: SPNEGO picks Kerberos, the
        # client asks the KDC for cifs/HOST and smbd takes the ticket (one round, AP-REP in the
        # final response). For each name the fixture's keytab holds: the IP address and localhost.
        for host in ("127.0.0.1", "localhost"):
            with self.subTest(host=host):
                env = self.kdc.kinit(USER, PASSWORD)
                e = self.kerberos_env(env["KRB5CCNAME"])
                self.assertNotIn("cifs/", self.klist(e))
                self.assertEqual(self.client("echo", "RemoteBytes", user=None, host=host, env=e), ["echo hello"])
                self.assertEqual(self.client("call", "RemoteMessages", user=None, host=host, env=e),
                                 ["call 0 ping"])
                # the service ticket the client fetched with the TGT, and the KDC's record of issuing
                # it: the session was Kerberos (there was nothing else to log in with)
                self.assertIn("cifs/%s@%s" % (host, self.kdc.realm), self.klist(e))
                self.assertRegex(self.kdc.log(), r"TGS_REQ .* ISSUE: .* %s@%s for cifs/%s@%s" %
                                 (USER, self.kdc.realm, re.escape(host), self.kdc.realm))

    def test_kerberos_session_seen_by_smbd(self):
        # While the client waits in a read, smbd's own record of the session.
        env = self.kdc.kinit(USER, PASSWORD)
        e = self.kerberos_env(env["KRB5CCNAME"])
        e = sanitizer_env(e)
        e["NPIPE_SMB_PORT"] = str(self.smbd.port)
        p = subprocess.Popen([os.path.join(self.bindir, "npipe_remote_client"), "127.0.0.1", "read",
                              "RemoteMessages"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True, env=e)
        try:
            self.assertEqual(p.stdout.readline().strip(), "opened")
            mine = [s for s in self.smbd.sessions() if s.get("username") == USER]
            self.assertEqual(len(mine), 1, self.smbd.sessions())
            # USER's own Unix identity (smbd mapped USER@NPIPE.TEST to it), signed with the key
            # the ticket gave (smbstatus does not name the mechanism; the KDC's log does, above)
            self.assertEqual((mine[0]["uid"], mine[0]["signing"]["degree"]), (self.client_uid, "full"))
        finally:
            p.kill()
            p.wait()
            p.stdout.close()

    def test_no_ticket_and_no_ntlm_credentials_is_logon_failure(self):
        # A ccache that does not exist, and an empty one (a MEMORY: cache with nothing in it), and
        # no NTLM credentials: GSSAPI has no credential for any mechanism, and the open fails as
        # Windows' does when no credential of the caller's is taken: ERROR_LOGON_FAILURE (1326).
        # (Not a zero-length FILE: libkrb5 1.20.1 crashes on one in krb5_cccol_have_content.)
        for ccache in (self.kdc.new_ccache("absent"), "MEMORY:npipe-empty"):
            with self.subTest(ccache=ccache):
                e = self.kerberos_env(ccache)
                self.assertEqual(self.client("open", "RemoteBytes", user=None, env=e), ["open 1326"])

    # ---- the CLI's //HOST/NAME, --credentials FILE and --user -------------------------------------

    def cli_env(self):
        """The CLI's environment: smbd's port, and no credentials of the caller's (no NTLM file,
        no Kerberos configuration): only what --credentials or --user give can log it in."""
        e = sanitizer_env({k: v for k, v in self.env.items() if not k.startswith(("NTLM", "KRB5"))})
        e["KRB5_CONFIG"] = os.devnull
        e["NPIPE_SMB_PORT"] = str(self.smbd.port)
        return e

    def credentials_file(self, text, mode=0o600):
        path = os.path.join(self.base, "credentials-%d" % len(os.listdir(self.base)))
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def npipe(self, *args, stdin=b""):
        return subprocess.run([os.path.join(self.bindir, "npipe")] + list(args), env=self.cli_env(), input=stdin,
                              capture_output=True, timeout=TIMEOUT * 3)

    def test_the_cli_logs_in_with_a_credentials_file(self):
        good = self.credentials_file("# the private smbd's user\nusername=%s\npassword=%s\n" % (USER, PASSWORD))
        r = self.npipe("call", "//127.0.0.1/RemoteMessages", "ping", "--credentials", good)
        self.assertEqual((r.returncode, r.stdout), (0, b"ping"), r.stderr)
        r = self.npipe("wait", "//localhost/RemoteMessages", "--credentials", good)
        self.assertEqual(r.returncode, 0, r.stderr)
        # connect: the echo server never closes; -q ends it after the echo has come back
        r = self.npipe("connect", "\\\\127.0.0.1\\pipe\\RemoteMessages", "--credentials", good, "-q", "3000",
                       stdin=b"hello")
        self.assertEqual((r.returncode, r.stdout), (0, b"hello"), r.stderr)
        # a domain= line: DOMAIN\USER (smbd takes its own workgroup's name)
        with_domain = self.credentials_file("username=%s\r\npassword=%s\r\ndomain=NPIPETEST\r\n" % (USER, PASSWORD))
        r = self.npipe("call", "//127.0.0.1/RemoteMessages", "ping", "--credentials", with_domain)
        self.assertEqual((r.returncode, r.stdout), (0, b"ping"), r.stderr)

    def test_the_cli_without_or_with_wrong_credentials(self):
        r = self.npipe("call", "//127.0.0.1/RemoteMessages", "ping")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"ERROR_LOGON_FAILURE (1326)", r.stderr)
        wrong = self.credentials_file("username=%s\npassword=not-the-password\n" % USER)
        r = self.npipe("call", "//127.0.0.1/RemoteMessages", "ping", "--credentials", wrong)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"cannot log in to 127.0.0.1 as %s: ERROR_LOGON_FAILURE (1326)" % USER.encode(), r.stderr)

    def test_the_cli_refuses_a_credentials_file_others_can_read(self):
        for mode in (0o644, 0o640, 0o606):
            with self.subTest(mode=oct(mode)):
                path = self.credentials_file("username=%s\npassword=%s\n" % (USER, PASSWORD), mode)
                r = self.npipe("call", "//127.0.0.1/RemoteMessages", "ping", "--credentials", path)
                self.assertEqual((r.returncode, r.stdout), (1, b""))
                self.assertIn(b"chmod 600", r.stderr)
        r = self.npipe("call", "//127.0.0.1/RemoteMessages", "ping", "--credentials",
                       self.credentials_file("password=%s\n" % PASSWORD))
        self.assertIn(b"needs a username= and a password= line", r.stderr)
        # the options are for remote pipes; one of them at a time
        r = self.npipe("call", "Local", "ping", "--credentials", path)
        self.assertEqual(r.returncode, 2, r.stderr)
        r = self.npipe("call", "//127.0.0.1/RemoteMessages", "ping", "--credentials", path, "--user", USER)
        self.assertEqual(r.returncode, 2, r.stderr)

    def test_the_cli_asks_for_the_password_on_the_terminal(self):
        # npipe on a pseudo-terminal of its own (its controlling terminal): the prompt, the
        # password typed, never echoed, and the call made with it.
        out = self.on_terminal(["call", "//127.0.0.1/RemoteMessages", "ping", "--user", USER], PASSWORD)
        self.assertIn(b"Password for %s on 127.0.0.1: " % USER.encode(), out)
        self.assertNotIn(PASSWORD.encode(), out)
        self.assertTrue(out.rstrip().endswith(b"ping"), out)
        out = self.on_terminal(["call", "//127.0.0.1/RemoteMessages", "ping", "--user", USER], "not-it")
        self.assertIn(b"ERROR_LOGON_FAILURE (1326)", out)

    def on_terminal(self, args, typed):
        """Runs npipe ARGS with a pty as its terminal; types TYPED and Enter at the prompt;
        returns all it wrote to the terminal."""
        pid, master = pty.fork()
        if pid == 0:
            try:
                os.execve(os.path.join(self.bindir, "npipe"), ["npipe"] + args, self.cli_env())
            finally:
                os._exit(127)
        out = b""
        deadline = time.monotonic() + TIMEOUT * 3
        try:
            while True:
                left = deadline - time.monotonic()
                self.assertGreater(left, 0, out)
                ready, _, _ = select.select([master], [], [], left)
                if not ready:
                    continue
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: every process on the terminal has gone
                    break
                if not chunk:
                    break
                out += chunk
                if typed is not None and out.endswith(b": "):
                    os.write(master, typed.encode() + b"\r")
                    typed = None
        finally:
            os.close(master)
            os.waitpid(pid, 0)
        return out


if __name__ == "__main__":
    if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        test_serve.BINDIR = sys.argv.pop(1)
    ClientThroughSmbd.bindir = test_serve.BINDIR
    unittest.main(verbosity=2)
