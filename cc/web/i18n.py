"""The pages' languages: zh-CN and en, the .po catalogs compiled with Babel's API, and the choice per request.

The catalogs (``cc/web/translations/<locale>/LC_MESSAGES/messages.po``) are the only source of the pages'
words. They are compiled to .mo files in a temporary folder when the app is built (no build step, no binary
file in git); a catalog that does not parse is a :class:`~cc.errors.ConfigError` naming the file and line.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import PoFileError, read_po, write_po
from werkzeug.datastructures import LanguageAccept

from cc.errors import ConfigError

__all__ = ["DEFAULT_LOCALE", "KEYWORDS", "LOCALES", "TRANSLATIONS", "compile_catalogs", "extract", "main",
           "page_locale", "pick_locale", "update"]

#: the languages of the pages (Babel's locale names) and how each names itself in the language switch
LOCALES: dict[str, str] = {"zh_CN": "中文", "en": "English"}
DEFAULT_LOCALE = "en"
#: where the .po catalogs live
TRANSLATIONS = Path(__file__).resolve().parent / "translations"


def compile_catalogs(source: Path = TRANSLATIONS, target: Path | None = None) -> Path:
    """Compile every ``<locale>/LC_MESSAGES/messages.po`` under ``source`` to .mo files under ``target`` (a new
    temporary folder, removed at exit, when None); returns ``target``."""
    if target is None:
        target = Path(tempfile.mkdtemp(prefix="cc-web-i18n-"))
        atexit.register(shutil.rmtree, target, True)
    for po in sorted(source.glob("*/LC_MESSAGES/*.po")):
        locale = po.parent.parent.name
        try:
            with po.open("rb") as f:
                catalog = read_po(f, locale=locale, abort_invalid=True)
        except PoFileError as exc:
            raise ConfigError(f"{po}:{getattr(exc, 'lineno', 0)}: {exc}", file=str(po)) from None
        # Flask-Babel looks a locale up under Babel's full name of it (zh_CN is zh_Hans_CN)
        try:
            full = str(Locale.parse(locale))
        except (ValueError, UnknownLocaleError):
            raise ConfigError(f"{po}: {locale!r} is not a locale Babel knows", file=str(po)) from None
        for name in dict.fromkeys((locale, full)):
            out = target / name / "LC_MESSAGES"
            out.mkdir(parents=True, exist_ok=True)
            with (out / (po.stem + ".mo")).open("wb") as f:
                write_mo(f, catalog, use_fuzzy=False)
    return target


def page_locale(locale: object) -> str:
    """The key in LOCALES of a Babel locale (Flask-Babel's ``get_locale()``; zh_Hans_CN is zh_CN)."""
    return "zh_CN" if str(locale or "").startswith("zh") else DEFAULT_LOCALE


def pick_locale(chosen: str | None, accept: LanguageAccept) -> str:
    """The page language: the user's (or the session's) choice when it is one of LOCALES, else the best of
    the browser's ``Accept-Language`` (Werkzeug's matching; any ``zh`` is zh_CN), else DEFAULT_LOCALE."""
    if chosen in LOCALES:
        return chosen
    match = accept.best_match(["zh-CN", "zh", "en"])
    if match is None:
        return DEFAULT_LOCALE
    return "zh_CN" if match.startswith("zh") else "en"


#: the calls whose first argument is a message (Babel's defaults plus Flask-Babel's lazy one)
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "lazy_ngettext": (1, 2)}
#: where the messages are
_METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2.ext:babel_extract")]


def extract(root: Path = TRANSLATIONS.parent) -> Catalog:
    """Every message of cc/web's code and templates, as a template catalog (Babel's extraction)."""
    template = Catalog(project="cc", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
            str(root), _METHODS, keywords=KEYWORDS, options_map={"**/templates/**.html": {"trimmed": "true"}}):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def update(root: Path = TRANSLATIONS.parent) -> dict[str, list[str]]:
    """Merge the extracted messages into every locale's .po (new ones untranslated, gone ones dropped); returns
    the messages each locale still lacks (an English catalog's empty entries fall back to the message itself)."""
    template = extract(root)
    missing: dict[str, list[str]] = {}
    for locale in LOCALES:
        po = root / "translations" / locale / "LC_MESSAGES" / "messages.po"
        if po.exists():
            with po.open("rb") as f:
                catalog = read_po(f, locale=locale)
        else:
            po.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=locale, project="cc", charset="utf-8")
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        with po.open("wb") as f:
            write_po(f, catalog, width=0, omit_header=False, sort_output=True, include_previous=False)
        if locale != "en":
            missing[locale] = [str(m.id) for m in catalog if m.id and not m.string]
    return missing


def main(argv: list[str] | None = None) -> int:
    """``python -m cc.web.i18n update``: refresh the catalogs from the code and templates; lists what is left
    to translate (exit 1 when something is)."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if args != ["update"]:
        print("usage: python -m cc.web.i18n update", file=sys.stderr)
        return 2
    missing = update()
    for locale, ids in missing.items():
        for msgid in ids:
            print(f"{locale}: untranslated: {msgid}")
    return 1 if any(missing.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
