"""Any OpenAI-compatible chat-completions endpoint as an agent (``openai:<model>@<base_url>``).

>>> make_agent("openai:gpt-4o-mini@https://api.openai.com/v1")  # doctest: +SKIP
>>> make_agent("openai:qwen2.5@http://127.0.0.1:11434/v1?api_key_env=OLLAMA_KEY")  # doctest: +SKIP

vLLM, llama.cpp's server, Ollama, hosted APIs and ``palaestra serve`` all speak this protocol.
The observations of one :meth:`OpenAIAgent.act` call are sent as concurrent requests. A request
that fails with HTTP 429 or 5xx, a timeout or a dropped connection is retried with exponential
backoff (honouring ``Retry-After``); once the retries are spent the action carries an ``error``
and no text, so the game records an agent failure instead of playing an error message.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from palaestra.agents.chat import observation_messages, observation_to_dict
from palaestra.envs.protocol import Action, Observation

__all__ = ["DEFAULT_BASE_URL", "OBSERVATION_FIELD", "OpenAIAgent", "agent_from_spec"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"

#: Extra request field carrying the whole observation (only with ``send_observation=True``;
#: ``palaestra serve`` reads it, so served scripted agents see the game facts too).
OBSERVATION_FIELD = "palaestra_observation"

_RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


class OpenAIAgent:
    """Plays through an OpenAI-compatible ``/chat/completions`` endpoint.

    Args:
        model: Model name sent with each request.
        base_url: The API root, e.g. ``http://127.0.0.1:8000/v1`` (``/chat/completions`` is
            appended). Default: ``$OPENAI_BASE_URL``, else the OpenAI API.
        api_key: The key itself (prefer ``api_key_env``, so that keys stay out of configs).
        api_key_env: Environment variable holding the key (default ``OPENAI_API_KEY``; no
            key is sent when it is unset, as local servers need none).
        name: Agent name (default ``"openai:<model>"``).
        temperature, top_p, max_tokens, stop, seed: Sampling settings sent with each request
            (``None`` leaves them to the server). ``max_new_tokens`` is accepted for
            ``max_tokens``.
        timeout: Seconds allowed per request (connect, read and write each).
        retries: Extra attempts after a retryable failure (429, 5xx, timeout, connection).
        backoff: First retry delay in seconds; doubled on each further retry.
        max_backoff: Cap on any one delay, ``Retry-After`` included.
        concurrency: Requests in flight at once within one batch.
        send_observation: Also send the whole observation in the ``palaestra_observation``
            field (for ``palaestra serve``; strict servers reject unknown fields).
        headers: Extra HTTP headers.
    """

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        name: str | None = None,
        temperature: float | None = 0.7,
        top_p: float | None = None,
        max_tokens: int | None = None,
        max_new_tokens: int | None = None,
        stop: str | Sequence[str] | None = None,
        seed: int | None = None,
        timeout: float = 60.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        concurrency: int = 8,
        send_observation: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        if not model:
            raise ValueError("an openai agent needs a model name")
        if timeout <= 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout}")
        if retries < 0:
            raise ValueError(f"retries must be >= 0, got {retries}")
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {concurrency}")
        if max_tokens is not None and max_new_tokens is not None and max_tokens != max_new_tokens:
            raise ValueError(f"max_tokens={max_tokens} and max_new_tokens={max_new_tokens} differ")
        self.model = model
        base = base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        if not base.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {base!r}")
        self.base_url = base.rstrip("/")
        self.name = name or f"openai:{model}"
        self.api_key_env = api_key_env
        self._api_key = api_key
        self.temperature = temperature
        self.top_p = top_p
        self.max_tokens = max_tokens if max_tokens is not None else max_new_tokens
        self.stop = [stop] if isinstance(stop, str) else (list(stop) if stop else None)
        self.seed = seed
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.concurrency = int(concurrency)
        self.send_observation = bool(send_observation)
        self.headers = dict(headers or {})
        self._client: httpx.Client | None = None

    @property
    def url(self) -> str:
        return f"{self.base_url}/chat/completions"

    def _http(self) -> httpx.Client:
        if self._client is None:
            headers = {"Content-Type": "application/json", **self.headers}
            key = self._api_key or os.environ.get(self.api_key_env)
            if key:
                headers["Authorization"] = f"Bearer {key}"
            self._client = httpx.Client(
                timeout=httpx.Timeout(self.timeout),
                headers=headers,
                limits=httpx.Limits(max_connections=self.concurrency),
            )
        return self._client

    def request_body(self, obs: Observation) -> dict[str, Any]:
        """The JSON body of the chat-completions request for one observation."""
        body: dict[str, Any] = {"model": self.model, "messages": observation_messages(obs)}
        settings = {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "stop": self.stop,
            "seed": self.seed,
        }
        body.update({k: v for k, v in settings.items() if v is not None})
        if self.send_observation:
            body[OBSERVATION_FIELD] = observation_to_dict(obs)
        return body

    def act(self, observations: Sequence[Observation]) -> list[Action]:
        """Send one request per observation, concurrently; failures become ``Action.error``."""
        observations = list(observations)
        if len(observations) <= 1:
            return [self._complete(obs) for obs in observations]
        workers = min(self.concurrency, len(observations))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="openai-agent") as pool:
            return list(pool.map(self._complete, observations))

    def _complete(self, obs: Observation) -> Action:
        body = self.request_body(obs)
        started = time.perf_counter()
        problem = ""
        for attempt in range(self.retries + 1):
            delay = self.backoff * 2**attempt
            try:
                response = self._http().post(self.url, json=body)
            except httpx.TimeoutException:
                problem = f"timed out after {self.timeout:g} s"
            except httpx.TransportError as err:
                problem = f"{type(err).__name__}: {err}"
            else:
                if response.status_code == 200:
                    return self._parse(response, started, attempt + 1)
                problem = f"HTTP {response.status_code}: {_error_message(response)}"
                if response.status_code not in _RETRY_STATUS:
                    break
                delay = _retry_after(response) or delay
            if attempt < self.retries:
                time.sleep(min(delay, self.max_backoff))
        attempts = attempt + 1
        return Action(
            error=f"{self.url} failed after {attempts} attempt(s): {problem}",
            meta={"latency": time.perf_counter() - started, "attempts": attempts},
        )

    def _parse(self, response: httpx.Response, started: float, attempts: int) -> Action:
        meta: dict[str, Any] = {
            "model": self.model,
            "latency": time.perf_counter() - started,
            "attempts": attempts,
        }
        try:
            data = response.json()
            choice = data["choices"][0]
            content = choice["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            excerpt = response.text[:200]
            return Action(error=f"{self.url} returned no message content: {excerpt!r}", meta=meta)
        if not isinstance(content, str):
            return Action(error=f"{self.url} returned content {content!r}, not text", meta=meta)
        usage = data.get("usage") or {}
        meta["finish_reason"] = choice.get("finish_reason")
        if "completion_tokens" in usage:
            meta["tokens"] = usage["completion_tokens"]
        if "prompt_tokens" in usage:
            meta["prompt_tokens"] = usage["prompt_tokens"]
        return Action(content, meta=meta)

    def reset(self) -> None:
        """Nothing to forget between episodes."""

    def close(self) -> None:
        """Close the HTTP connections (reopened on the next call)."""
        if self._client is not None:
            self._client.close()
            self._client = None


def _error_message(response: httpx.Response) -> str:
    try:
        error = response.json().get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:300]
    except (ValueError, AttributeError):
        pass
    return response.text[:300] or response.reason_phrase


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:  # an HTTP date: fall back to our own backoff
        return None


def split_model_url(rest: str) -> tuple[str, str | None]:
    """``"gpt-4o@https://host/v1"`` -> ``("gpt-4o", "https://host/v1")``; no ``@`` -> no URL.

    The split is at the last ``@`` followed by ``http``, so a URL with ``user@host`` stays whole.
    """
    for i in range(len(rest) - 1, -1, -1):
        if rest[i] == "@" and rest[i + 1 :].startswith(("http://", "https://")):
            return rest[:i], rest[i + 1 :]
    return rest, None


def agent_from_spec(rest: str, options: dict[str, Any]) -> OpenAIAgent:
    """Factory for ``openai:<model>@<base_url>?k=v`` specs (see :mod:`palaestra.agents.specs`).

    Raises:
        AgentSpecError: No model named, or a bad option.
    """
    from palaestra.agents.specs import AgentSpecError

    model, base_url = split_model_url(rest)
    if not model:
        raise AgentSpecError(
            f"expected 'openai:<model>@<base_url>', e.g. 'openai:gpt-4o-mini@{DEFAULT_BASE_URL}'"
            f", got 'openai:{rest}'"
        )
    try:
        return OpenAIAgent(model, base_url, **options)
    except (TypeError, ValueError) as err:
        raise AgentSpecError(f"cannot build 'openai:{rest}' with {options}: {err}") from err
