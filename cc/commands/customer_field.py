"""`ccctl customer-field add|list|del`: the admin's custom fields of customers (shown and edited on the customer
pages, values checked against these definitions)."""

from __future__ import annotations

import click

from cc.authz import Permission, ResourceKind
from cc.commands.acting import audited
from cc.commands.admin_common import db_option, emit, open_repos

__all__ = ["customer_field"]


@click.group("customer-field")
def customer_field() -> None:
    """Custom fields of customers, defined by the admin.

    \b
    Examples:
      ccctl customer-field add age --type number --label-zh 年龄 --label-en Age
      ccctl customer-field add level --type choice --choice gold --choice silver --required
      ccctl customer-field list --json
      ccctl customer-field del age
    """


@customer_field.command("add")
@audited("customer_field.add", Permission.EDIT_CONFIG, ResourceKind.CONFIG, key="key")
@click.argument("key")
@click.option("--type", "type_", type=click.Choice(["text", "number", "date", "choice"]), default="text",
              show_default=True, help="The kind of value.")
@click.option("--label-zh", default="", help="The label on Chinese pages.")
@click.option("--label-en", default="", help="The label on English pages.")
@click.option("--choice", "choices", multiple=True, metavar="TEXT", help="A choice of a choice field (repeat).")
@click.option("--required", is_flag=True, help="Every customer saved must have a value.")
@click.option("--position", type=int, default=0, show_default=True, help="Its place on the page (smaller first).")
@db_option
def customer_field_add(key: str, type_: str, label_zh: str, label_en: str, choices: tuple[str, ...],
                       required: bool, position: int, db_url: str | None) -> None:
    """Add or replace the custom field KEY (lower-case letters, digits and _).

    Customers keep their values when a field changes; a value that no longer fits is asked for again on the
    next save of the customer.

    \b
    Example:
      ccctl customer-field add since --type date --label-zh 客户自 --label-en "Customer since"
    """
    from cc.errors import InvalidValue
    from cc.store.customer_fields import CustomerField, CustomerFieldRepo, check_definition

    field = CustomerField(key, type_, label_zh, label_en, choices, required, position)
    try:
        check_definition(field)
    except InvalidValue as exc:
        raise click.BadParameter(exc.why, param_hint=f"'{exc.field}'") from None
    CustomerFieldRepo(open_repos(db_url).db).save(field)
    click.echo(f"customer field {key} saved")


@customer_field.command("del")
@audited("customer_field.del", Permission.EDIT_CONFIG, ResourceKind.CONFIG, key="key")
@click.argument("key")
@db_option
def customer_field_del(key: str, db_url: str | None) -> None:
    """Delete the custom field KEY (customers keep their values; they show again if it comes back).

    \b
    Example:
      ccctl customer-field del age
    """
    from cc.store.customer_fields import CustomerFieldRepo

    CustomerFieldRepo(open_repos(db_url).db).delete(key)
    click.echo(f"customer field {key} deleted")


@customer_field.command("list")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def customer_field_list(db_url: str | None, as_json: bool) -> None:
    """List the custom fields in page order.

    \b
    Example:
      ccctl customer-field list --json
    """
    from cc.store.customer_fields import CustomerFieldRepo

    rows = [{"key": f.key, "type": f.type, "label_zh": f.label_zh, "label_en": f.label_en,
             "choices": list(f.choices), "required": f.required, "position": f.position}
            for f in CustomerFieldRepo(open_repos(db_url).db).list()]
    emit(rows, ("key", "type", "label_zh", "label_en", "choices", "required", "position"), as_json=as_json,
         title="customer fields", empty="no customer fields")
