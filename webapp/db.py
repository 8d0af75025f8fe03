"""The database handle, the model base class and the per-request connection hooks."""

from pathlib import Path

from peewee import DatabaseProxy, Model, PostgresqlDatabase, SqliteDatabase
from playhouse.db_url import parse

db = DatabaseProxy()

SQLITE_PRAGMAS = {"journal_mode": "wal", "busy_timeout": 5000, "foreign_keys": 1}


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False


def open_database(url):
    """Build the peewee database named by a `sqlite:///…` or `postgresql://…` URL."""
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return SqliteDatabase(path, pragmas=SQLITE_PRAGMAS, check_same_thread=False)
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresqlDatabase(**parse(url))
    raise ValueError("DATABASE_URL must start with sqlite:/// or postgresql://")


def is_sqlite():
    """Tell whether the bound database is SQLite, whose locking needs IMMEDIATE transactions."""
    return isinstance(db.obj, SqliteDatabase)


def write_transaction():
    """A transaction that reads then writes: IMMEDIATE on SQLite so it cannot fail half-way."""
    return db.atomic("IMMEDIATE") if is_sqlite() else db.atomic()


def init_app(app):
    db.initialize(open_database(app.config["DATABASE_URL"]))

    @app.before_request
    def connect():
        db.connect(reuse_if_open=True)

    @app.teardown_request
    def close(exc):
        if not db.is_closed():
            db.close()


def create_tables():
    from webapp.models import MODELS

    with db.connection_context():
        db.create_tables(MODELS, safe=True)


def drop_tables():
    from webapp.models import MODELS

    with db.connection_context():
        db.drop_tables(MODELS, safe=True, cascade=not is_sqlite())
