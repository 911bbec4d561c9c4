"""Every test controller that does not test admission runs with tests/calm_admission.py's limits, which a loaded
machine cannot trip (simulated time: a saturated hub and long lags for a minute of decisions refuse nothing)."""

from __future__ import annotations

import ast
from pathlib import Path

from cc.config import load_config
from cc.runtime.admission import Admission
from tests.calm_admission import ADMISSION_TESTS, TEST_OVERLOAD, TEST_OVERLOAD_YAML

ROOT = Path(__file__).resolve().parents[2]


def _test_files() -> list[tuple[str, str]]:
    return [(p.relative_to(ROOT).as_posix(), p.read_text(encoding="utf-8"))
            for p in sorted((ROOT / "tests").rglob("*.py")) if p.relative_to(ROOT).as_posix() not in ADMISSION_TESTS]


def test_every_in_process_test_controller_uses_the_calm_limits() -> None:
    found, wrong = 0, []
    for rel, text in _test_files():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "ServiceConfig" and (
                    node.args or node.keywords):
                found += 1
                given = {k.arg: k.value for k in node.keywords}.get("overload")
                if not (isinstance(given, ast.Name) and given.id == "TEST_OVERLOAD"):
                    wrong.append(f"{rel}:{node.lineno}")
    assert found >= 10 and wrong == [], f"ServiceConfig without overload=TEST_OVERLOAD: {wrong}"


def test_every_serve_process_of_the_tests_gets_the_calm_limits_in_its_cc_yaml() -> None:
    serving = [(rel, text) for rel, text in _test_files()
               if "Popen" in text and "cc.yaml" in text and '"serve"' in text]
    wrong = [rel for rel, text in serving if "TEST_OVERLOAD_YAML" not in text]
    assert len(serving) >= 3, serving
    assert wrong == [], f"`ccctl serve` started without TEST_OVERLOAD_YAML: {wrong}"


def test_the_yaml_spelling_is_the_same_limits() -> None:
    assert load_config(text=TEST_OVERLOAD_YAML).overload == TEST_OVERLOAD


def test_a_loaded_machine_cannot_trip_the_calm_limits() -> None:
    door = Admission(TEST_OVERLOAD)
    refused = [door.decide(t / 10, lag_s=30.0 if t % 50 == 0 else 2.0, calls=500, pending=200, busy=1.0)
               for t in range(600)]    # a minute at 10 decisions a second: hub always 100 % busy, 30 s stalls
    assert refused == [None] * 600 and door.share == 1.0
