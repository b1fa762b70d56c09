"""No import cycles inside retinavlm/: every module's imports (top-level and inside functions) form a DAG;
and the library never imports the command-line layer (retinavlm.commands), only retinavlm.cli and the commands do.

Imports under `if TYPE_CHECKING:` are left out: they never run and only name types.
"""

import ast
from pathlib import Path

import retinavlm

PACKAGE_ROOT = Path(retinavlm.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, modules: set[str]) -> set[str]:
    """The retinavlm modules `path` imports, each resolved to a module of the package."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for statement in block.body
        for node in ast.walk(statement)
    }
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    [*package.split(".")[: len(package.split(".")) - node.level + 1], *filter(None, [base])]
                )
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != module_name(path):
                found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE_ROOT.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    return {module_name(p): imported_modules(p, modules) for p in paths}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node], _ = "open", stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return [*stack[stack.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        state[node], _ = "done", stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def package_imports_excluded(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """A package's __init__ importing its own submodules is how packages re-export: not a cycle by itself."""
    return {
        module: {t for t in targets if not (t.startswith(module + ".") and module_is_package(module))}
        for module, targets in graph.items()
    }


def module_is_package(module: str) -> bool:
    return (PACKAGE_ROOT.parent / module.replace(".", "/") / "__init__.py").is_file()


def test_no_import_cycle_inside_the_package():
    cycle = find_cycle(package_imports_excluded(import_graph()))
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def library_modules_importing_commands(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Modules outside retinavlm.cli and retinavlm.commands, with the retinavlm.commands modules each imports."""
    front_end = ("retinavlm.cli", "retinavlm.commands")
    return {
        module: found
        for module, targets in graph.items()
        if not any(module == name or module.startswith(name + ".") for name in front_end)
        if (found := {t for t in targets if t == "retinavlm.commands" or t.startswith("retinavlm.commands.")})
    }


def test_the_library_never_imports_the_commands():
    assert library_modules_importing_commands(import_graph()) == {}


def test_the_command_rule_sees_a_library_module_importing_a_command():
    graph = {
        "retinavlm.viewer.config": {"retinavlm.commands.view", "retinavlm.resources"},
        "retinavlm.cli": {"retinavlm.commands"},
        "retinavlm.commands.view": {"retinavlm.commands.train"},
    }
    assert library_modules_importing_commands(graph) == {"retinavlm.viewer.config": {"retinavlm.commands.view"}}


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_the_graph_sees_imports_inside_functions():
    graph = import_graph()
    assert "retinavlm.model.report_run" in graph["retinavlm.commands.report"]  # imported inside run()
