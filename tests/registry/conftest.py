from tests.conftest_pg import postgres_server, registry_url  # noqa: F401  (fixtures)
