"""A private smbd for tests: Debian's samba on 127.0.0.1 and a free high port, with its own
smb.conf and every directory (private, state, cache, lock, pid, ncalrpc) under one temp dir.

Nothing system-wide is started or changed except the Unix users the tests add (useradd, as
root; remove_user for a caller that wants its user gone): the password database is the private
one (`passdb backend = tdbsam:` under the temp dir), `rpc start on demand helpers = no` keeps smbd from starting samba-dcerpcd, and smbd runs
in the foreground as the caller's child, in a session of its own: smbd ends by signalling its
whole process group, which must not be the test's (`--no-process-group` then keeps it from
making one more).
Readiness is a TCP connect to the port, polled with a deadline, never a sleep.

Options (all keyword arguments of PrivateSmbd, each one smb.conf line or a started helper):
  signing="mandatory"       `server signing`
  encrypt="required"        `server smb encrypt` (4.17's name; `smb encrypt` is its synonym)
  min_protocol, max_protocol   `server min/max protocol` (e.g. "SMB2_10", "SMB3_11")
  kdc=PrivateKdc            Kerberos: `realm`, `kerberos method = dedicated keytab` with a keytab
                            holding cifs/<kdc.host>, cifs/localhost and cifs/127.0.0.1; smbd
                            runs with the KDC's KRB5_CONFIG
  rpc_pipes=True            smbd's own RPC pipes (srvsvc, lsarpc, ...): samba-dcerpcd started
                            by the fixture itself (see start_dcerpcd), smbd still never starts it
  guest=True                an unknown user's login becomes a guest session (`map to guest = bad
                            user`, guest account nobody); default: refused (`map to guest = never`)
  extra=["name = value"]    any further [global] lines

Helpers: add_user(name, password) (Unix user + private passdb), ntlm_env(user, password)
(the environment gss-ntlmssp takes credentials from), sessions() (smbstatus --json),
drop_sessions(username=None) (SIGKILL the smbd processes serving them: a session dropped
mid-read), log(), stop().
"""

import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

TIMEOUT = 20  # seconds for smbd to listen, or for any helper command
DCERPCD = "/usr/libexec/samba/samba-dcerpcd"  # Debian's path; not on PATH

SMB_CONF = """[global]
    netbios name = NPIPETEST
    workgroup = NPIPE
    server role = standalone server
    interfaces = 127.0.0.1
    bind interfaces only = yes
    smb ports = {port}
    disable netbios = yes
    private dir = {base}/private
    state directory = {base}/state
    cache directory = {base}/cache
    lock directory = {base}/lock
    pid directory = {base}/pid
    ncalrpc dir = {base}/ncalrpc
    log file = {base}/log.smbd
    log level = {log_level}
    max log size = 0
    passdb backend = tdbsam:{base}/private/passdb.tdb
    rpc start on demand helpers = no
    load printers = no
    printing = bsd
    printcap name = /dev/null
    disable spoolss = yes
    restrict anonymous = 2
"""

# An unknown user's NTLM login becomes a guest session (SMB2_SESSION_FLAG_IS_GUEST): what a
# client must refuse by default (issue 12). Debian has the user nobody.
GUEST_CONF = ["map to guest = bad user", "guest account = nobody"]

# A standalone smbd accepts Kerberos when the kerberos method is not "secrets only"
# (source3/auth/auth_generic.c): with a dedicated keytab it accepts a ticket for any principal
# in it, and maps NAME@REALM, when REALM is `realm`, to the Unix (and passdb) user NAME
# (source3/auth/user_krb5.c). The ticket must carry no PAC (see kdc_fixture.py).
KERBEROS_CONF = """    realm = {realm}
    kerberos method = dedicated keytab
    dedicated keytab file = FILE:{keytab}
"""


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def useradd_lock():
    """The lock file the tests' (and the bench's) useradds and userdels take turns under."""
    return open("/run/lock/npipe-tests-useradd.lock" if os.path.isdir("/run/lock") else "/tmp/npipe-tests-useradd.lock",
                "a")


def ensure_user(name):
    """The Unix user NAME (created with useradd when missing); returns its uid.

    The samba tests run in parallel (ctest -j) and each adds its users: useradd does not wait
    for /etc/passwd's lock, it fails ("cannot lock /etc/passwd; try again later", exit 1). So
    the tests' own useradds take turns under a lock file, and one that still meets the lock
    (someone else's useradd) is retried until the deadline."""
    import fcntl
    deadline = time.monotonic() + TIMEOUT
    with useradd_lock() as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        while True:
            try:
                return pwd.getpwnam(name).pw_uid
            except KeyError:
                pass
            r = subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                               timeout=TIMEOUT, capture_output=True, text=True)
            if r.returncode != 0 and ("lock" not in r.stderr or time.monotonic() > deadline):
                raise RuntimeError("useradd %s failed (%d): %s" % (name, r.returncode, r.stderr))
            if r.returncode != 0:
                select_wait(0.05)  # another program holds /etc/passwd's lock: try again


def remove_user(name):
    """userdel NAME (a user ensure_user created for a run that wants none left behind, such as
    npipe-bench's SMB section), under the same lock as ensure_user's useradds."""
    import fcntl
    with useradd_lock() as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        r = subprocess.run(["userdel", name], timeout=TIMEOUT, capture_output=True, text=True)
        if r.returncode != 0 and user_exists(name):
            raise RuntimeError("userdel %s failed (%d): %s" % (name, r.returncode, r.stderr))


class PrivateSmbd:
    """Start with start(), stop with stop(). `ncalrpc_dir` is where smbd looks for np/NAME;
    `port` its TCP port on 127.0.0.1; `host` the name Kerberos clients use for it (the SPN is
    cifs/<host>; connect to 127.0.0.1 while naming <host>); with a KDC, the keytab also holds
    cifs/localhost and cifs/127.0.0.1 (`spn_hosts`); `env` the environment smbd and
    samba-dcerpcd run with. Options: see the module's docstring."""

    def __init__(self, log_level=1, *, signing=None, encrypt=None, min_protocol="SMB2_02", max_protocol=None,
                 kdc=None, rpc_pipes=False, guest=False, extra=()):
        self.base = tempfile.mkdtemp(prefix="npipe-smbd-")
        os.chmod(self.base, 0o755)
        for d in ("private", "state", "cache", "lock", "pid", "ncalrpc"):
            os.mkdir(os.path.join(self.base, d), 0o755)
        os.chmod(os.path.join(self.base, "private"), 0o700)
        self.ncalrpc_dir = os.path.join(self.base, "ncalrpc")
        self.port = free_port()
        self.kdc = kdc
        self.host = kdc.host if kdc else "npipetest"
        self.spn_hosts = (self.host, "localhost", "127.0.0.1")
        self.rpc_pipes = rpc_pipes
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("KRB5")}
        self.conf = os.path.join(self.base, "smb.conf")
        with open(self.conf, "w") as f:
            f.write(SMB_CONF.format(base=self.base, port=self.port, log_level=log_level))
            f.write(self._option_lines(signing, encrypt, min_protocol, max_protocol,
                                       (GUEST_CONF if guest else ["map to guest = never"]) + list(extra)))
            if kdc:
                # smbd accepts a ticket for any principal in its keytab: one for each name a
                # client may use for 127.0.0.1 (Samba's own clients refuse Kerberos for an IP
                # address or "localhost"; a GSSAPI client need not)
                self.keytab = os.path.join(self.base, "private", "smbd.keytab")
                for name in self.spn_hosts:
                    kdc.add_service("cifs/" + name, self.keytab)
                self.env = kdc.env(base=self.env)
                f.write(KERBEROS_CONF.format(realm=kdc.realm, keytab=self.keytab))
        self.proc = None
        self.dcerpcd = None
        self._dcerpcd_stdin = None

    @staticmethod
    def _option_lines(signing, encrypt, min_protocol, max_protocol, extra):
        lines = []
        if signing:
            lines.append("server signing = " + signing)
        if encrypt:
            lines.append("server smb encrypt = " + encrypt)
        if min_protocol:
            lines.append("server min protocol = " + min_protocol)
        if max_protocol:
            lines.append("server max protocol = " + max_protocol)
        lines.extend(extra)
        return "".join("    %s\n" % line for line in lines)

    def add_user(self, name, password):
        """The Unix user NAME (created when missing) with PASSWORD in the private passdb: an
        NTLM login. A Kerberos login as NAME needs the same user here and NAME@REALM in the KDC."""
        uid = ensure_user(name)
        subprocess.run(["smbpasswd", "-c", self.conf, "-a", "-s", name], input=(password + "\n") * 2,
                       text=True, check=True, timeout=TIMEOUT, capture_output=True)
        return uid

    def start(self):
        """Starts smbd (and samba-dcerpcd with rpc_pipes); returns self once they serve. On
        failure nothing is left running (the caller never got the object to stop)."""
        try:
            self._start_smbd()
            if self.rpc_pipes:
                self.start_dcerpcd()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_smbd(self):
        log = open(os.path.join(self.base, "smbd.out"), "wb")
        self.proc = subprocess.Popen(["smbd", "--foreground", "--no-process-group", "--configfile=" + self.conf],
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True, env=self.env)
        log.close()
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("smbd exited with %s:\n%s" % (self.proc.returncode, self.log()))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                pass
            # smbd is starting: poll again (the connect itself is the wait)
            select_wait(0.02)
        else:
            raise RuntimeError("smbd did not listen on port %d:\n%s" % (self.port, self.log()))

    def start_dcerpcd(self):
        """smbd's own RPC pipes (srvsvc, wkssvc, lsarpc, samr, winreg, epmapper, ...), served on
        np/ by samba-dcerpcd with the private smb.conf. With `rpc start on demand helpers = no`
        smbd never starts it, and it refuses to run standalone unless that is the setting
        (source3/rpc_server/rpc_host.c). --libexec-rpcds: every rpcd_* helper it ships.
        Its lifetime is ours: run in the foreground with a pipe on stdin, it exits when the
        pipe closes (stop() closes it, then signals its group). Ready when it writes one zero
        byte to --ready-signal-fd, which it does once every helper's np/ sockets listen
        (rpc_host_report_readiness); end of file there means it died first."""
        ready_r, ready_w = os.pipe()
        stdin_r, self._dcerpcd_stdin = os.pipe()
        log = open(os.path.join(self.base, "samba-dcerpcd.out"), "wb")
        try:
            self.dcerpcd = subprocess.Popen(
                [DCERPCD, "--foreground", "--no-process-group", "--libexec-rpcds", "--debug-stdout",
                 "--ready-signal-fd=%d" % ready_w, "--configfile=" + self.conf],
                stdin=stdin_r, stdout=log, stderr=subprocess.STDOUT, pass_fds=(ready_w,),
                start_new_session=True, env=self.env)
        finally:
            log.close()
            os.close(stdin_r)
            os.close(ready_w)
        try:
            import select
            ready, _, _ = select.select([ready_r], [], [], TIMEOUT)
            if not ready or os.read(ready_r, 1) != b"\0":
                raise RuntimeError("samba-dcerpcd did not start:\n" + self.log("samba-dcerpcd.out"))
        finally:
            os.close(ready_r)

    def ntlm_env(self, user, password, domain="NPIPETEST", base=None):
        """BASE (default os.environ) for a GSSAPI client that logs in with NTLM through
        gss-ntlmssp: NTLM_USER_FILE names a file (mode 0600, under the temp dir) holding the one
        line DOMAIN:USER:PASSWORD, gss-ntlmssp's format (lines starting with '#' are comments;
        without a name, the first entry is used); KRB5_CONFIG is /dev/null, so no realm is
        reached; no other KRB5* or NTLM* variable is kept."""
        if ":" in domain + user or "\n" in domain + user + password:
            raise ValueError("gss-ntlmssp's file cannot carry that")
        self._ntlm_files = getattr(self, "_ntlm_files", 0) + 1
        path = os.path.join(self.base, "ntlm-user-%d" % self._ntlm_files)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("# gss-ntlmssp credentials (smbd_fixture.ntlm_env)\n%s:%s:%s\n" % (domain, user, password))
        env = {k: v for k, v in (os.environ if base is None else base).items()
               if not k.startswith(("KRB5", "NTLM"))}
        env["NTLM_USER_FILE"] = path
        env["KRB5_CONFIG"] = os.devnull
        return env

    def sessions(self):
        """smbd's sessions now, as `smbstatus --json` gives them: a list of dicts with "username",
        "session_dialect" (e.g. "SMB3_11"), "signing" and "encryption" ({"cipher", "degree"}),
        "server_id" {"pid"} (the smbd process serving the connection), "remote_machine", ..."""
        r = subprocess.run(["smbstatus", "--configfile=" + self.conf, "--processes", "--json"], capture_output=True,
                           text=True, timeout=TIMEOUT, env=self.env)
        if r.returncode != 0:
            raise RuntimeError("smbstatus failed: " + r.stderr)
        return list(json.loads(r.stdout).get("sessions", {}).values())

    def drop_sessions(self, username=None):
        """SIGKILLs the smbd processes serving the sessions of USERNAME (default: every session):
        their clients' connections drop mid-whatever; smbd itself keeps serving. Returns the pids."""
        pids = sorted({int(x["server_id"]["pid"]) for x in self.sessions()
                       if username is None or x["username"] == username})
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        return pids

    def log(self, *names):
        text = ""
        for name in names or ("smbd.out", "log.smbd", "samba-dcerpcd.out"):
            try:
                with open(os.path.join(self.base, name), errors="replace") as f:
                    text += f.read()[-4000:]
            except FileNotFoundError:
                pass
        return text

    def stop(self):
        if self._dcerpcd_stdin is not None:
            os.close(self._dcerpcd_stdin)
            self._dcerpcd_stdin = None
        for proc in (self.dcerpcd, self.proc):
            if proc:
                stop_group(proc)
        shutil.rmtree(self.base, ignore_errors=True)


def stop_group(proc):
    """Ends PROC and the children serving for it: the whole group it leads."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=TIMEOUT)
            break
        except subprocess.TimeoutExpired:
            continue
    if proc.returncode is None:
        proc.wait(timeout=TIMEOUT)


def select_wait(seconds):
    """A bounded pause between two polls of a condition (a wait on nothing, with a timeout)."""
    import select
    select.select([], [], [], seconds)
