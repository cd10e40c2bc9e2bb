"""The architecture stays as docs/architecture.md and the README describe it.

Small modules with one job: no file in auditor/ over 500 lines, no function over 80 lines
unless its docstring says why (a line starting ``Why so long:``). Every module the overview
names exists, and the worked example of a check in ``auditor/checks/__init__.py`` is code
that runs.
"""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

from auditor.vocab import NodeStatus

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "auditor"
MAX_FILE_LINES = 500
MAX_FUNCTION_LINES = 80
LENGTH_REASON = re.compile(r"^\s*Why so long:", re.MULTILINE)
CODE_SUFFIXES = {".py", ".ps1", ".yaml"}


def _code_files() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*") if p.suffix in CODE_SUFFIXES and "scenarios" not in p.parts)


def long_files(files: list[Path], root: Path = ROOT) -> list[str]:
    return [f"{p.relative_to(root)}: {n} lines" for p in files
            if (n := p.read_text(encoding="utf-8").count("\n")) > MAX_FILE_LINES]


def long_functions(source: str, where: str) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            if length > MAX_FUNCTION_LINES and not LENGTH_REASON.search(ast.get_docstring(node) or ""):
                out.append(f"{where}:{node.lineno} {node.name}: {length} lines")
    return out


def test_no_file_in_the_package_is_over_500_lines():
    assert long_files(_code_files()) == []


def test_no_function_is_over_80_lines_unless_its_docstring_says_why():
    found = [hit for p in PACKAGE.rglob("*.py")
             for hit in long_functions(p.read_text(encoding="utf-8"), str(p.relative_to(ROOT)))]
    assert found == []


def test_the_size_checks_can_fail(tmp_path):
    big = tmp_path / "big.py"
    big.write_text("x = 1\n" * (MAX_FILE_LINES + 1), encoding="utf-8")
    assert long_files([big], tmp_path) == ["big.py: 501 lines"]
    body = "    y = 1\n" * MAX_FUNCTION_LINES
    assert long_functions(f"def f():\n{body}", "m.py") == ["m.py:1 f: 81 lines"]
    explained = f'def f():\n    """Reads one thing.\n\n    Why so long: one table, row by row."""\n{body}'
    assert long_functions(explained, "m.py") == []


_PATH = re.compile(r"`((?:auditor|tests|reports|bench|docs)/[\w./-]+|[\w/-]+\.(?:py|ps1|yaml|json|md))`")


def _named_paths(text: str) -> set[str]:
    return {m.group(1).rstrip("/") for m in _PATH.finditer(text)}


def _exists(name: str) -> bool:
    return any((base / name).exists() for base in (ROOT, PACKAGE))


def test_every_module_the_architecture_overview_names_exists():
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    named = _named_paths(text)
    assert len(named) > 30  # the table of rules is there
    assert sorted(n for n in named if not _exists(n)) == []


def test_the_readme_architecture_section_is_true_and_links_the_overview():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Architecture"):readme.index("## Safety")]
    assert "(docs/architecture.md)" in section
    named = _named_paths(section)
    assert sorted(n for n in named if not _exists(n)) == []


def _worked_example() -> str:
    import auditor.checks

    doc = auditor.checks.__doc__ or ""
    block = doc.split("::\n\n", 1)[1].split("\n\n``per_node``", 1)[0]
    return textwrap.dedent(block)


def test_the_worked_example_of_a_check_runs():
    """The example in auditor/checks/__init__.py, executed as a module: one finding per node,
    ``pass`` where the node was collected, ``skip`` where it was not."""
    from auditor.cluster import Cluster
    from auditor.findings import Status
    from auditor.lab.scenario_builder import build_node, healthy_specs
    from auditor.profile import load_profile
    from auditor.profile.facts import fact

    module: dict = {}
    exec(compile(_worked_example(), "checks/__init__.py example", "exec"), module)  # noqa: S102 - our own docstring
    profile = load_profile(None)
    assert [fact(profile, key).certainty for key in module["RELIES_ON"]]
    mgmts, specs = healthy_specs(2, 2)
    states = [build_node(spec, mgmts) for spec in specs]
    states[-1].status, states[-1].reason = NodeStatus.AUTH, "the password was rejected"
    findings = list(module["run"](Cluster.build(states, profile)))
    by_node = {f.node: f.status for f in findings}
    assert len(findings) == len(states)
    assert by_node[states[-1].name] is Status.SKIP
    assert [s for n, s in by_node.items() if n != states[-1].name] == [Status.PASS] * (len(states) - 1)
