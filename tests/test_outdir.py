"""Output folders (auditor.outdir): created before a long collection, removed again when the run
ends without writing to them (an interrupted audit or collect leaves no empty --out folder)."""

from __future__ import annotations

import pytest

from auditor.errors import AuditorError
from auditor.outdir import folder_for_run


def test_interrupted_run_leaves_no_folder_it_created(tmp_path):
    with pytest.raises(KeyboardInterrupt), folder_for_run(tmp_path / "reports" / "tonight", "report folder"):
        raise KeyboardInterrupt
    assert not (tmp_path / "reports").exists()


def test_a_folder_that_existed_before_is_kept(tmp_path):
    (tmp_path / "reports").mkdir()
    with pytest.raises(KeyboardInterrupt), folder_for_run(tmp_path / "reports", "report folder"):
        raise KeyboardInterrupt
    assert (tmp_path / "reports").is_dir()


def test_a_folder_written_to_is_kept(tmp_path):
    out = tmp_path / "reports"
    with pytest.raises(KeyboardInterrupt), folder_for_run(out, "report folder"):
        (out / "report.json").write_text("{}")
        raise KeyboardInterrupt
    assert (out / "report.json").is_file()


def test_a_file_in_the_way_is_a_one_line_error(tmp_path):
    (tmp_path / "reports").write_text("not a folder")
    with pytest.raises(AuditorError, match="cannot create report folder .*: a file is in the way"), \
            folder_for_run(tmp_path / "reports", "report folder"):
        pass
