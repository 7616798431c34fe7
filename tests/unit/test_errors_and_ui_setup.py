"""Pure pieces behind the first hour: what a failure line may show, how a failed Dagster step is told, and the
.env that points a bare `dagster dev` at the project's run history."""

from pathlib import Path
from types import SimpleNamespace

import psycopg

from connectors.settings import load_settings
from orchestration.errors import exit_code, one_line
from orchestration.runner import _cause
from orchestration.ui import DOTENV_MARK, write_dotenv
from orchestration.warehouse.database import DatabaseError

VALUE = "Zhang San 13912345678"


def raised(exc: Exception) -> Exception:
    try:
        raise exc
    except Exception as caught:  # keep the traceback, as main() sees it
        return caught


def test_an_unforeseen_error_shows_its_type_and_place_never_its_message():
    line = one_line(raised(ValueError(f"bad field {VALUE}")))
    assert VALUE not in line and "ValueError" in line and "--debug" in line and ".py:" in line
    db = psycopg.errors.UniqueViolation(f"duplicate key value: {VALUE}")
    db_line = one_line(raised(db))
    assert VALUE not in db_line and "UniqueViolation" in db_line
    assert exit_code(raised(ValueError("x"))) == 1


def test_an_explained_error_shows_its_first_line_only():
    line = one_line(DatabaseError("no PostgreSQL answers at h:1: start it\nsecond line"))
    assert line == "no PostgreSQL answers at h:1: start it"
    assert exit_code(DatabaseError("x")) == 2


def error_info(cls_name: str, message: str, cause=None):
    return SimpleNamespace(cls_name=cls_name, message=message, cause=cause)


def test_a_failed_step_names_our_cause_but_not_a_foreign_message():
    ours = error_info("DagsterExecutionStepExecutionError", "Error occurred while executing op",
                      error_info("KeyError_", "connectors.crypto.KeyError_: no master key: set WARDFLOW_MASTER_KEY\n"))
    assert _cause(ours) == "no master key: set WARDFLOW_MASTER_KEY"
    foreign = error_info("DagsterExecutionStepExecutionError", "Error occurred",
                         error_info("DataError", f"invalid input syntax: {VALUE}"))
    assert VALUE not in _cause(foreign) and "DataError" in _cause(foreign)


def make_project(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "workspace.yaml").write_text("load_from: []\n")
    (root / "pyproject.toml").write_text('[project]\nname = "wardflow"\n')
    return root


def test_dotenv_points_dagster_at_the_projects_run_history(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)  # restored afterwards (write_dotenv sets it)
    project = make_project(tmp_path / "proj")
    settings = load_settings({}, cwd=project)
    dotenv = write_dotenv(settings, project)
    assert dotenv == project / ".env"
    assert f"DAGSTER_HOME={project.resolve() / '.wardflow' / 'dagster'}" in dotenv.read_text()
    assert "nux:\n  enabled: false" in (project / ".wardflow" / "dagster" / "dagster.yaml").read_text()
    assert write_dotenv(settings, project) == dotenv  # ours: rewritten


def test_dotenv_of_someone_else_or_another_state_folder_is_left_alone(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    project = make_project(tmp_path / "proj")
    (project / ".env").write_text("MY_SETTING=1\n")
    assert write_dotenv(load_settings({}, cwd=project), project) is None
    assert (project / ".env").read_text() == "MY_SETTING=1\n"
    other = make_project(tmp_path / "other")
    elsewhere = load_settings({"WARDFLOW_HOME": str(tmp_path / "elsewhere")}, cwd=other)
    assert write_dotenv(elsewhere, other) is None and not (other / ".env").exists()
    assert DOTENV_MARK.startswith("#")
