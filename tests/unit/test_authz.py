"""The pure policy core: the org tree, the decision rules, the built-in role table, passwords and lock-out."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cc.authz import (
    BUILTIN_ROLES,
    SELF_SERVICE,
    Directory,
    GrantSpec,
    OrgTree,
    Permission,
    Resource,
    ResourceKind,
    UserSpec,
    allowed,
    parse_permissions,
)
from cc.authz.passwords import Lockout, check_password, hash_password, needs_rehash, verify_password
from cc.errors import InvalidValue

P = Permission
UNITS = {"hq": None, "sales": "hq", "a": "sales", "a1": "a", "b": "sales", "support": "hq", "c": "support",
         "other": None}


def test_tree_containment_ancestors_and_subtrees() -> None:
    tree = OrgTree(UNITS)
    assert tree.roots == ("hq", "other")
    assert tree.ancestors["a1"] == ("hq", "sales", "a") and tree.depth("a1") == 3
    assert tree.path("a1") == "hq/sales/a/a1"
    assert tree.subtrees["sales"] == {"sales", "a", "a1", "b"}
    assert tree.contains("hq", "a1") and tree.contains("a", "a") and not tree.contains("a", "b")
    assert not tree.contains("other", "a") and not tree.contains("a", "nowhere")
    assert [u for u, _ in tree.walk()] == ["hq", "sales", "a", "a1", "b", "support", "c", "other"]
    assert tree.can_move("b", "support") and not tree.can_move("sales", "a1") and not tree.can_move("a", "a")


def test_tree_refuses_missing_parents_and_cycles() -> None:
    with pytest.raises(InvalidValue, match="no such unit"):
        OrgTree({"a": "ghost"})
    with pytest.raises(InvalidValue, match="cycle"):
        OrgTree({"top": None, "x": "y", "y": "x"})


def test_a_deep_tree_needs_no_recursion() -> None:
    chain = {"u0": None, **{f"u{i}": f"u{i - 1}" for i in range(1, 5000)}}
    tree = OrgTree(chain)
    assert tree.contains("u0", "u4999") and tree.depth("u4999") == 4999


@st.composite
def forests(draw: st.DrawFn) -> dict[str, str | None]:
    n = draw(st.integers(1, 25))
    parents: dict[str, str | None] = {}
    for i in range(n):
        parent = draw(st.one_of(st.none(), st.integers(0, i - 1))) if i else None
        parents[f"u{i}"] = None if parent is None else f"u{parent}"
    return parents


@settings(deadline=None)   # the machine is shared: no timing bound on an example
@given(forests(), st.data())
def test_containment_agrees_with_walking_up_the_parents(parents: dict[str, str | None], data: st.DataObject) -> None:
    tree = OrgTree(parents)
    for unit in parents:
        up, node = set(), unit
        while node is not None:
            up.add(node)
            node = parents[node]
        for other in parents:
            assert tree.contains(other, unit) == (other in up)
            assert (unit in tree.subtrees[other]) == (other in up)


def _dir(*grants: GrantSpec, agent: str | None = None, disabled: bool = False) -> Directory:
    return Directory(units=UNITS, users=[UserSpec(1, "li", agent, disabled), UserSpec(2, "wang", "2000")],
                     grants=grants, agents={"1000": "a1", "2000": "b", "3000": None, "4000": "c"})


@pytest.mark.parametrize(("grant", "agent", "ok"), [
    (GrantSpec(1, "supervisor", units=("a",)), "1000", True),        # a1 lies under a
    (GrantSpec(1, "supervisor", units=("a",)), "2000", False),       # b does not
    (GrantSpec(1, "supervisor", units=("sales",)), "2000", True),
    (GrantSpec(1, "supervisor", units=("sales",)), "3000", False),   # no unit: the organisation's
    (GrantSpec(1, "supervisor", everywhere=True), "3000", True),
    (GrantSpec(1, "supervisor", units=("a", "c")), "4000", True),    # two subtrees
    (GrantSpec(1, "supervisor"), "1000", False),                     # empty scope: own self only
    (GrantSpec(1, "supervisor", units=("ghost",)), "1000", False),   # an unknown unit adds nothing
    (GrantSpec(1, "no-such-role", everywhere=True), "1000", False),
    (GrantSpec(1, "agent", everywhere=True), "1000", False),         # agent_self is not control_agents
])
def test_scope_decides(grant: GrantSpec, agent: str, ok: bool) -> None:
    d = _dir(grant)
    decision = allowed(d.users[1], P.CONTROL_AGENTS, d.agent(agent))
    assert bool(decision) is ok, decision.reason


def test_own_things_and_agent_self() -> None:
    d = _dir(GrantSpec(1, "agent"), agent="1000")
    me = d.users[1]
    assert me.unit == "a1"
    for perm in SELF_SERVICE:
        assert allowed(me, perm, d.agent("1000")).reason == "agent_self"
        assert not allowed(me, perm, d.agent("2000"))
    assert not allowed(me, P.CONTROL_CALLS, d.agent("1000"))      # not a self-service permission
    assert allowed(me, P.VIEW_LIVE, d.user_resource(1))           # his own user (his event stream)
    assert not allowed(me, P.VIEW_LIVE, Resource.common(ResourceKind.QUEUE, "support"))  # no view_live anywhere
    # a supervisor with an empty scope still acts on his own agent (any grant covers its holder)
    d2 = _dir(GrantSpec(1, "supervisor"), agent="2000")
    assert allowed(d2.users[1], P.CONTROL_CALLS, d2.agent("2000")).reason == "own"


def test_shared_org_and_disabled() -> None:
    d = _dir(GrantSpec(1, "supervisor", units=("a",)))
    sup = d.users[1]
    assert allowed(sup, P.VIEW_LIVE, Resource.common(ResourceKind.QUEUE, "support")).reason == "shared resource"
    assert not allowed(sup, P.EDIT_CONFIG, Resource.common(ResourceKind.CONFIG))    # does not hold it at all
    admin_scoped = _dir(GrantSpec(1, "admin", units=("a",))).users[1]
    refused = allowed(admin_scoped, P.EDIT_CONFIG, Resource.org(ResourceKind.CONFIG))
    assert not refused and "whole organisation" in refused.reason
    off = _dir(GrantSpec(1, "admin", everywhere=True), disabled=True).users[1]
    assert not allowed(off, P.VIEW_LIVE, Resource.common(ResourceKind.QUEUE)) and "disabled" in \
        allowed(off, P.VIEW_LIVE, Resource.common(ResourceKind.QUEUE)).reason


def test_grants_add_up_and_everywhere_wins() -> None:
    d = _dir(GrantSpec(1, "qa", units=("c",)), GrantSpec(1, "supervisor", units=("a",)))
    u = d.users[1]
    assert u.roles == ("qa", "supervisor")
    assert allowed(u, P.VIEW_RECORDINGS, d.agent("4000", ResourceKind.RECORDING))   # qa over c
    assert allowed(u, P.VIEW_RECORDINGS, d.agent("1000", ResourceKind.RECORDING))   # supervisor over a
    assert not allowed(u, P.CONTROL_CALLS, d.agent("4000", ResourceKind.CALL))      # qa cannot control
    assert u.reach[P.VIEW_RECORDINGS].units == {"c", "a", "a1"}
    d2 = _dir(GrantSpec(1, "qa", units=("c",)), GrantSpec(1, "manager", everywhere=True))
    assert d2.users[1].reach[P.VIEW_RECORDINGS].everywhere


def test_defined_roles_come_from_rows_builtin_ones_from_the_table() -> None:
    d = Directory(units=UNITS, roles={"listener": [P.VIEW_RECORDINGS], "admin": []},
                  users=[UserSpec(1, "li"), UserSpec(2, "root")],
                  grants=[GrantSpec(1, "listener", units=("a",)), GrantSpec(2, "admin", everywhere=True)])
    assert d.users[1].permissions() == {P.VIEW_RECORDINGS}
    assert d.users[2].permissions() == frozenset(Permission)


def test_builtin_role_table() -> None:
    assert set(BUILTIN_ROLES) == {"admin", "manager", "supervisor", "qa", "agent"}
    assert BUILTIN_ROLES["admin"] == frozenset(Permission)
    assert BUILTIN_ROLES["agent"] == {P.AGENT_SELF}
    assert BUILTIN_ROLES["supervisor"] < BUILTIN_ROLES["manager"] < BUILTIN_ROLES["admin"]
    for role in ("manager", "supervisor", "qa", "agent"):   # least privilege: only admins reveal or read the audit
        assert not BUILTIN_ROLES[role] & {P.REVEAL_NUMBERS, P.VIEW_AUDIT, P.EDIT_CONFIG, P.MANAGE_ROLES}
    assert P.SCORE_CALLS in BUILTIN_ROLES["qa"] and P.CONTROL_CALLS not in BUILTIN_ROLES["qa"]


def test_parse_permissions() -> None:
    assert parse_permissions(["view_live", " export"]) == {P.VIEW_LIVE, P.EXPORT}
    with pytest.raises(ValueError, match="fly"):
        parse_permissions(["view_live", "fly"])
    with pytest.raises(ValueError):
        parse_permissions("view_live")


@pytest.mark.parametrize(("login", "password", "ok"), [
    ("li", "correct horse", True),
    ("li", "short", False),
    ("zhangwei", "xxZHANGWEIxx", False),
    ("li", "aaaaaaaaaaaa", False),
    ("li", "x" * 2000, False),
])
def test_password_rules(login: str, password: str, ok: bool) -> None:
    if ok:
        check_password(login, password)
    else:
        with pytest.raises(InvalidValue) as err:
            check_password(login, password)
        assert password not in str(err.value)


def test_hash_and_verify() -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert verify_password(stored, "correct horse")
    assert not verify_password(stored, "correct horsf")
    assert not verify_password(None, "x") and not verify_password("garbage", "x")
    assert not needs_rehash(stored) and needs_rehash("garbage")


def test_lockout_rule() -> None:
    rule = Lockout(max_failures=3, lock_s=600)
    failures, until = 0, None
    for _ in range(2):
        failures, until = rule.after_failure(failures, 100.0)
        assert until is None
    failures, until = rule.after_failure(failures, 100.0)
    assert (failures, until) == (0, 700.0)
    assert rule.locked(until, 699.0) and not rule.locked(until, 700.0) and not rule.locked(None, 0.0)


@pytest.mark.parametrize("grants", [
    (GrantSpec(1, "supervisor", units=("sales",)),),
    (GrantSpec(1, "supervisor", units=("a", "c")), GrantSpec(1, "qa", everywhere=True)),
    (GrantSpec(1, "agent"),),
    (GrantSpec(1, "manager", everywhere=True),),
    (),
])
def test_visible_agents_agrees_with_allowed(grants: tuple[GrantSpec, ...]) -> None:
    d = _dir(*grants, agent="3000")
    user = d.users[1]
    for perm in Permission:
        visible = d.visible_agents(user, perm)
        for agent in d.agent_units:
            assert (visible is None or agent in visible) == bool(allowed(user, perm, d.agent(agent))), (perm, agent)


def test_the_docs_permission_table_is_the_policy_table() -> None:
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "permissions.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| ") and line.count("|") == 8]
    header = [c.strip() for c in rows[0].strip("|").split("|")]
    assert header[2:] == list(BUILTIN_ROLES)
    seen = set()
    for line in rows[1:]:   # (the separator line starts "|-", not "| ")
        cells = [c.strip() for c in line.strip("|").split("|")]
        perm = P(cells[0])
        seen.add(perm)
        for role, cell in zip(header[2:], cells[2:], strict=True):
            self_only = cell == "(self)"
            assert (cell == "x") == (perm in BUILTIN_ROLES[role]), (perm, role)
            assert self_only == (role == "agent" and perm in SELF_SERVICE), (perm, role)
    assert seen == set(Permission)
