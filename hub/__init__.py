"""zoohub's public API: load, list, info, publish, promote, history, verify, gc, pull, reproduce.

>>> import hub
>>> model = hub.load("vision/digits-cnn")          # imported from the catalog on first use
>>> hub.promote("vision/digits-cnn@1", "production", reason="first release")
>>> [change.to_version for change in hub.history("vision/digits-cnn")]
[1]

References: `name` (production alias, else newest), `name@3`, `name:staging`, `name@sha256:1a2b3c`.
Errors a person can act on are `hub.errors.HubError`s.
"""
from hub import errors
from hub.browsing import history, info
from hub.garbage import gc
from hub.browsing import list_models as list  # noqa: A001 (hub.list, as DESIGN.md names it)
from hub.loading import load, pull
from hub.promotion import promote
from hub.publishing import publish
from hub.reproduce import ReproduceReport, reproduce
from hub.references import Reference, parse_reference
from hub.verification import verify

__version__ = "0.1.0"  # pyproject.toml's [project] version; a test keeps the two equal

__all__ = ["Reference", "errors", "gc", "history", "info", "list", "load", "parse_reference", "promote", "publish",
           "pull", "ReproduceReport", "reproduce", "verify"]
