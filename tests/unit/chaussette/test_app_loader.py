"""APP resolution and its one-line failure summary (modules written to tmp_path, imported for real)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from chaussette_compat.app_loader import AppLoadError, import_object, load_app, load_hook, split_spec
from chaussette_compat.hello import hello_app


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    package = tmp_path / "loadersite"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "wsgi.py").write_text(
        "class Holder:\n    def app(self, environ, start_response):\n        return []\n"
        "holder = Holder()\n"
        "def application(environ, start_response):\n    return []\n"
        "settings = {'debug': True}\n"
    )
    (package / "sub.py").write_text("def application(environ, start_response):\n    return []\n")
    (package / "failing.py").write_text("raise KeyError('DATABASE_URL')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [name for name in sys.modules if name.startswith("loadersite")]:
        del sys.modules[name]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("pkg.mod:app", ("pkg.mod", "app")),
        ("pkg.mod:obj.attr", ("pkg.mod", "obj.attr")),
        ("pkg.mod.app", ("pkg.mod", "app")),
        ("mod", ("mod", None)),
    ],
)
def test_split_spec(spec, expected):
    assert split_spec(spec) == expected


def test_colon_dotted_and_nested_forms(site):
    assert load_app("loadersite.wsgi:application").__name__ == "application"
    assert load_app("loadersite.wsgi.application").__name__ == "application"
    assert load_app("loadersite.wsgi:holder.app").__name__ == "app"


def test_dotted_form_reaches_a_submodule_its_package_does_not_import(site):
    assert import_object("loadersite.sub").__name__ == "loadersite.sub"


def test_missing_module_summary(site):
    with pytest.raises(AppLoadError) as info:
        load_app("loadersite.nothere:application")
    summary = info.value.summary
    assert "cannot load the application 'loadersite.nothere:application'" in summary
    assert "ModuleNotFoundError" in summary
    assert "module 'loadersite.nothere'" in summary and "attribute 'application'" in summary
    assert f"sys.path=[{str(site)!r}" in summary
    assert isinstance(info.value.__cause__, ModuleNotFoundError)


def test_missing_attribute_suggests_a_close_name(site):
    with pytest.raises(
        AppLoadError, match=r"'loadersite.wsgi' has no attribute 'applicaton' \(did you mean 'application'"
    ):
        load_app("loadersite.wsgi:applicaton")


def test_module_raising_at_import_keeps_its_exception(site):
    with pytest.raises(AppLoadError, match=r"KeyError: 'DATABASE_URL'") as info:
        load_app("loadersite.failing:application")
    assert isinstance(info.value.__cause__, KeyError)


def test_not_callable(site):
    with pytest.raises(AppLoadError, match=r"'dict', not a WSGI callable"):
        load_app("loadersite.wsgi:settings")


def test_chaussette_default_app_without_chaussette_installed():
    assert load_app("chaussette.util.hello_app") is hello_app


def test_paste_without_pastedeploy_or_with_a_missing_file(tmp_path: Path):
    with pytest.raises(AppLoadError, match=r"PasteDeploy|could not load"):
        load_app(f"paste:{tmp_path / 'missing.ini'}")


def test_hooks(site):
    assert load_hook("loadersite.wsgi:application", "--pre-hook").__name__ == "application"
    with pytest.raises(
        AppLoadError, match=r"cannot load --post-hook 'loadersite.wsgi:settings'.*not callable"
    ):
        load_hook("loadersite.wsgi:settings", "--post-hook")
