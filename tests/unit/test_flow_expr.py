"""The safe expression language: semantics table, syntax errors with offsets, total evaluation (fuzzed)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cc.ivr_dsl.expr import ExprSyntaxError, parse_expr, parse_template

ENV: dict[str, Any] = {
    "digits": "1",
    "n": 3,
    "f": 2.5,
    "s": "abc",
    "vip": True,
    "none": None,
    "lang": "es",
    "crm": {"customer": {"id": "C1", "balance": "150.50", "tags": ["gold", "late"]}},
    "pin": "1234",
    "empty": "",
}


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("digits == 1", True),  # DTMF digits are strings; numbers compare by value
        ("digits == '1'", True),
        ("digits != 2", True),
        ("n > 2 and n < 4", True),
        ("n >= 3 and n <= 3", True),
        ("crm.customer.balance > 100", True),
        ("s < 'abd'", True),
        ("s > 1", False),  # string vs number: comparisons are false, never an error
        ("lang in ['es', 'pt']", True),
        ("lang not in ['es', 'pt']", False),
        ("'gold' in crm.customer.tags", True),
        ("'b' in s", True),
        ("'id' in crm.customer", True),
        ("pin matches '\\d{4}'", True),
        ("pin matches '\\d{3}'", False),  # whole match
        ("s matches '['", False),  # a bad pattern never matches
        ("not vip", False),
        ("vip or missing", True),
        ("missing == null", True),
        ("missing.deep.key == null", True),
        ("crm.customer.tags[1]", "late"),
        ("crm.customer.tags[5]", None),
        ("crm['customer'].id", "C1"),
        ("n + 1", 4),
        ("n * f", 7.5),
        ("n / 0", None),
        ("n % 2", 1),
        ("-n", -3),
        ("'x' + n", "x3"),
        ("s + none", "abc"),
        ("n - 'a'", None),
        ("len(s) + len(crm.customer.tags)", 5),
        ("lower('ABC') + upper('d')", "abcD"),
        ("int('42') + number('1.5')", 43.5),
        ("int('nope')", None),
        ("digits('+33 6 12')", "33612"),
        ("default(missing, 'x')", "x"),
        ("default(empty, 'x')", "x"),
        ("default(s, 'x')", "abc"),
        ("round(2.567, 2)", 2.57),
        ("str(true)", "true"),
        ("if(vip, 10, 3)", 10),
        ("if(none, 10, 3)", 3),
        ("[1, 2][0]", 1),
        ("(1 + 2) * 3", 9),
        ("true and false or true", True),
        ("'it\\'s'", "it's"),
    ],
)
def test_semantics(source: str, value: Any) -> None:
    assert parse_expr(source).evaluate(ENV) == value


@pytest.mark.parametrize(
    ("source", "offset", "message"),
    [
        ("a ==", 4, "expected a value, found the end"),
        ("1 +* 2", 3, "expected a value, found '*'"),
        ("a b", 2, "unexpected 'b'"),
        ("foo(1)", 0, "unknown function foo()"),
        ("len(1, 2)", 0, "len() takes 1 argument(s), got 2"),
        ("a.", 2, "expected a name after '.'"),
        ("a = 1", 2, "unexpected character '='"),
        ("__import__('os')", 0, "unknown function __import__()"),
        ("", 0, "empty expression"),
    ],
)
def test_syntax_errors_name_the_offset(source: str, offset: int, message: str) -> None:
    with pytest.raises(ExprSyntaxError) as info:
        parse_expr(source)
    assert info.value.offset == offset
    assert message in str(info.value)


def test_nesting_and_length_limits() -> None:
    with pytest.raises(ExprSyntaxError, match="nested too deeply"):
        parse_expr("(" * 100 + "1" + ")" * 100)
    with pytest.raises(ExprSyntaxError, match="longer than"):
        parse_expr("1 + " * 1000 + "1")


def test_names_are_the_variables_read() -> None:
    assert parse_expr("crm.vip and lang in ['es'] or len(s) > n").names == {"crm", "lang", "s", "n"}


def test_templates() -> None:
    t = parse_template("https://crm/{{ crm.customer.id }}?n={{n + 1}}&x={{missing}}")
    assert t.render(ENV) == "https://crm/C1?n=4&x="
    assert t.names == {"crm", "n", "missing"}
    assert not t.is_constant and parse_template("plain").is_constant
    with pytest.raises(ExprSyntaxError, match=re.escape("in {{a ==}}")):
        parse_template("x {{a ==}}")


def test_string_growth_is_capped() -> None:
    env = {"s": "x" * 6000}
    assert parse_expr("s + s").evaluate(env) is None


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="ab1.'\"()[]=!<>+-*/% andornotinmatches,_", max_size=40))
def test_fuzz_parse_or_syntax_error_and_evaluation_never_raises(source: str) -> None:
    try:
        expr = parse_expr(source)
    except ExprSyntaxError:
        return
    expr.evaluate(ENV)
    expr.evaluate({})
