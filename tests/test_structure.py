"""The floor plan, checked: no import cycle among digest's modules, no lazy import of our own
modules without a reason, and each layer imports only the layers below it.

The imports are read from the source with ``ast`` (nothing is imported), so a test fails
on the line that breaks the plan, not on a side effect of import order.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "digest"

# Layers, lowest first: a module may import its own layer and the layers below, never above.
# The first part of a module's name under ``digest`` picks its layer.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"errors", "models", "config", "log", "progress", "serialize"}),
    # identity hashes the text's normal form, a rule of text/ (text/rules.py).
    frozenset({"text", "identity", "embed", "mmr", "store", "signed"}),
    frozenset({"sources", "summarize"}),
    frozenset({"edition"}),
    frozenset({"publish", "deliver", "inbound", "subscribers"}),
    frozenset({"pipeline", "distributed"}),
    # The web is a shell over the pipeline, like the CLI: the pipeline never imports it.
    frozenset({"web"}),
    frozenset({"cli", "__main__"}),
)
# Same-layer pairs that must stay apart: a transport knows nothing of rendering.
APART = {("deliver", "publish"), ("deliver", "inbound"), ("inbound", "publish")}


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name
    target: str  # dotted module name
    line: int
    lazy: bool  # inside a function body
    commented: bool  # a comment on its line or the line above says why


def module_name(path: Path) -> str:
    parts = ["digest", *path.relative_to(PACKAGE).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def resolve(base: str, name: str | None) -> str:
    """``from base import name``: the submodule when ``name`` is one, else ``base``."""
    if name is not None and f"{base}.{name}" in MODULES:
        return f"{base}.{name}"
    return base


def _lazy_nodes(tree: ast.AST) -> set[int]:
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for child in ast.walk(node):
                if child is not node:
                    inside.add(id(child))
    return inside


def imports_of(name: str) -> Iterator[Import]:
    path = MODULES[name]
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    tree = ast.parse(source)
    lazy = _lazy_nodes(tree)
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names if a.name.split(".")[0] == "digest"]
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "").split(".")[0] == "digest"
        ):
            targets = [resolve(node.module or "", a.name) for a in node.names]
        for target in dict.fromkeys(targets):
            here = lines[node.lineno - 1]
            above = lines[node.lineno - 2] if node.lineno > 1 else ""
            commented = "#" in here or above.strip().startswith("#")
            yield Import(name, target, node.lineno, id(node) in lazy, commented)


ALL_IMPORTS = [i for m in sorted(MODULES) for i in imports_of(m)]


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return None


def _layer(module: str) -> tuple[int, str] | None:
    parts = module.split(".")
    if len(parts) < 2:
        return None  # the package's public face re-exports from every layer
    for rank, names in enumerate(LAYERS):
        if parts[1] in names:
            return rank, parts[1]
    raise AssertionError(f"{module}: in no layer of tests/test_structure.py; add it to one")


# --- the tests -------------------------------------------------------------------------


def test_no_import_cycle_among_digest_modules() -> None:
    edges: dict[str, set[str]] = {}
    for imp in ALL_IMPORTS:
        if imp.importer != imp.target:
            edges.setdefault(imp.importer, set()).add(imp.target)
    assert find_cycle(edges) is None, " -> ".join(find_cycle(edges) or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    # The test above is only as good as this: a cycle two or three modules long is found.
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_lazy_import_of_our_own_modules_without_a_reason() -> None:
    bare = [
        f"{MODULES[i.importer].relative_to(PACKAGE)}:{i.line} imports {i.target}"
        for i in ALL_IMPORTS
        if i.lazy and not i.commented
    ]
    assert not bare, "import these at the top (or say why not in a comment): " + "; ".join(bare)


def test_every_module_is_in_a_layer() -> None:
    for name in MODULES:
        _layer(name)


def test_each_layer_imports_only_its_own_and_lower_layers() -> None:
    wrong: list[str] = []
    for imp in ALL_IMPORTS:
        low, high = _layer(imp.importer), _layer(imp.target)
        if low is None or high is None:
            continue
        where = f"{MODULES[imp.importer].relative_to(PACKAGE)}:{imp.line}"
        if high[0] > low[0]:
            wrong.append(f"{where}: {imp.importer} (layer {low[0]}) imports {imp.target}")
        if (low[1], high[1]) in APART:
            wrong.append(f"{where}: {low[1]} must not import {high[1]}")
    assert not wrong, "\n".join(wrong)


def _names_config(annotation: ast.expr | None) -> bool:
    """Whether an annotation names ``Config`` (bare, dotted, in a union or a string)."""
    if annotation is None:
        return False
    for node in ast.walk(annotation):
        if isinstance(node, ast.Name) and node.id == "Config":
            return True
        if isinstance(node, ast.Attribute) and node.attr == "Config":
            return True
        if isinstance(node, ast.Constant) and re.search(r"\bConfig\b", str(node.value)):
            return True
    return False


def test_no_stage_below_the_pipeline_takes_the_whole_config() -> None:
    # Each stage is handed its own options (``digest.pipeline.options`` cuts them from the
    # Config); only config.py, which owns Config, and the layers from pipeline up see it.
    pipeline_layer = next(i for i, names in enumerate(LAYERS) if "pipeline" in names)
    wide: list[str] = []
    for name, path in sorted(MODULES.items()):
        layer = _layer(name)
        if layer is None or layer[0] >= pipeline_layer or name == "digest.config":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            args = node.args
            every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
            for arg in every:
                if arg is not None and _names_config(arg.annotation):
                    where = f"{path.relative_to(PACKAGE)}:{node.lineno}"
                    wide.append(f"{where}: {node.name}({arg.arg}: Config)")
    assert not wide, "pass the stage its own options, not Config:\n" + "\n".join(wide)


def test_the_config_check_reads_every_spelling() -> None:
    # The test above is only as good as this.
    for source in ("Config", "digest.config.Config", "Config | None", "'Config'"):
        assert _names_config(ast.parse(source, mode="eval").body), source
    for source in ("EditionOptions", "ConfigError", "'Configured'"):
        assert not _names_config(ast.parse(source, mode="eval").body), source


@pytest.mark.parametrize(
    ("importer", "forbidden"),
    [
        ("digest.edition", "digest.cli"),
        ("digest.pipeline", "digest.cli"),
        ("digest.sources", "digest.cli"),
        ("digest.summarize", "digest.cli"),
        ("digest.publish", "digest.cli"),
        ("digest.deliver", "digest.cli"),
        ("digest.deliver", "digest.publish"),
        # A stage is handed its data: the pipeline reads the store for it.
        ("digest.publish", "digest.store"),
        ("digest.edition", "digest.store"),
        ("digest.summarize", "digest.store"),
        ("digest.sources", "digest.store"),
    ],
)
def test_forbidden_imports(importer: str, forbidden: str) -> None:
    # Spelled out besides the layers: a stage never imports the CLI, a transport never
    # imports rendering.
    found = [
        f"{i.importer}:{i.line} imports {i.target}"
        for i in ALL_IMPORTS
        if (i.importer == importer or i.importer.startswith(importer + "."))
        and (i.target == forbidden or i.target.startswith(forbidden + "."))
    ]
    assert not found, found


def test_the_deliver_package_does_not_load_jinja_or_premailer() -> None:
    # The rendering libraries themselves, not only our rendering modules.
    for name, path in MODULES.items():
        if name.startswith("digest.deliver"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    mods = (
                        [a.name for a in node.names]
                        if isinstance(node, ast.Import)
                        else [node.module or ""]
                    )
                    for mod in mods:
                        assert mod.split(".")[0] not in ("jinja2", "premailer"), (name, mod)


def test_every_module_says_what_it_owns() -> None:
    # A newcomer finds where a change goes from the file list and the first lines.
    bare = [
        str(path.relative_to(PACKAGE))
        for path in MODULES.values()
        if not ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert not bare, bare


# --- package docstrings ----------------------------------------------------------------

_FILE_NAME = re.compile(r"(?<![\w./-])([a-z_][a-z0-9_]*\.py)\b")


def docstring_gaps(package: Path) -> tuple[list[str], list[str]]:
    """The modules of ``package`` that its ``__init__.py`` docstring does not name (by file
    name, ``render.py``), and the bare file names it gives that are no module of it."""
    doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text("utf-8"))) or ""
    modules = {p.name for p in package.glob("*.py") if p.name != "__init__.py"}
    named = set(_FILE_NAME.findall(doc))
    return sorted(modules - named), sorted(named - modules - {"__init__.py"})


PACKAGES = sorted(p.parent for p in PACKAGE.glob("*/__init__.py"))


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_each_package_docstring_names_its_modules(package: Path) -> None:
    # A newcomer reads the package's __init__.py first: it names each module and what it
    # owns. A module added, moved or renamed without its line there fails here; so does a
    # line left behind for a module that is gone (a path such as ``tools/x.py`` is not one).
    unnamed, gone = docstring_gaps(package)
    assert unnamed == [], f"{package.name}/__init__.py does not name {unnamed}"
    assert gone == [], f"{package.name}/__init__.py names {gone}, not modules of it"


def test_a_module_missing_from_its_docstring_is_found(tmp_path: Path) -> None:
    # The test above is only as good as this.
    package = tmp_path / "stage"
    package.mkdir()
    (package / "__init__.py").write_text(
        '"""The stage.\n\n    one.py   first\n    gone.py  x\n"""\n'
    )
    for name in ("one.py", "two.py"):
        (package / name).write_text('"""A module."""\n')
    assert docstring_gaps(package) == (["two.py"], ["gone.py"])


def _imported_modules(tree: ast.AST) -> Iterator[tuple[str, int]]:
    """Each module an ``import`` or ``from ... import`` names, with its line (``from a
    import b`` names ``a`` and ``a.b``)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module, node.lineno
            for alias in node.names:
                yield f"{node.module}.{alias.name}", node.lineno


def test_no_module_serves_http_with_the_standard_library() -> None:
    # Every page digest serves is a Starlette route of digest.web, behind its middleware.
    found = [
        f"{path.relative_to(PACKAGE)}:{line} imports {module}"
        for path in MODULES.values()
        for module, line in _imported_modules(ast.parse(path.read_text(encoding="utf-8")))
        if module == "http.server" or module.startswith("http.server.")
    ]
    assert not found, found


# The one helper that escapes HTML by hand (the slot values filled in after rendering);
# every page and template escapes through Jinja's autoescaping.
ESCAPING_HELPER = ("digest.publish.render", "escape_html")


def test_html_is_escaped_by_hand_in_one_helper_only() -> None:
    found = [
        f"{path.relative_to(PACKAGE)}:{line} imports {module}"
        for name, path in MODULES.items()
        if name != ESCAPING_HELPER[0]
        for module, line in _imported_modules(ast.parse(path.read_text(encoding="utf-8")))
        if module == "html" or module.startswith("html.")
    ]
    assert not found, found
    # In the helper's module, the html module is used inside the helper only.
    tree = ast.parse(MODULES[ESCAPING_HELPER[0]].read_text(encoding="utf-8"))
    aliases = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.name == "html"
    }
    helper = next(
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name == ESCAPING_HELPER[1]
    )
    inside = {id(node) for node in ast.walk(helper)}
    outside = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and node.id in aliases and id(node) not in inside
    ]
    assert not outside, f"{ESCAPING_HELPER[0]} uses html outside {ESCAPING_HELPER[1]}: {outside}"


def test_sql_stays_in_the_store() -> None:
    # SQL lives in digest.store's named statements and runs in its repositories: no
    # module above the store imports the statements or a dialect, or executes one itself.
    def inside(module: str) -> bool:
        return module == "digest.store" or module.startswith("digest.store.")

    dialects = {"digest.store.sql", "digest.store.pg"}
    found = [
        f"{MODULES[i.importer].relative_to(PACKAGE)}:{i.line} imports {i.target}"
        for i in ALL_IMPORTS
        if not inside(i.importer) and i.target in dialects
    ]
    for name, path in MODULES.items():
        if inside(name):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "execute"
            ):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} calls .execute(")
    assert not found, "SQL belongs in digest.store: " + "; ".join(found)
