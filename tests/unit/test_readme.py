"""The README's embedding example runs as written, and docs/cc.example.yaml is a valid configuration."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from cc.config import load_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(90)
def test_readme_embedding_example_runs(tmp_path: Path) -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- embedding-example -->\n```python\n(.*?)```", text, re.S)
    assert m, "the README has its embedding example"
    script = tmp_path / "embed.py"
    script.write_text(m.group(1))
    r = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=80)
    assert r.returncode == 0, r.stderr
    assert "talks to agent 1001" in r.stdout
    assert "ended: answered" in r.stdout
    assert "1 call(s) connected" in r.stdout


def test_example_configuration_loads() -> None:
    cfg = load_config(str(ROOT / "docs" / "cc.example.yaml"))
    assert cfg.outbound_port == 8084 and cfg.nodes[0].port == 8021
    assert cfg.routes["7000"] == "main_menu.yaml"
    assert cfg.drain_timeout_s == 30
