"""Command output: JSON in UTF-8 (not \\u escapes), piped tables whole, written files with the ordinary umask."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from cc.commands.admin_common import aligned
from cc.commands.output import dumps, tsv
from cli import cc

from .conftest import Cli

LONG = "sofia/gateway/" + "a-very-long-gateway-name-" * 6 + "/0049301234567"


@pytest.fixture
def named(cli: Cli) -> Cli:
    assert cli("agent", "add", "1001", "--name", "李雷", "--contact", "user/1001").exit_code == 0
    assert cli("agent", "add", "1002", "--name", "Ada", "--contact", LONG).exit_code == 0
    return cli


def test_json_is_utf8(named: Cli) -> None:
    for args in (("agent", "list", "--json"), ("agent", "show", "1001", "--json"), ("export", "agents", "--json")):
        out = named(*args).output
        assert "李雷" in out and "\\u" not in out, args
    assert dumps({"n": "李雷"}) == '{"n": "李雷"}'


def test_piped_table_is_whole(named: Cli) -> None:
    env = {"CC_DATABASE_URL": named.db_url, "COLUMNS": "80"}
    out = CliRunner().invoke(cc, ["agent", "list"], env=env, catch_exceptions=False).output
    lines = out.splitlines()
    assert lines[0].split("\t")[:3] == ["id", "name", "contact"]
    rows = {line.split("\t")[0]: line.split("\t") for line in lines[1:]}
    assert rows["1002"][2] == LONG and rows["1001"][1] == "李雷"
    shown = CliRunner().invoke(cc, ["agent", "show", "1002"], env=env, catch_exceptions=False).output
    assert LONG in shown


def test_tsv_and_aligned_helpers() -> None:
    assert tsv(["a", "b"], [["x\ty", "z\nw"]]) == "a\tb\nx y\tz w\n"
    text = aligned(["id", "name"], [["1", "李雷"], ["22", "x"]])
    assert text.splitlines() == ["id  name", "1   李雷", "22  x"]


def test_report_files_get_the_umask(cli: Cli, tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        for opt, name in (("--csv", "calls.csv"), ("--xlsx", "calls.xlsx")):
            r = cli("report", "calls", "--db", cli.db_url, opt, str(tmp_path / name))
            assert r.exit_code == 0, r.output
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644, name
        r = cli("report", "chart", "queues", "--db", cli.db_url, "--png", str(tmp_path / "q.png"))
        assert r.exit_code == 0, r.output
        assert stat.S_IMODE((tmp_path / "q.png").stat().st_mode) == 0o644
    finally:
        os.umask(old)
