#!/usr/bin/env python3
"""The private smbd's authentication and protection options, and its own RPC pipes, checked with
clients nobody here wrote: a private MIT KDC (kdc_fixture.py) and smbd accepting Kerberos
through a dedicated keytab; GSSAPI (python3-gssapi, MIT's SPNEGO) with Kerberos and with
gss-ntlmssp; smbclient, rpcclient and impacket; signing and encryption required; protocol
limits; samba-dcerpcd serving srvsvc. These are the servers npipe's SMB client is tested
against (issue 12), so each fixture option is proved here to do what it says.

Usage: python3 tests/samba/test_auth.py [unittest arguments]

Needs root (useradd, smbd's passdb); skipped otherwise. Every wait has a deadline; nothing
sleeps. impacket and gssapi run under Debian's /usr/bin/python3.
"""

import os
import pwd
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from kdc_fixture import PrivateKdc  # noqa: E402
from smbd_fixture import TIMEOUT, PrivateSmbd, select_wait  # noqa: E402

DEBIAN_PYTHON = "/usr/bin/python3"
USER, PASSWORD = "npipe-krb1", "Npipe-Krb-pw1"
NO_UNIX_USER = "npipe-krb-nobody"  # a principal in the KDC only: no Unix or passdb user
STATUS_ACCESS_DENIED = "0xc0000022"
STATUS_LOGON_FAILURE = "0xc000006d"


def run(argv, env=None, stdin=None):
    return subprocess.run(argv, env=env, input=stdin, capture_output=True, text=True, timeout=TIMEOUT)


def python(code, env=None):
    """CODE under Debian's python3; its stdout lines (a failure raises with its stderr)."""
    r = run([DEBIAN_PYTHON, "-c", code], env)
    if r.returncode != 0:
        raise AssertionError("python failed:\n" + r.stderr[-3000:])
    return r.stdout.splitlines()


def gss_session(smbd, mech, env, host=None, user=None, password=None):
    """gss_session.py against SMBD (naming HOST, default smbd.host; explicit credentials USER
    and PASSWORD, the password on its stdin): its facts as a dict (see its docstring)."""
    argv = [DEBIAN_PYTHON, os.path.join(HERE, "gss_session.py"), str(smbd.port), host or smbd.host, mech]
    r = run(argv + ([user] if user else []), env, stdin=(password + "\n") if user else None)
    if r.returncode != 0:
        raise AssertionError("gss_session.py failed:\n%s\n%s" % (r.stderr[-3000:], smbd.log()[-2000:]))
    facts = {}
    for line in r.stdout.splitlines():
        key, _, value = line.rpartition(" ")
        facts[key] = value
    return facts


def smbclient_kerberos(smbd, env):
    """smbclient with Kerberos only (-N: no password prompt), naming the host the SPN names and
    connecting to 127.0.0.1: Samba never tries Kerberos for an IP address or "localhost"
    (source3/libsmb/cliconnect.c)."""
    return run(["smbclient", "--use-kerberos=required", "-N", "-I", "127.0.0.1", "-p", str(smbd.port),
                "//%s/IPC$" % smbd.host, "-c", "exit"], env)


@unittest.skipUnless(os.geteuid() == 0, "needs root: useradd, smbd's passdb")
class Kerberos(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.kdc = PrivateKdc().start()
        try:
            cls.smbd = PrivateSmbd(kdc=cls.kdc, signing="mandatory").start()
        except Exception:
            cls.kdc.stop()
            raise
        cls.smbd.add_user(USER, PASSWORD)
        cls.kdc.add_principal(USER, PASSWORD)
        cls.kdc.add_principal(NO_UNIX_USER, PASSWORD)

    @classmethod
    def tearDownClass(cls):
        cls.smbd.stop()
        cls.kdc.stop()

    def klist(self, env):
        r = run(["klist"], env)
        return r.stdout

    def test_kinit_takes_the_password_on_stdin_and_refuses_a_wrong_one(self):
        env = self.kdc.kinit(USER, PASSWORD)
        self.assertIn("krbtgt/%s@%s" % (self.kdc.realm, self.kdc.realm), self.klist(env))
        with self.assertRaises(RuntimeError):
            self.kdc.kinit(USER, "wrong")

    def test_smbclient_logs_in_with_a_ticket_from_the_private_kdc(self):
        env = self.kdc.kinit(USER, PASSWORD)
        r = smbclient_kerberos(self.smbd, env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr + self.smbd.log())
        # the ticket smbclient got is for the SPN the fixture's keytab holds
        self.assertIn("cifs/%s@%s" % (self.smbd.host, self.kdc.realm), self.klist(env))

    def test_without_a_ticket_there_is_no_kerberos_login(self):
        r = smbclient_kerberos(self.smbd, self.kdc.env(self.kdc.new_ccache("empty")))
        self.assertNotEqual(r.returncode, 0, r.stdout)

    def test_a_principal_without_a_unix_user_is_refused(self):
        with self.assertRaises(KeyError):
            pwd.getpwnam(NO_UNIX_USER)
        env = self.kdc.kinit(NO_UNIX_USER, PASSWORD)
        self.assertEqual(gss_session(self.smbd, "krb5", env), {"status": STATUS_ACCESS_DENIED})

    def test_gssapi_kerberos_session_key_signs(self):
        # for each name the keytab holds a principal for (cifs@HOST, a host-based service name)
        for host in self.smbd.spn_hosts:
            facts = gss_session(self.smbd, "krb5", self.kdc.kinit(USER, PASSWORD), host)
            self.assertEqual(facts, {"rounds": "1", "complete before last token": "False",
                                     "mech": "1.2.840.113554.1.2.2", "guest": "False", "gss key length": "32",
                                     "wrong key": STATUS_ACCESS_DENIED, "tree": "connected"}, host)

    def test_gssapi_kerberos_with_an_explicit_password(self):
        # gss_acquire_cred_with_password: no ccache needed; a wrong password leaves SPNEGO with
        # no mechanism (GSS_S_FAILURE at the first token): the KDC said no.
        env = self.kdc.env(self.kdc.new_ccache("explicit"))
        facts = gss_session(self.smbd, "krb5", env, user=self.kdc.principal(USER), password=PASSWORD)
        self.assertEqual(facts["tree"], "connected")
        self.assertEqual(facts["mech"], "1.2.840.113554.1.2.2")
        facts = gss_session(self.smbd, "krb5", env, user=self.kdc.principal(USER), password="wrong")
        self.assertEqual(facts, {"gss error": "0xd0000"})

    def test_impacket_kerberos_from_the_credential_cache(self):
        # impacket reaches a KDC on port 88 only: the service ticket goes in the ccache first.
        env = self.kdc.kinit(USER, PASSWORD)
        self.kdc.service_ticket(env, "cifs/" + self.smbd.host)
        out = python("from impacket.smbconnection import SMBConnection\n"
                     "c = SMBConnection(%r, '127.0.0.1', sess_port=%d)\n"
                     "c.kerberosLogin(%r, '', %r, useCache=True)\n"
                     "print(c.isGuestSession(), c.isSigningRequired())\n"
                     "c.connectTree('IPC$')\n"
                     "print('tree')\n" % (self.smbd.host, self.smbd.port, USER, self.kdc.realm), env)
        self.assertEqual(out, ["0 True", "tree"])


@unittest.skipUnless(os.geteuid() == 0, "needs root: useradd, smbd's passdb")
class NtlmThroughGssNtlmssp(unittest.TestCase):
    """gss-ntlmssp reads the credentials from the file NTLM_USER_FILE names, one
    DOMAIN:USER:PASSWORD a line ('#' starts a comment; without a name, the first line is used)."""

    @classmethod
    def setUpClass(cls):
        cls.smbd = PrivateSmbd(signing="mandatory").start()
        cls.smbd.add_user(USER, PASSWORD)

    @classmethod
    def tearDownClass(cls):
        cls.smbd.stop()

    def session(self, user, password):
        return gss_session(self.smbd, "ntlmssp", self.smbd.ntlm_env(user, password))

    def test_ntlmv2_through_spnego_and_its_session_key_signs(self):
        facts = self.session(USER, PASSWORD)
        self.assertEqual(facts, {"rounds": "2", "complete before last token": "False",
                                 "mech": "1.3.6.1.4.1.311.2.2.10", "guest": "False", "gss key length": "16",
                                 "wrong key": STATUS_ACCESS_DENIED, "tree": "connected"})

    def test_a_wrong_password_is_logon_failure(self):
        self.assertEqual(self.session(USER, "wrong"), {"status": STATUS_LOGON_FAILURE})

    def test_explicit_credentials_with_or_without_the_domain(self):
        # gss_acquire_cred_with_password (what WNetAddConnection2 will use): no file read
        env = self.smbd.ntlm_env("nobody-here", "not-this")  # the file must not be what logs in
        for name in (USER, "NPIPETEST\\" + USER):
            facts = gss_session(self.smbd, "ntlmssp", env, user=name, password=PASSWORD)
            self.assertEqual((facts.get("tree"), facts.get("mech")), ("connected", "1.3.6.1.4.1.311.2.2.10"), name)
        facts = gss_session(self.smbd, "ntlmssp", env, user=USER, password="wrong")
        self.assertEqual(facts, {"status": STATUS_LOGON_FAILURE})

    def test_an_unknown_user_is_logon_failure_not_guest(self):
        self.assertEqual(self.session("npipe-no-such-user", "x"), {"status": STATUS_LOGON_FAILURE})


IMPACKET_DIALECT = (
    "from impacket.smbconnection import SMBConnection, SessionError\n"
    "from impacket import smb3structs as s3\n"
    "for d in %s:\n"
    "    try:\n"
    "        c = SMBConnection('127.0.0.1', '127.0.0.1', sess_port=%d, preferredDialect=d)\n"
    "    except Exception as e:\n"
    "        print('negotiate failed')\n"
    "        continue\n"
    "    try:\n"
    "        c.login(%r, %r)\n"
    "        c.connectTree('IPC$')\n"
    "        print(hex(c.getDialect()), 'tree', c.isSigningRequired())\n"
    "    except SessionError as e:\n"
    "        print(hex(c.getDialect()), hex(e.getErrorCode()))\n")


@unittest.skipUnless(os.geteuid() == 0, "needs root: useradd, smbd's passdb")
class SigningEncryptionProtocols(unittest.TestCase):
    def with_smbd(self, dialects, **options):
        smbd = PrivateSmbd(**options).start()
        try:
            smbd.add_user(USER, PASSWORD)
            return python(IMPACKET_DIALECT % (dialects, smbd.port, USER, PASSWORD))
        finally:
            smbd.stop()

    def test_signing_mandatory(self):
        self.assertEqual(self.with_smbd("[s3.SMB2_DIALECT_21]", signing="mandatory"), ["0x210 tree True"])
        self.assertEqual(self.with_smbd("[s3.SMB2_DIALECT_21]"), ["0x210 tree False"])

    def test_encryption_required_refuses_a_dialect_without_encryption(self):
        # 2.1 has no encryption: the session is refused. impacket encrypts on 3.0 (AES-128-CCM);
        # its 3.1.1 encryption is broken (no key), so 3.1.1 is smbclient's below.
        out = self.with_smbd("[s3.SMB2_DIALECT_21, s3.SMB2_DIALECT_30]", encrypt="required")
        self.assertEqual(out, ["0x210 " + STATUS_ACCESS_DENIED, "0x300 tree False"])

    def test_encryption_required_smbclient_3_1_1(self):
        smbd = PrivateSmbd(encrypt="required").start()
        try:
            smbd.add_user(USER, PASSWORD)
            base = ["smbclient", "-p", str(smbd.port), "-U", "%s%%%s" % (USER, PASSWORD), "//127.0.0.1/IPC$",
                    "-c", "exit"]
            r = run(base + ["-m", "SMB3_11", "--client-protection=encrypt"])
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            r = run(base + ["-m", "SMB2_10"])
            self.assertIn("NT_STATUS_ACCESS_DENIED", r.stdout + r.stderr)
        finally:
            smbd.stop()

    def test_guest_sessions_only_when_asked_for(self):
        # impacket logs in as a user smbd does not know: refused, or (guest=True) a guest session
        code = ("from impacket.smbconnection import SMBConnection, SessionError\n"
                "c = SMBConnection('127.0.0.1', '127.0.0.1', sess_port=%d)\n"
                "try:\n"
                "    c.login('npipe-no-such-user', 'x')\n"
                "    print('guest', c.isGuestSession())\n"
                "except SessionError as e:\n"
                "    print(hex(e.getErrorCode()))\n")
        for guest, want in ((False, [STATUS_LOGON_FAILURE]), (True, ["guest 1"])):
            smbd = PrivateSmbd(guest=guest).start()
            try:
                self.assertEqual(python(code % smbd.port), want, guest)
            finally:
                smbd.stop()

    def test_protocol_limits(self):
        # impacket offers one dialect, or (None) its default set, 3.0 the highest (0.10)
        each = "[s3.SMB2_DIALECT_002, s3.SMB2_DIALECT_21, s3.SMB2_DIALECT_30, None]"
        self.assertEqual(self.with_smbd(each, max_protocol="SMB2_10"),
                         ["0x202 tree False", "0x210 tree False", "negotiate failed", "0x210 tree False"])
        self.assertEqual(self.with_smbd(each, min_protocol="SMB3_00"),
                         ["negotiate failed", "negotiate failed", "0x300 tree False", "0x300 tree False"])


@unittest.skipUnless(os.geteuid() == 0, "needs root: useradd, smbd's passdb")
class Sessions(unittest.TestCase):
    def test_sessions_are_listed_and_dropped(self):
        smbd = PrivateSmbd(signing="mandatory").start()
        client = None
        try:
            smbd.add_user(USER, PASSWORD)
            # a client that holds its session, then (told on stdin) uses it again
            client = subprocess.Popen([DEBIAN_PYTHON, "-c", (
                "from impacket.smbconnection import SMBConnection, SessionError\n"
                "import sys\n"
                "c = SMBConnection('127.0.0.1', '127.0.0.1', sess_port=%d)\n"
                "c.login(%r, %r)\n"
                "t = c.connectTree('IPC$')\n"
                "def ask():\n"  # a request that reaches smbd (impacket caches tree connects)
                "    try:\n"
                "        c.openFile(t, '\\\\npipe-no-such-pipe')\n"
                "    except SessionError as e:\n"
                "        return hex(e.getErrorCode())\n"
                "    except Exception as e:\n"
                "        return 'dropped'\n"
                "print(ask(), flush=True)\n"
                "sys.stdin.readline()\n"
                "print(ask())\n" % (smbd.port, USER, PASSWORD))],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            self.assertEqual(client.stdout.readline().strip(), "0xc0000034")  # OBJECT_NAME_NOT_FOUND: served
            sessions = smbd.sessions()
            self.assertEqual([(x["username"], x["session_dialect"]) for x in sessions], [(USER, "SMB3_00")])
            self.assertNotEqual(sessions[0]["signing"]["degree"], "none")
            pids = smbd.drop_sessions(USER)
            self.assertEqual(len(pids), 1)
            out, err = client.communicate("go\n", timeout=TIMEOUT)
            self.assertEqual(out.split(), ["dropped"], err)
            # smbd itself serves on
            out = python("from impacket.smbconnection import SMBConnection\n"
                         "c = SMBConnection('127.0.0.1', '127.0.0.1', sess_port=%d)\n"
                         "c.login(%r, %r)\nc.connectTree('IPC$')\nprint('in')\n" % (smbd.port, USER, PASSWORD))
            self.assertEqual(out, ["in"])
        finally:
            if client and client.poll() is None:
                client.kill()
                client.wait(timeout=TIMEOUT)
            smbd.stop()


@unittest.skipUnless(os.geteuid() == 0, "needs root: useradd, smbd's passdb")
class SmbdOwnPipes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.smbd = PrivateSmbd(rpc_pipes=True).start()
        cls.smbd.add_user(USER, PASSWORD)

    @classmethod
    def tearDownClass(cls):
        cls.smbd.stop()

    def test_srvsvc_socket_is_served_by_samba_dcerpcd(self):
        self.assertTrue(os.path.exists(os.path.join(self.smbd.ncalrpc_dir, "np", "srvsvc")))

    def test_rpcclient_srvinfo(self):
        r = run(["rpcclient", "-p", str(self.smbd.port), "-U", "%s%%%s" % (USER, PASSWORD), "-c", "srvinfo",
                 "127.0.0.1"])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr + self.smbd.log())
        self.assertIn("NPIPETEST", r.stdout)
        self.assertIn("platform_id     :\t500", r.stdout)

    def test_impacket_dce_rpc_bind_on_srvsvc(self):
        out = python("from impacket.smbconnection import SMBConnection\n"
                     "from impacket.dcerpc.v5 import transport, srvs\n"
                     "c = SMBConnection('127.0.0.1', '127.0.0.1', sess_port=%d)\n"
                     "c.login(%r, %r)\n"
                     "t = transport.SMBTransport('127.0.0.1', %d, r'\\srvsvc', smb_connection=c)\n"
                     "d = t.get_dce_rpc()\n"
                     "d.connect()\n"
                     "d.bind(srvs.MSRPC_UUID_SRVS)\n"
                     "info = srvs.hNetrServerGetInfo(d, 101)['InfoStruct']['ServerInfo101']\n"
                     "print(info['sv101_name'].rstrip('\\0'), info['sv101_platform_id'])\n"
                     % (self.smbd.port, USER, PASSWORD, self.smbd.port))
        self.assertEqual(out, ["NPIPETEST 500"])

    def test_samba_dcerpcd_lives_as_long_as_its_stdin(self):
        # A second smbd of its own: closing the pipe on samba-dcerpcd's stdin ends it (and the
        # rpcd_* helpers it started: nothing of its group remains).
        smbd = PrivateSmbd(rpc_pipes=True).start()
        try:
            proc = smbd.dcerpcd
            self.assertIsNone(proc.poll())
            os.close(smbd._dcerpcd_stdin)
            smbd._dcerpcd_stdin = None
            proc.wait(timeout=TIMEOUT)
            self.assertTrue(group_gone(proc.pid), "samba-dcerpcd's helpers outlived it")
        finally:
            smbd.stop()


def group_gone(pgid):
    """Whether process group PGID is empty, waited for with a deadline."""
    import time
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        select_wait(0.02)
    return False


if __name__ == "__main__":
    unittest.main(verbosity=2)
