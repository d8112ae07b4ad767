"""A local OpenAI-compatible chat server for tests: http.server on 127.0.0.1 in a thread.

``answers`` are served in order (the last one repeats); each request body is kept in ``requests``.
``respond(body) -> answer text``, when given, answers instead (for requests that arrive in any order).
``delay`` seconds are slept before answering (to test timeouts); ``max_in_flight`` is the most requests
the server was answering at the same time. ``refuse_format``: answer HTTP 400 to a request that asks for
a ``response_format`` (as servers without structured output do).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeLLM:
    def __init__(
        self,
        answers: list[str] = (),
        delay: float = 0.0,
        status: int = 200,
        respond: Callable[[dict], str] | None = None,
        refuse_format: bool = False,
    ):
        self.refuse_format = refuse_format
        self.answers = list(answers)
        self.respond = respond
        self.in_flight = self.max_in_flight = 0
        lock = threading.Lock()
        self.delay = delay
        self.status = status
        self.requests: list[dict] = []
        self.paths: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with lock:
                    owner.paths.append(self.path)
                    owner.requests.append(body)
                    owner.in_flight += 1
                    owner.max_in_flight = max(owner.max_in_flight, owner.in_flight)
                try:
                    self._answer(body)
                finally:
                    with lock:
                        owner.in_flight -= 1

            def _answer(self, body: dict) -> None:
                if owner.delay:
                    time.sleep(owner.delay)
                if self.path != "/v1/chat/completions":
                    return self._send(404, {"error": {"message": f"no route {self.path}"}})
                if owner.refuse_format and "response_format" in body:
                    return self._send(400, {"error": {"message": "response_format is not supported"}})
                if owner.status != 200:
                    return self._send(owner.status, {"error": {"message": "refused by the test server"}})
                if owner.respond is not None:
                    content = owner.respond(body)
                else:
                    content = owner.answers[min(len(owner.requests) - 1, len(owner.answers) - 1)]
                return self._send(
                    200,
                    {
                        "id": f"chatcmpl-{len(owner.requests)}",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body.get("model", "test"),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": content},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    },
                )

            def _send(self, code: int, data: dict) -> None:
                raw = json.dumps(data).encode()
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeLLM:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    """A port with nothing listening (bound then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answer(frames: list[list[str]]) -> str:
    return json.dumps({"frames": [{"frame": i + 1, "objects": p} for i, p in enumerate(frames)]})
