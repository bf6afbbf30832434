"""Alembic migrations of the labelmend store (see ``labelmend.storage.migrate``)."""
