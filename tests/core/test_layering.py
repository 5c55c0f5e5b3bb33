"""The apps form layers with no cycles: each app imports only the apps below it. Every module
is read (migrations and function-local imports included); a model named by string in a
foreign key ("procurement.Entity") is not an import and is fine.

    core            reference data, audit trail: nothing of ours
    notifications   the outbox (events) and its dispatcher: core
    accounts        users, memberships, permissions: core, notifications
    suppliers       the supplier registry: core, notifications, accounts
    procurement     plans, processes, and the pages over everything: all of the above
    config          settings, URLs, admin site: everything

Lower apps reach higher ones only through what the higher ones connect to them: the
`accounts.signals.email_verified` signal, the handlers registered with
`notifications.dispatch`, and Django's permission API (the authentication backend)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

ALLOWED = {
    "core": set(),
    "notifications": {"core"},
    "accounts": {"core", "notifications"},
    "suppliers": {"core", "notifications", "accounts"},
    "procurement": {"core", "notifications", "accounts", "suppliers"},
    "config": {"core", "notifications", "accounts", "suppliers", "procurement"},
}


def imported_modules(path: Path):
    """(line, module) for every absolute import in the file, at any depth."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def violations() -> list[str]:
    found = []
    for app, allowed in ALLOWED.items():
        for path in sorted((ROOT / app).rglob("*.py")):
            for line, module in imported_modules(path):
                target = module.split(".")[0]
                if target in ALLOWED and target != app and target not in allowed:
                    found.append(f"{path.relative_to(ROOT)}:{line} {app} -> {module}")
    return found


def test_no_app_imports_an_app_above_it():
    assert violations() == []


def test_the_check_sees_function_local_imports(tmp_path):
    module = tmp_path / "module.py"
    module.write_text("def f():\n    from procurement.models import Entity\n    return Entity\n")
    assert list(imported_modules(module)) == [(2, "procurement.models")]


@pytest.mark.parametrize("app", sorted(ALLOWED))
def test_every_layer_exists(app):
    # A renamed app would silently drop out of the check.
    assert (ROOT / app / "__init__.py").exists()


def test_the_layers_have_no_cycle():
    below = {app: set(allowed) for app, allowed in ALLOWED.items()}
    for app in below:
        seen, todo = set(), list(below[app])
        while todo:
            lower = todo.pop()
            assert lower != app, f"{app} depends on itself through {lower}"
            if lower not in seen:
                seen.add(lower)
                todo.extend(below[lower])
