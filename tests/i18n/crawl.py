"""Read a Farsi page as a person does: its text and its visible attributes, minus what is
marked as not Farsi (lang="en"), code (class "code"/"hash", <pre>, <code>) or script; and
find the English words left in it."""

from __future__ import annotations

import re
from html.parser import HTMLParser

VISIBLE_ATTRS = ("title", "placeholder", "aria-label", "alt")
SKIP_TAGS = {"script", "style", "pre", "code", "textarea", "template"}
SKIP_CLASSES = {"code", "hash", "error-tail"}

# Latin words that are names, not sentences: formats, standards, tools, units, scripts
ALLOWED = {
    "IIIF", "JSON", "JSON-LD", "SHA", "PDQ", "vPDQ", "pHash", "TSA", "URL", "EDTF", "CSV",
    "API", "ffprobe", "ffmpeg", "MP4", "H.264", "TOTP", "RFC", "ID", "CSRF", "UTC", "Telegram",
    "IRN", "OK", "px", "GPS", "CC", "BY", "SA", "MB", "GB", "KB", "ms", "fps", "QR", "JPEG",
    "PNG", "WebP", "Aegis", "FreeOTP", "Google", "Authenticator",
    "Natural", "Earth",  # the map data's source, a proper name
    "H", "AVC", "HEVC", "AAC", "Opus", "VP9", "AV1",  # codec names (H.264 splits at the dot)
    "testclient",  # the test client's User-Agent, listed among the account's sessions
}  # fmt: skip

_NOISE = [
    re.compile(r"https?://\S+"),
    re.compile(r"\S+@\S+"),
    re.compile(r"(?<![\w])/[\w\-./?=&%]+"),
    re.compile(r"\b[A-Z]{2,5}[0-9]{2,}\b"),
    re.compile(r"\b[0-9a-fA-F]{8,}\b"),
]
_WORD = re.compile(r"[A-Za-z][A-Za-z\-.]*[A-Za-z]|[A-Za-z]")


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.skipping: list[list[object]] = []  # [tag, nesting] of the skipped element
        self.parts: list[str] = []

    def _skip(self, tag: str, attrs: dict[str, str | None]) -> bool:
        classes = set((attrs.get("class") or "").split())
        return (
            tag in SKIP_TAGS
            or (attrs.get("lang") or "").startswith("en")
            or bool(classes & SKIP_CLASSES)
            or (tag == "input" and attrs.get("type") == "hidden")
        )

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        attrs = dict(attrs_list)
        if self.skipping:
            if tag == self.skipping[-1][0]:
                self.skipping[-1][1] = int(self.skipping[-1][1]) + 1  # type: ignore[call-overload]
            return
        if self._skip(tag, attrs):
            if tag not in ("input", "img", "br", "meta", "link", "source"):
                self.skipping.append([tag, 0])
            return
        for name in VISIBLE_ATTRS:
            if attrs.get(name):
                self.parts.append(str(attrs[name]))
        if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
            self.parts.append(str(attrs["value"]))

    def handle_endtag(self, tag: str) -> None:
        if self.skipping and tag == self.skipping[-1][0]:
            if int(self.skipping[-1][1]):  # type: ignore[call-overload]
                self.skipping[-1][1] = int(self.skipping[-1][1]) - 1  # type: ignore[call-overload]
            else:
                self.skipping.pop()

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def visible_text(html: str) -> str:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return " ".join(" ".join(reader.parts).split())


def prose_text(html: str) -> str:
    """The visible text without addresses, paths, codes and hashes: the test users' e-mail
    addresses carry random hex (``reviewer-2025ab3c@…``) that must not read as a year."""
    text = visible_text(html)
    for pattern in _NOISE:
        text = pattern.sub(" ", text)
    return text


def english_words(html: str, allowed: set[str] = ALLOWED) -> list[str]:
    text = prose_text(html)
    words = (w.strip(".-") for w in _WORD.findall(text))
    return sorted({w for w in words if w and w not in allowed})


def links(html: str) -> list[str]:
    return re.findall(r'href="([^"#]+)', html)
