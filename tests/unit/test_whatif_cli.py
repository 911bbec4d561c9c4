"""`cc whatif`: bad input is one line and exit 2, checked before any worker process is forked."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from cc.errors import InvalidValue
from cc.wfm.whatif import AgentGroup, simulate_replicated


def test_no_agents_is_one_line_exit_2() -> None:
    from cli import cc

    for args in (["--agents", "0"], ["--agents", "0", "--add-agents", "0"]):
        res = CliRunner().invoke(cc, ["whatif", *args, "--calls-per-hour", "100", "--workers", "2",
                                      "--replications", "2", "--hours", "1"])
        assert res.exit_code == 2, res.output
        assert res.output.strip().splitlines() == ["cc: agents=0: at least one agent is needed"]


def test_replicated_validates_before_forking() -> None:
    with pytest.raises(InvalidValue):
        simulate_replicated([AgentGroup(3)], calls_per_hour=10, aht_s=100, wrap_up_s=100, hours=1, replications=2,
                            workers=2)
