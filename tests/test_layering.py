"""Layering (issue 13, docs/architecture.md): the import contracts in pyproject.toml
hold, they see an upward import wherever it is written (a function-local import too),
and no app reaches an app above it by a dotted name that import analysis cannot see."""

from __future__ import annotations

import ast
import copy
from pathlib import Path

import grimp
import pytest
from django.apps import apps
from django.conf import settings
from importlinter.api import read_configuration
from importlinter.application.use_cases import lint_imports
from importlinter.contracts.forbidden import ForbiddenContract
from importlinter.contracts.layers import LayersContract

BASE = Path(settings.BASE_DIR)
CONFIG = read_configuration(str(BASE / "pyproject.toml"))
SESSION = CONFIG["session_options"]
CONTRACTS = {options["id"]: options for options in CONFIG["contracts_options"]}


def contract(kind: type, contract_id: str):  # type: ignore[no-untyped-def]
    options = CONTRACTS[contract_id]
    return kind(name=options["name"], session_options=SESSION, contract_options=options)


def kept(checked, graph: grimp.ImportGraph) -> bool:  # type: ignore[no-untyped-def]
    """Whether the contract holds on the graph (on a copy: a check removes ignored imports)."""
    return checked.check(copy.deepcopy(graph), verbose=False).kept


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*SESSION["root_packages"], cache_dir=None)


def layer_of() -> dict[str, int]:
    """Top-level package → its layer's index, 0 the bottom (core)."""
    layers = list(reversed(CONTRACTS["layers"]["layers"]))
    return {name.strip(): index for index, layer in enumerate(layers) for name in layer.split("|")}


def test_the_contracts_hold(monkeypatch):
    monkeypatch.chdir(BASE)
    assert lint_imports(config_filename="pyproject.toml", cache_dir=None, no_logo=True)


def test_every_project_app_has_a_layer():
    project = {config.name for config in apps.get_app_configs() if Path(config.path).parent == BASE}
    assert project <= set(layer_of()), project - set(layer_of())
    assert set(SESSION["root_packages"]) == set(layer_of())
    assert layer_of()["core"] == 0 and layer_of()["budget_tracker"] == max(layer_of().values())


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        # The cycles issue 13 removed, each written back as it was (function-local ones too).
        ("users.services", "expenses.services"),  # base-currency recompute
        ("users.services", "currencies.selectors"),  # the change lock
        ("expenses.services", "budgets.services"),  # budget alerts
        ("reports.services", "recurring.selectors"),  # fine: reports sits above
        ("recurring.services", "reports.services"),  # the monthly summary job
        ("categories.services", "expenses.services"),  # rule targets
        ("core.jobs", "recurring.services"),
    ],
)
def test_the_layers_contract_refuses_an_upward_import(graph, importer, imported):
    layers = contract(LayersContract, "layers")
    upward = layer_of()[importer.split(".")[0]] < layer_of()[imported.split(".")[0]]
    changed = copy.deepcopy(graph)
    changed.add_import(
        importer=importer,
        imported=imported,
        line_number=1,
        line_contents=f"    from {imported} import something  # inside a function",
    )
    assert kept(layers, graph)
    assert kept(layers, changed) is not upward
    assert upward is (importer.split(".")[0] != "reports")


def test_models_may_not_import_services_selectors_or_views(graph):
    models_contract = contract(ForbiddenContract, "models-at-the-bottom")
    assert kept(models_contract, graph)
    for imported in ("budgets.selectors", "currencies.selectors", "notifications.services"):
        changed = copy.deepcopy(graph)
        changed.add_import(
            importer="budgets.models", imported=imported, line_number=1, line_contents="x"
        )
        assert not kept(models_contract, changed), imported


# Dependencies on a higher app by name that stay, each with its reason.
NAMED_UPWARD = {
    # Every expense and income row keeps the statement import that created it (undo);
    # inverting it (a link table in imports) would be a schema migration of its own.
    ("ledger/models.py", "imports.ImportBatch"),
}


def _names_a_module(parts: list[str]) -> bool:
    path = BASE.joinpath(*parts[:2])
    return path.is_dir() or path.with_suffix(".py").is_file()


def test_no_app_names_an_app_above_it_in_a_string():
    """`apps.get_model("expenses.Expense")` or `import_module("expenses.services")` would
    dodge the contract: a lower app reaching an upper one by name is still a dependency.
    The upper app registers itself instead (`users.base_currency`, `categories.services.
    register_rule_target`, `core.jobs`)."""
    layers = layer_of()
    labels = {model._meta.label: model._meta.app_label for model in apps.get_models()}
    found = []
    for package, level in layers.items():
        for path in sorted((BASE / package).rglob("*.py")):
            relative = path.relative_to(BASE)
            if {"tests", "migrations"} & set(relative.parts):
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                    continue
                parts = node.value.split(".")
                if node.value in labels:
                    target = labels[node.value]
                elif len(parts) > 1 and parts[0] in layers and _names_a_module(parts):
                    target = parts[0]
                else:
                    continue
                allowed = (str(relative), node.value) in NAMED_UPWARD
                if layers.get(target, -1) > level and not allowed:
                    found.append(f"{relative}:{node.lineno} {node.value!r}")
    assert found == []
