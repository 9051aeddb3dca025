"""``tocsin dev``: a link key kept in the data dir, and a banner that says its Temporal UI
has no login and listens on loopback only."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from starters.dev import _banner, api_token, link_key, temporal_command
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
        _banner(Settings(data_dir=tmp_path), "tok", ConfigFile(EXAMPLE))

        out = capsys.readouterr().out
        assert "  Temporal UI  http://127.0.0.1:8233/namespaces/default/workflows" in out
        assert "unauthenticated, bound to 127.0.0.1 only" in out
        assert "  API token    tok" in out
