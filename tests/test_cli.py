"""The command line, run in-process."""

from __future__ import annotations

from palaestra.cli import main


def test_envs_lists_games(capsys):
    assert main(["envs"]) == 0
    out = capsys.readouterr().out
    assert "negotiation-v0" in out and "alice, bob" in out


def test_play_prints_transcript_and_returns(capsys):
    assert main(["play", "negotiation-v0", "scripted:negotiation/hard",
                 "scripted:negotiation/fair", "--seed", "0"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "[alice] I need most of this." in out
    assert "alice (scripted:negotiation/hard): 9" in out
    assert "bob (scripted:negotiation/fair): 5" in out


def test_play_bad_spec_is_a_clear_error(capsys):
    assert main(["play", "negotiation-v0", "scripted:negotiation/nope", "random"]) == 2
    err = capsys.readouterr().err
    assert "no scripted player 'nope'" in err and "fair" in err


def test_play_unknown_env(capsys):
    assert main(["play", "negotiatio-v0", "random", "random"]) == 2
    assert "Did you mean 'negotiation-v0'" in capsys.readouterr().err


def test_play_wrong_number_of_agents(capsys):
    assert main(["play", "negotiation-v0", "random"]) == 2
    assert "2 roles" in capsys.readouterr().err


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "usage" in capsys.readouterr().out


def test_human_at_the_terminal(monkeypatch, capsys):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("ACCEPT\nOFFER: book=0 hat=0 ball=0\n"))
    assert main(["play", "negotiation-v0", "human", "scripted:negotiation/accept"]) == 0
    out = capsys.readouterr().out
    assert "you are alice" in out
    assert "Invalid move: there is no offer" in out  # the reason is shown before asking again
