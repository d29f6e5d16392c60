"""Language labels as ISO 639-1 codes: feeds say "en-GB", GDELT says "English", X says "en"."""

from __future__ import annotations

import re

# GDELT DOC 2.0 `language` names (its 65 translated languages plus English) and other English names.
LANGUAGE_NAMES = {
    "afrikaans": "af", "albanian": "sq", "amharic": "am", "arabic": "ar", "armenian": "hy", "azerbaijani": "az",
    "basque": "eu", "belarusian": "be", "bengali": "bn", "bosnian": "bs", "bulgarian": "bg", "burmese": "my",
    "catalan": "ca", "chinese": "zh", "croatian": "hr", "czech": "cs", "danish": "da", "dutch": "nl",
    "english": "en", "estonian": "et", "finnish": "fi", "french": "fr", "galician": "gl", "georgian": "ka",
    "german": "de", "greek": "el", "gujarati": "gu", "hausa": "ha", "hebrew": "he", "hindi": "hi",
    "hungarian": "hu", "icelandic": "is", "indonesian": "id", "irish": "ga", "italian": "it", "japanese": "ja",
    "kannada": "kn", "kazakh": "kk", "khmer": "km", "korean": "ko", "kurdish": "ku", "kyrgyz": "ky", "lao": "lo",
    "latvian": "lv", "lithuanian": "lt", "macedonian": "mk", "malay": "ms", "malayalam": "ml", "maltese": "mt",
    "marathi": "mr", "mongolian": "mn", "nepali": "ne", "norwegian": "no", "pashto": "ps", "persian": "fa",
    "farsi": "fa", "polish": "pl", "portuguese": "pt", "punjabi": "pa", "romanian": "ro", "russian": "ru",
    "serbian": "sr", "sinhala": "si", "sinhalese": "si", "slovak": "sk", "slovenian": "sl", "somali": "so",
    "spanish": "es", "swahili": "sw", "swedish": "sv", "tagalog": "tl", "filipino": "tl", "tajik": "tg",
    "tamil": "ta", "telugu": "te", "thai": "th", "tibetan": "bo", "turkish": "tr", "turkmen": "tk",
    "ukrainian": "uk", "urdu": "ur", "uzbek": "uz", "vietnamese": "vi", "welsh": "cy", "yoruba": "yo",
    "zulu": "zu",
}  # fmt: skip
_TAG = re.compile(r"^([a-z]{2})(?:[-_][a-z0-9]{1,8})*$")


def iso_language(value: object) -> str | None:
    """An ISO 639-1 code from a language tag ("en", "en-US", "EN_gb") or name ("English"); else None."""
    if not isinstance(value, str):
        return None
    label = value.strip().lower()
    tag = _TAG.match(label)
    if tag:
        return tag.group(1)
    return LANGUAGE_NAMES.get(label)

# Languages written in the Latin script (of those NewsAPI and the feeds offer).
LATIN_LANGUAGES = frozenset(
    {"af", "ca", "cs", "cy", "da", "de", "en", "es", "et", "eu", "fi", "fr", "ga", "gl", "hr", "hu", "id", "is",
     "it", "lt", "lv", "ms", "mt", "nl", "no", "pl", "pt", "ro", "sk", "sl", "sq", "sv", "sw", "tl", "tr", "vi"}
)  # fmt: skip
# A text is in the Latin script when at least this share of its letters are Latin (ASCII or Latin-1/Extended).
LATIN_SHARE = 0.8


def latin_script(text: str) -> bool:
    """True when most letters of a text are Latin (or it has none): a cheap check, not language detection."""
    letters = [char for char in text if char.isalpha()]
    return not letters or sum(char <= "\u024f" for char in letters) >= LATIN_SHARE * len(letters)
