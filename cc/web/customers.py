"""Customers (CRM): search by any number (digits anywhere in it) or name, filter by type, owner and last contact,
sort, page through them (keyset paging); create, edit and delete with several numbers each (a number belongs to one
customer only: a clear error names the conflict), an owner and the admin's custom fields (checked against their
definitions: a clear error names the field); a customer's interactions with their recordings.

``view_customers`` opens the pages, ``edit_customers`` changes; numbers are shown masked. Every change is
audited (``customer.add``, ``customer.set``, ``customer.del``; masked details).
"""

from __future__ import annotations

import datetime
import logging
import zoneinfo
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext
from werkzeug.wrappers import Response

from cc.authz import Permission, Resource, ResourceKind
from cc.errors import Conflict, InvalidValue, NotFound
from cc.model import Customer, PhoneNumber
from cc.privacy.mask import mask_number, mask_text
from cc.store.audit import Actor, AuditRepo
from cc.store.campaigns import CustomerType
from cc.store.crm import NO_OWNER, SORTS, CustomerDraft, CustomerExtra, CustomerQuery, CustomerSearch
from cc.store.customer_fields import CustomerField, CustomerFieldRepo
from cc.store.recording_search import RecordingSearch
from cc.store.repos import AgentRepo
from cc.web.guard import agent_resource, ctx, current_user, may, require, signed_in
from cc.web.labels import DEFAULT_RESULTS, label
from cc.web.reveal import reveal_number

__all__ = ["bp"]

log = logging.getLogger(__name__)

bp = Blueprint("customers", __name__, url_prefix="/customers")

PAGE = 50
HISTORY = 100
#: how many empty number rows a form offers
NEW_PHONES = 3
_RESOURCE = Resource.common(ResourceKind.CUSTOMER)


def _repo() -> CustomerSearch:
    c = ctx()
    return CustomerSearch(c.db, default_region=c.config.region)


def _types() -> list[CustomerType]:
    c = ctx()
    return c.run(c.customer_types.list, "customer types")


def _type_labels(types: list[CustomerType]) -> dict[str, str]:
    zh = str(get_locale() or "").startswith("zh")
    return {ty.code: ((ty.label_zh if zh else ty.label_en) or ty.code) for ty in types}


def _owners() -> dict[str, str]:
    """Agent id -> "name (id)", for the owner filter and field."""
    c = ctx()
    agents = c.run(lambda: AgentRepo(c.db).list(), "agents")
    return {a.id: f"{a.name} ({a.id})" if a.name else a.id for a in agents}


def _fields() -> list[CustomerField]:
    c = ctx()
    return c.run(lambda: CustomerFieldRepo(c.db).list(), "customer fields")


def _zh() -> bool:
    return str(get_locale() or "").startswith("zh")


def _day(text: str) -> float | None:
    if not text:
        return None
    try:
        day = datetime.date.fromisoformat(text)
    except ValueError:
        return None
    return datetime.datetime.combine(day, datetime.time(), zoneinfo.ZoneInfo(ctx().config.timezone)).timestamp()


def _audit(action: str, customer_id: str, detail: dict[str, Any]) -> None:
    c, user = ctx(), current_user()
    actor = Actor(user.login, user.id, request.remote_addr or "")
    c.run(lambda: AuditRepo(c.db).append(actor, action, "customer", customer_id, {**detail, "via": "web"}),
          "audit of a customer change")


@bp.get("")
@signed_in
def search() -> str:
    """The list: search, filters, sort, a page at a time."""
    require(Permission.VIEW_CUSTOMERS, _RESOURCE)
    a = request.args
    sort = a.get("sort", "name") if a.get("sort", "name") in SORTS else "name"
    q = CustomerQuery(text=a.get("q", "")[:128], type=a.get("type", "")[:64], owner=a.get("owner", "")[:64],
                      contacted_since=_day(a.get("since", "")), not_contacted_since=_day(a.get("idle", "")), sort=sort)
    after = None
    if a.get("after"):
        value, _, cid = a["after"].partition("\x1f")
        if not cid:
            abort(400)
        after = (value, cid)
    repo = _repo()
    try:
        lines = ctx().run(lambda: repo.page(q, after=after, limit=PAGE + 1), "customer search")
    except (InvalidValue, ValueError):
        abort(400)
    more = len(lines) > PAGE
    lines = lines[:PAGE]
    types = _types()
    args: dict[str, Any] = {k: v for k, v in a.items() if k != "after" and v}
    next_url = url_for("customers.search", **args, after=repo.key(lines[-1], sort)) if more and lines else None
    rows = [{"id": ln.id, "name": ln.name, "type": _type_labels(types).get(ln.type or "", ""),
             "phones": [mask_number(p) for p in ln.phones], "created_at": ln.created_at,
             "last_contact": ln.last_contact} for ln in lines]
    return render_template("customers/search.html", rows=rows, args=a, types=_type_labels(types), sort=sort,
                           next_url=next_url, first_url=url_for("customers.search", **args) if after else None,
                           owners=_owners(), no_owner=NO_OWNER,
                           may_edit=may(Permission.EDIT_CUSTOMERS, _RESOURCE))


def _customer(customer_id: str) -> tuple[Customer, str | None]:
    c = ctx()

    def run() -> tuple[Customer, str | None]:
        return c.customers.get(customer_id), c.customer_types.of_customer(customer_id)

    try:
        return c.run(run, "a customer")
    except NotFound:
        abort(404)


@bp.get("/<customer_id>")
@signed_in
def show(customer_id: str) -> str:
    """A customer and his interactions, newest first, with their recordings."""
    require(Permission.VIEW_CUSTOMERS, _RESOURCE)
    customer, type_code = _customer(customer_id)
    c = ctx()

    def history() -> tuple[list[Any], dict[str, str]]:
        items = c.interactions.for_customer(customer_id, HISTORY)
        calls = [i.call_uuid for i in items if i.call_uuid]
        return items, RecordingSearch(c.db).first_of_calls(calls)

    items, recs = c.run(history, "a customer's interactions")
    repo = _repo()
    extra = c.run(lambda: repo.extra(customer_id), "a customer's fields")
    zh = _zh()
    fields = [(f.label(zh), extra.fields.get(f.key)) for f in _fields()]
    results = c.config.results or DEFAULT_RESULTS
    rows = [{"at": i.at, "kind": i.kind.value, "agent": i.agent_id or "", "queue": i.queue or "",
             "note": mask_text(i.note), "result": label(i.disposition, results) if i.disposition else "",
             "recording": recs.get(i.call_uuid or "")} for i in items]
    phones = [(mask_number(p.number), p.label) for p in customer.phones]
    return render_template("customers/show.html", customer=customer, phones=phones, fields=fields,
                           owner=_owners().get(extra.owner or "", extra.owner or ""),
                           type=_type_labels(_types()).get(type_code or "", ""), history=rows,
                           may_edit=may(Permission.EDIT_CUSTOMERS, _RESOURCE), may_dial=_may_dial(),
                           may_listen=may(Permission.VIEW_RECORDINGS, Resource.common(ResourceKind.RECORDING)),
                           may_reveal=may(Permission.REVEAL_NUMBERS, _RESOURCE))


@bp.post("/<customer_id>/phones/<int:index>/reveal")
@signed_in
def reveal(customer_id: str, index: int) -> tuple[str, int] | str:
    """One of the customer's numbers whole, to this request alone (reveal_numbers, a reason; audited)."""
    require(Permission.VIEW_CUSTOMERS, _RESOURCE)
    customer, _type = _customer(customer_id)
    if not 0 <= index < len(customer.phones):
        abort(404)
    return reveal_number(customer.phones[index].number, f"customer {customer_id} phone {index + 1}", _RESOURCE,
                         f"phone-{index}")


def _may_dial() -> bool:
    """The user is an agent who may drive his own calls: the Call buttons (cc.web.outbound's click-to-dial)."""
    agent = current_user().agent_id
    return agent is not None and may(Permission.CONTROL_AGENTS, agent_resource(agent))


def _extra(customer: Customer | None) -> CustomerExtra:
    if customer is None:
        return CustomerExtra(None, None, {})
    c, repo = ctx(), _repo()
    try:
        return c.run(lambda: repo.extra(customer.id), "a customer's fields")
    except NotFound:
        abort(404)


def _form_context(customer: Customer | None, type_code: str | None, error: str | None = None,
                  form: Any = None) -> dict[str, Any]:
    phones = [(idx, mask_number(p.number), p.label) for idx, p in enumerate(customer.phones)] if customer else []
    new_values = list(zip(form.getlist("new_phone"), form.getlist("new_label"), strict=False)) if form else []
    extra, zh = _extra(customer), _zh()
    fields = [{"key": f.key, "type": f.type, "label": f.label(zh), "choices": f.choices, "required": f.required,
               "value": form.get(f"field_{f.key}", "") if form else
               ("" if extra.fields.get(f.key) is None else str(extra.fields[f.key]))} for f in _fields()]
    return {"customer": customer, "type_code": type_code, "types": _type_labels(_types()), "phones": phones,
            "new_phones": NEW_PHONES, "new_values": new_values, "error": error, "form": form or {},
            "owners": _owners(), "owner": form.get("owner", "") if form else extra.owner or "", "fields": fields}


def _draft(existing: Customer | None) -> CustomerDraft:
    f = request.form
    keep = set(f.getlist("keep"))
    phones = [p for idx, p in enumerate(existing.phones if existing else ()) if str(idx) in keep]
    for number, lbl in zip(f.getlist("new_phone"), f.getlist("new_label"), strict=False):
        if number.strip():
            phones.append(PhoneNumber(number.strip()[:32], lbl.strip()[:64]))
    email = f.get("email", "").strip()[:128] or None
    fields = {d.key: f.get(f"field_{d.key}", "") for d in _fields()}
    return CustomerDraft(name=f.get("name", "")[:128], email=email, note=f.get("note", "")[:4000],
                         type=f.get("type") or None, phones=tuple(phones), owner=f.get("owner", "")[:64] or None,
                         fields=fields)


def _save(existing: Customer | None, type_code: str | None) -> tuple[str, int] | Response:
    draft = _draft(existing)
    repo = _repo()
    error = None
    try:
        cid = ctx().run(lambda: repo.save(draft, existing.id if existing else None), "saving a customer")
    except Conflict as exc:
        owner_id = exc.why.rsplit(" ", 1)[-1]
        try:
            c = ctx()
            owner = c.run(lambda: c.customers.get(owner_id), "a customer").name
        except NotFound:
            owner = owner_id
        error = gettext("The number %(number)s already belongs to another customer: %(owner)s.",
                        number=mask_number(str(exc.key)), owner=owner)
    except InvalidValue as exc:
        defs = {d.key: d for d in _fields()}
        if exc.field in defs:
            error = gettext("Check the field %(field)s: %(why)s", field=defs[exc.field].label(_zh()),
                            why=mask_text(exc.why))
        else:
            error = gettext("Check the name and the numbers: %(what)s", what=mask_text(str(exc)))
    except NotFound as exc:
        if exc.kind != "agent":
            abort(404)
        error = gettext("The owner %(agent)s is not an agent.", agent=str(exc.key))
    if error is not None:
        template = "customers/form.html"
        return render_template(template, **_form_context(existing, type_code, error, request.form)), 409
    action = "customer.set" if existing else "customer.add"
    _audit(action, cid, {"phones": [mask_number(p.number) for p in draft.phones], "type": draft.type,
                         "owner": draft.owner, "fields": sorted(k for k, v in (draft.fields or {}).items() if v)})
    return redirect(url_for("customers.show", customer_id=cid), 303)


@bp.route("/new", methods=["GET", "POST"])
@signed_in
def new() -> Any:
    """A new customer."""
    require(Permission.EDIT_CUSTOMERS, _RESOURCE)
    if request.method == "POST":
        return _save(None, None)
    return render_template("customers/form.html", **_form_context(None, None))


@bp.route("/<customer_id>/edit", methods=["GET", "POST"])
@signed_in
def edit(customer_id: str) -> Any:
    """Change a customer (his numbers: keep, remove, add)."""
    require(Permission.EDIT_CUSTOMERS, _RESOURCE)
    customer, type_code = _customer(customer_id)
    if request.method == "POST":
        return _save(customer, type_code)
    return render_template("customers/form.html", **_form_context(customer, type_code))


@bp.post("/<customer_id>/delete")
@signed_in
def remove(customer_id: str) -> Response:
    """Delete a customer and his numbers (his interactions stay, as history)."""
    require(Permission.EDIT_CUSTOMERS, _RESOURCE)
    c = ctx()
    try:
        c.run(lambda: c.customers.delete(customer_id), "deleting a customer")
    except NotFound:
        abort(404)
    _audit("customer.del", customer_id, {})
    return redirect(url_for("customers.search"), 303)
