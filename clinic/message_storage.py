"""The messages framework's storage, with one rule for the text of every message."""

from django.contrib.messages.storage.fallback import FallbackStorage
from django.utils.safestring import SafeData, mark_safe


def end_sentence(text: str) -> str:
    """One final period: a message ending with an abbreviated name ("… Морозов А. В.")
    before its own period would otherwise end with two. An ellipsis stays."""
    if text.endswith("..") and not text.endswith("..."):
        return text[:-1]
    return text


class SentenceStorage(FallbackStorage):
    def add(self, level: int, message: object, extra_tags: str | None = "") -> None:
        text = end_sentence(str(message))
        super().add(level, mark_safe(text) if isinstance(message, SafeData) else text, extra_tags)  # noqa: S308
