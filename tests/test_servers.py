"""The test servers' helpers signal only processes they still own."""

from __future__ import annotations

import signal
import subprocess
import sys

from tests.servers import label_studio
from tests.servers.label_studio import LabelStudioServer


def server_running(tmp_path, code: str) -> LabelStudioServer:
    """A LabelStudioServer whose process is ``python -c code`` in a session of its own."""
    process = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    return LabelStudioServer("label-studio", tmp_path, port=1, process=process)


def test_stop_kills_the_running_server_group(tmp_path):
    server = server_running(tmp_path, "import time; time.sleep(120)")
    process = server.process
    server.stop()
    assert process.returncode == -signal.SIGKILL
    assert server.process is None


def test_stop_never_signals_a_server_already_reaped(tmp_path, monkeypatch):
    server = server_running(tmp_path, "pass")
    server.process.wait()  # reaped, as start() does when the server exits early
    signalled = []
    monkeypatch.setattr(label_studio.os, "killpg", lambda *args: signalled.append(args))
    server.stop()
    assert signalled == []  # its pid may be another process's by now
    assert server.process is None
