#!/usr/bin/env python3
"""What npipe relies on in Samba's smbd, checked against the real thing: a private smbd
(smbd_fixture.py) on 127.0.0.1 and a high port, foreign SMB clients (impacket, smbclient), and a
stand-in pipe server on <ncalrpc dir>/np/NAME that speaks the named_pipe_auth handshake the way
src/protocol/samba_npa.hpp documents it.

Usage: python3 tests/samba/test_samba.py [unittest arguments]

Needs root (useradd, smbd's passdb and np/ directory); skipped otherwise. Every wait has a
deadline; nothing sleeps. impacket runs under Debian's /usr/bin/python3, where python3-impacket
installs it.
"""

import os
import socket
import struct
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smbd_fixture import TIMEOUT, PrivateSmbd  # noqa: E402

USER, PASSWORD = "npipe-smb1", "Npipe-Test-pw1"
DEBIAN_PYTHON = "/usr/bin/python3"
FILE_TYPE_BYTE, FILE_TYPE_MESSAGE = 1, 2


def npa_reply(file_type, status=0, level=7):
    """The 36-byte reply: big-endian length, NPAM, the level twice, type, state, size, status."""
    body = b"NPAM" + struct.pack("<IIHH4xQI", level, level, file_type, 0xFF, 4096, status)
    return struct.pack(">I", len(body)) + body


def recv_exactly(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError("peer closed after %d of %d bytes" % (len(data), n))
        data += chunk
    return data


class StandInServer:
    """Listens on np/NAME; for one connection reads the request, then runs `serve(conn, request)`."""

    def __init__(self, smbd, name, serve):
        np_dir = os.path.join(smbd.ncalrpc_dir, "np")
        os.makedirs(np_dir, mode=0o700, exist_ok=True)
        self.path = os.path.join(np_dir, name.lower())
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        self.listener.listen(4)
        self.listener.settimeout(TIMEOUT)
        self.request = None
        self.error = None
        self.thread = threading.Thread(target=self._run, args=(serve,), daemon=True)
        self.thread.start()

    def _run(self, serve):
        try:
            conn, _ = self.listener.accept()
            with conn:
                conn.settimeout(TIMEOUT)
                length = recv_exactly(conn, 4)
                self.request = length + recv_exactly(conn, struct.unpack(">I", length)[0])
                serve(conn, self.request)
        except Exception as e:  # reported by join()
            self.error = e

    def join(self):
        self.thread.join(TIMEOUT)
        self.listener.close()
        os.unlink(self.path)
        if self.error:
            raise self.error


def impacket(smbd, body, user=USER, password=PASSWORD):
    """Runs `body` (Python, with `c` a logged-in SMBConnection and `t` the IPC$ tree id) under
    Debian's python3; returns its stdout lines."""
    script = (
        "from impacket.smbconnection import SMBConnection, SessionError\n"
        "c = SMBConnection('127.0.0.1', '127.0.0.1', sess_port=%d)\n"
        "c.login(%r, %r)\n"
        "t = c.connectTree('IPC$')\n" % (smbd.port, user, password)
    ) + body
    r = subprocess.run([DEBIAN_PYTHON, "-c", script], capture_output=True, text=True, timeout=TIMEOUT)
    if r.returncode != 0:
        raise AssertionError("impacket failed:\n%s\n%s" % (r.stderr[-3000:], smbd.log()[-3000:]))
    return r.stdout.splitlines()


@unittest.skipUnless(os.geteuid() == 0, "needs root: useradd, smbd's passdb and np/ directory")
class SmbdFacts(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.smbd = PrivateSmbd().start()
        cls.smbd.add_user(USER, PASSWORD)

    @classmethod
    def tearDownClass(cls):
        cls.smbd.stop()

    def test_login_and_an_unknown_pipe_is_object_name_not_found(self):
        out = impacket(self.smbd, (
            "try:\n"
            "    c.openFile(t, '\\\\npipe-no-such-pipe', desiredAccess=0x12019f)\n"
            "except SessionError as e:\n"
            "    print(hex(e.getErrorCode()))\n"))
        self.assertEqual(out, ["0xc0000034"])  # STATUS_OBJECT_NAME_NOT_FOUND: no samba-dcerpcd started

    def test_wrong_password_is_logon_failure(self):
        script = ("from impacket.smbconnection import SMBConnection, SessionError\n"
                  "c = SMBConnection('127.0.0.1', '127.0.0.1', sess_port=%d)\n"
                  "try:\n    c.login(%r, 'wrong')\nexcept SessionError as e:\n    print(hex(e.getErrorCode()))\n"
                  % (self.smbd.port, USER))
        r = subprocess.run([DEBIAN_PYTHON, "-c", script], capture_output=True, text=True, timeout=TIMEOUT)
        self.assertEqual(r.stdout.split(), ["0xc000006d"])  # STATUS_LOGON_FAILURE

    def test_smbclient_reaches_ipc(self):
        r = subprocess.run(["smbclient", "-p", str(self.smbd.port), "-U", "%s%%%s" % (USER, PASSWORD),
                            "//127.0.0.1/IPC$", "-c", "exit"], capture_output=True, text=True, timeout=TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_request_is_level_7_and_a_byte_mode_reply_carries_raw_bytes(self):
        got = {}

        def serve(conn, request):
            conn.sendall(npa_reply(FILE_TYPE_BYTE))
            got["data"] = recv_exactly(conn, 5)
            conn.sendall(b"world")

        server = StandInServer(self.smbd, "NpipeFactsByte", serve)
        out = impacket(self.smbd, (
            "f = c.openFile(t, '\\\\NpipeFactsByte', desiredAccess=0x12019f)\n"
            "c.writeFile(t, f, b'hello')\n"
            "print(c.readFile(t, f, 0, 5).decode())\n"))
        server.join()
        req = server.request
        self.assertEqual(req[4:8], b"NPAM")
        self.assertEqual(struct.unpack("<II", req[8:16]), (7, 7))
        self.assertEqual(struct.unpack(">I", req[:4])[0], len(req) - 4)
        self.assertIn(USER.encode() + b"\0", req)  # the account travels in the session info
        self.assertEqual(got["data"], b"hello")
        self.assertEqual(out, ["world"])

    def test_message_mode_frames_each_message_with_a_16_bit_length(self):
        got = {}

        def serve(conn, request):
            conn.sendall(npa_reply(FILE_TYPE_MESSAGE))
            (n,) = struct.unpack("<H", recv_exactly(conn, 2))
            got["message"] = recv_exactly(conn, n)
            reply = b"r" * 40000
            conn.sendall(struct.pack("<H", len(reply)) + reply)

        server = StandInServer(self.smbd, "NpipeFactsMessage", serve)
        out = impacket(self.smbd, (
            "f = c.openFile(t, '\\\\NpipeFactsMessage', desiredAccess=0x12019f)\n"
            "c.writeFile(t, f, b'ping' * 1000)\n"
            "print(len(c.readFile(t, f, 0, 65536)))\n"))
        server.join()
        self.assertEqual(got["message"], b"ping" * 1000)
        self.assertEqual(out, ["40000"])

    def test_smbd_limits_in_message_mode(self):
        # A READ shorter than the message succeeds (no STATUS_BUFFER_OVERFLOW) and the rest comes
        # with the next; a write over 65,535 bytes fails and smbd hangs up on the pipe server.
        got = {}

        def serve(conn, request):
            conn.sendall(npa_reply(FILE_TYPE_MESSAGE))
            conn.sendall(struct.pack("<H", 10) + b"0123456789")
            got["after"] = conn.recv(10)

        server = StandInServer(self.smbd, "NpipeFactsLimits", serve)
        out = impacket(self.smbd, (
            "f = c.openFile(t, '\\\\NpipeFactsLimits', desiredAccess=0x12019f)\n"
            "print(c.readFile(t, f, 0, 4).decode())\n"
            "print(c.readFile(t, f, 0, 100).decode())\n"
            "try:\n"
            "    c.writeFile(t, f, b'x' * 70000)\n"
            "    print('written')\n"
            "except SessionError as e:\n"
            "    print('refused')\n"))
        server.join()
        self.assertEqual(out, ["0123", "456789", "refused"])
        self.assertEqual(got["after"], b"")

    def test_closing_instead_of_replying_denies_the_open(self):
        server = StandInServer(self.smbd, "NpipeFactsDenied", lambda conn, request: None)
        out = impacket(self.smbd, (
            "try:\n"
            "    c.openFile(t, '\\\\NpipeFactsDenied', desiredAccess=0x12019f)\n"
            "    print('opened')\n"
            "except SessionError as e:\n"
            "    print('refused')\n"))
        server.join()
        self.assertEqual(out, ["refused"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
