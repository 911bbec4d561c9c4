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

    walk(cc, "ccctl")
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
    a = json.loads(run("whatif", "--calls-per-hour", "200", *args)[1])
    res = CliRunner().invoke(cc, ["whatif", "--rate", "200", *args], catch_exceptions=False)
    assert res.exit_code == 0
    assert res.stderr.strip() == "ccctl whatif: --rate is deprecated and goes in the next release: use --calls-per-hour"
    assert json.loads(res.stdout) == a | {"sim_hours_per_s": json.loads(res.stdout)["sim_hours_per_s"]}
    for cmd in ("demo", "whatif"):
        help_text = run(cmd, "--help")[1]
        assert "--calls-per-hour" in help_text and "--rate" not in help_text, cmd
    code, out = run("whatif", "--rate", "200", "--calls-per-hour", "100", "--agents", "3")
    assert code == 2 and out.strip().splitlines()[-1].startswith("ccctl: --rate"), out


#: What each option name means, where several commands share it: its type name (click's, or cc's own
#: type's) and, for values with a unit, the metavar that shows the unit.
CONCEPTS = {
    "--agents": ("integer", None),           # a number of agents; a roster file is --roster FILE
    "--calls-per-hour": ("float", None),     # an arrival rate per hour
    "--duration": ("text", "DURATION"),      # simulated time with its unit: 90s, 30m, 2h
    "--time-scale": ("float", None),         # wall seconds per simulated second
}

#: Names that mean two things: none; a new meaning gets a new name (docs/admin.md: option names).
KNOWN_CLASHES: dict[str, str] = {}

#: Types that differ only in their bounds or in how a value is read, not in what it is.
_SAME = {"integer range": "integer", "float range": "float", "file": "text", "path": "text", "text|none": "text",
         "DURATION": "text", "DURATION|none": "text", "choice": "text"}


def _kind(p: click.Option) -> str:
    if p.is_flag:
        return "flag"
    name = p.type.name
    kind = _SAME.get(name, name)
    return f"{kind} (repeatable)" if p.multiple else kind


def test_one_option_name_one_type_in_every_command() -> None:
    """The same option name never has two types across commands (hidden old spellings aside)."""
    kinds: dict[str, dict[str, list[str]]] = {}
    for path, p in _options():
        if p.hidden:
            continue
        for opt in p.opts + p.secondary_opts:
            kinds.setdefault(opt, {}).setdefault(_kind(p), []).append(path)
    clashes = {opt: by for opt, by in kinds.items() if len(by) > 1}
    assert sorted(clashes) == sorted(KNOWN_CLASHES), {o: by for o, by in clashes.items() if o not in KNOWN_CLASHES}


def test_each_concept_has_one_name_type_and_unit() -> None:
    seen: dict[str, set[str]] = {}
    for path, p in _options():
        if p.hidden:
            continue
        for opt in p.opts:
            if opt in CONCEPTS:
                type_name, metavar = CONCEPTS[opt]
                shown = p.type.name.replace(" range", "")
                assert shown == type_name and p.metavar == metavar, (path, opt, shown, p.metavar)
                seen.setdefault(opt, set()).add(path)
            # the old names of these concepts are gone from every --help (accepted, hidden, for one release)
            assert opt not in ("--rate", "--calls"), (path, opt)
    assert {"ccctl demo", "ccctl whatif"} <= seen["--agents"]
    assert {"ccctl demo", "ccctl sim"} <= seen["--duration"]
    assert {"ccctl demo", "ccctl sim", "ccctl serve"} <= seen["--time-scale"]


def test_old_spellings_still_work_for_one_release(monkeypatch: pytest.MonkeyPatch) -> None:
    """--rate, staff's --calls, sim's --agents FILE and queue status --interval: one line on stderr each."""
    import cc.commands.sim as sim_cmd

    res = CliRunner().invoke(cc, ["staff", "--calls", "300", "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["intervals"][0]["calls"] == 300
    assert "--calls is deprecated" in res.stderr and "--calls-per-interval" in res.stderr
    res = CliRunner().invoke(cc, ["staff", "--calls-per-interval", "300", "--json"])
    assert res.exit_code == 0 and res.stderr == ""

    got: dict[str, object] = {}

    def fake_run_sim(**kw: object) -> dict[str, object]:
        got.update(kw)
        return {"placed": 0}

    monkeypatch.setattr(sim_cmd, "run_sim", fake_run_sim)
    res = CliRunner().invoke(cc, ["sim", "--agents", "a.yaml", "--json"])
    assert res.exit_code == 0 and got["agents_file"] == "a.yaml" and "use --roster FILE" in res.stderr
    res = CliRunner().invoke(cc, ["sim", "--roster", "a.yaml", "--agents", "b.yaml"])
    assert res.exit_code == 2 and "--agents" in res.output
    # --duration is simulated time, as in ccctl demo: 2 h at 0.001 wall seconds per simulated second is 7.2 s
    res = CliRunner().invoke(cc, ["sim", "--roster", "a.yaml", "--duration", "2h", "--time-scale", "0.001", "--json"])
    assert res.exit_code == 0 and got["duration"] == pytest.approx(7.2) and got["time_scale"] == 0.001
    for bad in (["--duration", "soon"], ["--duration", "0"], ["--time-scale", "fast"], ["--time-scale", "-1"]):
        res = CliRunner().invoke(cc, ["sim", *bad])
        assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1 and bad[0] in res.output, bad
    assert "--refresh SECONDS" in run("queue", "status", "--help")[1]


def test_renamed_list_options_keep_their_old_spelling(tmp_path: Path) -> None:
    """campaign --agents A,B is --agent-ids, retention run --keep is --keep-for, role set --remove is
    --remove-permission: the old names are hidden, work for one release with one line on stderr, and
    given together with the new name are a bad argument (exit 2)."""
    url = f"sqlite:///{tmp_path / 'cc.db'}"
    env = {"CC_DATABASE_URL": "", "CC_USER": ""}
    runner = CliRunner()
    assert run("db", "upgrade", "--db", url)[0] == 0
    for args, old, new in ((("campaign", "set"), "--agents", "--agent-ids"),
                           (("retention", "run"), "--keep", "--keep-for"),
                           (("role", "set"), "--remove", "--remove-permission")):
        help_text = run(*args, "--help")[1]
        assert new in help_text and f"{old} " not in help_text, args
    assert run("agent", "add", "1001", "--db", url, "--no-reload")[0] == 0
    assert run("agent", "add", "1002", "--db", url, "--no-reload")[0] == 0
    assert run("campaign", "add", "spring", "--db", url, "--gateway", "gw1", "--agent-ids", "1001")[0] == 0
    res = runner.invoke(cc, ["campaign", "set", "spring", "--db", url, "--agents", "1001,1002"], env=env)
    assert res.exit_code == 0, res.output
    assert res.stderr.strip() == "ccctl set: --agents is deprecated and goes in the next release: use --agent-ids"
    code, out = run("campaign", "list", "--db", url, "--json")
    assert code == 0 and json.loads(out)[0]["agents"] == ["1001", "1002"], out
    res = runner.invoke(cc, ["campaign", "set", "spring", "--db", url, "--agents", "1001", "--agent-ids", "1002"],
                        env=env)
    assert res.exit_code == 2 and res.output.strip().splitlines()[-1].startswith("ccctl: --agents"), res.output

    res = runner.invoke(cc, ["retention", "run", "--db", url, "--dry-run", "--json", "--keep", "call_records=30d"],
                        env=env)
    assert res.exit_code == 0 and json.loads(res.stdout)["dry_run"] is True, res.output
    assert "--keep is deprecated" in res.stderr and "use --keep-for" in res.stderr
    res = runner.invoke(cc, ["retention", "run", "--db", url, "--keep", "calls=30d"], env=env)
    assert res.exit_code == 2 and "--keep-for" in res.output
    res = runner.invoke(cc, ["retention", "run", "--db", url, "--keep", "leads=1y", "--keep-for", "leads=2y"], env=env)
    assert res.exit_code == 2 and "give --keep-for only" in res.output

    assert run("role", "add", "listener", "--db", url, "--permission", "view_recordings,view_reports")[0] == 0
    res = runner.invoke(cc, ["role", "set", "listener", "--db", url, "--remove", "view_reports"], env=env)
    assert res.exit_code == 0 and res.stdout.strip() == "role listener: view_recordings", res.output
    assert "--remove is deprecated" in res.stderr and "use --remove-permission" in res.stderr
    res = runner.invoke(cc, ["role", "set", "listener", "--db", url, "--remove-permission", "view_recordings"], env=env)
    assert res.exit_code == 0 and res.stderr == "" and res.stdout.strip() == "role listener: no permissions"
