"""What the registry accepts as a model name, an alias, a file path inside a version and a line of free text.

Model names are `namespace/name` (the namespace is usually the task: `speech/base`, `text/minilm-l6`), lower
case letters, digits, `.`, `_` and `-`, each part starting with a letter or digit. File paths are relative
POSIX paths of the same characters (upper case allowed); `..`, absolute paths, empty parts and hidden files are
refused, so nothing a version names can point outside its folder. Free text (a reason, a description, who acted)
is any Unicode but control characters, tabs and line breaks included: it is shown on one line of a table.
"""
from __future__ import annotations

import re
import unicodedata

from registry.errors import InvalidName

_PART = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_ALIAS = re.compile(r"[a-z][a-z0-9_-]{0,63}")
_FILE_PART = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")
MAX_FILE_PATH = 512
SHA256_HEX_DIGITS = 64
_HEX = re.compile(r"[0-9a-fA-F]*")
_NOT_ON_ONE_LINE = ("Cc", "Zl", "Zp")  # control characters (tab, newline, ESC, DEL, C1), line and paragraph breaks


def split_model_name(name: str) -> tuple[str, str]:
    """Check a model name and return (namespace, name).

    >>> split_model_name("speech/base")
    ('speech', 'base')
    """
    if not isinstance(name, str):
        raise InvalidName(f"model name must be a string like 'speech/base', not {type(name).__name__}")
    parts = name.split("/")
    if len(parts) != 2 or not all(_PART.fullmatch(p) and ".." not in p for p in parts):
        raise InvalidName(f"invalid model name {name!r}: expected 'namespace/name' with lower-case letters, digits, "
                          f"'.', '_' or '-' (each part starting with a letter or digit, no '..'), e.g. 'speech/base'")
    return parts[0], parts[1]


def check_task(task: str) -> str:
    """Check a model's task (`speech`, `text`, `automatic-speech-recognition`) and return it: the rule of a name's
    part, so it fits its 64-character column on PostgreSQL as on SQLite."""
    if not isinstance(task, str) or not _PART.fullmatch(task):
        raise InvalidName(f"invalid task {task!r}: expected a lower-case word of at most 64 letters, digits, '.', "
                          f"'_' or '-' starting with a letter or digit, e.g. 'speech'")
    return task


def check_alias(alias: str) -> str:
    """Check an alias name (`production`, `staging`, ...) and return it."""
    if not isinstance(alias, str) or not _ALIAS.fullmatch(alias):
        raise InvalidName(f"invalid alias {alias!r}: expected a lower-case word of letters, digits, '_' or '-' "
                          f"starting with a letter, e.g. 'production'")
    return alias


def check_file_path(path: str) -> str:
    """Check the path of a file inside a version (relative, '/'-separated, no '..', no hidden parts)."""
    if not isinstance(path, str) or not path or len(path) > MAX_FILE_PATH:
        raise InvalidName(f"invalid file path {path!r}: expected a relative path of at most {MAX_FILE_PATH} characters")
    if path.startswith("/") or "\\" in path or (len(path) > 1 and path[1] == ":"):
        raise InvalidName(f"invalid file path {path!r}: absolute paths are refused, use a path relative to the model "
                          f"folder")
    for part in path.split("/"):
        if part in ("", ".", ".."):
            raise InvalidName(f"invalid file path {path!r}: empty, '.' and '..' parts are refused")
        if not _FILE_PART.fullmatch(part):
            raise InvalidName(f"invalid file path {path!r}: the part {part!r} may only use letters, digits, '.', '_' "
                              f"and '-', and may not start with '.'")
    return path


def check_line(label: str, text: str, max_length: int | None = None) -> str:
    """Check free text kept as one line (`reason`, `description`, `actor`) and return it; `label` names it in the
    error.

    >>> check_line("reason", "WER 0,3 points better — see the report")
    'WER 0,3 points better — see the report'
    """
    if not isinstance(text, str):
        raise InvalidName(f"invalid {label}: expected a string, not {type(text).__name__}")
    for i, char in enumerate(text):
        if unicodedata.category(char) in _NOT_ON_ONE_LINE:
            raise InvalidName(f"invalid {label}: it has the control character U+{ord(char):04X} at character {i + 1}; "
                              f"give one line of plain text (no tabs, newlines or escape sequences)")
    if max_length is not None and len(text) > max_length:
        raise InvalidName(f"invalid {label}: at most {max_length} characters, got {len(text)}")
    return text


def one_line(text: str) -> str:
    r"""text as check_line accepts it (a benchmark's error message, kept where a reason goes): control characters
    and line breaks become spaces, then every run of whitespace becomes one space and the ends are trimmed.

    >>> one_line("ValueError: bad row\n  at row 3\x1b[0m")
    'ValueError: bad row at row 3 [0m'
    >>> one_line("  two  spaces\tand a tab ")
    'two spaces and a tab'
    """
    words = "".join(" " if unicodedata.category(char) in _NOT_ON_ONE_LINE else char for char in text).split()
    return " ".join(words)


def check_manifest_prefix(prefix: str) -> str:
    """Check the start of a manifest's sha256 as a reference gives it (`1a2b3c` in `speech/base@sha256:1a2b3c`) and
    return it in lower case: hex digits, at most the 64 of a whole sha256."""
    if not isinstance(prefix, str) or not _HEX.fullmatch(prefix):
        raise InvalidName(f"invalid manifest prefix {prefix!r}: expected hex digits (0-9, a-f) of a sha256")
    if len(prefix) > SHA256_HEX_DIGITS:
        raise InvalidName(f"invalid manifest prefix: {len(prefix)} hex digits, but a sha256 has "
                          f"{SHA256_HEX_DIGITS}; give at most {SHA256_HEX_DIGITS}")
    return prefix.lower()
