"""The README's Safety table names the test behind every guarantee; every name must exist, so
the table cannot silently point at a test that was renamed or removed."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _safety_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## Safety")
    end = text.find("\n## ", start + 1)
    return text[start:] if end < 0 else text[start:end]


def test_every_guarantee_names_an_existing_test():
    section = _safety_section()
    rows = [ln for ln in section.splitlines() if ln.startswith("| ") and not ln.startswith("| guarantee")]
    assert len(rows) >= 8
    for row in rows:
        cell = row.rstrip(" |").rsplit("|", 1)[1]
        refs = re.findall(r"`([^`]+)`", cell)
        assert refs, row
        current = None
        for ref in refs:
            if ref.startswith("["):  # another case of the parametrized test named before
                assert current is not None, ref
                assert f'"{ref.strip("[]")}"' in current.read_text(encoding="utf-8"), ref
                continue
            path, _, name = ref.partition("::")
            if path:
                current = ROOT / "tests" / path
                assert current.is_file(), ref
            assert current is not None, ref
            source = current.read_text(encoding="utf-8")
            if name:
                func = name.split("[", 1)[0]
                assert re.search(rf"^def {re.escape(func)}\(", source, re.MULTILINE), ref
                if "[" in name:  # a parametrized case id must exist too
                    assert f'"{name.split("[", 1)[1].rstrip("]")}"' in source, ref
