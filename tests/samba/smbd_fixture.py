"""A private smbd for tests: Debian's samba on 127.0.0.1 and a free high port, with its own
smb.conf and every directory (private, state, cache, lock, pid, ncalrpc) under one temp dir.

Nothing system-wide is started or changed except the Unix users the tests add (useradd, as
root): the password database is the private one (`passdb backend = tdbsam:` under the temp
dir), `rpc start on demand helpers = no` keeps smbd from starting samba-dcerpcd, and smbd runs
in the foreground as the caller's child, in a session of its own: smbd ends by signalling its
whole process group, which must not be the test's (`--no-process-group` then keeps it from
making one more).
Readiness is a TCP connect to the port, polled with a deadline, never a sleep.
"""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

TIMEOUT = 20  # seconds for smbd to listen, or for any helper command

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
    server min protocol = SMB2_02
    map to guest = never
    restrict anonymous = 2
"""


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_user(name):
    """The Unix user NAME (created with useradd when missing); returns its uid."""
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                       check=True, timeout=TIMEOUT, capture_output=True)
        return pwd.getpwnam(name).pw_uid


class PrivateSmbd:
    """Start with start(), stop with stop(). `ncalrpc_dir` is where smbd looks for np/NAME."""

    def __init__(self, log_level=1):
        self.base = tempfile.mkdtemp(prefix="npipe-smbd-")
        os.chmod(self.base, 0o755)
        for d in ("private", "state", "cache", "lock", "pid", "ncalrpc"):
            os.mkdir(os.path.join(self.base, d), 0o755)
        os.chmod(os.path.join(self.base, "private"), 0o700)
        self.ncalrpc_dir = os.path.join(self.base, "ncalrpc")
        self.port = free_port()
        self.conf = os.path.join(self.base, "smb.conf")
        with open(self.conf, "w") as f:
            f.write(SMB_CONF.format(base=self.base, port=self.port, log_level=log_level))
        self.proc = None

    def add_user(self, name, password):
        uid = ensure_user(name)
        subprocess.run(["smbpasswd", "-c", self.conf, "-a", "-s", name], input=(password + "\n") * 2,
                       text=True, check=True, timeout=TIMEOUT, capture_output=True)
        return uid

    def start(self):
        log = open(os.path.join(self.base, "smbd.out"), "wb")
        self.proc = subprocess.Popen(["smbd", "--foreground", "--no-process-group", "--configfile=" + self.conf],
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        log.close()
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("smbd exited with %s:\n%s" % (self.proc.returncode, self.log()))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                pass
            # smbd is starting: poll again (the connect itself is the wait)
            select_wait(0.02)
        raise RuntimeError("smbd did not listen on port %d:\n%s" % (self.port, self.log()))

    def log(self):
        text = ""
        for name in ("smbd.out", "log.smbd"):
            try:
                with open(os.path.join(self.base, name), errors="replace") as f:
                    text += f.read()[-4000:]
            except FileNotFoundError:
                pass
        return text

    def stop(self):
        if self.proc:
            # smbd and the children serving sessions: the whole group it leads
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(self.proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.proc.wait(timeout=TIMEOUT)
                    break
                except subprocess.TimeoutExpired:
                    continue
        shutil.rmtree(self.base, ignore_errors=True)


def select_wait(seconds):
    """A bounded pause between two polls of a condition (a wait on nothing, with a timeout)."""
    import select
    select.select([], [], [], seconds)
