"""Every user-visible string is translated into Finnish and Swedish, with the same placeholders."""

from __future__ import annotations

import re
import tokenize
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGUES = ROOT / "participation" / "translations"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _extracted() -> dict[str, str]:
    method_map = [
        ("participation/**.py", "python"),
        ("templates/**.html", "jinja2"),
        ("templates/**.txt", "jinja2"),
    ]
    # msgid -> the source text whose placeholders a translation may use (both plural forms)
    found: dict[str, str] = {}
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, keywords=KEYWORDS
    ):
        if isinstance(message, tuple):
            found[message[0]] = " ".join(m for m in message if m)
        else:
            found[message] = message
    return found


@pytest.fixture(scope="module")
def extracted() -> dict[str, str]:
    messages = _extracted()
    assert len(messages) > 100  # the extraction itself works
    return messages


@pytest.mark.parametrize("locale", ["fi", "sv"])
def test_catalogue_is_complete(extracted: dict[str, str], locale: str) -> None:
    with (CATALOGUES / locale / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale=locale)
    missing, broken = [], []
    for msgid in sorted(extracted):
        message = catalog.get(msgid)
        translations = (
            []
            if message is None
            else (list(message.string) if isinstance(message.string, tuple) else [message.string])
        )
        if message is None or message.fuzzy or not all(translations):
            missing.append(msgid)
            continue
        for translated in translations:
            if set(PLACEHOLDER.findall(translated)) - set(PLACEHOLDER.findall(extracted[msgid])):
                broken.append(msgid)
    assert not missing, f"{len(missing)} untranslated in {locale}: {missing[:15]}"
    assert not broken, f"placeholders that the source lacks in {locale}: {broken}"


def _f_strings_calling_gettext(path: Path) -> list[int]:
    calls = re.compile(r"\{[^}]*\b(?:_|gettext|ngettext|_l)\(")
    lines = []
    with path.open("rb") as source:
        for token in tokenize.tokenize(source.readline):
            is_f_string = token.type == tokenize.STRING and re.match(r"(?i)[rb]*f", token.string)
            if is_f_string and calls.search(token.string):
                lines.append(token.start[0])
    return lines


def test_no_translated_text_hides_inside_an_f_string(tmp_path: Path) -> None:
    """The extractor cannot see `_("…")` inside an f-string's braces (before Python 3.12), so
    such a text would silently stay English."""
    sample = tmp_path / "sample.py"
    sample.write_text("""x = f'<th scope="col">{escape(_("Share"))}</th>'\n""")
    assert _f_strings_calling_gettext(sample) == [1]  # the check itself finds one
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in [*(ROOT / "participation").rglob("*.py"), *(ROOT / "forms").rglob("*.py")]
        for number in _f_strings_calling_gettext(path)
    ]
    assert offenders == []
