from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from palaestra.agents import RandomAgent, make_agent
from palaestra.agents.openai import OpenAIAgent, split_model_url
from palaestra.agents.serve import AgentServer, make_server
from palaestra.envs.protocol import Action, Observation


@contextlib.contextmanager
def serving(agent, **kwargs) -> Iterator[AgentServer]:
    server = make_server(agent, host="127.0.0.1", port=0, **kwargs)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class FailingAgent:
    """Fails every turn, as a crashed model would."""

    name = "failing"

    def __init__(self) -> None:
        self.calls = 0

    def act(self, observations: Sequence[Observation]) -> list[Action]:
        self.calls += 1
        return [Action(error="model crashed") for _ in observations]

    def reset(self) -> None:
        pass


class SlowAgent:
    name = "slow"

    def __init__(self, delay: float) -> None:
        self.delay = delay

    def act(self, observations: Sequence[Observation]) -> list[Action]:
        time.sleep(self.delay)
        return [Action("too late") for _ in observations]

    def reset(self) -> None:
        pass


def test_split_model_url():
    assert split_model_url("gpt-4o@https://api.example/v1") == ("gpt-4o", "https://api.example/v1")
    assert split_model_url("m@x@http://u@h:1/v1") == ("m@x", "http://u@h:1/v1")
    assert split_model_url("llama3") == ("llama3", None)


def test_served_random_agent_plays_the_same_moves_over_http(observations):
    local = RandomAgent(seed=5)
    with serving(RandomAgent(seed=5), batch_wait=0.3) as server:
        remote = make_agent(
            f"openai:random@{server.base_url}?send_observation=true&temperature=null"
        )
        actions = remote.act(observations)
        assert [a.text for a in actions] == [a.text for a in local.act(observations)]
        assert all(a.error is None and a.meta["attempts"] == 1 for a in actions)
        # The batch's requests were sent concurrently and answered by batched act() calls.
        assert sum(server.batcher.batches) == 4
        assert max(server.batcher.batches) >= 2
        models = httpx.get(f"{server.base_url}/models").json()
        assert [m["id"] for m in models["data"]] == ["random"]


def test_served_tiny_model_matches_local_generation(palaestra_home, observations):
    local = make_agent("hf:tiny?temperature=0&max_new_tokens=8")
    with serving("hf:tiny?temperature=0&max_new_tokens=8", model_name="tiny") as server:
        remote = OpenAIAgent("tiny", server.base_url, temperature=0, max_tokens=8)
        actions = remote.act(observations)
    assert [a.text for a in actions] == [a.text for a in local.act(observations)]
    assert all(a.meta["tokens"] == 8 and a.meta["prompt_tokens"] > 0 for a in actions)


def test_request_body_carries_messages_and_settings():
    agent = OpenAIAgent("m", "http://127.0.0.1:1/v1", temperature=0.2, max_new_tokens=5, stop="X")
    obs = Observation(text="P\n\nrest", game="g", role="r", preamble="P")
    assert agent.request_body(obs) == {
        "model": "m",
        "messages": [{"role": "system", "content": "P"}, {"role": "user", "content": "rest"}],
        "temperature": 0.2,
        "max_tokens": 5,
        "stop": ["X"],
    }
    assert agent.url == "http://127.0.0.1:1/v1/chat/completions"


def test_server_errors_are_retried_then_recorded(observations):
    failing = FailingAgent()
    with serving(failing, batch_wait=0.0, model_name="m") as server:
        agent = OpenAIAgent("m", server.base_url, retries=2, backoff=0.01)
        action = agent.act(observations[:1])[0]
    assert failing.calls == 3  # one try and two retries
    assert action.failed and action.text == ""
    assert "after 3 attempt(s): HTTP 500" in action.error and "model crashed" in action.error


def test_too_slow_server_times_out_into_an_error(observations):
    with serving(SlowAgent(delay=1.0), batch_wait=0.0, model_name="m") as server:
        agent = OpenAIAgent("m", server.base_url, timeout=0.2, retries=0)
        started = time.monotonic()
        action = agent.act(observations[:1])[0]
        elapsed = time.monotonic() - started
    assert action.failed and action.text == ""
    assert "timed out after 0.2 s" in action.error
    assert elapsed < 0.9


def test_unreachable_endpoint_is_an_error(observations):
    with serving(RandomAgent()) as server:
        url = server.base_url
    # The server is closed now: nothing listens on that port.
    action = OpenAIAgent("m", url, retries=1, backoff=0.01).act(observations[:1])[0]
    assert action.failed and "ConnectError" in action.error


def test_api_key_from_environment(monkeypatch, observations):
    monkeypatch.delenv("PALAESTRA_TEST_KEY", raising=False)
    with serving(RandomAgent(), api_key="sekret", model_name="m") as server:
        denied = OpenAIAgent("m", server.base_url, api_key_env="PALAESTRA_TEST_KEY", retries=3)
        action = denied.act(observations[:1])[0]
        assert "after 1 attempt(s): HTTP 401" in action.error  # 4xx is not retried
        monkeypatch.setenv("PALAESTRA_TEST_KEY", "sekret")
        allowed = OpenAIAgent("m", server.base_url, api_key_env="PALAESTRA_TEST_KEY")
        assert not allowed.act(observations[:1])[0].failed


def test_server_rejects_bad_requests():
    with serving(RandomAgent()) as server:
        url = f"{server.base_url}/chat/completions"
        assert httpx.post(url, content=b"not json").status_code == 400
        reply = httpx.post(url, json={"messages": []})
        assert reply.status_code == 400
        assert "at least one message" in reply.json()["error"]["message"]
        assert httpx.post(url, json={"messages": [{"content": "x"}]}).status_code == 400
        assert httpx.post(url, json={"stream": True, "messages": []}).status_code == 400
        assert httpx.get(f"{server.base_url}/nothing").status_code == 404


class _Flaky(BaseHTTPRequestHandler):
    """Answers 429 (with Retry-After) twice, then a completion."""

    hits = 0

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).hits += 1
        if type(self).hits <= 2:
            body, status = b'{"error": {"message": "slow down"}}', 429
        else:
            reply = {"choices": [{"message": {"content": "ok"}, "finish_reason": "stop"}]}
            body, status = json.dumps(reply).encode(), 200
        self.send_response(status)
        if status == 429:
            self.send_header("Retry-After", "0.05")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_rate_limits_are_retried_with_backoff(observations):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        action = OpenAIAgent("m", url, retries=3, backoff=5.0).act(observations[:1])[0]
    finally:
        server.shutdown()
        server.server_close()
    assert action.text == "ok" and action.meta["attempts"] == 3
    assert action.meta["latency"] < 2.0  # Retry-After (0.05 s) was used, not the 5 s backoff
    assert _Flaky.hits == 3


def test_messages_without_observation_become_one(observations):
    seen = []

    def record(text: str) -> str:
        seen.append(text)
        return "fine"

    with serving(record, model_name="m") as server:
        agent = OpenAIAgent("m", server.base_url)
        assert agent.act(observations[1:2])[0].text == "fine"
    obs = observations[1]
    assert seen == [f"{obs.preamble}\n\n{obs.text[len(obs.preamble) :].strip()}"]


def test_palaestra_serve_command_over_http(observations):
    import re
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "palaestra.cli", "serve", "random?seed=5", "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stderr.readline()
        match = re.search(r"at (http://127\.0\.0\.1:\d+/v1)", line)
        assert match, line
        agent = make_agent(f"openai:random@{match.group(1)}?send_observation=true")
        texts = [a.text for a in agent.act(observations[:2])]
        assert texts == [a.text for a in RandomAgent(seed=5).act(observations[:2])]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
