"""Every import points down the layers, and packages depend on each other one way only.

The layers, lowest first, are named in docs/architecture.md:

    base      config, errors, i18n, ids, the rate limiter
    infra     db, storage, cache
    models    each domain's ``models.py`` and the rules written over them as query conditions
    services  the rest of each domain package
    web       ``web/`` (base handler, UI modules) and each domain's ``handlers.py``
    app       routes, context, server, command line, migrations

A module may import its own layer or any layer below. Packages must not import each other in a
cycle, within one layer or across layers: a domain's models and services count as one package
(a domain whose services read another's models while that one's services call back into the
first is a knot, whatever the layers say). A domain's handlers sit above every service by design
and count apart, as does ``web/`` and the model registry ``db/models.py``. One domain's handlers
never import another domain's handlers (what they share belongs in ``web/`` or in a service).
Imports inside functions count too, so a cycle cannot be hidden by importing late.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "tornagram"

LAYERS = ("base", "infra", "models", "services", "web", "app")
DOMAINS = (
    "accounts",
    "photos",
    "graph",
    "interactions",
    "notifications",
    "search",
    "feeds",
    "rooms",
    "realtime",
    "leaving",
    "oauth",
    "api",
    "moderation",
)

# Modules whose layer is not the one their name or folder gives.
EXPLICIT = {
    "tornagram": "base",
    "tornagram.config": "base",
    "tornagram.errors": "base",
    "tornagram.i18n": "base",
    "tornagram.ratelimit": "base",
    "tornagram.logs": "base",
    "tornagram.db.ids": "base",
    "tornagram.cache": "infra",
    "tornagram.redis_client": "infra",
    "tornagram.cache.topics": "infra",
    "tornagram.cache.changes": "infra",
    "tornagram.cache.redis": "infra",
    "tornagram.cache.stores": "infra",
    # Every model imported in one place, for Alembic and the schema test.
    "tornagram.db.models": "models",
    # The visibility rule is query conditions over the graph's tables; every domain reads it.
    "tornagram.graph.visibility": "models",
    # The post card's data: a post, its author and the viewer's marks.
    "tornagram.feeds.items": "models",
    # The live socket and long poll are the realtime domain's handlers.
    "tornagram.realtime.sockets": "web",
    "tornagram.realtime.longpoll": "web",
    # The app API's handlers, one module per part of the API.
    "tornagram.api.account_handlers": "web",
    "tornagram.api.status_handlers": "web",
    "tornagram.api.notification_handlers": "web",
    "tornagram.api.streaming": "web",
    "tornagram.app": "app",
    "tornagram.server": "app",
    "tornagram.cli": "app",
    "tornagram.context": "app",
    # Reads every part of the context at scrape time.
    "tornagram.metrics": "app",
    "tornagram.__main__": "app",
}
INFRA_PACKAGES = ("tornagram.db", "tornagram.storage", "tornagram.mail")
# The command line is a package of one module per group of commands.
APP_PACKAGES = ("tornagram.cli",)


class UnknownModule(Exception):
    pass


def layer_of(module: str) -> str:
    if module in EXPLICIT:
        return EXPLICIT[module]
    if module.startswith("tornagram.db.migrations"):
        return "app"
    if any(module == p or module.startswith(p + ".") for p in APP_PACKAGES):
        return "app"
    if any(module == p or module.startswith(p + ".") for p in INFRA_PACKAGES):
        return "infra"
    if module == "tornagram.web" or module.startswith("tornagram.web."):
        return "web"
    parts = module.split(".")
    if len(parts) >= 2 and parts[1] in DOMAINS:
        if len(parts) == 3 and parts[2] == "models":
            return "models"
        # A domain with many pages splits them: recovery_handlers.py beside handlers.py.
        if len(parts) == 3 and (parts[2] == "handlers" or parts[2].endswith("_handlers")):
            return "web"
        return "services"
    raise UnknownModule(f"{module}: give it a layer in tests/test_layers.py and the architecture doc")


def package_of(module: str) -> str:
    """``tornagram.graph.service`` → ``tornagram.graph``; a top-level module is its own package."""
    parts = module.split(".")
    return ".".join(parts[:2])


def node_of(module: str, layer: str) -> str:
    """The node a module stands for in the cycle check: a domain's models and services are one
    (so a cycle across those layers is found), everything else its package within its layer."""
    package = package_of(module)
    if package.split(".")[-1] in DOMAINS and layer in ("models", "services"):
        return package
    return f"{package} ({layer})"


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, module: str, known: set[str]) -> set[str]:
    """The project modules one file imports, anywhere in it (functions included)."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            # ``from tornagram.graph import models`` imports the module tornagram.graph.models.
            names = [
                f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in known else prefix for a in node.names
            ]
        else:
            continue
        for name in names:
            if name == PACKAGE or name.startswith(PACKAGE + "."):
                # Importing a name from a module: keep the longest known module.
                while name not in known and "." in name:
                    name = name.rsplit(".", 1)[0]
                if name != module:
                    found.add(name)
    return found


def project_imports() -> dict[str, set[str]]:
    files = sorted((ROOT / PACKAGE).rglob("*.py"))
    known = {module_name(f) for f in files}
    return {module_name(f): imports_of(f, module_name(f), known) for f in files}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle in a directed graph, as the nodes along it, or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def layer_problems(imports: dict[str, set[str]]) -> list[str]:
    """Every import against the layer order, every cross-domain handler import, and a cycle
    between packages (within a layer or across layers, see ``node_of``), if there is one."""
    problems: list[str] = []
    nodes: dict[str, set[str]] = {}
    for module, targets in sorted(imports.items()):
        try:
            mine = layer_of(module)
        except UnknownModule as exc:
            problems.append(str(exc))
            continue
        here = node_of(module, mine)
        nodes.setdefault(here, set())
        for target in sorted(targets):
            try:
                theirs = layer_of(target)
            except UnknownModule as exc:
                problems.append(str(exc))
                continue
            if LAYERS.index(theirs) > LAYERS.index(mine):
                problems.append(f"{module} ({mine}) imports {target} ({theirs}), a layer above")
                continue
            if (
                mine == theirs == "web"
                and package_of(module) != package_of(target)
                and package_of(target) != "tornagram.web"
            ):
                problems.append(f"{module} imports another domain's handlers: {target}")
            there = node_of(target, theirs)
            if there != here:
                nodes[here].add(there)
    cycle = find_cycle(nodes)
    if cycle:
        problems.append("packages import each other in a cycle: " + " -> ".join(cycle))
    return problems


def test_the_project_follows_the_layers():
    imports = project_imports()
    assert len(imports) > 50, "the walk found too few modules"
    assert layer_problems(imports) == []


# The checker itself, on made-up import graphs.


def test_a_clean_graph_passes():
    assert (
        layer_problems(
            {
                "tornagram.errors": set(),
                "tornagram.photos.models": {"tornagram.errors"},
                "tornagram.photos.service": {"tornagram.photos.models"},
                "tornagram.photos.handlers": {"tornagram.photos.service", "tornagram.web.base"},
                "tornagram.web.base": {"tornagram.errors"},
                "tornagram.app": {"tornagram.photos.handlers"},
            }
        )
        == []
    )


@pytest.mark.parametrize(
    "module, target",
    [
        ("tornagram.photos.service", "tornagram.web.media"),  # a service reaching up to the web
        ("tornagram.photos.models", "tornagram.photos.service"),
        ("tornagram.errors", "tornagram.db.engine"),
        ("tornagram.web.base", "tornagram.context"),
    ],
)
def test_an_upward_import_fails(module, target):
    [problem] = layer_problems({module: {target}, target: set()})
    assert "a layer above" in problem and module in problem and target in problem


def test_one_domains_handlers_may_not_import_anothers():
    [problem] = layer_problems(
        {"tornagram.search.handlers": {"tornagram.notifications.handlers"}, "tornagram.notifications.handlers": set()}
    )
    assert "another domain's handlers" in problem


def test_a_cycle_between_packages_fails_even_through_a_late_import():
    problems = layer_problems(
        {
            "tornagram.graph.service": {"tornagram.notifications.writer"},
            "tornagram.notifications.writer": {"tornagram.photos.service"},
            "tornagram.photos.service": {"tornagram.graph.service"},
        }
    )
    assert problems == [
        "packages import each other in a cycle: tornagram.graph -> "
        "tornagram.notifications -> tornagram.photos -> tornagram.graph"
    ]


def test_a_cycle_across_layers_fails():
    """A service of one domain using another's image code while that domain's services read the
    first one's models: no import points up, yet the two packages are one knot."""
    problems = layer_problems(
        {
            "tornagram.accounts.avatars": {"tornagram.photos.imaging"},
            "tornagram.photos.imaging": set(),
            "tornagram.photos.service": {"tornagram.accounts.models"},
            "tornagram.accounts.models": set(),
        }
    )
    assert problems == [
        "packages import each other in a cycle: tornagram.accounts -> tornagram.photos -> "
        "tornagram.accounts"
    ]


def test_handlers_and_the_model_registry_may_sit_on_both_sides():
    """``web/`` serves every domain's handlers and reads their services; the model registry is
    imported by the database package and imports every domain's models. Neither is a knot."""
    assert (
        layer_problems(
            {
                "tornagram.photos.handlers": {"tornagram.web.base", "tornagram.photos.service"},
                "tornagram.web.base": {"tornagram.accounts.validation"},
                "tornagram.web.ui_modules": {"tornagram.photos.captions"},
                "tornagram.photos.captions": set(),
                "tornagram.photos.service": {"tornagram.db.engine"},
                "tornagram.accounts.validation": set(),
                "tornagram.db.engine": set(),
                "tornagram.db.models": {"tornagram.photos.models"},
                "tornagram.photos.models": {"tornagram.db.base"},
                "tornagram.db.base": set(),
            }
        )
        == []
    )


def test_a_module_without_a_layer_fails():
    assert layer_problems({"tornagram.helpers": set()}) == [
        "tornagram.helpers: give it a layer in tests/test_layers.py and the architecture doc"
    ]


def test_imports_are_read_from_the_source(tmp_path):
    source = tmp_path / "mod.py"
    source.write_text(
        "import tornagram.errors\n"
        "from tornagram.graph import models\n"
        "from tornagram.web.media import media_url\n"
        "def late():\n"
        "    from tornagram.accounts.models import User\n"
        "import os\n"
    )
    known = {"tornagram.errors", "tornagram.graph.models", "tornagram.web.media", "tornagram.accounts.models"}
    assert imports_of(source, "tornagram.x.mod", known) == known


def test_relative_imports_resolve(tmp_path):
    init = tmp_path / "__init__.py"
    init.write_text("from .broker import Broker\nfrom . import hub\n")
    known = {"tornagram.realtime", "tornagram.realtime.broker", "tornagram.realtime.hub"}
    assert imports_of(init, "tornagram.realtime", known) == {
        "tornagram.realtime.broker",
        "tornagram.realtime.hub",
    }


# The tests themselves: what they share lives in tests/helpers.py, a folder's support.py or a
# conftest fixture, so that a test module can be read, moved or deleted on its own.


def imports_of_test_modules(root: Path) -> list[str]:
    """Each import of a test module (``test_*``) by any file under ``root`` (the tests folder),
    imports inside functions included, as "<file> imports <module>"."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            else:
                continue
            for name in names:
                if name.startswith("tests.") and name.rsplit(".", 1)[-1].startswith("test_"):
                    found.append(f"{path.relative_to(root.parent)} imports {name}")
    return found




def test_no_test_module_imports_another():
    assert imports_of_test_modules(ROOT / "tests") == []


def test_an_import_of_a_test_module_is_found(tmp_path):
    tests = tmp_path / "tests"
    (tests / "photos").mkdir(parents=True)
    (tests / "photos" / "test_posts.py").write_text("def upload(): ...\n")
    (tests / "photos" / "support.py").write_text("X = 1\n")
    (tests / "test_a.py").write_text(
        "from tests.photos.support import X\n"
        "from tests.helpers import Client\n"
        "def test_late():\n"
        "    from tests.photos.test_posts import upload\n"
    )
    (tests / "test_b.py").write_text("from tests.photos import test_posts\n")
    assert imports_of_test_modules(tests) == [
        "tests/test_a.py imports tests.photos.test_posts",
        "tests/test_b.py imports tests.photos.test_posts",
    ]
