"""Local emulator of the OpenAI chat-completions wire format (JSON mode), for tests.

Answers are scripted: a `responder(request_json) -> str` decides the assistant text, so tests
control content while the real SDK, HTTP and gateway code run unmodified.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Responder = Callable[[dict[str, Any]], str]


@dataclass
class LLMEmulator:
    """Running server state: base URL, received requests, and the scripted responder."""

    base_url: str
    responder: Responder
    requests: list[dict[str, Any]] = field(default_factory=list)
    api_key: str = "sk-test"


def _handler(state: LLMEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            payload = json.loads(self.rfile.read(length) or b"{}")
            if self.headers.get("authorization") != f"Bearer {state.api_key}":
                self._send(
                    401,
                    {
                        "error": {
                            "message": "Incorrect API key",
                            "type": "invalid_request_error",
                            "code": "invalid_api_key",
                        }
                    },
                )
                return
            if not self.path.endswith("/chat/completions"):
                self._send(
                    404, {"error": {"message": "not found", "type": "invalid_request_error"}}
                )
                return
            state.requests.append(payload)
            text = state.responder(payload)
            prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in payload["messages"])
            self._send(
                200,
                {
                    "id": f"chatcmpl-{len(state.requests)}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": payload.get("model", "gpt-4o"),
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {
                        "prompt_tokens": prompt_tokens,
                        "completion_tokens": len(text.split()),
                        "total_tokens": prompt_tokens + len(text.split()),
                    },
                },
            )

    return Handler


@contextmanager
def serve_llm(responder: Responder, host: str = "127.0.0.1") -> Iterator[LLMEmulator]:
    """Run the emulator on an ephemeral port for the duration of the block."""
    state = LLMEmulator(base_url="", responder=responder)
    server = ThreadingHTTPServer((host, 0), _handler(state))
    state.base_url = f"http://{host}:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
