"""Serve any agent as an OpenAI-compatible chat-completions endpoint (``palaestra serve``).

.. code-block:: console

    $ palaestra serve hf:smollm2-135m?temperature=0.7 --port 8000
    $ palaestra play negotiation-v0 openai:smollm2-135m@http://127.0.0.1:8000/v1 random

Routes: ``GET /v1/models`` and ``POST /v1/chat/completions`` (no streaming). Requests that
arrive together are answered by one batched :meth:`act` call: a collector waits up to
``batch_wait`` seconds for more requests (at most ``max_batch``) before calling the agent, so a
client that sends a batch concurrently gets batched generation on the server.

The request's messages become an observation (system messages are the preamble). A client
that sends the whole observation in the ``palaestra_observation`` field (the ``openai:``
agent's ``send_observation=True``) gets it passed through as is, so scripted agents see the
game facts. The served agent's own settings (its spec's query) decide sampling; request
fields like ``temperature`` are ignored. An agent failure is answered with HTTP 500 and an
OpenAI-style error body. The server listens on loopback unless told otherwise.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from palaestra.agents.chat import messages_observation, observation_from_dict
from palaestra.agents.openai import OBSERVATION_FIELD
from palaestra.envs.protocol import Action, Agent, Observation

__all__ = ["AgentServer", "make_server"]


@dataclass
class _Pending:
    obs: Observation
    done: threading.Event = field(default_factory=threading.Event)
    action: Action | None = None


class _Batcher:
    """Collects concurrent requests and answers them with one ``act`` call per batch."""

    def __init__(self, agent: Agent, max_batch: int, batch_wait: float) -> None:
        self.agent = agent
        self.max_batch = max_batch
        self.batch_wait = batch_wait
        self.queue: queue.Queue[_Pending | None] = queue.Queue()
        self.batches: list[int] = []  # sizes of the act() calls made, for tests and logs
        self.thread = threading.Thread(target=self._run, name="palaestra-serve-batcher")
        self.thread.daemon = True
        self.thread.start()

    def submit(self, obs: Observation) -> Action:
        pending = _Pending(obs)
        self.queue.put(pending)
        pending.done.wait()
        assert pending.action is not None
        return pending.action

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
            self.batches.append(len(batch))
            try:
                actions = list(self.agent.act([p.obs for p in batch]))
                if len(actions) != len(batch):
                    raise RuntimeError(f"agent returned {len(actions)} actions for {len(batch)}")
            except Exception as exc:  # a crashing agent fails its requests, not the server
                actions = [Action(error=f"{type(exc).__name__}: {exc}") for _ in batch]
            for pending, action in zip(batch, actions):
                pending.action = action
                pending.done.set()
            if closing:
                return


class AgentServer(ThreadingHTTPServer):
    """An HTTP server that answers chat completions with an agent.

    Attributes:
        agent: The served agent.
        model_name: The id reported by ``/v1/models`` (requests may name any model).
        api_key: When set, requests must send ``Authorization: Bearer <api_key>``.
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
    ) -> None:
        super().__init__(address, _Handler)
        self.agent = agent
        self.model_name = model_name or agent.name
        self.api_key = api_key
        self.created = int(time.time())
        self.batcher = _Batcher(agent, max_batch, batch_wait)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/v1"

    def server_close(self) -> None:
        super().server_close()
        self.batcher.close()


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
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timed out)
            self.close_connection = True

    def _error(self, status: int, message: str, kind: str) -> None:
        self._send(status, {"error": {"message": message, "type": kind, "code": status}})

    def _authorized(self) -> bool:
        if not self.server.api_key:
            return True
        if self.headers.get("Authorization") == f"Bearer {self.server.api_key}":
            return True
        self._error(401, "missing or wrong API key", "authentication_error")
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
            self._error(404, f"no route {self.path}", "not_found_error")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if not self._authorized():
            return
        if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
            self._error(404, f"no route {self.path}", "not_found_error")
            return
        try:
            request = json.loads(raw or b"null")
            if not isinstance(request, dict):
                raise ValueError("the request body must be a JSON object")
            if request.get("stream"):
                raise ValueError("streaming is not supported; send stream=false")
            if isinstance(request.get(OBSERVATION_FIELD), Mapping):
                obs = observation_from_dict(request[OBSERVATION_FIELD])
            else:
                obs = messages_observation(request.get("messages") or [])
        except (ValueError, TypeError) as err:
            self._error(400, str(err), "invalid_request_error")
            return
        action = self.server.batcher.submit(obs)
        if action.error is not None:
            message = f"agent {self.server.agent.name!r} failed: {action.error}"
            self._error(500, message, "agent_error")
            return
        tokens = int(action.meta.get("tokens", 0) or 0)
        prompt_tokens = int(action.meta.get("prompt_tokens", 0) or 0)
        finish = "length" if action.meta.get("finish_reason") == "length" else "stop"
        self._send(
            200,
            {
                "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": request.get("model") or self.server.model_name,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": action.text},
                        "finish_reason": finish,
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": tokens,
                    "total_tokens": prompt_tokens + tokens,
                },
            },
        )


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
