"""Pinyin for the English consumer page: names recorded only in Chinese, made readable.

Sites, regions, product forms and processing parameters are registered in Chinese and have no
English name in the records or the herb catalogue. The English page shows them as recorded,
followed by a reading in pinyin with tone marks (`reading`), and writes administrative regions
as English readers know them (`place`: "Fusong County, Baishan City, Jilin Province"). The
readings come from `pypinyin`'s dictionary, which reads place names such as 长白山 and 长春 as
cháng; nothing here translates meaning.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from pypinyin import Style, lazy_pinyin

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
"""A run of Chinese characters (CJK Unified Ideographs and Extension A)."""

_PUNCTUATION = str.maketrans({"（": " (", "）": ")", "，": ",", "、": ", ", "：": ": ", "；": "; "})

ADMINISTRATIVE = {
    "省": "Province",
    "自治区": "Autonomous Region",
    "市": "City",
    "县": "County",
    "区": "District",
    "镇": "Town",
    "乡": "Township",
}
"""The level suffixes of Chinese administrative names (GB/T 2260) and their English words."""


def has_chinese(text: str) -> bool:
    """Tell whether `text` holds any Chinese character."""
    return _HAN.search(text) is not None


def _syllables(run: str, style: Style) -> list[str]:
    return [str(s) for s in lazy_pinyin(run, style=style)]


@lru_cache(maxsize=1024)
def reading(text: str) -> str:
    """`text` with each run of Chinese characters as spaced pinyin with tone marks, the first
    syllable capitalised: "集安红参加工厂" reads "Jí ān hóng shēn jiā gōng chǎng"."""

    def spoken(match: re.Match[str]) -> str:
        return " " + " ".join(_syllables(match.group(0), Style.TONE)) + " "

    out = _HAN.sub(spoken, text).translate(_PUNCTUATION)
    out = re.sub(r"\s+", " ", out).strip()
    out = re.sub(r"\s+([,.;:)])", r"\1", out)
    out = re.sub(r"\(\s+", "(", out)
    return out[:1].upper() + out[1:]


def _toneless(syllable: str) -> str:
    """A syllable without its tone mark, keeping ü: "lǜ" is "lü"."""
    marks = {"\u0304", "\u0301", "\u030c", "\u0300"}  # macron, acute, caron, grave
    bare = "".join(c for c in unicodedata.normalize("NFD", syllable) if c not in marks)
    return unicodedata.normalize("NFC", bare)


def _proper(name: str, drop: int) -> str:
    """A place name in toneless pinyin as one word, without its last `drop` syllables (the
    suffix), an apostrophe before a syllable that starts with a vowel: 集安市 is "Ji'an".
    The whole name is read, so its own phrase decides a character's reading (朝阳区 is
    Chaoyang, where 朝阳 alone would read zhāoyáng)."""
    syllables = _syllables(name, Style.TONE)
    word = ""
    for k, syllable in enumerate(syllables[: len(syllables) - drop]):
        bare = _toneless(syllable)
        word += ("'" if k and bare[:1] in "aoe" else "") + bare
    return word[:1].upper() + word[1:]


@lru_cache(maxsize=1024)
def place(name: str) -> str:
    """An administrative region's name as English writes it: "抚松县" is "Fusong County";
    a name without a known suffix is read in pinyin."""
    if not has_chinese(name):
        return name
    for suffix, english in ADMINISTRATIVE.items():
        stem = name.removesuffix(suffix)
        if stem != name and stem and _HAN.fullmatch(stem):
            return f"{_proper(name, len(suffix))} {english}"
    return reading(name)
