"""The state folder is found like git finds .git, never invented in whatever folder a command runs from."""

from pathlib import Path

import pytest

from connectors.settings import ProjectNotFoundError, find_project_root, load_settings, resolve_home

WARDFLOW_PYPROJECT = '[project]\nname = "wardflow"\nversion = "0"\n'


def make_project(root: Path, name: str = "wardflow") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "workspace.yaml").write_text("load_from: []\n")
    (root / "pyproject.toml").write_text(WARDFLOW_PYPROJECT.replace("wardflow", name))
    return root


def test_found_from_a_deep_sub_folder(tmp_path):
    project = make_project(tmp_path / "proj")
    deep = project / "docs" / "img" / "more"
    deep.mkdir(parents=True)
    settings = load_settings({}, cwd=deep)
    assert settings.home == (project / ".wardflow").resolve()
    assert "current folder" in settings.home_source


def test_wardflow_home_wins_over_the_project(tmp_path):
    project = make_project(tmp_path / "proj")
    settings = load_settings({"WARDFLOW_HOME": str(tmp_path / "elsewhere")}, cwd=project)
    assert settings.home == (tmp_path / "elsewhere").resolve() and settings.home_source == "WARDFLOW_HOME"


def test_the_nearest_project_wins_and_other_projects_do_not_count(tmp_path):
    outer = make_project(tmp_path / "outer")
    inner = make_project(outer / "vendored" / "inner")
    (inner / "x").mkdir()
    assert find_project_root(inner / "x") == inner.resolve()
    not_ours = make_project(tmp_path / "other", name="someone-else")
    assert find_project_root(not_ours) is None
    half = tmp_path / "half"
    half.mkdir()
    (half / "pyproject.toml").write_text(WARDFLOW_PYPROJECT)  # no workspace.yaml: not a wardflow project
    assert find_project_root(half) is None
    (half / "workspace.yaml").write_text("x")
    (half / "pyproject.toml").write_text("this is [not toml")
    assert find_project_root(half) is None


def test_outside_any_project_the_installed_checkout_is_used(tmp_path):
    home, source = resolve_home({}, tmp_path)
    checkout = Path(__file__).resolve().parents[2]
    assert home == checkout / ".wardflow" and "installed from" in source


def test_outside_any_project_without_a_checkout_it_refuses(tmp_path, monkeypatch):
    import connectors.settings as settings_module

    monkeypatch.setattr(settings_module, "_CHECKOUT", tmp_path / "not-a-checkout")
    with pytest.raises(ProjectNotFoundError, match="WARDFLOW_HOME"):
        resolve_home({}, tmp_path)
    assert not (tmp_path / ".wardflow").exists()
