"""The embedded SQL HSS: oslo.db + alembic on sqlite, MariaDB or PostgreSQL."""
