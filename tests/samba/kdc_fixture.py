"""A private MIT Kerberos KDC for tests: Debian's krb5kdc on 127.0.0.1 and a free high port,
with its own krb5.conf, kdc.conf, database, stash and keytabs under one temp dir.

Nothing system-wide is read or changed: every command gets KRB5_CONFIG and KRB5_KDC_PROFILE
pointing at the private files (so /etc/krb5.conf, which krb5-config installs, is never read),
krb5kdc runs in the foreground (-n) as the caller's child, and kadmind is never started
(principals are added with kadmin.local, straight into the private database).

Passwords never travel in argv: kadmin.local reads its commands, and kinit the password, on
stdin. Readiness is a TCP connect to the KDC's port, polled with a deadline, never a sleep.

    kdc = PrivateKdc().start()
    kdc.add_principal("alice", "pw")            # alice@NPIPE.TEST
    kdc.add_service("cifs/npipetest")           # its key into kdc.keytab (or keytab=PATH)
    env = kdc.kinit("alice", "pw")              # a fresh ccache; env has KRB5_CONFIG, KRB5CCNAME
    kdc.service_ticket(env, "cifs/npipetest")   # optional: put the service ticket in the ccache
    ...
    kdc.stop()

The KDC issues no PAC (`disable_pac`, krb5 1.20): a standalone smbd refuses tickets that carry
one (source3/auth/auth_generic.c: "In standalone mode we don't expect a PAC").
"""

import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time

TIMEOUT = 20  # seconds for the KDC to listen, or for any helper command
REALM = "NPIPE.TEST"

KRB5_CONF = """[libdefaults]
    default_realm = {realm}
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    rdns = false
    udp_preference_limit = 1
    default_ccache_name = FILE:{base}/ccache-default
    default_keytab_name = FILE:{base}/kdc.keytab

[realms]
    {realm} = {{
        kdc = 127.0.0.1:{port}
    }}

[domain_realm]
    {host} = {realm}
"""

KDC_CONF = """[kdcdefaults]
    kdc_listen = 127.0.0.1:{port}
    kdc_tcp_listen = 127.0.0.1:{port}

[realms]
    {realm} = {{
        database_name = {base}/principal
        key_stash_file = {base}/stash
        acl_file = {base}/kadm5.acl
        kdc_listen = 127.0.0.1:{port}
        kdc_tcp_listen = 127.0.0.1:{port}
        max_life = 10h
        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
        disable_pac = true
    }}

[logging]
    kdc = FILE:{base}/krb5kdc.log
    admin_server = FILE:{base}/kadmin.log
    default = FILE:{base}/krb5lib.log
"""


def free_port():
    """A port free on 127.0.0.1 for both TCP and UDP (the KDC listens on both)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                try:
                    u.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port


def select_wait(seconds):
    """A bounded pause between two polls of a condition (a wait on nothing, with a timeout)."""
    import select
    select.select([], [], [], seconds)


class PrivateKdc:
    """Start with start(), stop with stop(). `realm`, `port`, `krb5_conf`, `keytab` (the default
    keytab add_service writes) are the facts other fixtures need; env() the environment."""

    def __init__(self, realm=REALM, host="npipetest"):
        self.realm = realm
        self.host = host
        self.base = tempfile.mkdtemp(prefix="npipe-kdc-")
        os.chmod(self.base, 0o755)
        self.port = free_port()
        self.krb5_conf = os.path.join(self.base, "krb5.conf")
        self.kdc_conf = os.path.join(self.base, "kdc.conf")
        self.keytab = os.path.join(self.base, "kdc.keytab")
        values = dict(realm=realm, base=self.base, port=self.port, host=host)
        with open(self.krb5_conf, "w") as f:
            f.write(KRB5_CONF.format(**values))
        with open(self.kdc_conf, "w") as f:
            f.write(KDC_CONF.format(**values))
        with open(os.path.join(self.base, "kadm5.acl"), "w") as f:
            f.write("")
        self.proc = None
        self._ccaches = 0

    def env(self, ccache=None, base=None):
        """`base` (default os.environ) with the private configuration, and KRB5CCNAME=ccache if
        given. Any KRB5* variable of the caller's is dropped, so nothing reaches a real realm."""
        env = {k: v for k, v in (os.environ if base is None else base).items() if not k.startswith("KRB5")}
        env["KRB5_CONFIG"] = self.krb5_conf
        env["KRB5_KDC_PROFILE"] = self.kdc_conf
        if ccache:
            env["KRB5CCNAME"] = ccache
        return env

    def _run(self, argv, stdin=""):
        r = subprocess.run(argv, input=stdin, text=True, capture_output=True, timeout=TIMEOUT, env=self.env())
        if r.returncode != 0:
            raise RuntimeError("%s failed (%d):\n%s%s" % (argv[0], r.returncode, r.stdout, r.stderr))
        return r.stdout

    def _kadmin(self, *commands):
        """kadmin.local on the private database; the commands (passwords too) go on stdin."""
        out = self._run(["kadmin.local", "-r", self.realm], "".join(c + "\n" for c in commands))
        return out

    def start(self):
        """Creates the database and starts krb5kdc; returns self once it listens. On failure
        nothing is left running (the caller never got the object to stop)."""
        try:
            self._start_kdc()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_kdc(self):
        # The database and its stash (-s): the master password is random and read on stdin.
        master = secrets.token_hex(16)
        self._run(["kdb5_util", "-r", self.realm, "create", "-s"], (master + "\n") * 2)
        log = open(os.path.join(self.base, "krb5kdc.out"), "wb")
        self.proc = subprocess.Popen(["krb5kdc", "-n", "-r", self.realm, "-P", os.path.join(self.base, "krb5kdc.pid")],
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                     env=self.env(), start_new_session=True)
        log.close()
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("krb5kdc exited with %s:\n%s" % (self.proc.returncode, self.log()))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                pass
            select_wait(0.02)  # krb5kdc is starting: poll again
        raise RuntimeError("krb5kdc did not listen on port %d:\n%s" % (self.port, self.log()))

    def principal(self, name):
        return name if "@" in name else "%s@%s" % (name, self.realm)

    def add_principal(self, name, password):
        """A user principal NAME@REALM with PASSWORD; returns the full principal name."""
        p = self.principal(name)
        if '"' in password or "\n" in password:
            raise ValueError("kadmin.local's command line cannot carry that password")
        self._kadmin('addprinc -pw "%s" %s' % (password, p))
        return p

    def add_service(self, name, keytab=None):
        """A service principal (e.g. "cifs/npipetest") with a random key, written to KEYTAB
        (default self.keytab, mode 0600); returns the keytab path."""
        keytab = keytab or self.keytab
        p = self.principal(name)
        self._kadmin("addprinc -randkey %s" % p, "ktadd -k %s %s" % (keytab, p))
        os.chmod(keytab, 0o600)
        return keytab

    def new_ccache(self, tag="test"):
        """A path for a fresh, empty credential cache of its own: a plain path, no "FILE:"
        prefix (MIT takes it as FILE:, and impacket opens KRB5CCNAME as a path)."""
        self._ccaches += 1
        return "%s/ccache-%s-%d" % (self.base, tag, self._ccaches)

    def kinit(self, name, password, ccache=None):
        """A TGT for NAME in CCACHE (default: a fresh one), the password on kinit's stdin.
        Returns env(ccache): the environment for the client that uses it."""
        ccache = ccache or self.new_ccache(name.split("@")[0].replace("/", "_"))
        env = self.env(ccache)
        r = subprocess.run(["kinit", self.principal(name)], input=password + "\n", text=True, capture_output=True,
                           timeout=TIMEOUT, env=env)
        if r.returncode != 0:
            raise RuntimeError("kinit %s failed (%d): %s%s" % (name, r.returncode, r.stdout, r.stderr))
        return env

    def service_ticket(self, env, service):
        """Adds the ticket for SERVICE (e.g. "cifs/npipetest") to env's ccache (kvno): for
        clients that cannot reach the KDC themselves (impacket only talks to port 88)."""
        r = subprocess.run(["kvno", self.principal(service)], capture_output=True, text=True, timeout=TIMEOUT, env=env)
        if r.returncode != 0:
            raise RuntimeError("kvno %s failed: %s%s" % (service, r.stdout, r.stderr))

    def log(self):
        text = ""
        for name in ("krb5kdc.out", "krb5kdc.log"):
            try:
                with open(os.path.join(self.base, name), errors="replace") as f:
                    text += f.read()[-4000:]
            except FileNotFoundError:
                pass
        return text

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=TIMEOUT)
        shutil.rmtree(self.base, ignore_errors=True)
