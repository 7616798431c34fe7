"""How a failed command ends: one line naming the cause and the fix, the traceback only with `--debug`.

Our own errors (DatabaseError, EmbeddedPostgresError, KeyError_, ProjectNotFoundError, ...) are written to be
shown: they name files, hosts, roles and rules, never a key or a data value. Anything else may carry a value
in its message (a database error quoting a row, a parser quoting a field), so only its type, its SQLSTATE
and the place it was raised are shown.
"""

from __future__ import annotations

import traceback
from pathlib import Path

DEBUG_HINT = "run again with --debug for the traceback"


def _explained_types() -> tuple[type[BaseException], ...]:
    from connectors.crypto import KeyError_
    from connectors.settings import ProjectNotFoundError
    from orchestration.keys import KeyRotationError
    from orchestration.warehouse.database import DatabaseError
    from orchestration.warehouse.embedded import EmbeddedPostgresError

    return (KeyError_, ProjectNotFoundError, KeyRotationError, DatabaseError, EmbeddedPostgresError,
            FileNotFoundError, WardflowError)


def explained_names() -> set[str]:
    """Class names of the errors whose message is safe to show (for errors known only by name, as in Dagster)."""
    return {cls.__name__ for cls in _explained_types()}


class WardflowError(RuntimeError):
    """A failure a user can fix; the message is one line with the cause and the fix, and holds no value."""


def exit_code(exc: BaseException) -> int:
    """2 for a failure we explain (bad setup or input), 1 for anything unexpected."""
    return 2 if isinstance(exc, _explained_types()) else 1


def one_line(exc: BaseException) -> str:
    """The line printed after 'error:' for a failed command."""
    if isinstance(exc, _explained_types()):
        first = str(exc).strip().splitlines()
        return first[0] if first else type(exc).__name__
    sqlstate = getattr(exc, "sqlstate", None)
    state = f" (SQLSTATE {sqlstate})" if sqlstate else ""
    return f"unexpected {type(exc).__name__}{state} in {_origin(exc)}; {DEBUG_HINT}"


def _origin(exc: BaseException) -> str:
    """file:line of the innermost frame of our own code (a place, never a value)."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/site-packages/" not in f.filename] or frames
    if not ours:
        return "wardflow"
    return f"{Path(ours[-1].filename).name}:{ours[-1].lineno}"
