"""A real HTTP proxy for tests: Debian's ``tinyproxy`` on 127.0.0.1, in the foreground, with its own config.

One :class:`Tinyproxy` is one process with its own folder (config, log, output). The log is what proves a
call went through the proxy. At ``LogLevel Info`` tinyproxy 1.11 writes, per client connection::

    CONNECT   Nov 30 05:34:02.851 [2321]: Connect (file descriptor 5): 127.0.0.1
    CONNECT   Nov 30 05:34:02.863 [2321]: Request (file descriptor 5): POST http://127.0.0.1:33735/hadoop-eco/v1/cluster/x HTTP/1.1
    INFO      Nov 30 05:34:02.871 [2321]: opensock: opening connection to 127.0.0.1:33735
    CONNECT   Nov 30 05:34:02.904 [2321]: Established connection to host "127.0.0.1" using file descriptor 6.

and for HTTPS (a tunnel, inside which it sees nothing)::

    CONNECT   ... Request (file descriptor 5): CONNECT 127.0.0.1:44283 HTTP/1.0
    INFO      ... opensock: opening connection to 127.0.0.1:44283

The ``Request`` line is written before BasicAuth is checked; ``opensock`` only once the request is allowed
(authenticated, and for CONNECT to a ``ConnectPort``). Headers are never logged.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

VIA_NAME = "hadoop-eco-test-proxy"
_REQUEST = re.compile(r"Request \(file descriptor \d+\): (\S+) (\S+) HTTP/")
_OPEN = re.compile(r"opensock: opening connection to (\S+):(\d+)")


def find_tinyproxy() -> str | None:
    """The tinyproxy binary, or None."""
    found = shutil.which("tinyproxy")
    if found:
        return found
    for path in ("/usr/bin/tinyproxy", "/usr/sbin/tinyproxy"):
        if os.access(path, os.X_OK):
            return path
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class LoggedRequest:
    """One ``Request`` line of the log: the method and the target (a full URL, or host:port for CONNECT)."""

    method: str
    target: str


class Tinyproxy:
    """A tinyproxy process on 127.0.0.1 (a free port), foreground, logging to ``folder/tinyproxy.log``.

    :param binary: the tinyproxy executable.
    :param folder: a private folder for its config, log and output.
    :param connect_ports: the only ports CONNECT may reach (tinyproxy's ``ConnectPort``).
    :param basic_auth: ``(user, password)`` the proxy requires (``BasicAuth``), or None.
    """

    def __init__(
        self,
        binary: str,
        folder: Path,
        connect_ports: tuple[int, ...] = (),
        basic_auth: tuple[str, str] | None = None,
    ) -> None:
        self.binary = binary
        self.folder = folder
        self.connect_ports = connect_ports
        self.basic_auth = basic_auth
        self.port = free_port()
        self.config_path = folder / "tinyproxy.conf"
        self.log_path = folder / "tinyproxy.log"
        self.output_path = folder / "tinyproxy.out"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``: the proxy URL without credentials."""
        return f"http://127.0.0.1:{self.port}"

    def url_with(self, user: str, password: str) -> str:
        """The proxy URL with credentials: ``http://user:password@127.0.0.1:<port>``."""
        return f"http://{user}:{password}@127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def _config(self) -> str:
        lines = [
            "Listen 127.0.0.1",
            f"Port {self.port}",
            "Allow 127.0.0.1",
            "Timeout 30",
            "MaxClients 64",
            f'LogFile "{self.log_path}"',
            "LogLevel Info",
            "Syslog Off",
            f'ViaProxyName "{VIA_NAME}"',
        ]
        lines += [f"ConnectPort {port}" for port in self.connect_ports]
        if not self.connect_ports:
            lines.append("ConnectPort 0")  # no CONNECT at all
        if self.basic_auth is not None:
            lines.append(f"BasicAuth {self.basic_auth[0]} {self.basic_auth[1]}")
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 10.0) -> Tinyproxy:
        """Start it and return once it accepts connections."""
        self.config_path.write_text(self._config())
        with open(self.output_path, "wb") as out:
            self.process = subprocess.Popen(
                [self.binary, "-d", "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.folder,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"tinyproxy exited with {self.process.returncode}: {self.diagnostics()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
            except OSError:
                time.sleep(0.02)
                continue
            return self
        self.stop()
        raise RuntimeError(f"tinyproxy did not listen on port {self.port} in time: {self.diagnostics()}")

    def stop(self) -> None:
        """Stop the process by its PID (SIGTERM, then SIGKILL); its port is closed afterwards. Idempotent."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(5)

    def diagnostics(self) -> str:
        parts = []
        for path in (self.output_path, self.log_path):
            if path.exists():
                parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)

    # --- the log ---------------------------------------------------------------------------------------

    def log(self) -> str:
        """The whole log so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def mark(self) -> int:
        """A position in the log; pass it as ``since`` to look only at what came after."""
        return len(self.log())

    def requests(self, since: int = 0) -> list[LoggedRequest]:
        """Every ``Request`` line (allowed or not), oldest first."""
        return [LoggedRequest(m, t) for m, t in _REQUEST.findall(self.log()[since:])]

    def connects(self, port: int, since: int = 0) -> int:
        """How many CONNECT requests asked for a tunnel to 127.0.0.1:``port``."""
        target = f"127.0.0.1:{port}"
        return sum(1 for r in self.requests(since) if r.method == "CONNECT" and r.target == target)

    def forwarded(self, port: int, since: int = 0) -> list[LoggedRequest]:
        """The plain-http requests (full URL) for 127.0.0.1:``port``."""
        return [
            r
            for r in self.requests(since)
            if r.method != "CONNECT" and urlsplit(r.target).netloc == f"127.0.0.1:{port}"
        ]

    def upstream_connections(self, port: int, since: int = 0) -> int:
        """How many connections the proxy opened to 127.0.0.1:``port`` (allowed requests and tunnels)."""
        return sum(1 for h, p in _OPEN.findall(self.log()[since:]) if h == "127.0.0.1" and int(p) == port)
