"""Every file an admin writes is read by one rule (auditor.yamlfile.read_hand_written): UTF-8,
with or without a byte-order mark, or UTF-16 with its mark (Notepad's "Unicode"). The
inventory and the waivers file accepted UTF-16 while the profile override and the
notification settings refused it as "not UTF-8"."""

from __future__ import annotations

import pytest

from auditor.collect.inventory import load_inventory
from auditor.errors import InputError
from auditor.notify import load_notify_config
from auditor.profile import load_profile
from auditor.waivers import load_waivers

FILES = {
    "inventory": (load_inventory, "version: 1\ncluster: c\ndefaults: {username: u, credential: {env: X}}\n"
                                  "nodes: [{name: A, roles: [site]}]\n"),
    "waivers": (load_waivers, "waivers:\n  - check: SPOC-MGMT-LIST\n    reason: r\n    owner: o\n"
                              "    expires: 2099-12-31\n"),
    "profile": (load_profile, "spoc_conf:\n  default_port: 6011\n"),
    "notify": (load_notify_config, "webhook:\n  url: https://hooks.example/x\n"),
}


@pytest.mark.parametrize("kind", sorted(FILES))
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-be-bom"])
def test_every_hand_written_file_reads_alike_in_every_encoding_an_editor_saves(tmp_path, kind, encoding):
    loader, text = FILES[kind]
    plain = tmp_path / "plain.yaml"
    plain.write_text(text, encoding="utf-8")
    saved = tmp_path / "saved.yaml"
    crlf = text.replace("\n", "\r\n")
    saved.write_bytes(b"\xfe\xff" + crlf.encode("utf-16-be") if encoding == "utf-16-be-bom" else crlf.encode(encoding))
    assert repr(loader(saved)).replace(str(saved), "X") == repr(loader(plain)).replace(str(plain), "X")


@pytest.mark.parametrize("kind", sorted(FILES))
def test_latin1_is_refused_naming_the_file(tmp_path, kind):
    loader, text = FILES[kind]
    path = tmp_path / "latin1.yaml"
    path.write_bytes((text + "# caf\xe9\n").encode("latin-1"))
    with pytest.raises(InputError) as err:
        loader(path)
    assert str(path) in str(err.value)
    assert "UTF-8" in str(err.value)
