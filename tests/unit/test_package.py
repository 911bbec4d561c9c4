"""The package's public surface and the import rules of DESIGN.md."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import cc
from cc import errors

PKG = Path(cc.__file__).resolve().parent


def _modules() -> list[Path]:
    return sorted(p for p in PKG.rglob("*.py") if "migrations" not in p.parts or p.name == "env.py")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_all_names_exist_and_are_documented() -> None:
    assert cc.__all__ == sorted(cc.__all__, key=str)
    for name in cc.__all__:
        obj = getattr(cc, name)
        if not isinstance(obj, str):
            assert obj.__doc__, name


def test_every_module_imports_and_has_a_docstring() -> None:
    for info in pkgutil.walk_packages(cc.__path__, "cc."):
        if ".migrations" in info.name:
            continue
        module = importlib.import_module(info.name)
        assert module.__doc__ and module.__doc__.strip(), info.name


def test_only_cc_esl_imports_greenswitch() -> None:
    offenders = [
        p for p in _modules()
        if "greenswitch" in _imports(p) and p.relative_to(PKG).parts[0] != "esl"
    ]
    assert offenders == []


def test_only_cc_store_imports_sqlalchemy() -> None:
    allowed = {"sqlalchemy", "alembic"}
    offenders = [
        p for p in _modules()
        if _imports(p) & allowed and p.relative_to(PKG).parts[0] != "store"
    ]
    assert offenders == []


@pytest.mark.parametrize("core", ["acd", "ivr_dsl", "dialer", "authz"])
def test_pure_cores_import_no_io(core: str) -> None:
    banned = {"gevent", "greenswitch", "sqlalchemy", "alembic", "socket", "requests", "urllib3", "httpx"}
    for path in sorted((PKG / core).rglob("*.py")):
        assert not (_imports(path) & banned), path
        text = path.read_text(encoding="utf-8")
        for clock_read in ("time.time(", "datetime.now(", "time.monotonic(", "datetime.utcnow("):
            assert clock_read not in text, f"{path}: reads the wall clock ({clock_read})"


def test_error_tree_has_one_root() -> None:
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.CCError), name
        assert cls.__doc__, name


def test_nothing_reads_outside_the_repository() -> None:
    """A clone passes its own tests: code, docs, benchmarks and CI name no path outside it."""
    root = PKG.parent
    files = [root / n for n in ("README.md", "Makefile", "setup.cfg", "pyproject.toml", "cli.py", ".ci/run")]
    for sub in ("cc", "docs", "bench", "tests", "freeswitch-conf", "flows"):
        files += [p for p in (root / sub).rglob("*")
                  if p.is_file() and p.suffix in {".py", ".md", ".yaml", ".xml", ".cfg"}]
    needle = "../" + "shared"
    offenders = [str(p.relative_to(root)) for p in files
                 if "esl-captures" not in p.parts and p.is_file() and needle in p.read_text(encoding="utf-8")]
    assert offenders == []
    assert (root / "tests" / "data" / "esl-captures" / "outbound_ivr.esl").is_file()
    assert len(list((root / "tests" / "data" / "esl-captures").rglob("*.esl"))) >= 16
