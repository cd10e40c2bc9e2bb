"""Property test: whatever a spoc.conf looks like, the planned edit makes SPOC-MGMT-LIST pass
and leaves every non-server line (comments, other keys, blank lines) as it was, in order,
in the file's own encoding and line endings."""

from __future__ import annotations

import copy
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.checks import run_checks
from auditor.cluster import Cluster
from auditor.findings import Status
from auditor.fixers import FixOptions, build_plan
from auditor.manifest import load_cluster_folder
from auditor.nodestate import FileEntry, path_key
from auditor.profile import load_profile

SCENARIOS = Path(__file__).resolve().parents[2] / "auditor" / "lab" / "scenarios"
PATH = "C:\\DispatcherParagon\\SPOC\\conf\\modules\\spoc.conf"
PROFILE = load_profile()
NODES = load_cluster_folder(SCENARIOS / "healthy")[1]

CURRENT = [("6f1c2a01-3b7e-4c1d-9a55-000000000001", "10.0.10.11"), ("6f1c2a02-3b7e-4c1d-9a55-000000000002",
                                                                    "10.0.10.12")]
STALE = [("dead-0001", "10.0.10.50"), ("dead-0002", "10.0.10.51")]

entry = st.one_of(
    st.tuples(st.sampled_from(CURRENT), st.sampled_from(["6010", "6011"]), st.booleans()),
    st.tuples(st.sampled_from(STALE), st.just("6010"), st.just(False)),
)
other = st.sampled_from(["# comment", "; another comment", "", "orsJmxServerPort=9898", "spoolCacheDir = Spool",
                         "! bang comment", "maxJobSizeMB=2048"])


def _is_server_line(line: str) -> bool:
    return line.strip().startswith(("serverGUID", "serverIP", "serverPORT"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entries=st.lists(entry, max_size=5), before=st.lists(other, max_size=3), between=st.lists(other, max_size=3),
       after=st.lists(other, max_size=3), eol=st.sampled_from(["\r\n", "\n"]),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]), sep=st.sampled_from(["=", " = "]))
def test_spoc_conf_fix_passes_the_check_and_keeps_the_rest(entries, before, between, after, eol, encoding, sep):
    lines = ["localGUID=spoc-site1", *before]
    for i, ((guid, ip), port, wrong_ip) in enumerate(entries, start=1):
        suffix = "" if i == 1 else str(i)
        lines += [f"serverGUID{suffix}{sep}{guid}", f"serverIP{suffix}{sep}{'10.9.9.9' if wrong_ip else ip}",
                  f"serverPORT{suffix}{sep}{port}"]
        if i == 1:
            lines += between
    lines += after
    text = eol.join(lines) + eol
    data = text.encode(encoding)
    nodes = copy.deepcopy(NODES)
    site1 = next(n for n in nodes if n.name == "SITE1")
    site1.files[path_key(PATH)] = FileEntry(path=PATH, content=data, mtime="2026-10-01T08:00:00Z")

    cluster = Cluster.build(nodes, PROFILE)
    findings = run_checks(cluster, only={"SPOC-MGMT-LIST"}, nodes={"SITE1"})
    plan = build_plan(cluster, findings, FixOptions(remove_stale=True))
    assert not plan.blocked, plan.blocked
    np = plan.node("SITE1")
    if np is None:  # nothing to do: the file was already right
        assert not any(f.failing for f in findings if f.node == "SITE1")
        return
    new = np.edits[0].new
    site1.files[path_key(PATH)] = FileEntry(path=PATH, content=new, mtime="2026-10-02T08:00:00Z")
    again = run_checks(Cluster.build(nodes, PROFILE), only={"SPOC-MGMT-LIST"}, nodes={"SITE1"})
    assert [f.status for f in again if f.node == "SITE1"] == [Status.PASS], [f.message for f in again]

    # same encoding (BOM included) and line endings; non-server lines untouched and in order
    assert new.startswith(data[:2]) if encoding == "utf-16" else new.startswith(b"\xef\xbb\xbf") == \
        (encoding == "utf-8-sig")
    new_text = new.decode(encoding)
    if eol == "\n":
        assert "\r" not in new_text
    else:
        assert "\n" not in new_text.replace("\r\n", "")
    old_rest = [ln for ln in text.split(eol) if not _is_server_line(ln)]
    new_rest = [ln for ln in new_text.split(eol) if not _is_server_line(ln)]
    assert new_rest == old_rest
    # the separator style of the existing server lines is kept on every server line
    if entries:
        assert all((sep in ln) for ln in new_text.split(eol) if _is_server_line(ln))
