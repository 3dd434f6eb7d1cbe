"""Local emulator of the OpenAI chat-completions and Anthropic messages wire formats, for tests.

Answers are scripted: a `responder(request_json) -> str` decides the assistant text, so tests
control content while the real SDKs, HTTP and gateway code run unmodified. Both formats stream
over SSE (chunked transfer encoding). Faults are injected per call with `emulator.inject(...)`:
429 with Retry-After, 5xx, hang, a stream cut mid-answer, a malformed body, a malformed JSON
answer, a slow first token, a context-length rejection and an error event inside a 200 stream.

`serve_llm(responder)` yields the emulator: `.base_url` is the OpenAI base (`.../v1`),
`.anthropic_base_url` the Anthropic one, `.requests` the payloads received, `.api_key` the key.
"""

from __future__ import annotations

import json
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Responder = Callable[[dict[str, Any]], str]
Wire = Literal["openai", "anthropic"]
FaultKind = Literal[
    "rate_limit",  # 429, with Retry-After when retry_after is set
    "server_error",  # `status` (500 by default)
    "hang",  # accept the request and never answer (until `delay_s` or shutdown)
    "cut",  # stream: send `after_chunks` chunks then drop the connection; else half a body
    "bad_body",  # 200 whose body is not JSON
    "malformed_json",  # a well-formed response whose assistant text is broken JSON
    "slow_first_token",  # wait `delay_s` before the first byte of the answer
    "context_length",  # 400: the prompt is longer than the model's context
    # stream: `after_chunks` chunks, then an in-band SSE error event on the 200 stream
    # (Anthropic's `overloaded_error`, or `error_type`); else like server_error
    "stream_error",
]


@dataclass
class Fault:
    """One scripted failure, used by the next matching request (FIFO)."""

    kind: FaultKind
    retry_after: float | None = None
    retry_after_ms: int | None = None
    status: int = 500
    delay_s: float = 30.0
    after_chunks: int = 2
    error_type: str = "overloaded_error"  # stream_error: the Anthropic error type sent
    model: str | None = None  # only requests for this model
    wire: Wire | None = None  # only requests in this format


@dataclass
class Call:
    """What the emulator saw: the wire format, the payload, and the fault it applied."""

    wire: Wire
    payload: dict[str, Any]
    fault: FaultKind | None


@dataclass
class LLMEmulator:
    """Running server state: base URLs, received requests, the scripted responder and faults."""

    base_url: str
    responder: Responder
    requests: list[dict[str, Any]] = field(default_factory=list)
    api_key: str = "sk-test"
    anthropic_base_url: str = ""
    calls: list[Call] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    omit_usage: bool = False  # like OpenAI-compatible servers that send no token counts
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def inject(self, *faults: Fault) -> None:
        """Queue faults; each is used once by the next request it matches."""
        with self.lock:
            self.faults.extend(faults)

    def take_fault(self, wire: Wire, model: str) -> Fault | None:
        """The first queued fault matching this request, removed from the queue."""
        with self.lock:
            for i, fault in enumerate(self.faults):
                if fault.model not in (None, model) or fault.wire not in (None, wire):
                    continue
                return self.faults.pop(i)
        return None

    def count(self, wire: Wire | None = None, model: str | None = None) -> int:
        """How many requests reached the server (optionally of one format or model)."""
        return sum(
            1
            for c in self.calls
            if wire in (None, c.wire) and model in (None, c.payload.get("model"))
        )


def _words(text: str) -> int:
    return len(text.split())


def _pieces(text: str) -> list[str]:
    """Stream the answer word by word (keeping whitespace), like token deltas."""
    return re.findall(r"\s*\S+\s*", text) or [text]


def _openai_prompt_tokens(payload: dict[str, Any]) -> int:
    return sum(_words(str(m.get("content", ""))) for m in payload.get("messages", []))


def _anthropic_prompt_tokens(payload: dict[str, Any]) -> int:
    system = payload.get("system", "")
    if isinstance(system, list):
        system = " ".join(str(b.get("text", "")) for b in system)
    total = _words(str(system))
    for message in payload.get("messages", []):
        content = message.get("content", "")
        if isinstance(content, list):
            content = " ".join(str(b.get("text", "")) for b in content)
        total += _words(str(content))
    return total


def _error_body(wire: Wire, kind: str, message: str, code: str | None = None) -> dict[str, Any]:
    if wire == "anthropic":
        return {"type": "error", "error": {"type": kind, "message": message}}
    return {"error": {"message": message, "type": kind, "code": code, "param": None}}


def _handler(state: LLMEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like real APIs
        disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls on keep-alive

        def log_message(self, *args: Any) -> None:
            pass

        # Plain responses ---------------------------------------------------------------
        def _send(
            self, code: int, body: dict[str, Any], headers: dict[str, str] | None = None
        ) -> None:
            self._send_raw(code, json.dumps(body).encode(), headers)

        def _send_raw(
            self, code: int, data: bytes, headers: dict[str, str] | None = None
        ) -> None:
            self.send_response(code)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def _drop(self) -> None:
            """Close the socket without a proper end: the client sees a broken response."""
            self.close_connection = True
            try:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        # SSE over chunked encoding ------------------------------------------------------
        def _start_sse(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("transfer-encoding", "chunked")
            self.send_header("cache-control", "no-cache")
            self.end_headers()

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def _event(self, data: Any, event: str | None = None) -> None:
            text = data if isinstance(data, str) else json.dumps(data)
            head = f"event: {event}\n" if event else ""
            self._chunk(f"{head}data: {text}\n\n".encode())

        def _end_sse(self) -> None:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

        # Request handling ---------------------------------------------------------------
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            payload = json.loads(self.rfile.read(length) or b"{}")
            if self.path.endswith("/chat/completions"):
                wire: Wire = "openai"
                authorized = self.headers.get("authorization") == f"Bearer {state.api_key}"
            elif self.path.endswith("/v1/messages"):
                wire = "anthropic"
                # SDK 2.x sends the key as a bearer token; older clients use x-api-key.
                authorized = state.api_key in (
                    self.headers.get("x-api-key"),
                    self.headers.get("authorization", "").removeprefix("Bearer "),
                )
            else:
                self._send(404, _error_body("openai", "invalid_request_error", "not found"))
                return
            if not authorized:
                kind = "authentication_error" if wire == "anthropic" else "invalid_request_error"
                self._send(401, _error_body(wire, kind, "Incorrect API key", "invalid_api_key"))
                return
            model = str(payload.get("model", ""))
            fault = state.take_fault(wire, model)
            with state.lock:
                state.requests.append(payload)
                state.calls.append(Call(wire, payload, fault.kind if fault else None))
            if fault is not None and self._apply_error_fault(
                wire, fault, bool(payload.get("stream"))
            ):
                return
            if fault is not None and fault.kind == "malformed_json":
                text = '{"results": [{"key": "1", "vertical": '
            else:
                text = state.responder(payload)
            if fault is not None and fault.kind == "slow_first_token":
                state.stop.wait(fault.delay_s)
            cut = fault.after_chunks if fault is not None and fault.kind == "cut" else None
            if payload.get("stream"):
                error = fault if fault is not None and fault.kind == "stream_error" else None
                if wire == "openai":
                    self._openai_stream(payload, text, cut, error)
                else:
                    self._anthropic_stream(payload, text, cut, error)
                return
            body = (
                self._openai_body(payload, text)
                if wire == "openai"
                else self._anthropic_body(payload, text)
            )
            if cut is not None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self._drop()
                return
            self._send(200, body)

        def _apply_error_fault(self, wire: Wire, fault: Fault, stream: bool) -> bool:
            """Answer with the fault if it is an error; False when the answer proceeds."""
            if fault.kind == "rate_limit":
                headers: dict[str, str] = {}
                if fault.retry_after is not None:
                    headers["retry-after"] = f"{fault.retry_after:g}"
                if fault.retry_after_ms is not None:
                    headers["retry-after-ms"] = str(fault.retry_after_ms)
                kind = "rate_limit_error" if wire == "anthropic" else "requests"
                self._send(
                    429, _error_body(wire, kind, "Rate limit reached", "rate_limit_exceeded"),
                    headers,
                )
                return True
            if fault.kind == "stream_error" and not stream:
                kind = "overloaded_error" if wire == "anthropic" else "server_error"
                self._send(529 if wire == "anthropic" else 503,
                           _error_body(wire, kind, "Overloaded"))
                return True
            if fault.kind == "server_error":
                kind = "api_error" if wire == "anthropic" else "server_error"
                self._send(fault.status, _error_body(wire, kind, "The server had an error"))
                return True
            if fault.kind == "context_length":
                message = (
                    "prompt is too long: 210000 tokens > 200000 maximum"
                    if wire == "anthropic"
                    else "This model's maximum context length is 128000 tokens."
                )
                self._send(
                    400,
                    _error_body(wire, "invalid_request_error", message, "context_length_exceeded"),
                )
                return True
            if fault.kind == "hang":
                state.stop.wait(fault.delay_s)
                self._drop()
                return True
            if fault.kind == "bad_body":
                self._send_raw(200, b'{"id": "chatcmpl-x", "choices": [')
                return True
            return False

        # OpenAI ------------------------------------------------------------------------
        def _openai_body(self, payload: dict[str, Any], text: str) -> dict[str, Any]:
            prompt = _openai_prompt_tokens(payload)
            body = {
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
                    "prompt_tokens": prompt,
                    "completion_tokens": _words(text),
                    "total_tokens": prompt + _words(text),
                },
            }
            if state.omit_usage:
                del body["usage"]
            return body

        def _openai_stream(
            self, payload: dict[str, Any], text: str, cut: int | None, error: Fault | None
        ) -> None:
            base = {
                "id": f"chatcmpl-{len(state.requests)}",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": payload.get("model", "gpt-4o"),
            }
            self._start_sse()
            first = {"index": 0, "delta": {"role": "assistant", "content": ""}}
            self._event({**base, "choices": [{**first, "finish_reason": None}]})
            for i, piece in enumerate(_pieces(text)):
                if cut is not None and i >= cut:
                    self._drop()
                    return
                if error is not None and i >= error.after_chunks:
                    body = _error_body("openai", "server_error", "The server is overloaded")
                    self._event(body)
                    self._end_sse()
                    return
                delta = {"index": 0, "delta": {"content": piece}, "finish_reason": None}
                self._event({**base, "choices": [delta]})
            done = {"index": 0, "delta": {}, "finish_reason": "stop"}
            self._event({**base, "choices": [done]})
            if (payload.get("stream_options") or {}).get("include_usage") and not state.omit_usage:
                prompt = _openai_prompt_tokens(payload)
                usage = {
                    "prompt_tokens": prompt,
                    "completion_tokens": _words(text),
                    "total_tokens": prompt + _words(text),
                }
                self._event({**base, "choices": [], "usage": usage})
            self._event("[DONE]")
            self._end_sse()

        # Anthropic ---------------------------------------------------------------------
        def _anthropic_body(self, payload: dict[str, Any], text: str) -> dict[str, Any]:
            return {
                "id": f"msg_{len(state.requests)}",
                "type": "message",
                "role": "assistant",
                "model": payload.get("model", "claude"),
                "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {
                    "input_tokens": _anthropic_prompt_tokens(payload),
                    "output_tokens": _words(text),
                },
            }

        def _anthropic_stream(
            self, payload: dict[str, Any], text: str, cut: int | None, error: Fault | None
        ) -> None:
            message = self._anthropic_body(payload, "")
            message["content"] = []
            message["stop_reason"] = None
            message["usage"]["output_tokens"] = 1
            self._start_sse()
            self._event({"type": "message_start", "message": message}, "message_start")
            block = {"type": "content_block_start", "index": 0,
                     "content_block": {"type": "text", "text": ""}}
            self._event(block, "content_block_start")
            self._event({"type": "ping"}, "ping")
            for i, piece in enumerate(_pieces(text)):
                if cut is not None and i >= cut:
                    self._drop()
                    return
                if error is not None and i >= error.after_chunks:
                    # The API reports overloads (and rate limits) inside a 200 stream.
                    self._event(_error_body("anthropic", error.error_type, "Overloaded"), "error")
                    self._end_sse()
                    return
                delta = {"type": "content_block_delta", "index": 0,
                         "delta": {"type": "text_delta", "text": piece}}
                self._event(delta, "content_block_delta")
            self._event({"type": "content_block_stop", "index": 0}, "content_block_stop")
            end = {"type": "message_delta",
                   "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                   "usage": {"output_tokens": _words(text)}}
            self._event(end, "message_delta")
            self._event({"type": "message_stop"}, "message_stop")
            self._end_sse()

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # many concurrent callers connect at once in load tests

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hang up on purpose here (timeouts, cut streams): not worth a traceback.
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


@contextmanager
def serve_llm(responder: Responder, host: str = "127.0.0.1") -> Iterator[LLMEmulator]:
    """Run the emulator on an ephemeral port for the duration of the block."""
    state = LLMEmulator(base_url="", responder=responder)
    server = _Server((host, 0), _handler(state))
    root = f"http://{host}:{server.server_address[1]}"
    state.base_url = f"{root}/v1"
    state.anthropic_base_url = root
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.stop.set()  # release hanging handlers
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
