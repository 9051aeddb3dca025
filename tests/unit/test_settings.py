"""Process settings from ``TOCSIN_*`` variables: overrides, bad values named, secrets hidden."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from worker.settings import Settings, SettingsError, env_var_names, secret_values


class TestFromEnv:
    def test_defaults_without_environment(self) -> None:
        """With no variables set, the documented defaults apply."""
        settings = Settings.from_env(environ={})

        assert settings.config == Path("tocsin.yaml")
        assert settings.temporal_address == "127.0.0.1:7233"
        assert settings.api_port == 8080
        assert settings.api_token is None
        assert not settings.smtp_configured

    def test_reads_tocsin_variables(self) -> None:
        """Each field is read from its ``TOCSIN_`` variable and converted to its type."""
        settings = Settings.from_env(
            environ={
                "TOCSIN_CONFIG": "/etc/tocsin/tocsin.yaml",
                "TOCSIN_TEMPORAL_ADDRESS": "temporal.internal:7233",
                "TOCSIN_API_PORT": "9090",
                "TOCSIN_LOG_FORMAT": "json",
                "TOCSIN_SMTP_HOST": "smtp.example.com",
                "TOCSIN_SMTP_STARTTLS": "true",
                "TOCSIN_SMTP_TIMEOUT": "2.5",
            }
        )

        assert settings.config == Path("/etc/tocsin/tocsin.yaml")
        assert settings.temporal_address == "temporal.internal:7233"
        assert settings.api_port == 9090
        assert settings.log_format == "json"
        assert settings.smtp_configured
        assert settings.smtp_starttls is True
        assert settings.smtp_timeout == 2.5

    def test_unprefixed_variables_ignored(self) -> None:
        """Only ``TOCSIN_``-prefixed variables count."""
        settings = Settings.from_env(environ={"API_PORT": "9090", "CONFIG": "other.yaml"})

        assert settings.api_port == 8080
        assert settings.config == Path("tocsin.yaml")

    def test_overrides_win(self) -> None:
        """Explicit overrides (CLI flags) beat the environment."""
        settings = Settings.from_env(
            {"api_port": 9999, "config": Path("cli.yaml")},
            environ={"TOCSIN_API_PORT": "9090", "TOCSIN_CONFIG": "env.yaml"},
        )

        assert settings.api_port == 9999
        assert settings.config == Path("cli.yaml")

    def test_none_override_keeps_environment(self) -> None:
        """An override left as None (a flag not given) does not hide the variable."""
        settings = Settings.from_env({"api_port": None}, environ={"TOCSIN_API_PORT": "9090"})

        assert settings.api_port == 9090

    def test_empty_values_ignored(self) -> None:
        """A variable set to the empty string counts as unset."""
        settings = Settings.from_env(
            environ={"TOCSIN_API_PORT": "", "TOCSIN_API_TOKEN": "", "TOCSIN_SMTP_HOST": ""}
        )

        assert settings.api_port == 8080
        assert settings.api_token is None
        assert not settings.smtp_configured

    @pytest.mark.parametrize("value", ["eighty", "0", "70000"])
    def test_bad_port_named(self, value: str) -> None:
        """A port that is not a number in 1..65535 is an error naming TOCSIN_API_PORT."""
        with pytest.raises(SettingsError, match="TOCSIN_API_PORT"):
            Settings.from_env(environ={"TOCSIN_API_PORT": value})

    def test_bad_log_format_named(self) -> None:
        """An unknown log format is an error naming TOCSIN_LOG_FORMAT."""
        with pytest.raises(SettingsError, match="TOCSIN_LOG_FORMAT"):
            Settings.from_env(environ={"TOCSIN_LOG_FORMAT": "xml"})


class TestSecrets:
    settings = Settings.from_env(
        environ={
            "TOCSIN_API_TOKEN": "api-t0ken-value",
            "TOCSIN_SMTP_HOST": "smtp.example.com",
            "TOCSIN_SMTP_PASSWORD": "smtp-pa55word",
        }
    )

    def test_secret_types(self) -> None:
        """The API token and the SMTP password are SecretStr holding the real values."""
        assert isinstance(self.settings.api_token, SecretStr)
        assert isinstance(self.settings.smtp_password, SecretStr)
        assert self.settings.api_token.get_secret_value() == "api-t0ken-value"
        assert self.settings.smtp_password.get_secret_value() == "smtp-pa55word"

    def test_not_in_repr_or_str(self) -> None:
        """Neither secret shows in repr(), str() or a JSON dump of the settings."""
        for text in (repr(self.settings), str(self.settings), self.settings.model_dump_json()):
            assert "api-t0ken-value" not in text
            assert "smtp-pa55word" not in text


class TestEnvVarNames:
    def test_lists_every_variable(self) -> None:
        """One variable per setting: TOCSIN_*, and Slack's and GitHub's under their usual names."""
        names = env_var_names()

        assert "TOCSIN_API_TOKEN" in names
        assert "TOCSIN_SMTP_PASSWORD" in names
        assert "TOCSIN_TEMPORAL_ADDRESS" in names
        assert len(set(names)) == len(Settings.model_fields)
        vendor = {name for name in names if not name.startswith("TOCSIN_")}
        assert vendor == {
            "SLACK_BOT_TOKEN",
            "SLACK_SIGNING_SECRET",
            "SLACK_API_URL",
            "GITHUB_TOKEN",
            "GITHUB_API_URL",
            "GITHUB_WEBHOOK_SECRET",
        }
        assert all(name.isupper() for name in names)


class TestVendorSettings:
    """Slack and GitHub settings come from the environment once, their secrets held secret."""

    def test_read_under_their_own_names(self) -> None:
        settings = Settings.from_env(
            environ={
                "SLACK_BOT_TOKEN": "xoxb-123456",
                "SLACK_SIGNING_SECRET": "slack-signing-1",
                "GITHUB_TOKEN": "ghp_abcdef123",
                "GITHUB_WEBHOOK_SECRET": "gh-hook-secret",
                "GITHUB_API_URL": "https://ghe.example/api/v3",
                "TOCSIN_USER": "alice",
            }
        )

        assert settings.github_api_url == "https://ghe.example/api/v3"
        assert settings.user == "alice"
        for secret in ("slack_bot_token", "slack_signing_secret", "github_token"):
            assert isinstance(getattr(settings, secret), SecretStr)
        assert "xoxb-123456" not in repr(settings)
        assert {"xoxb-123456", "slack-signing-1", "ghp_abcdef123", "gh-hook-secret"} <= set(
            secret_values(settings, environ={})
        )
