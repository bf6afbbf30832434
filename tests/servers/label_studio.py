"""A real Label Studio server for integration tests, started and stopped by the tests.

The server runs from its own virtual environment (its pinned Django stack never
touches the project's): ``LABELMEND_TEST_LABEL_STUDIO_BIN`` names its ``label-studio``
executable. A first start migrates a fresh database (80-130 s); the migrated data
directory is then kept as a template (``LABELMEND_TEST_LABEL_STUDIO_TEMPLATE``, default
under ~/.cache) and copied for later starts (~10 s). ``.ci/run`` warms it up while the
project's own environment installs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

BIN_VARIABLE = "LABELMEND_TEST_LABEL_STUDIO_BIN"
TEMPLATE_VARIABLE = "LABELMEND_TEST_LABEL_STUDIO_TEMPLATE"
USERNAME = "expert@labelmend.test"
PASSWORD = "labelmend-test-password"
TOKEN = "5c0ffee5c0ffee5c0ffee5c0ffee5c0ffee5c0ff"
START_TIMEOUT = 400


def default_template() -> Path:
    return Path(
        os.environ.get(TEMPLATE_VARIABLE, Path.home() / ".cache/labelmend/label-studio-template")
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _environment(data_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("HOST", "PORT", "DEBUG", "USERNAME", "PASSWORD")
    }
    env.update(
        LABEL_STUDIO_BASE_DATA_DIR=str(data_dir),
        LABEL_STUDIO_USERNAME=USERNAME,
        LABEL_STUDIO_PASSWORD=PASSWORD,
        LABEL_STUDIO_USER_TOKEN=TOKEN,
        LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN="true",
        SENTRY_DSN="",
        FRONTEND_SENTRY_DSN="",
        COLLECT_ANALYTICS="false",
        LATEST_VERSION_CHECK="false",
    )
    return env


@dataclass
class LabelStudioServer:
    """One Label Studio process on 127.0.0.1; ``stop`` and ``start`` keep its data."""

    executable: str
    data_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token(self) -> str:
        return TOKEN

    def start(self, timeout: float = START_TIMEOUT) -> None:
        log = open(self.data_dir / "server.log", "ab")  # noqa: SIM115 - kept open for the process
        self.process = subprocess.Popen(
            [
                self.executable,
                "start",
                "--no-browser",
                "--internal-host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            env=_environment(self.data_dir),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Label Studio exited early; see {self.data_dir / 'server.log'}")
            try:
                answer = httpx.get(
                    f"{self.url}/api/current-user/whoami",
                    headers={"Authorization": f"Token {TOKEN}"},
                    timeout=5,
                )
                if answer.status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(1)
        self.stop()
        raise RuntimeError(f"Label Studio did not answer within {timeout} s")

    def stop(self) -> None:
        """Kill the server's whole process group by its process id, unless the server has
        already exited and been reaped (``start`` polls it): its id, which is also its group
        id, may then belong to another process (pids wrap every few minutes here)."""
        if self.process is None:
            return
        if self.process.returncode is None:  # not reaped: the id is still the server's
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = None


def start_server(executable: str) -> LabelStudioServer:
    """Start a server on a fresh copy of the template data dir (making the template if needed)."""
    base = Path("/dev/shm") if Path("/dev/shm").is_dir() else None
    data_dir = Path(tempfile.mkdtemp(prefix="labelmend-ls-", dir=base))
    template = default_template()
    if (template / "label_studio.sqlite3").exists():
        shutil.copytree(template, data_dir, dirs_exist_ok=True)
    server = LabelStudioServer(executable, data_dir)
    server.start()
    if not (template / "label_studio.sqlite3").exists():
        server.stop()
        template.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(
            data_dir, template, dirs_exist_ok=True, ignore=shutil.ignore_patterns("server.log")
        )
        server.start()
    return server


def main() -> None:
    """``python -m tests.servers.label_studio``: build the migrated template, then stop."""
    executable = os.environ[BIN_VARIABLE]
    server = start_server(executable)
    server.stop()
    shutil.rmtree(server.data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
