"""One CLI: every database command reads --db / --config / ./cc.yaml the way `ccctl serve` does, reading never
creates a database, option help says more than the field name, `set` shows no defaults it does not apply."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cli import cc


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    res = CliRunner().invoke(cc, list(args), env={"CC_DATABASE_URL": "", **(env or {})}, catch_exceptions=False)
    return res.exit_code, res.output


def test_admin_commands_use_the_database_of_cc_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cc.yaml").write_text(f"database: sqlite:///{tmp_path / 'center.db'}\n")
    assert run("db", "upgrade")[0] == 0
    assert (tmp_path / "center.db").exists() and not (tmp_path / "cc.db").exists()
    assert run("queue", "add", "support", "--no-reload")[0] == 0
    code, out = run("queue", "list", "--json")
    assert code == 0 and [q["name"] for q in json.loads(out)] == ["support"]
    code, out = run("report", "queues", "--json")
    assert code == 0 and json.loads(out) == {"queues": []}
    code, out = run("db", "current", "--json")
    assert code == 0 and json.loads(out)["up_to_date"] is True
    # --config names another file, from anywhere; --db still wins over it
    other = tmp_path / "other"
    other.mkdir()
    (other / "site.yaml").write_text(f"database: sqlite:///{other / 'site.db'}\n")
    monkeypatch.chdir(other)
    assert run("db", "upgrade", "--config", "site.yaml")[0] == 0 and (other / "site.db").exists()
    assert run("queue", "list", "-c", "site.yaml")[1].strip() == "no queues"
    code, out = run("queue", "list", "--json", "-c", "site.yaml", "--db", f"sqlite:///{tmp_path / 'center.db'}")
    assert [q["name"] for q in json.loads(out)] == ["support"]


@pytest.mark.parametrize("args", [("queue", "list"), ("agent", "show", "1001"), ("export", "agents"),
                                  ("report", "queues"), ("token", "list"), ("queue", "add", "x", "--no-reload")])
def test_nothing_creates_a_database_by_reading(tmp_path: Path, args: tuple[str, ...]) -> None:
    url = f"sqlite:///{tmp_path / 'missing.db'}"
    code, out = run(*args, "--db", url)
    assert code == 1 and "no database at" in out and "ccctl db upgrade" in out
    assert len(out.strip().splitlines()) == 1
    code, out = run("db", "current", "--json", "--db", url)
    assert code == 0 and json.loads(out)["current"] is None
    assert not (tmp_path / "missing.db").exists()


def _options() -> list[tuple[str, click.Option]]:
    out: list[tuple[str, click.Option]] = []

    def walk(cmd: click.Command, path: str) -> None:
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                walk(sub, f"{path} {name}")
            return
        out.extend((path, p) for p in cmd.params if isinstance(p, click.Option) and p.name != "help")

    walk(cc, "cc")
    return out


def test_every_option_help_says_what_it_is() -> None:
    vague = [(path, p.opts[0]) for path, p in _options()
             if not (p.help or "").strip() or (p.help or "").split()[0].rstrip(";.:(") == p.name]
    assert vague == []


def test_set_commands_show_no_defaults() -> None:
    for cmd in (("agent", "set"), ("queue", "set")):
        out = run(*cmd, "--help")[1]
        assert "Default:" not in out and "default None" not in out, cmd
    assert "Default: 3." in run("agent", "add", "--help")[1]


def test_arrival_rate_has_one_name_in_demo_and_whatif() -> None:
    args = ["--agents", "14", "--aht", "3m", "--hours", "4", "--replications", "4", "--max-hours", "0",
            "--workers", "1", "--json"]
    a = json.loads(run("whatif", "--rate", "200", *args)[1])
    b = json.loads(run("whatif", "--calls-per-hour", "200", *args)[1])
    assert a == b | {"sim_hours_per_s": a["sim_hours_per_s"]}
    assert "--calls-per-hour" in run("demo", "--help")[1] and "--rate" in run("whatif", "--help")[1]
