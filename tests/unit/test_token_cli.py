"""``tocsin token create|list|revoke`` against a SQLite database: exit codes and messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from starters.cli import app
from starters.credentials.tokens import parse

EXAMPLE = Path(__file__).resolve().parents[2] / "tocsin.example.yaml"


@pytest.fixture
def tocsin(tmp_path: Path) -> CliRunner:
    """A runner whose database is a fresh SQLite file under the test's data dir."""
    return CliRunner(
        env={
            "TOCSIN_CONFIG": str(EXAMPLE),
            "TOCSIN_DATA_DIR": str(tmp_path / "data"),
            "TOCSIN_DATABASE_URL": "",
        }
    )


def token(tocsin: CliRunner, *args: str) -> Result:
    return tocsin.invoke(app, ["token", *args])


def listed(tocsin: CliRunner) -> list[dict[str, object]]:
    result = token(tocsin, "list", "--json")
    assert result.exit_code == 0, result.output
    found: list[dict[str, object]] = json.loads(result.stdout)
    return found


class TestCreate:
    def test_person_token_printed_once(self, tocsin: CliRunner) -> None:
        """The token alone on stdout (for scripts), the hint on stderr; stored hashed."""
        result = token(tocsin, "create", "--person", "alice", "--name", "laptop")

        assert result.exit_code == 0, result.output
        [line] = result.stdout.splitlines()
        parsed = parse(line)
        assert parsed is not None
        assert "shown only now" in result.stderr
        assert parsed.secret not in result.stderr
        [row] = listed(tocsin)
        assert (row["id"], row["kind"], row["person"], row["name"]) == (
            parsed.id,
            "person",
            "alice",
            "laptop",
        )
        assert row["created_by"] == "cli"

    def test_integration_token(self, tocsin: CliRunner) -> None:
        """--kind integration with repeated --scope; --json shows the token this once."""
        result = token(
            tocsin,
            "create",
            "--kind",
            "integration",
            "--name",
            "prometheus",
            "--scope",
            "intake:alertmanager",
            "--scope",
            "pages:create",
            "--json",
        )

        assert result.exit_code == 0, result.output
        body = json.loads(result.stdout)
        assert body["token"].startswith(f"tocsin_{body['id']}_")
        assert body["scopes"] == ["intake:alertmanager", "pages:create"]

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (
                ["--person", "zed"],
                f"error: --person: unknown person 'zed' (not among the people of {EXAMPLE})",
            ),
            ([], "error: --person: a person token needs the person it acts as"),
            (
                ["--kind", "integration"],
                "error: --scope: an integration token needs at least one scope "
                "(intake:alertmanager, intake:events, intake:heartbeat, pages:create)",
            ),
            (
                ["--kind", "admin", "--scope", "pages:create"],
                "error: --scope: only integration tokens carry scopes; what admin tokens may do "
                "follows from their kind",
            ),
            (
                ["--kind", "admin", "--person", "alice"],
                "error: --person: only person tokens belong to a person, not admin tokens",
            ),
        ],
    )
    def test_bad_input_exits_2(self, tocsin: CliRunner, args: list[str], message: str) -> None:
        """A token that could not be used as asked exits 2 naming the option; none is made."""
        result = token(tocsin, "create", "--name", "x", *args)

        assert result.exit_code == 2
        assert result.stderr.strip() == message
        assert result.stdout == ""
        assert listed(tocsin) == []

    def test_unknown_scope_exits_2(self, tocsin: CliRunner) -> None:
        """An unknown scope is named, with the ones there are."""
        result = token(tocsin, "create", "--kind", "integration", "--name", "x", "--scope", "bogus")

        assert result.exit_code == 2
        assert "'bogus' is not one of" in result.stderr
        assert "intake:events" in result.stderr

    def test_bad_config_exits_2(self, tocsin: CliRunner, tmp_path: Path) -> None:
        """A config that does not load is reported with its file; no token is made."""
        missing = tmp_path / "nope.yaml"

        result = token(tocsin, "create", "--person", "alice", "--name", "x", "-c", str(missing))

        assert result.exit_code == 2
        assert f"{missing}: file not found" in result.stderr


class TestListAndRevoke:
    def test_list_shows_no_secret(self, tocsin: CliRunner) -> None:
        """The table names each token by id, kind, name and holder; never the token."""
        created = token(tocsin, "create", "--person", "bob", "--name", "phone").stdout.strip()

        result = token(tocsin, "list")

        assert result.exit_code == 0
        parsed = parse(created)
        assert parsed is not None
        assert parsed.id in result.stdout
        assert "phone" in result.stdout
        assert parsed.secret not in result.stdout
        assert "never used" in result.stdout

    def test_empty_list(self, tocsin: CliRunner) -> None:
        """No tokens yet: a line saying how to make one."""
        result = token(tocsin, "list")

        assert result.exit_code == 0
        assert "tocsin token create" in result.stdout

    def test_revoke(self, tocsin: CliRunner) -> None:
        """Revoking prints which token; again is fine; an unknown id exits 2."""
        created = parse(token(tocsin, "create", "--person", "bob", "--name", "x").stdout.strip())
        assert created is not None

        first = token(tocsin, "revoke", created.id)
        again = token(tocsin, "revoke", created.id)
        unknown = token(tocsin, "revoke", "nope")

        assert first.exit_code == again.exit_code == 0
        assert first.stdout == f"revoked token {created.id} ('x', person bob)\n"
        assert listed(tocsin)[0]["revoked_at"] is not None
        assert unknown.exit_code == 2
        assert unknown.stderr == "error: no token 'nope' (see tocsin token list)\n"


class TestDatabase:
    def test_unsupported_url_exits_2(self, tocsin: CliRunner) -> None:
        """A database URL Tocsin does not support is named by its variable."""
        result = tocsin.invoke(
            app, ["token", "list"], env={"TOCSIN_DATABASE_URL": "mysql://u:pw@db/t"}
        )

        assert result.exit_code == 2
        assert "TOCSIN_DATABASE_URL" in result.stderr
        assert "pw" not in result.stderr

    def test_unreachable_database_exits_1(self, tocsin: CliRunner, tmp_path: Path) -> None:
        """A database that cannot be opened exits 1 with the failing step."""
        blocker = tmp_path / "file"
        blocker.write_text("not a directory")
        url = f"sqlite:///{blocker / 'tocsin.db'}"

        result = tocsin.invoke(app, ["token", "list"], env={"TOCSIN_DATABASE_URL": url})

        assert result.exit_code == 1
        assert "migrate" in result.stderr
