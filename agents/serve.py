"""Serve any agent as an OpenAI-compatible endpoint (``palaestra serve``).

.. code-block:: console

    $ palaestra serve hf:smollm2-135m?temperature=0.7 --port 8000
    $ palaestra play negotiation-v0 openai:smollm2-135m@http://127.0.0.1:8000/v1 random

Routes: ``GET /v1/models``, ``POST /v1/chat/completions`` and the legacy
``POST /v1/completions``, each with ``stream=true`` too (server-sent events as the OpenAI API
sends them, ending with ``data: [DONE]``; with ``stream_options.include_usage`` a last chunk
carries the token usage). Requests that arrive together are answered by one batched
:meth:`act` call: a collector waits up to ``batch_wait`` seconds for more requests (at most
``max_batch``) before calling the agent, so a client that sends a batch concurrently gets
batched generation on the server.

A streamed reply is generated whole and then sent as chunks: :meth:`act` returns finished
actions, and one call serves several requests at once, so there is no per-request token
callback to stream from.

The request's messages become an observation (system messages are the preamble); a
completions prompt becomes the observation's text. A client that sends the whole observation
in the ``palaestra_observation`` field (the ``openai:`` agent's ``send_observation=True``) gets
it passed through as is, so scripted agents see the game facts. The served agent's own
settings (its spec's query) decide sampling, so ``temperature`` and ``top_p`` are checked but
not applied; ``max_tokens`` sets the agent's ``max_new_tokens`` for that request when the agent
has one (hf agents), and ``stop`` strings cut the reply. Bad requests are answered with an
OpenAI-shaped error body (``{"error": {"message", "type", "param", "code"}}``) and the status
the OpenAI API uses: 400 for a malformed request, 401 for a wrong key, 404 for an unknown model
or route, 413 for a body over ``max_body_bytes``, 500 when the agent fails. The server listens
on loopback unless told otherwise.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from palaestra.agents.chat import CHAT_GAME, messages_observation, observation_from_dict
from palaestra.agents.openai import OBSERVATION_FIELD
from palaestra.envs.protocol import Action, Agent, Observation

__all__ = ["DEFAULT_MAX_BODY_BYTES", "AgentServer", "RequestError", "make_server"]

#: Largest request body accepted (bytes); a game's whole observation is a few KiB.
DEFAULT_MAX_BODY_BYTES = 4 * 2**20
#: The OpenAI API takes at most this many stop strings.
MAX_STOP_STRINGS = 4
#: An over-long body is read and dropped up to this size (so that the client reads the 413
#: rather than a reset connection); beyond it the connection is closed unread.
_DRAIN_LIMIT = 64 * 2**20


class RequestError(ValueError):
    """A request the server refuses; rendered as an OpenAI-style error body.

    Attributes:
        status: HTTP status code.
        kind: The error ``type`` (``invalid_request_error``, ``server_error``...).
        param: The request field at fault, if any.
        code: A machine-readable code (``model_not_found``...), if any.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        kind: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.param = param
        self.code = code

    def body(self) -> dict[str, Any]:
        """The JSON error body."""
        error = {"message": str(self), "type": self.kind, "param": self.param, "code": self.code}
        return {"error": error}


@dataclass
class _Pending:
    obs: Observation
    max_tokens: int | None = None
    done: threading.Event = field(default_factory=threading.Event)
    action: Action | None = None


class _Batcher:
    """Collects concurrent requests and answers them with one ``act`` call per batch.

    Requests asking for different ``max_tokens`` go to separate ``act`` calls (the cap is a
    setting of the agent, set around the call; only this thread calls the agent).
    """

    def __init__(self, agent: Agent, max_batch: int, batch_wait: float) -> None:
        self.agent = agent
        self.max_batch = max_batch
        self.batch_wait = batch_wait
        self.queue: queue.Queue[_Pending | None] = queue.Queue()
        self.batches: list[int] = []  # sizes of the act() calls made, for tests and logs
        self.thread = threading.Thread(target=self._run, name="palaestra-serve-batcher")
        self.thread.daemon = True
        self.thread.start()

    def submit(self, observations: Sequence[Observation], max_tokens: int | None) -> list[Action]:
        """Queue observations (batched with whatever else arrives) and wait for the actions."""
        pending = [_Pending(obs, max_tokens) for obs in observations]
        for item in pending:
            self.queue.put(item)
        actions = []
        for item in pending:
            item.done.wait()
            assert item.action is not None
            actions.append(item.action)
        return actions

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            first = self.queue.get()
            if first is None:
                return
            batch = [first]
            deadline = time.monotonic() + self.batch_wait
            closing = False
            while len(batch) < self.max_batch:
                try:
                    item = self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is None:
                    closing = True
                    break
                batch.append(item)
            groups: dict[int | None, list[_Pending]] = {}
            for item in batch:
                groups.setdefault(item.max_tokens, []).append(item)
            for max_tokens, group in groups.items():
                self._answer(group, max_tokens)
            if closing:
                return

    def _answer(self, group: list[_Pending], max_tokens: int | None) -> None:
        self.batches.append(len(group))
        capped = max_tokens is not None and hasattr(self.agent, "max_new_tokens")
        saved = getattr(self.agent, "max_new_tokens", None)
        try:
            if capped:
                self.agent.max_new_tokens = max_tokens  # type: ignore[attr-defined]
            actions = list(self.agent.act([p.obs for p in group]))
            if len(actions) != len(group):
                raise RuntimeError(f"agent returned {len(actions)} actions for {len(group)}")
        except Exception as exc:  # a crashing agent fails its requests, not the server
            actions = [Action(error=f"{type(exc).__name__}: {exc}") for _ in group]
        finally:
            if capped:
                self.agent.max_new_tokens = saved  # type: ignore[attr-defined]
        for pending, action in zip(group, actions):
            pending.action = action
            pending.done.set()


class AgentServer(ThreadingHTTPServer):
    """An HTTP server that answers chat and text completions with an agent.

    Attributes:
        agent: The served agent.
        model_name: The id reported by ``/v1/models``. Requests must name it or the agent's
            name (or leave ``model`` out); another model is a 404 ``model_not_found``.
        api_key: When set, requests must send ``Authorization: Bearer <api_key>``.
        max_body_bytes: Largest request body accepted; a bigger one is answered with 413.
        batcher: Groups concurrent requests; ``batcher.batches`` lists the batch sizes so far.
    """

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        agent: Agent,
        *,
        model_name: str | None = None,
        api_key: str | None = None,
        max_batch: int = 32,
        batch_wait: float = 0.01,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        if batch_wait < 0:
            raise ValueError(f"batch_wait must be >= 0 seconds, got {batch_wait}")
        if max_body_bytes < 1:
            raise ValueError(f"max_body_bytes must be >= 1, got {max_body_bytes}")
        super().__init__(address, _Handler)
        self.agent = agent
        self.model_name = model_name or agent.name
        self.api_key = api_key
        self.max_body_bytes = int(max_body_bytes)
        self.created = int(time.time())
        self.batcher = _Batcher(agent, max_batch, batch_wait)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/v1"

    @property
    def model_ids(self) -> list[str]:
        """The model names requests may use."""
        return list(dict.fromkeys([self.model_name, self.agent.name]))

    def server_close(self) -> None:
        super().server_close()
        self.batcher.close()


# -- request fields --------------------------------------------------------------------------


def _optional_int(request: Mapping[str, Any], key: str, low: int) -> int | None:
    value = request.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise RequestError(f"{key} must be an integer >= {low}, got {value!r}", param=key)
    return value


def _optional_number(request: Mapping[str, Any], key: str, low: float, high: float) -> None:
    value = request.get(key)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise RequestError(f"{key} must be a number in [{low}, {high}], got {value!r}", param=key)


def _stop_strings(request: Mapping[str, Any]) -> list[str]:
    stop = request.get("stop")
    if stop is None:
        return []
    stops = [stop] if isinstance(stop, str) else stop
    if (
        not isinstance(stops, list)
        or not 1 <= len(stops) <= MAX_STOP_STRINGS
        or not all(isinstance(s, str) and s for s in stops)
    ):
        raise RequestError(
            f"stop must be a non-empty string or a list of 1 to {MAX_STOP_STRINGS} of them, "
            f"got {stop!r}",
            param="stop",
        )
    return stops


@dataclass
class _Settings:
    """The request fields every completion route shares."""

    model: str
    max_tokens: int | None
    stop: list[str]
    stream: bool
    include_usage: bool


def _settings(request: Mapping[str, Any], server: AgentServer) -> _Settings:
    model = request.get("model")
    if model is not None and model not in server.model_ids:
        raise RequestError(
            f"The model {model!r} does not exist; this server serves {server.model_ids}",
            status=404,
            param="model",
            code="model_not_found",
        )
    max_tokens = _optional_int(request, "max_tokens", 1)
    newer = _optional_int(request, "max_completion_tokens", 1)
    if max_tokens is not None and newer is not None and max_tokens != newer:
        raise RequestError(
            f"max_tokens={max_tokens} and max_completion_tokens={newer} differ",
            param="max_completion_tokens",
        )
    _optional_number(request, "temperature", 0.0, 2.0)
    _optional_number(request, "top_p", 0.0, 1.0)
    n = request.get("n")
    if n is not None and (isinstance(n, bool) or n != 1):
        raise RequestError(f"n must be 1 (one reply per request), got {n!r}", param="n")
    stream = request.get("stream") or False
    if not isinstance(stream, bool):
        raise RequestError(f"stream must be true or false, got {stream!r}", param="stream")
    options = request.get("stream_options")
    if options is not None:
        if not stream:
            raise RequestError(
                "stream_options is only allowed when stream is true", param="stream_options"
            )
        if not isinstance(options, Mapping):
            raise RequestError(
                f"stream_options must be an object, got {options!r}", param="stream_options"
            )
    include_usage = bool(options and options.get("include_usage"))
    return _Settings(
        model=model or server.model_name,
        max_tokens=max_tokens if max_tokens is not None else newer,
        stop=_stop_strings(request),
        stream=stream,
        include_usage=include_usage,
    )


def _chat_observation(request: Mapping[str, Any]) -> Observation:
    if isinstance(request.get(OBSERVATION_FIELD), Mapping):
        try:
            return observation_from_dict(request[OBSERVATION_FIELD])
        except (ValueError, TypeError, KeyError) as err:
            raise RequestError(str(err), param=OBSERVATION_FIELD) from err
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError(
            f"a chat request needs at least one message in 'messages', got {messages!r}",
            param="messages",
        )
    try:
        return messages_observation(messages)
    except (ValueError, TypeError) as err:
        raise RequestError(str(err), param="messages") from err


def _prompts(request: Mapping[str, Any]) -> list[str]:
    prompt = request.get("prompt")
    prompts = [prompt] if isinstance(prompt, str) else prompt
    if not isinstance(prompts, list) or not prompts:
        raise RequestError(
            f"prompt must be a string or a non-empty list of strings, got {prompt!r}",
            param="prompt",
        )
    if not all(isinstance(p, str) for p in prompts):
        raise RequestError(
            "prompt must be text: token-id prompts are not supported by this server",
            param="prompt",
        )
    if request.get("echo"):
        raise RequestError("echo is not supported by this server", param="echo")
    return prompts


@dataclass
class _Reply:
    """One finished choice: its text, why it ended and its token counts."""

    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int


def _reply(action: Action, stop: Sequence[str]) -> _Reply:
    text = action.text
    finish = "length" if action.meta.get("finish_reason") == "length" else "stop"
    cuts = [text.find(s) for s in stop if s in text]
    if cuts:
        text, finish = text[: min(cuts)], "stop"
    return _Reply(
        text=text,
        finish_reason=finish,
        prompt_tokens=int(action.meta.get("prompt_tokens", 0) or 0),
        completion_tokens=int(action.meta.get("tokens", 0) or 0),
    )


def _usage(replies: Sequence[_Reply]) -> dict[str, int]:
    prompt = sum(r.prompt_tokens for r in replies)
    completion = sum(r.completion_tokens for r in replies)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _chat_chunks(head: dict[str, Any], reply: _Reply, usage: bool) -> Iterator[dict[str, Any]]:
    """The ``chat.completion.chunk`` events of one reply, as the OpenAI API orders them."""
    extra: dict[str, Any] = {"usage": None} if usage else {}

    def chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return {**head, "choices": [choice], **extra}

    yield chunk({"role": "assistant", "content": ""}, None)
    if reply.text:
        yield chunk({"content": reply.text}, None)
    yield chunk({}, reply.finish_reason)
    if usage:
        yield {**head, "choices": [], "usage": _usage([reply])}


def _text_chunks(
    head: dict[str, Any], replies: Sequence[_Reply], usage: bool
) -> Iterator[dict[str, Any]]:
    """The ``text_completion`` events of a completions request, one prompt after another."""
    extra: dict[str, Any] = {"usage": None} if usage else {}
    for index, reply in enumerate(replies):
        for text, finish in ((reply.text, None), ("", reply.finish_reason)):
            if text or finish:
                choice = {"text": text, "index": index, "logprobs": None, "finish_reason": finish}
                yield {**head, "choices": [choice], **extra}
    if usage:
        yield {**head, "choices": [], "usage": _usage(replies)}


# -- HTTP ------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server: AgentServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet by default
        pass

    def _send(self, status: int, payload: Mapping[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timed out)
            self.close_connection = True

    def _send_events(self, events: Iterator[Mapping[str, Any]]) -> None:
        """Server-sent events, one ``data:`` line each, then ``data: [DONE]`` (chunked)."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        lines = [f"data: {json.dumps(event)}\n\n".encode() for event in events]
        lines.append(b"data: [DONE]\n\n")
        try:
            for line in lines:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _error(self, error: RequestError) -> None:
        self._send(error.status, error.body())

    def _authorized(self) -> bool:
        if not self.server.api_key:
            return True
        if self.headers.get("Authorization") == f"Bearer {self.server.api_key}":
            return True
        self._error(RequestError("missing or wrong API key", status=401, code="invalid_api_key"))
        return False

    def do_GET(self) -> None:
        if not self._authorized():
            return
        if self.path.rstrip("/") in ("/v1/models", "/models"):
            model = {
                "id": self.server.model_name,
                "object": "model",
                "created": self.server.created,
                "owned_by": "palaestra",
            }
            self._send(200, {"object": "list", "data": [model]})
        else:
            self._error(RequestError(f"no route {self.path}", status=404, code="unknown_url"))

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True  # the unread chunks would corrupt the next request
            raise RequestError("send the body with a Content-Length header", status=411)
        header = self.headers.get("Content-Length") or "0"
        try:
            length = int(header)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            raise RequestError(f"Content-Length must be an integer >= 0, got {header!r}")
        limit = self.server.max_body_bytes
        if length > limit:
            if length <= _DRAIN_LIMIT:
                left = length
                while left > 0:
                    read = len(self.rfile.read(min(left, 2**16)))
                    if not read:
                        break
                    left -= read
            else:
                self.close_connection = True
            raise RequestError(
                f"request body of {length} bytes is over this server's limit of {limit} bytes",
                status=413,
                code="request_too_large",
            )
        return self.rfile.read(length)

    def do_POST(self) -> None:
        try:
            raw = self._read_body()
        except RequestError as err:
            self._error(err)
            return
        if not self._authorized():
            return
        route = self.path.rstrip("/").removeprefix("/v1")
        answer = {"/chat/completions": self._chat, "/completions": self._completions}.get(route)
        try:
            if answer is None:
                raise RequestError(f"no route {self.path}", status=404, code="unknown_url")
            try:
                request = json.loads(raw)
            except ValueError as err:
                raise RequestError(f"the request body is not valid JSON: {err}") from None
            if not isinstance(request, dict):
                raise RequestError(
                    f"the request body must be a JSON object, got {type(request).__name__}"
                )
            answer(request)
        except RequestError as err:
            self._error(err)

    def _act(self, observations: list[Observation], settings: _Settings) -> list[_Reply]:
        actions = self.server.batcher.submit(observations, settings.max_tokens)
        for action in actions:
            if action.error is not None:
                raise RequestError(
                    f"agent {self.server.agent.name!r} failed: {action.error}",
                    status=500,
                    kind="server_error",
                )
        return [_reply(action, settings.stop) for action in actions]

    def _head(self, prefix: str, kind: str, settings: _Settings) -> dict[str, Any]:
        return {
            "id": f"{prefix}-{uuid.uuid4().hex[:24]}",
            "object": kind,
            "created": int(time.time()),
            "model": settings.model,
            "system_fingerprint": None,
        }

    def _chat(self, request: dict[str, Any]) -> None:
        settings = _settings(request, self.server)
        obs = _chat_observation(request)
        (reply,) = self._act([obs], settings)
        if settings.stream:
            head = self._head("chatcmpl", "chat.completion.chunk", settings)
            self._send_events(_chat_chunks(head, reply, settings.include_usage))
            return
        choice = {
            "index": 0,
            "message": {"role": "assistant", "content": reply.text},
            "logprobs": None,
            "finish_reason": reply.finish_reason,
        }
        head = self._head("chatcmpl", "chat.completion", settings)
        self._send(200, {**head, "choices": [choice], "usage": _usage([reply])})

    def _completions(self, request: dict[str, Any]) -> None:
        settings = _settings(request, self.server)
        prompts = _prompts(request)
        observations = [Observation(text=p, game=CHAT_GAME, role="assistant") for p in prompts]
        replies = self._act(observations, settings)
        head = self._head("cmpl", "text_completion", settings)
        if settings.stream:
            self._send_events(_text_chunks(head, replies, settings.include_usage))
            return
        choices = [
            {"text": r.text, "index": i, "logprobs": None, "finish_reason": r.finish_reason}
            for i, r in enumerate(replies)
        ]
        self._send(200, {**head, "choices": choices, "usage": _usage(replies)})


def make_server(
    agent: Agent | str,
    host: str = "127.0.0.1",
    port: int = 8000,
    **kwargs: Any,
) -> AgentServer:
    """Build (not start) a server for an agent or an agent spec; ``port=0`` picks a free port.

    Call ``serve_forever()`` on the result (in a thread for tests) and ``shutdown()`` and
    ``server_close()`` to stop it. Keyword arguments go to :class:`AgentServer`.
    """
    from palaestra.agents.specs import make_agent

    return AgentServer((host, port), make_agent(agent), **kwargs)
