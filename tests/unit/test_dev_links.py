"""``tocsin dev``: a link key kept in the data dir, and a banner that says its Temporal UI
has no login and listens on loopback only."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from starters.dev import (
    _banner,
    api_token,
    link_key,
    metrics_bearer,
    metrics_token,
    temporal_command,
)
from worker.config import ConfigFile
from worker.settings import Settings

EXAMPLE = Path(__file__).resolve().parents[2] / "tocsin.example.yaml"


class TestLinkKey:
    """Without TOCSIN_LINK_KEY, dev makes one on first start and keeps it (links survive
    a restart); with it, the environment wins and nothing is written."""

    def test_generated_once_and_kept(self, tmp_path: Path) -> None:
        settings = Settings(data_dir=tmp_path)

        first = link_key(settings)

        path = tmp_path / "link-key"
        assert len(first) >= 32
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert link_key(settings) == first
        assert first != api_token(settings)
        # Valid as TOCSIN_LINK_KEY too.
        assert Settings(link_key=SecretStr(first)).link_key is not None

    def test_environment_wins(self, tmp_path: Path) -> None:
        key = "from-the-environment-0123456789abcdef"
        settings = Settings(data_dir=tmp_path, link_key=SecretStr(key))

        assert link_key(settings) == key
        assert not (tmp_path / "link-key").exists()


class TestTemporalUi:
    def test_ui_bound_to_loopback(self, tmp_path: Path) -> None:
        command = temporal_command(Settings(data_dir=tmp_path), "temporal")

        assert command[command.index("--ui-ip") + 1] == "127.0.0.1"
        assert command[command.index("--ip") + 1] == "127.0.0.1"

    def test_banner_says_unauthenticated_loopback(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The banner keeps its lines and adds that the UI has no login, on 127.0.0.1 only."""
        _banner(Settings(data_dir=tmp_path), "tok", ConfigFile(EXAMPLE), "$TOCSIN_METRICS_TOKEN")

        out = capsys.readouterr().out
        assert "  Temporal UI  http://127.0.0.1:8233/namespaces/default/workflows" in out
        assert "unauthenticated, bound to 127.0.0.1 only" in out
        assert "  API token    tok" in out


class TestBannerCommands:
    """The banner's commands work when pasted where `make run` started: this tocsin as
    the shell finds it, the exports the CLI and the notifications' curl lines need, and
    the metrics curl reading the token from where it is kept (never printing it)."""

    def banner(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> str:
        program = tmp_path / ".venv" / "bin" / "tocsin"
        program.parent.mkdir(parents=True)
        program.write_text("#!/bin/sh\n")
        monkeypatch.chdir(tmp_path)
        monkeypatch.setattr("sys.argv", [".venv/bin/tocsin", "dev"])
        monkeypatch.setenv("PATH", "/usr/bin")
        settings = Settings(api_port=18080, worker_metrics_port=19464)
        bearer = metrics_bearer(settings)
        _banner(
            settings.model_copy(update={"metrics_token": SecretStr("m" * 40)}),
            "tok",
            ConfigFile(EXAMPLE),
            bearer,
        )
        return capsys.readouterr().out

    def test_make_run(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        out = self.banner(tmp_path, monkeypatch, capsys)

        assert "  .venv/bin/tocsin token create --person alice --name laptop\n" in out
        assert "  .venv/bin/tocsin page list\n" in out
        assert "  export TOCSIN_API_TOKEN=tok\n" in out
        assert "TOCSIN_CONFIG" not in out  # no tocsin.yaml here: the CLI finds the stack
        metrics = 'curl -H "Authorization: Bearer $(cat .tocsin/metrics-token)"'
        assert f"  {metrics} http://127.0.0.1:18080/metrics\n" in out
        assert f"  {metrics} http://127.0.0.1:19464/metrics\n" in out
        assert "m" * 40 not in out

    def test_another_tocsin_yaml_here(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A tocsin.yaml here that is not the stack's would win: the banner exports the
        stack's config."""
        (tmp_path / "tocsin.yaml").write_text("people: {}\n")

        out = self.banner(tmp_path, monkeypatch, capsys)

        assert f"  export TOCSIN_CONFIG={EXAMPLE}\n" in out

    def test_metrics_token_from_the_environment(self, tmp_path: Path) -> None:
        settings = Settings(data_dir=tmp_path, metrics_token=SecretStr("m" * 40))

        assert metrics_bearer(settings) == "$TOCSIN_METRICS_TOKEN"
        assert metrics_token(settings) == "m" * 40
        assert not (tmp_path / "metrics-token").exists()

    def test_metrics_token_kept(self, tmp_path: Path) -> None:
        settings = Settings(data_dir=tmp_path)

        first = metrics_token(settings)

        assert metrics_token(settings) == first
        assert (tmp_path / "metrics-token").read_text().strip() == first
        assert first not in {link_key(settings), api_token(settings)}
