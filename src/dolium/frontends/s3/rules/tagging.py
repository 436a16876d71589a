"""S3's rules on tag sets (object and bucket tagging, x-amz-tagging), with S3's messages.

Each tag set is checked tag by tag, in the order given, and only then counted:

- a key is 1 to 128 characters, a value 0 to 256, counted as UTF-16 code
  units (S3 keeps tags in UTF-16, where some characters take two);
- both may hold letters, numbers and separators (spaces) of any script, and
  ``_ . : / = + - @``;
- keys are unique within a set, and may not start with ``aws:`` (in any
  case), which AWS keeps for its own tags;
- an object version holds at most 10 tags, a bucket at most 50.

The core keeps whatever tags it is given; these limits are S3's to say.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Sequence

from dolium.errors import InvalidTag, TooManyTags

OBJECT_TAG_LIMIT = 10
BUCKET_TAG_LIMIT = 50
MAX_KEY_LENGTH = 128
MAX_VALUE_LENGTH = 256

_SPECIALS = frozenset("_.:/=+-@")
# Unicode general categories allowed besides the specials: letters (L*),
# separators (Z*) and numbers (N*), as AWS's pattern [\p{L}\p{Z}\p{N}_.:/=+\-@].
_CATEGORIES = frozenset("LZN")


def _allowed(text: str) -> bool:
    return all(c in _SPECIALS or unicodedata.category(c)[0] in _CATEGORIES for c in text)


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units, the unit S3 counts tag lengths in."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def validate_tags(tags: Iterable[tuple[str, str]], limit: int) -> dict[str, str]:
    """The tag set as a dict, if every tag is valid and there are at most `limit`.

    Raises InvalidTag for the first bad tag (duplicate key, bad key, reserved
    prefix, bad value), then TooManyTags.
    """
    valid: dict[str, str] = {}
    for key, value in tags:
        if key in valid:
            raise InvalidTag("Cannot provide multiple Tags with the same key", tag_key=key)
        if not key or utf16_length(key) > MAX_KEY_LENGTH or not _allowed(key):
            raise InvalidTag("The TagKey you have provided is invalid", tag_key=key)
        if key[:4].lower() == "aws:":
            raise InvalidTag("Your TagKey cannot be prefixed with aws:", tag_key=key)
        if utf16_length(value) > MAX_VALUE_LENGTH or not _allowed(value):
            raise InvalidTag(
                "The TagValue you have provided is invalid", tag_key=key, tag_value=value
            )
        valid[key] = value
    if len(valid) > limit:
        if limit == BUCKET_TAG_LIMIT:
            raise TooManyTags(f"Bucket tag count cannot be greater than {limit}")
        raise TooManyTags(f"Object tags cannot be greater than {limit}")
    return valid


def tag_rules(tags: Sequence[tuple[str, str]], limit: int) -> Callable[[], None]:
    """S3's checks of `tags` as the `approve` hook of the core's tagging put,
    run once the caller is allowed and the version or bucket found."""

    def approve() -> None:
        validate_tags(tags, limit)

    return approve
