"""The hub error a registry error becomes: a subclass of a registry error the hub knows becomes its parent's."""
from __future__ import annotations

import pytest

from hub import errors as hub_errors
from hub.errors import user_errors
from registry import errors as registry_errors
from tests.registry_error_subclasses import NewRegistryError, SUBCLASSED


RAISED = {
    **SUBCLASSED,
    "read-only": lambda: registry_errors.ReadOnlyRegistry("/srv/registry.db", "a read-only mount"),
    "new": lambda: NewRegistryError("something the hub has no class for"),
}


@pytest.mark.parametrize("kind, hub_error", [("vanished", hub_errors.ModelNotFound),
                                             ("quota", hub_errors.RegistryNotWritable),
                                             ("torn", hub_errors.IntegrityError),
                                             ("odd", hub_errors.InvalidReference),
                                             ("read-only", hub_errors.RegistryNotWritable),
                                             ("new", hub_errors.HubError)])
def test_a_subclass_of_a_registry_error_becomes_its_parents_hub_error(kind, hub_error):
    @user_errors
    def raise_it() -> None:
        raise RAISED[kind]()

    with pytest.raises(hub_errors.HubError) as caught:
        raise_it()
    assert type(caught.value) is hub_error
    assert str(caught.value) == str(RAISED[kind]())
