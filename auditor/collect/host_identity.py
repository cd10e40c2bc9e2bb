"""Whether a node answered as the host the inventory names (see :func:`hostname_mismatch`)."""

from __future__ import annotations

from auditor.addresses import is_ip
from auditor.collect.inventory import NodeTarget, looks_like_hostname
from auditor.nodestate import NodeState


def _first_label(text: str) -> str:
    return text.rstrip(".").split(".")[0].lower()


def hostname_mismatch(node: NodeTarget, state: NodeState) -> str | None:
    """A reason text when the node answered as a different host than the inventory says.

    Decision (docs/inventory.md): such a node gets status ``protocol`` with an
    ``identity mismatch`` reason, and its collected data is kept in the snapshot as
    evidence. Auditing it as the named node would be wrong (a stale DNS record or reused IP
    can point two inventory entries at one machine, and every consistency check would then
    pass), so checks treat it as not audited while the admin can still see what answered.

    Compared: the expected ``hostname`` if the inventory sets one, else the node name and
    the address where they look like host names (IP literals and labels with spaces are not
    compared). A short name matches the reported NetBIOS name (first 15 characters) or the
    first label of the FQDN; a dotted name must match the FQDN or its first label.
    """
    if not node.check_hostname:
        return None
    reported_host = (state.hostname or "").strip()
    reported_fqdn = (state.fqdn or "").strip().rstrip(".")
    if not reported_host and not reported_fqdn:
        return None
    if node.hostname:
        candidates = [node.hostname]
    else:
        candidates = [c for c in (node.name, node.address) if looks_like_hostname(c) and not is_ip(c)]
        if looks_like_hostname(node.address) and node.address.lower() in ("localhost",):
            candidates = [c for c in candidates if c != node.address]
    if not candidates:
        return None
    seen_names = {reported_host.lower(), _first_label(reported_fqdn), reported_fqdn.lower()} - {""}
    for cand in candidates:
        c = cand.rstrip(".").lower()
        short = _first_label(c)
        if c in seen_names or short in seen_names or short[:15] in seen_names:
            return None
    answered = reported_fqdn or reported_host
    if reported_host and reported_fqdn and _first_label(reported_fqdn) != reported_host.lower():
        answered = f"{reported_host} ({reported_fqdn})"
    return (f"identity mismatch: {node.address} answered as host {answered}, "
            f"expected {' or '.join(dict.fromkeys(candidates))}; data kept but not audited "
            "(fix the address, or set hostname/check_hostname on the node)")
