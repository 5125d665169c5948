"""``palaestra serve`` against the official ``openai`` client: chat and legacy completions,
streamed and not, and OpenAI-shaped errors. Loopback only, the tiny model."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator

import httpx
import openai
import pytest

from palaestra.agents import RandomAgent, make_agent
from palaestra.agents.chat import CHAT_GAME, messages_observation
from palaestra.agents.serve import DEFAULT_MAX_BODY_BYTES, AgentServer, make_server
from palaestra.envs.protocol import Observation

SPEC = "hf:tiny?temperature=0&max_new_tokens=8"
MESSAGES = [
    {"role": "system", "content": "You are alice. Your values: book=2 hat=3 ball=1."},
    {"role": "user", "content": "bob: OFFER: book=1 hat=1 ball=0. Your message, alice:"},
]
PROMPTS = ["alice offers bob a book and", "OFFER: book=1 hat=2"]


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


@pytest.fixture(scope="module")
def server(palaestra_home) -> Iterator[AgentServer]:
    with serving(SPEC, model_name="tiny") as running:
        yield running


@pytest.fixture(scope="module")
def local(palaestra_home):
    """The same agent in-process, to compare the served replies with."""
    return make_agent(SPEC)


@pytest.fixture
def client(server: AgentServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0, timeout=60)


def _local_text(local, obs: Observation, max_tokens: int | None = None) -> str:
    saved = local.max_new_tokens
    local.max_new_tokens = max_tokens or saved
    try:
        return local.act([obs])[0].text
    finally:
        local.max_new_tokens = saved


# -- chat completions ------------------------------------------------------------------------


def test_chat_completion_matches_local_generation(client, local):
    reply = client.chat.completions.create(model="tiny", messages=MESSAGES)
    expected = _local_text(local, messages_observation(MESSAGES))
    assert reply.object == "chat.completion" and reply.model == "tiny"
    assert reply.choices[0].message.role == "assistant"
    assert reply.choices[0].message.content == expected
    assert reply.choices[0].finish_reason == "length"  # the spec's 8 tokens, no eos
    assert reply.usage.completion_tokens == 8
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + 8 > 8


def test_max_tokens_caps_the_served_reply(client, local):
    reply = client.chat.completions.create(model="tiny", messages=MESSAGES, max_tokens=3)
    assert reply.usage.completion_tokens == 3
    assert reply.choices[0].message.content == _local_text(local, messages_observation(MESSAGES), 3)
    # The cap is per request: the next one without it gets the spec's 8 tokens again.
    again = client.chat.completions.create(model="tiny", messages=MESSAGES)
    assert again.usage.completion_tokens == 8


def test_streamed_chat_completion_sends_the_reply_in_chunks_then_usage(client):
    whole = client.chat.completions.create(model="tiny", messages=MESSAGES)
    chunks = list(
        client.chat.completions.create(
            model="tiny",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert {c.object for c in chunks} == {"chat.completion.chunk"}
    assert len({c.id for c in chunks}) == 1
    first, *middle, last_choice, usage = chunks
    assert first.choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in [first, *middle, last_choice])
    assert text == whole.choices[0].message.content
    assert [c.choices[0].finish_reason for c in [first, *middle]] == [None] * (1 + len(middle))
    assert last_choice.choices[0].finish_reason == "length"
    assert all(c.usage is None for c in chunks[:-1])
    assert usage.choices == []
    assert usage.usage.model_dump() == {**whole.usage.model_dump()}


def test_stream_without_include_usage_has_no_usage_chunk(client):
    chunks = list(client.chat.completions.create(model="tiny", messages=MESSAGES, stream=True))
    assert all(c.choices and c.usage is None for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "length"


def test_stream_is_server_sent_events_ending_in_done(server):
    body = {"model": "tiny", "messages": MESSAGES, "stream": True}
    with httpx.stream("POST", f"{server.base_url}/chat/completions", json=body) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        raw = response.read().decode()
    events = raw.split("\n\n")
    assert events[-1] == "" and events[-2] == "data: [DONE]"
    assert all(e.startswith("data: {") for e in events[:-2])
    chunks = [json.loads(e.removeprefix("data: ")) for e in events[:-2]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert chunks[-1]["choices"][0]["delta"] == {}


def test_stop_strings_cut_the_reply(client):
    whole = client.chat.completions.create(model="tiny", messages=MESSAGES)
    text = whole.choices[0].message.content
    stop = text[len(text) // 2 :][:2]
    assert stop.strip(), text  # the tiny model's reply has text past its middle
    cut = client.chat.completions.create(model="tiny", messages=MESSAGES, stop=[stop])
    assert cut.choices[0].message.content == text[: text.find(stop)]
    assert cut.choices[0].finish_reason == "stop"


# -- legacy completions ----------------------------------------------------------------------


def _prompt_obs(prompt: str) -> Observation:
    return Observation(text=prompt, game=CHAT_GAME, role="assistant")


def test_completion_matches_local_generation(client, local):
    reply = client.completions.create(model="tiny", prompt=PROMPTS[0], max_tokens=5)
    assert reply.object == "text_completion"
    assert reply.choices[0].text == _local_text(local, _prompt_obs(PROMPTS[0]), 5)
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage.completion_tokens == 5


def test_completion_of_a_prompt_list_has_one_choice_per_prompt(client, local, server):
    before = len(server.batcher.batches)
    reply = client.completions.create(model="tiny", prompt=PROMPTS, max_tokens=4)
    assert [c.index for c in reply.choices] == [0, 1]
    assert [c.text for c in reply.choices] == [
        _local_text(local, _prompt_obs(p), 4) for p in PROMPTS
    ]
    assert reply.usage.completion_tokens == 8
    assert server.batcher.batches[before:] == [2]  # both prompts in one act() call


def test_streamed_completion_then_usage(client):
    whole = client.completions.create(model="tiny", prompt=PROMPTS, max_tokens=4)
    chunks = list(
        client.completions.create(
            model="tiny",
            prompt=PROMPTS,
            max_tokens=4,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    *choices, usage = chunks
    texts = ["", ""]
    finishes: list[str | None] = [None, None]
    for chunk in choices:
        (choice,) = chunk.choices
        texts[choice.index] += choice.text
        finishes[choice.index] = finishes[choice.index] or choice.finish_reason
    assert texts == [c.text for c in whole.choices]
    assert finishes == ["length", "length"]
    assert usage.choices == [] and usage.usage.total_tokens == whole.usage.total_tokens


# -- errors ----------------------------------------------------------------------------------


def test_unknown_model_is_404_model_not_found(client):
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="gpt-9", messages=MESSAGES)
    err = caught.value
    assert err.status_code == 404 and err.code == "model_not_found" and err.param == "model"
    assert "gpt-9" in err.message
    with pytest.raises(openai.NotFoundError):
        client.completions.create(model="gpt-9", prompt="x")


def test_served_agent_name_is_a_model_too(client, server):
    reply = client.chat.completions.create(model=server.agent.name, messages=MESSAGES)
    assert reply.choices[0].message.content


def test_empty_message_list_is_400(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="tiny", messages=[])
    assert caught.value.param == "messages" and "at least one message" in caught.value.message


def test_negative_max_tokens_is_400_naming_the_value(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="tiny", messages=MESSAGES, max_tokens=-5)
    assert caught.value.param == "max_tokens" and "-5" in caught.value.message
    with pytest.raises(openai.BadRequestError, match="-1"):
        client.completions.create(model="tiny", prompt="x", max_tokens=-1)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": MESSAGES, "n": 2}, "n"),
        ({"messages": MESSAGES, "temperature": 7}, "temperature"),
        ({"messages": MESSAGES, "stop": [""]}, "stop"),
        ({"messages": MESSAGES, "stream_options": {"include_usage": True}}, "stream_options"),
        ({"messages": MESSAGES, "stream": "yes"}, "stream"),
        ({"messages": [{"content": "no role"}]}, "messages"),
    ],
)
def test_bad_fields_are_400_naming_the_field(server, body, param):
    reply = httpx.post(f"{server.base_url}/chat/completions", json=body)
    assert reply.status_code == 400
    assert reply.json()["error"]["param"] == param


@pytest.mark.parametrize(
    "body", [{"prompt": []}, {"prompt": [1, 2, 3]}, {"prompt": "x", "echo": True}, {}]
)
def test_bad_prompts_are_400(server, body):
    reply = httpx.post(f"{server.base_url}/completions", json=body)
    assert reply.status_code == 400 and reply.json()["error"]["param"] in ("prompt", "echo")


def test_body_that_is_not_json_is_400_with_an_openai_error_body():
    with serving(RandomAgent()) as server:
        reply = httpx.post(f"{server.base_url}/chat/completions", content=b"{not json")
        listed = httpx.post(f"{server.base_url}/chat/completions", content=b"[1]")
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error" and "not valid JSON" in error["message"]
    assert listed.status_code == 400 and "JSON object" in listed.json()["error"]["message"]


def test_body_over_the_size_limit_is_413():
    assert DEFAULT_MAX_BODY_BYTES >= 2**20  # room for any game's observation
    with serving(RandomAgent(), max_body_bytes=2000, model_name="m") as server:
        big = [{"role": "user", "content": "x" * 3000}]
        client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0)
        with pytest.raises(openai.APIStatusError) as caught:
            client.chat.completions.create(model="m", messages=big)
        assert caught.value.status_code == 413 and caught.value.code == "request_too_large"
        assert "2000" in caught.value.message
        # The server keeps answering requests under the limit.
        small = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}]
        )
        assert small.choices[0].message.content is not None


def test_body_without_a_usable_length_is_refused_not_waited_for():
    import socket

    with serving(RandomAgent()) as server:
        url = f"{server.base_url}/chat/completions"
        chunked = httpx.post(url, content=iter([b'{"messages": []}']))  # no Content-Length
        host, port = server.server_address[:2]
        with socket.create_connection((host, port), timeout=10) as sock:
            sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nContent-Length: -5\r\n\r\n")
            head = b""
            while chunk := sock.recv(4096):  # the server closes the connection after answering
                head += chunk
    assert chunked.status_code == 411 and "Content-Length" in chunked.json()["error"]["message"]
    assert head.startswith(b"HTTP/1.1 400") and b"got '-5'" in head


def test_size_limit_must_be_positive():
    with pytest.raises(ValueError, match="max_body_bytes must be >= 1, got 0"):
        make_server(RandomAgent(), port=0, max_body_bytes=0)


def test_wrong_api_key_is_401_invalid_api_key():
    with serving(RandomAgent(), api_key="sekret", model_name="m") as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="wrong", max_retries=0)
        with pytest.raises(openai.AuthenticationError) as caught:
            client.chat.completions.create(model="m", messages=MESSAGES)
    assert caught.value.code == "invalid_api_key"


def test_agent_failure_is_500_server_error():
    def crash(text: str) -> str:
        raise RuntimeError("model crashed")

    with serving(crash, model_name="m") as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0)
        with pytest.raises(openai.InternalServerError) as caught:
            client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    assert caught.value.type == "server_error" and "model crashed" in caught.value.message


def test_serve_command_passes_the_size_limit(monkeypatch):
    import palaestra.agents.serve as serve_module
    from palaestra.cli import main

    seen = {}

    def fake_make_server(spec, **kwargs):
        seen.update(kwargs, spec=spec)
        raise ValueError("stop here")  # main() reports it and returns 2

    monkeypatch.setattr(serve_module, "make_server", fake_make_server)
    assert main(["serve", "random", "--port", "0", "--max-body-bytes", "123"]) == 2
    assert seen["spec"] == "random" and seen["max_body_bytes"] == 123
    main(["serve", "random", "--port", "0"])
    assert seen["max_body_bytes"] == DEFAULT_MAX_BODY_BYTES
