"""A reverse proxy in front of a real server that loses some answers, as a gateway does.

The failure a real Label Studio cannot produce on its own: a request the server carries
out whose answer never reaches the client (nginx's 502 or 504 after the upstream timed
out or its worker died mid-response). :class:`LossyProxy` forwards every request to the
real server and, for the first ``lose`` requests that ``matches`` picks, replaces the
server's answer with a 502.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass
class LossyProxy:
    """Forwards to ``upstream``; answers 502 after forwarding the first ``lose`` requests
    whose ``METHOD path`` matches ``matches`` (a regular expression). ``requests`` lists
    every request forwarded (``METHOD path``), to count what a client asked."""

    upstream: str
    matches: str
    lose: int = 1
    lost: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    url: str = ""

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
                answer = httpx.request(
                    self.command, proxy.upstream + self.path, headers=headers, content=body,
                    timeout=120,
                )  # fmt: skip
                request = f"{self.command} {self.path}"
                proxy.requests.append(request)
                if re.search(proxy.matches, request) and len(proxy.lost) < proxy.lose:
                    proxy.lost.append(request)
                    self._reply(502, b"Bad Gateway", {"Content-Type": "text/plain"})
                    return
                kept = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_HEADERS}
                kept.pop("content-encoding", None)  # httpx has decoded the body
                self._reply(answer.status_code, answer.content, kept)

            def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _forward

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    @contextmanager
    def running(self) -> Iterator[LossyProxy]:
        """Serve on a free port of 127.0.0.1 (``url``) until the block ends."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
            thread.join()
