"""oslo.db engine facades for our databases (HSS, desktop service).

Each database gets its own transaction context configured from an oslo.db
option group, so the HSS and the desktop service can live in different
databases -- or the same one -- without touching a host service's global
facade.
"""

import contextlib
import types

from oslo_db import options as db_options
from oslo_db.sqlalchemy import enginefacade
import sqlalchemy as sa


class Database(object):
    """A transaction context over the database of ``conf[group]``."""

    def __init__(self, conf, group):
        options = conf[group]
        self._ctx = enginefacade.transaction_context()
        self._ctx.configure(**{o.dest: options[o.dest]
                               for o in db_options.database_opts})
        self._ctx.append_on_engine_create(serialise_sqlite)

    @contextlib.contextmanager
    def writer(self):
        """A session in a write transaction (a context manager)."""
        with self._ctx.writer.using(types.SimpleNamespace()) as session:
            # Marks the transaction as a writer's before it begins, so
            # sqlite takes its write lock at once (see serialise_sqlite).
            session.connection(execution_options={WRITER: True})
            yield session

    def reader(self):
        return self._ctx.reader.using(types.SimpleNamespace())

    # Hot paths (a login's lookups and writes) use SQLAlchemy Core on a
    # pooled connection: half the CPU of an ORM session per statement. The
    # engines are oslo.db's, so its error translation (DBDuplicateEntry,
    # DBConnectionError...) and pool pings apply all the same.
    @contextlib.contextmanager
    def write(self):
        """A Core connection in a write transaction."""
        with self.engine.connect() as conn:
            conn.execution_options(**{WRITER: True})
            with conn.begin():
                yield conn

    @contextlib.contextmanager
    def read(self):
        """A Core connection for reads.

        On the writer's engine, as oslo.db's (synchronous) reader does: a
        login reads what it has just written, which a lagging
        ``slave_connection`` might not have yet.
        """
        with self.engine.connect() as conn:
            yield conn

    @property
    def engine(self):
        return self._ctx.writer.get_engine()


WRITER = 'vdesk_writer'


def serialise_sqlite(engine):
    """Make sqlite write transactions take the write lock when they begin.

    oslo.db begins sqlite transactions DEFERRED: two workers that both read
    and then write would deadlock, and sqlite breaks that by failing one at
    once. A writer's transaction begins IMMEDIATE instead, so writers queue
    (up to the busy timeout); readers stay DEFERRED and, with WAL, never
    wait for a writer. Embedded sqlite is for
    sandboxes and small sites; production uses MariaDB or PostgreSQL, where
    row locks do this job.
    """
    if engine.dialect.name != 'sqlite':
        return

    @sa.event.listens_for(engine, 'connect')
    def _connect(dbapi_connection, record):
        dbapi_connection.execute('PRAGMA busy_timeout = 30000')
        dbapi_connection.execute('PRAGMA journal_mode = WAL')

    # oslo.db's own 'begin' listener has already emitted a plain BEGIN,
    # which takes no lock until the first statement: ending that empty
    # transaction and beginning an IMMEDIATE one is free.
    @sa.event.listens_for(engine, 'begin')
    def _begin(connection):
        if connection.get_execution_options().get(WRITER):
            connection.exec_driver_sql('COMMIT')
            connection.exec_driver_sql('BEGIN IMMEDIATE')
