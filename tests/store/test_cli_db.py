"""`ccctl db upgrade | downgrade | current` through the real click group."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cc.store import db as store_db
from cli import cc

from .conftest import BACKENDS


@pytest.fixture
def fresh(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'cli.db'}"
    return str(request.getfixturevalue("pg_databases").create())


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrade_current_downgrade(fresh: str) -> None:
    runner = CliRunner()
    res = runner.invoke(cc, ["db", "current", "--json", "--url", fresh])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output) | {"url": None} == {
        "url": None,
        "current": None,
        "head": store_db.head_revision(),
        "up_to_date": False,
    }
    res = runner.invoke(cc, ["db", "upgrade", "--url", fresh])
    assert res.exit_code == 0, res.output
    assert store_db.head_revision() in res.output
    res = runner.invoke(cc, ["db", "current", "--url", fresh])
    assert res.exit_code == 0 and "yes" in res.output
    res = runner.invoke(cc, ["db", "downgrade", "base", "--url", fresh])
    assert res.exit_code == 0 and "base" in res.output
    assert store_db.current_revision(fresh) is None


def test_url_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'env.db'}"
    monkeypatch.setenv("CC_DATABASE_URL", url)
    res = CliRunner().invoke(cc, ["db", "upgrade"])
    assert res.exit_code == 0, res.output
    assert store_db.current_revision(url) == store_db.head_revision()


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["db", "upgrade", "--url", "mysql://u@h/db"], 2),
        (["db", "downgrade", "nosuchrev", "--url", "sqlite://"], 2),
        (["db", "upgrade", "--url", "postgresql+psycopg://u:secret@127.0.0.1:1/x"], 1),
    ],
)
def test_bad_arguments_one_line_and_exit_code(args: list[str], code: int) -> None:
    res = CliRunner().invoke(cc, args)
    assert res.exit_code == code
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ccctl: ")
    assert "secret" not in res.output


def test_help_has_examples() -> None:
    for sub in ([], ["upgrade"], ["downgrade"], ["current"]):
        res = CliRunner().invoke(cc, ["db", *sub, "--help"])
        assert res.exit_code == 0 and "Example" in res.output


def test_current_masks_the_password() -> None:
    from cc.commands.db import _masked

    assert (
        _masked("postgresql+psycopg://cc:s3cret@db.example:5432/cc")
        == "postgresql+psycopg://cc:***@db.example:5432/cc"
    )
    assert _masked("postgresql+psycopg://cc@db.example/cc") == "postgresql+psycopg://cc@db.example/cc"
    assert _masked("sqlite:///cc.db") == "sqlite:///cc.db"
