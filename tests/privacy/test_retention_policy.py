"""Retention periods as cc.yaml and `ccctl retention run --keep-for` give them: every bad one is one error."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cc.config import load_config
from cc.errors import ConfigError
from cc.privacy.policy import parse_age
from cc.store.db import upgrade
from cli import cc


def test_periods_and_their_units() -> None:
    assert parse_age("36h") == 36 * 3600 and parse_age("2y") == 2 * 365 * 86400 and parse_age("forever") is None
    for bad in ("90", "0d", "-1d", "1x", 90, True):
        with pytest.raises(ValueError):
            parse_age(bad)


@pytest.mark.parametrize("period", ["3000y", "9999999999d", "99999999999999999999w"])
def test_a_period_beyond_any_date_is_refused_not_a_crash(period: str, tmp_path: Path) -> None:
    """Periods reaching before year 1 (now - period) cannot be cut: refused with 'forever' named, not an
    OverflowError from the job."""
    with pytest.raises(ValueError, match="forever"):
        parse_age(period)
    cfg = tmp_path / "cc.yaml"
    cfg.write_text(f"retention:\n  recordings: {period}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"cc.yaml:2"):
        load_config(str(cfg))
    url = f"sqlite:///{tmp_path / 'cc.db'}"
    upgrade(url)
    res = CliRunner().invoke(cc, ["retention", "run", "--db", url, "--dry-run", "--keep-for", f"recordings={period}"])
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1, res.output
