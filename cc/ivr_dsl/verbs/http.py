"""`http`: a lookup (e.g. a CRM) the runtime performs; the body lands in a variable, failures branch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from cc.ivr_dsl.commands import Failed, Http, HttpResponse, Result
from cc.ivr_dsl.expr import Template
from cc.ivr_dsl.schema import Choice, Custom, Duration, Field, Invalid, MapOf, Name, TemplateField
from cc.ivr_dsl.verbs.base import CheckContext, Precondition, RunContext, Step, Verb, VerbProblem, Waits

__all__ = ["HttpVerb"]

_TEXT = TemplateField()


def _body(value: Any) -> Any:
    """Strings anywhere in the body become templates; other scalars stay as they are."""
    if isinstance(value, str):
        return _TEXT.convert(value)
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            try:
                out[str(k)] = _body(v)
            except Invalid as exc:
                raise Invalid(exc.message, exc.hint, (k, *exc.sub)) from None
        return out
    if isinstance(value, list):
        return [_body(v) for v in value]
    return value


def _render(value: Any, ctx: RunContext) -> Any:
    if isinstance(value, Template):
        return ctx.render(value)
    if isinstance(value, dict):
        return {k: _render(v, ctx) for k, v in value.items()}
    if isinstance(value, list):
        return [_render(v, ctx) for v in value]
    return value


class HttpVerb(Verb):
    """Ask an HTTP service within ``timeout``; 2xx: ``next`` with the body in ``into``, else ``on_error``."""

    name: ClassVar[str] = "http"
    doc: ClassVar[str] = "A lookup: `http: {url: 'https://crm/api?ani={{caller_id}}', into: crm, timeout: 2s}`."
    short: ClassVar[str | None] = "url"
    fields: ClassVar[dict[str, Field]] = {
        "url": TemplateField(required=True, doc="http:// or https:// URL; may use {{ }}"),
        "method": Choice(default="GET", options=("GET", "POST", "PUT", "PATCH", "DELETE"), doc="HTTP method"),
        "headers": MapOf(key=TemplateField(), value=TemplateField(), doc="request headers"),
        "body": Custom(fn=_body, type_name="any (JSON)", doc="request body (JSON); strings may use {{ }}"),
        "timeout": Duration(default=3.0, lo=0.1, hi=30, doc="give up after this long"),
        "into": Name(doc="variable receiving the response body (null on failure)"),
    }
    outcomes: ClassVar[dict[str, str]] = {"next": "next", "error": "on_error"}
    precondition: ClassVar[Precondition] = Precondition.ANY
    waits: ClassVar[Waits] = Waits.OUTPUT
    results: ClassVar[tuple[type[Result], ...]] = (HttpResponse, Failed)

    def check(self, ctx: CheckContext) -> list[VerbProblem]:
        """A URL that starts with text must start with http:// or https://; a GET has no body."""
        url: Template = self.cfg["url"]
        head = url.parts[0] if url.parts else ""
        if (
            isinstance(head, str)
            and not head.startswith(("http://", "https://"))
            and (url.is_constant or len(head) >= len("https://") or not "https://".startswith(head))
        ):
            return [VerbProblem(("url",), f"{url.source!r} is not an http:// or https:// URL")]
        if self.cfg["method"] == "GET" and self.cfg.get("body") is not None:
            return [VerbProblem(("body",), "a GET request has no body", "use method: POST", warning=True)]
        return []

    def writes(self) -> set[str]:
        """``into`` and ``http_status``."""
        return {"http_status", *([self.cfg["into"]] if self.cfg.get("into") else [])}

    def enter(self, ctx: RunContext) -> Step:
        """Emit the request and wait for the answer; a URL that renders to another scheme goes on_error."""
        url = ctx.render(self.cfg["url"])
        if not url.startswith(("http://", "https://")):
            ctx.log("http: the URL does not start with http:// or https://; not requested")
            return self.resume(ctx, HttpResponse(0, None, "not an http(s) URL"))
        headers = tuple((ctx.render(k), ctx.render(v)) for k, v in (self.cfg.get("headers") or {}).items())
        body = _render(self.cfg.get("body"), ctx)
        return Step([Http(self.cfg["method"], url, headers, body, self.cfg["timeout"])], wait=True)

    def resume(self, ctx: RunContext, result: Result) -> Step:
        """2xx -> next, anything else -> error."""
        ok = isinstance(result, HttpResponse) and 200 <= result.status < 300 and not result.error
        ctx.vars["http_status"] = result.status if isinstance(result, HttpResponse) else 0
        if self.cfg.get("into"):
            ctx.vars[self.cfg["into"]] = result.body if ok and isinstance(result, HttpResponse) else None
        if not ok:
            why = result.error if isinstance(result, HttpResponse) else getattr(result, "reason", "")
            ctx.log(f"http {self.cfg['method']} failed: status {ctx.vars['http_status']} {why}".rstrip())
        return Step(outcome="next" if ok else "error")
