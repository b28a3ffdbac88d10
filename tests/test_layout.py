"""The package's stages import one way: scenario -> model -> measures -> output -> experiment -> cli."""

import ast
from pathlib import Path

import simulation

STAGES = ("scenario", "model", "measures", "output", "experiment")
PACKAGE = Path(simulation.__file__).parent


def imported_stages(path):
    """Stages a module imports from, at module level or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else \
            [a.name for a in node.names] if isinstance(node, ast.Import) else []
        for name in names:
            parts = name.split(".")
            if parts[0] == "simulation" and len(parts) > 1 and parts[1] in STAGES + ("cli",):
                found.add(parts[1])
    return found


def test_every_stage_imports_only_from_itself_and_earlier_stages():
    for rank, stage in enumerate(STAGES):
        allowed = set(STAGES[:rank + 1])
        for path in sorted((PACKAGE / stage).glob("*.py")):
            assert imported_stages(path) <= allowed, (path.name, imported_stages(path) - allowed)


def test_no_module_imports_the_cli_and_no_two_output_modules_import_each_other():
    for path in PACKAGE.rglob("*.py"):
        if path.name not in ("cli.py", "__main__.py"):
            assert "cli" not in imported_stages(path), path
    edges = {}
    for path in (PACKAGE / "output").glob("*.py"):
        tree = ast.parse(path.read_text())
        edges[path.stem] = {n.module.split(".")[-1] for n in ast.walk(tree)
                            if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("simulation.output.")}
    for a, targets in edges.items():
        for b in targets:
            assert a not in edges.get(b, set()), (a, b)


def test_library_code_never_picks_a_matplotlib_backend():
    for path in PACKAGE.rglob("*.py"):
        if path.name != "cli.py":
            assert "matplotlib.use(" not in path.read_text(), path
