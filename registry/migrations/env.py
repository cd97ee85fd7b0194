"""Alembic environment: migrations always run on a connection that registry.db hands over (already in a
transaction and holding the schema lock), never on a URL of their own."""
from alembic import context

from registry.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("registry migrations run through `zoohub db upgrade` (registry.db.upgrade), not the alembic CLI")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True,
                  transaction_per_migration=False)
context.run_migrations()
