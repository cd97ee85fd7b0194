"""Subclasses of registry errors that neither the hub nor the server names, for the tests that check a subclass is
treated as its nearest known parent (tests/hub/test_error_translation.py, tests/server/test_error_statuses.py)."""
from __future__ import annotations

from registry import errors as registry_errors


class VanishedVersion(registry_errors.NotFound):
    pass


class QuotaExhausted(registry_errors.NotWritable):
    pass


class TornBlob(registry_errors.BlobCorrupt):
    pass


class OddAlias(registry_errors.InvalidName):
    pass


class NewRegistryError(registry_errors.RegistryError):
    pass


# name -> a function making an instance of each subclass above but the last
SUBCLASSED = {
    "vanished": lambda: VanishedVersion("speech/base@7 was removed"),
    "quota": lambda: QuotaExhausted("/srv/blobs/tmp/x.partial", "the disk quota is exhausted"),
    "torn": lambda: TornBlob("a" * 64, "blob sha256:aaaa is shorter than its size"),
    "odd": lambda: OddAlias("invalid alias 'Prod'"),
}
