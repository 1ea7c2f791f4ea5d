"""What the chaos run takes away and brings back: a PostgreSQL server of its own (so that
restarting it disturbs nobody else on the machine) and a TCP proxy in front of the S3
store (so that the store can vanish for a while without stopping a server others share).
Stdlib only; loopback only.
"""
import os
import pwd
import select
import shutil
import socket
import subprocess
import threading
import time


def _pg_bin(name):
    found = shutil.which(name)
    if found:
        return found
    root = "/usr/lib/postgresql"
    for version in sorted(os.listdir(root), key=lambda v: int(v) if v.isdigit() else 0, reverse=True):
        candidate = os.path.join(root, version, "bin", name)
        if os.path.exists(candidate):
            return candidate
    raise SystemExit(f"chaos: {name} not found (PostgreSQL's server binaries are needed)")


class PrivatePostgres:
    """A throw-away PostgreSQL cluster on a port of its own. As root, it runs as the
    `postgres` user (initdb refuses root)."""

    def __init__(self, directory, port):
        self.dir, self.port = directory, port
        self.data = os.path.join(directory, "data")
        self.log = os.path.join(directory, "postgres.log")
        self.as_user = []
        if os.geteuid() == 0:
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args):
        subprocess.run(self.as_user + list(args), check=True, capture_output=True)

    def init(self):
        os.makedirs(self.dir, exist_ok=True)
        if self.as_user:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self._run(_pg_bin("initdb"), "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8")
        with open(os.path.join(self.data, "postgresql.auto.conf"), "a") as conf:
            conf.write(f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                       f"unix_socket_directories = '{self.dir}'\nmax_connections = 100\n")
        self.start()

    def start(self):
        self._run(_pg_bin("pg_ctl"), "-D", self.data, "-l", self.log, "-w", "-t", "60", "start")

    def crash(self):
        """Stops at once, as a crash would: the next start runs crash recovery."""
        self._run(_pg_bin("pg_ctl"), "-D", self.data, "-m", "immediate", "-w", "stop")

    def stop(self):
        subprocess.run(self.as_user + [_pg_bin("pg_ctl"), "-D", self.data, "-m", "fast", "stop"],
                       capture_output=True)

    def destroy(self):
        subprocess.run(self.as_user + [_pg_bin("pg_ctl"), "-D", self.data, "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def url(self):
        return f"postgres://postgres@127.0.0.1:{self.port}"


class TcpProxy:
    """Forwards 127.0.0.1:port to a target. `cut()` closes the listener (new connections
    are refused) and breaks every open one; `restore()` listens again on the same port."""

    def __init__(self, port, target):
        self.port, self.target = port, target
        self.lock = threading.Lock()
        self.live = set()
        self.listener = None
        self.restore()

    def restore(self):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(256)
        with self.lock:
            self.listener = s
        threading.Thread(target=self._accept, args=(s,), daemon=True).start()

    def cut(self):
        with self.lock:
            listener, self.listener = self.listener, None
            live, self.live = self.live, set()
        if listener:
            try:
                listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            listener.close()
        for conn in live:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()
                continue
            with self.lock:
                if self.listener is not listener:
                    client.close()
                    server.close()
                    return
                self.live.update((client, server))
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _pump(self, a, b):
        pair = {a: b, b: a}
        try:
            while True:
                ready, _, _ = select.select([a, b], [], [], 60)
                if not ready:
                    continue
                for s in ready:
                    data = s.recv(256 * 1024)
                    if not data:
                        return
                    pair[s].sendall(data)
        except OSError:
            pass
        finally:
            with self.lock:
                self.live.discard(a)
                self.live.discard(b)
            for s in (a, b):
                try:
                    s.close()
                except OSError:
                    pass


def wait_until(predicate, timeout, step=0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False
