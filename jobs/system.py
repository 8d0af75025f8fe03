"""Jobs that let an operator check the queue itself."""

import os
import socket
from datetime import UTC, datetime

from webapp.db import db


def ping_workers():
    """Answer from inside a worker, after checking that the worker can reach the database."""
    db.execute_sql("SELECT 1")
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "database": "ok",
        "at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
    }
