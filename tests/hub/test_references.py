"""The reference grammar: name, name@3, name:alias, name@sha256:prefix."""
import pytest

from hub.errors import InvalidReference
from hub.references import Reference, parse_reference


@pytest.mark.parametrize("text, expected", [
    ("speech/base", Reference("speech/base")),
    ("speech/tiny.en@3", Reference("speech/tiny.en", version=3)),
    ("text/minilm-l6:staging", Reference("text/minilm-l6", alias="staging")),
    ("speech/base@sha256:1A2b3C", Reference("speech/base", manifest_prefix="1a2b3c")),
])
def test_references_parse(text, expected):
    ref = parse_reference(text)
    assert ref == expected
    assert parse_reference(str(ref)) == ref


@pytest.mark.parametrize("text", ["speech", "speech/base@", "speech/base@-1", "speech/base@1.5", "speech/base:a:b",
                                  "speech/base@sha256", "speech/../base", "speech/base/../../x", " ", "speech/Base",
                                  "speech/base@3:staging", "speech /base"])
def test_malformed_references_are_refused(text):
    with pytest.raises(InvalidReference):
        parse_reference(text)


@pytest.mark.parametrize("prefix, message", [
    ("a" * 65, "65 hex digits, but a sha256 has 64"),
    ("0" * 200, "200 hex digits, but a sha256 has 64"),
    ("12345g", "invalid manifest prefix '12345g': expected hex digits"),
    ("abc%ef", "invalid manifest prefix 'abc%ef': expected hex digits"),
])
def test_manifest_prefix_longer_than_a_sha256_or_not_hex_is_refused(prefix, message):
    with pytest.raises(InvalidReference, match=message):
        parse_reference(f"speech/base@sha256:{prefix}")


def test_manifest_prefix_of_a_whole_sha256_parses():
    assert parse_reference("speech/base@sha256:" + "AB" * 32).manifest_prefix == "ab" * 32
