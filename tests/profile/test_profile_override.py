"""A profile override file is hand-written: every mistake must name the file and the line,
and a misspelt key must be an error, never silently ignored while the admin believes the
override is in force."""

from __future__ import annotations

import textwrap

import pytest
from click.testing import CliRunner

from auditor.cli import main
from auditor.errors import InputError
from auditor.profile import load_profile


def write(tmp_path, text: str):
    path = tmp_path / "override.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def error_of(path) -> InputError:
    with pytest.raises(InputError) as exc:
        load_profile(path)
    return exc.value


@pytest.mark.parametrize("text, line, words", [
    ("spoc_conf:\n  guid_key: serverGUID\n  guid_kye: x\n", 3, ["spoc_conf.guid_kye: unknown key", "guid_key"]),
    ("max_file_bytes: 4096\nspoc_cnf: {guid_key: x}\n", 2, ["spoc_cnf: unknown key", "spoc_conf"]),
    ("management_conf:\n  db:\n    host_kye: h\n", 3, ["management_conf.db.host_kye", "host_key"]),
    ("spoc_conf:\n  default_port: '6010'\n", 2, ["spoc_conf.default_port: expected a number, got a text"]),
    ("spoc_conf:\n  comment_prefixes: '#'\n", 2, ["expected a list, got a text"]),
    ("spoc_conf:\n  guid_key: a\n  guid_key: b\n", 3, ["duplicate key 'guid_key'"]),
    ("spoc_conf: [unclosed\n", 2, ["invalid YAML"]),
    ("subsystems:\n  management:\n    titel: X\n", 3, ["subsystems.management.titel: unknown key"]),
])
def test_override_errors_name_the_line(tmp_path, text, line, words):
    path = write(tmp_path, text)
    err = error_of(path)
    assert err.source == str(path), (err.line, str(err))
    assert err.line == line, (err.line, str(err))
    for w in words:
        assert w in str(err), str(err)


def test_new_subsystem_and_free_form_maps_are_allowed(tmp_path):
    path = write(tmp_path, """\
        subsystems:
          management:
            may_be_stopped: false           # a key another default subsystem has
          print_gateway:                    # a subsystem the default does not know
            title: Print gateway
            mandatory_on: []
            services: [{name: YSoftGateway}]
            install_dir_strip: ["\\\\bin"]
            files: []
        restart_after_change:
          gateway_conf: YSoftGateway
        spoc_conf:
          default_port: 6011
        """)
    prof = load_profile(path)
    assert prof.spoc_conf.default_port == 6011
    assert "print_gateway" in prof.subsystems
    assert prof.spoc_conf.guid_key == "serverGUID"  # the rest stays the default


def test_cli_shows_one_line_with_file_and_line(tmp_path):
    path = write(tmp_path, "spoc_conf:\n  guid_kye: x\n")
    res = CliRunner().invoke(main, ["audit", "--from", str(tmp_path), "--profile", str(path), "-o", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert f"{path}:2" in res.output
    assert "guid_kye: unknown key" in res.output
    assert "Traceback" not in res.output


def test_shipped_example_override_loads():
    from pathlib import Path

    prof = load_profile(Path(__file__).resolve().parents[2] / "examples" / "profile-override.yaml")
    assert prof.server_os.min_build == 17763
    assert prof.spoc_conf.comment_prefixes == ("#",)
