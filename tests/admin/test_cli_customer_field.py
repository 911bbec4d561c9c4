"""`ccctl customer-field add|list|del`: definitions saved and listed, bad ones refused in one line with exit 2,
an unknown one to delete is exit 1, --as under the policy (edit_config)."""

from __future__ import annotations

import json

from .conftest import Cli


def test_add_list_del(cli: Cli) -> None:
    r = cli("customer-field", "add", "age", "--type", "number", "--label-zh", "年龄", "--label-en", "Age",
            "--required", "--position", "1")
    assert r.exit_code == 0, r.output
    assert cli("customer-field", "add", "level", "--type", "choice", "--choice", "gold", "--choice", "silver",
               "--position", "2").exit_code == 0
    listed = json.loads(cli("customer-field", "list", "--json").output)
    assert [(f["key"], f["type"], f["required"], f["choices"]) for f in listed] == [
        ("age", "number", True, []), ("level", "choice", False, ["gold", "silver"])]
    assert listed[0]["label_zh"] == "年龄"
    for bad in (("customer-field", "add", "tier", "--type", "choice"),              # a choice without choices
                ("customer-field", "add", "Bad-Key"),
                ("customer-field", "add", "job", "--choice", "x"),                  # choices of a text field
                ("customer-field", "add", "job", "--type", "colour")):
        r = cli(*bad)
        assert r.exit_code == 2 and len(r.output.strip().splitlines()[-1]) < 200, (bad, r.output)
    assert "tier" not in cli("customer-field", "list").output
    assert cli("customer-field", "del", "age").exit_code == 0
    r = cli("customer-field", "del", "age")
    assert r.exit_code == 1 and "no customer field 'age'" in r.output
    assert [f["key"] for f in json.loads(cli("customer-field", "list", "--json").output)] == ["level"]


def test_as_a_user_needs_edit_config(cli: Cli) -> None:
    for login, role in (("zhao", "admin"), ("li", "supervisor")):
        assert cli("user", "add", login).exit_code == 0
        assert cli("user", "grant", login, role, "--scope", "*").exit_code == 0
    r = cli("customer-field", "add", "age", "--type", "number", "--as", "li")
    assert r.exit_code == 1 and "edit_config" in r.output
    assert cli("customer-field", "add", "age", "--type", "number", "--as", "zhao").exit_code == 0
    assert "age" in cli("customer-field", "list").output
