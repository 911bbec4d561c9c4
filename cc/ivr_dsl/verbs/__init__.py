"""The verbs of the flow language, one module each, and the registry (a dict) that maps names to them.

An embedding application adds its own verb with ``registry = default_registry(); registry.register(MyVerb)``
and passes ``registry`` to :func:`cc.ivr_dsl.load_flow`. There is no global mutable registry.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from cc.errors import Conflict, InvalidValue
from cc.ivr_dsl.schema import NodeRef
from cc.ivr_dsl.verbs.answer import AnswerVerb
from cc.ivr_dsl.verbs.base import Precondition, Step, Verb, VerbProblem, Waits
from cc.ivr_dsl.verbs.branch import BranchVerb
from cc.ivr_dsl.verbs.business_hours import BusinessHoursVerb
from cc.ivr_dsl.verbs.enqueue import EnqueueVerb
from cc.ivr_dsl.verbs.gather import GatherVerb
from cc.ivr_dsl.verbs.goto import GotoVerb
from cc.ivr_dsl.verbs.hangup import HangupVerb
from cc.ivr_dsl.verbs.http import HttpVerb
from cc.ivr_dsl.verbs.language import LanguageVerb
from cc.ivr_dsl.verbs.menu import MenuVerb
from cc.ivr_dsl.verbs.play import PlayVerb
from cc.ivr_dsl.verbs.record import RecordVerb
from cc.ivr_dsl.verbs.record_call import RecordCallVerb
from cc.ivr_dsl.verbs.record_notice import RecordNoticeVerb
from cc.ivr_dsl.verbs.return_ import ReturnVerb
from cc.ivr_dsl.verbs.say import SayVerb
from cc.ivr_dsl.verbs.set_ import SetVerb
from cc.ivr_dsl.verbs.subflow import SubflowVerb
from cc.ivr_dsl.verbs.survey import SurveyVerb
from cc.ivr_dsl.verbs.transfer import TransferVerb
from cc.ivr_dsl.verbs.voicemail import VoicemailVerb

__all__ = [
    "BUILTIN_VERBS",
    "COMMON_KEYS",
    "Precondition",
    "Registry",
    "Step",
    "Verb",
    "VerbProblem",
    "Waits",
    "default_registry",
]

#: Keys every node may carry besides its verb's own.
COMMON_KEYS = ("comment",)

#: The built-in verbs by name (read-only; copy it through default_registry() to add verbs).
BUILTIN_VERBS: Mapping[str, type[Verb]] = {
    cls.name: cls
    for cls in (
        AnswerVerb,
        PlayVerb,
        SayVerb,
        MenuVerb,
        GatherVerb,
        RecordVerb,
        SetVerb,
        BranchVerb,
        BusinessHoursVerb,
        HttpVerb,
        EnqueueVerb,
        TransferVerb,
        VoicemailVerb,
        SurveyVerb,
        RecordCallVerb,
        RecordNoticeVerb,
        LanguageVerb,
        GotoVerb,
        SubflowVerb,
        ReturnVerb,
        HangupVerb,
    )
}


class Registry(Mapping[str, type[Verb]]):
    """Verb name -> Verb class; ``register`` adds an application's own verb after checking it."""

    def __init__(self, verbs: Mapping[str, type[Verb]] | None = None) -> None:
        self._verbs: dict[str, type[Verb]] = dict(BUILTIN_VERBS if verbs is None else verbs)

    def __getitem__(self, name: str) -> type[Verb]:
        """The verb class called ``name``."""
        return self._verbs[name]

    def __iter__(self) -> Iterator[str]:
        """Verb names."""
        return iter(self._verbs)

    def __len__(self) -> int:
        """Number of verbs."""
        return len(self._verbs)

    def register(self, cls: type[Verb], *, replace: bool = False) -> type[Verb]:
        """Add ``cls`` under ``cls.name``; usable as a class decorator. Raises Conflict or InvalidValue."""
        if not isinstance(cls, type) or not issubclass(cls, Verb):
            raise InvalidValue("verb", cls, "a verb is a subclass of cc.ivr_dsl.verbs.Verb")
        if not cls.name or not cls.name.isidentifier():
            raise InvalidValue("verb.name", cls.name, "a verb needs a name made of letters, digits and _")
        if cls.name in self._verbs and not replace:
            raise Conflict("verb", cls.name)
        if cls.short is not None and cls.short not in cls.fields:
            raise InvalidValue(f"{cls.name}.short", cls.short, "short must name one of the verb's fields")
        if cls.value_is is not None and cls.value_is not in cls.fields:
            raise InvalidValue(f"{cls.name}.value_is", cls.value_is, "value_is must name one of the fields")
        clash = {
            k
            for k in (set(cls.outcomes.values()) | set(COMMON_KEYS)) & set(cls.fields)
            if not isinstance(cls.fields[k], NodeRef)
        }
        if clash:
            raise InvalidValue(f"{cls.name}.fields", sorted(clash)[0], "a field clashes with an outcome key")
        self._verbs[cls.name] = cls
        return cls


def default_registry() -> Registry:
    """A new registry holding the built-in verbs."""
    return Registry()
