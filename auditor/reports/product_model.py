"""The product model as an admin reads it: ``auditor profile verify`` in the terminal and the
"Product model" section of the HTML report, both drawn from one
:class:`~auditor.profile.verification.Verification`.

The terminal shows one row per fact (its result and on how many of the nodes it concerns), then
what the contradicted facts showed instead (node by node, with what the profile says), why some
could not be told, which facts no cluster can show, and the next step. Every value is made one line of printable text here
(:func:`auditor.safetext.one_line`) before tabulate sees it: node data may hold anything.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

from auditor.profile.marks import example_mark, verified_facts
from auditor.profile.verification import FactOutcome, FactResult, NodeGroup, Outcome, Scope, Verification
from auditor.reports.console import wrapped_table
from auditor.safetext import one_line

NODES_NAMED = 3
"""Nodes named per outcome in a summary cell; the rest are counted."""
NODES_NAMED_HTML = 30
"""Nodes named per group in the HTML report (a 5,000-node cluster names the first 30 and counts the rest)."""
NOT_COLLECTED_PREFIX = "node not collected"


def _names(nodes: Sequence[str], limit: int) -> str:
    shown = ", ".join(nodes[:limit])
    return shown + (f" +{len(nodes) - limit} more" if len(nodes) > limit else "")


def nodes_cell(fact: FactResult, limit: int = NODES_NAMED) -> str:
    """``contradicted 2 (MGMT1, MGMT2); could not tell 1 (SITE2)``: the fact's nodes per outcome."""
    if fact.outcome is FactOutcome.UNVERIFIABLE:
        return ""
    if not fact.groups:
        return "no node concerned"
    parts = []
    for outcome in (Outcome.CONTRADICTED, Outcome.CONFIRMED, Outcome.COULD_NOT_TELL):
        nodes = fact.nodes(outcome)
        if nodes:
            parts.append(f"{outcome.label} {len(nodes)} ({_names(nodes, limit)})")
    return "; ".join(parts)


def scope_words(v: Verification) -> str:
    return "the profile marks assumed or inferred" if v.scope is Scope.UNCERTAIN else "of the profile"


def counts_text(v: Verification) -> str:
    """``3 contradicted, 16 confirmed, 2 could not tell, 7 cannot be verified``"""
    s = v.summary
    return ", ".join(f"{s[o.value]} {o.label}" for o in FactOutcome if s[o.value]) or "none selected"


def summary_line(v: Verification) -> str:
    """``26 fact(s) the profile marks assumed or inferred: 3 contradicted, 16 confirmed, ...``"""
    return f"{len(v.facts)} fact(s) {scope_words(v)}: {counts_text(v)}"


def _observed_groups(fact: FactResult, outcome: Outcome) -> list[NodeGroup]:
    """The groups of ``outcome``, without the nodes that were not collected at all (named once
    in the header, not under every fact)."""
    return [g for g in fact.groups if g.outcome is outcome and not g.seen.startswith(NOT_COLLECTED_PREFIX)]


def on_cell(fact: FactResult) -> str:
    """``2 of 4``: the nodes showing the fact's result, of the nodes it concerns."""
    if not fact.groups:
        return "-"
    concerned = sum(len(g.nodes) for g in fact.groups)
    return f"{fact.count(Outcome(fact.outcome.value))} of {concerned}"


def _block(first: str, lines: Sequence[str], width: int | None) -> list[str]:
    """A heading line and its indented lines, each wrapped to ``width`` (None: never)."""
    head = one_line(first)
    out = textwrap.wrap(head, width=width, subsequent_indent="  ", break_long_words=False,
                        break_on_hyphens=False) if width else [head]
    for line in lines:
        text = one_line(line)
        out += textwrap.wrap(text, width=width, initial_indent="    ", subsequent_indent="      ",
                             break_long_words=False, break_on_hyphens=False) if width else ["    " + text]
    return out


def _says(fact: FactResult) -> str:
    certainty = fact.certainty.value if fact.certainty else "certainty not stated"
    return f"{fact.fact} ({certainty}; the profile says: {fact.value or '(empty)'})"


def render_verification(v: Verification, *, source: str, width: int | None = 100, per_node: bool = False,
                        command: str = "") -> str:
    """The console report of a verification; ``command`` is the command line to re-run with an
    override (``--profile`` added) in the next steps."""
    out = [f"Product profile {one_line(v.profile)}", f"held against {one_line(source)}: "
           f"{v.nodes_total - len(v.not_collected)} of {v.nodes_total} node(s) collected"]
    if v.not_collected:
        out.append(f"  not collected, so nothing about them can be told: {one_line(', '.join(v.not_collected))}")
    out += ["", summary_line(v)]
    observed = [f for f in v.facts if f.outcome is not FactOutcome.UNVERIFIABLE]
    if observed:
        rows = [[f.outcome.label, on_cell(f), one_line(f.fact)] for f in observed]
        out.append(wrapped_table(rows, ["result", "nodes", "fact"], width, 2))
    if v.contradicted:
        out += ["", "Contradicted: what this cluster shows instead"]
        for f in v.contradicted:
            lines = [f"{_names(g.nodes, NODES_NAMED)}: {g.seen}" for g in _observed_groups(f, Outcome.CONTRADICTED)]
            if f.note:
                lines.append(f.note)
            if f.relied_on_by:
                lines.append(f"checks relying on it: {', '.join(f.relied_on_by)} (treat their findings with care)")
            out += _block(_says(f), lines, width)
    unsure = [f for f in observed if _observed_groups(f, Outcome.COULD_NOT_TELL) or not f.groups]
    if unsure:
        out += ["", "Could not tell"]
        for f in unsure:
            lines = [f"{_names(g.nodes, NODES_NAMED)}: {g.seen}" for g in _observed_groups(f, Outcome.COULD_NOT_TELL)]
            out += _block(_says(f), lines or [f.note], width)
    if per_node:
        out += ["", "Per node"]
        by_node: dict[str, list[str]] = {}
        for f in observed:
            for g in f.groups:
                for node in g.nodes:
                    by_node.setdefault(node, []).append(f"{g.outcome.label}: {f.fact}: {g.seen}")
        for node, lines in by_node.items():
            out += _block(node, lines, width)
        if not by_node:
            out.append("  (no node concerned)")
    unverifiable = v.with_outcome(FactOutcome.UNVERIFIABLE)
    if unverifiable:
        out += ["", "Cannot be verified on a cluster (check these another way)"]
        for f in unverifiable:
            out += _block(f.fact, [f.looks_for], width)
    out.extend(_wrapped(next_steps(v, command), width))
    return "\n".join(out) + "\n"


def _wrapped(lines: Sequence[str], width: int | None) -> list[str]:
    """Each line wrapped to ``width`` (None: never), continuation lines indented two more."""
    if not width:
        return list(lines)
    out = []
    for line in lines:
        indent = " " * (len(line) - len(line.lstrip(" ")))
        out += textwrap.wrap(line, width=width, initial_indent="", subsequent_indent=indent + "  ",
                             break_long_words=False, break_on_hyphens=False) or [""]
    return out


def next_steps(v: Verification, command: str) -> list[str]:
    """What to do next: write the contradicted facts into an override, mark the confirmed ones,
    reach the nodes not collected, then audit."""
    base = command or "auditor profile verify ..."
    steps = []
    if v.contradicted:
        steps += [f"  {len(v.contradicted)} fact(s) contradicted: write what this cluster shows into a profile "
                  "override (docs/first-contact.md, step 5; examples/profile-override.yaml), then check it:",
                  f"    {base} --profile my-profile.yaml"]
    verified = verified_facts(v)
    if verified:
        steps += [f"  {len(verified)} fact(s) confirmed here and contradicted nowhere: mark them confirmed for "
                  "your installation in the same override, e.g. "
                  f"{example_mark(next((f for f in verified if '[' not in f), verified[0]))} (docs/first-contact.md, step 6); this writes the lines for all:",
                  f"    {base} --confirmed-override confirmed.yaml"]
    if v.not_collected:
        steps.append(f"  {len(v.not_collected)} node(s) not collected: reach them (auditor collect shows why), "
                     "then verify again")
    if not v.contradicted:
        steps.append("  Nothing contradicted: the profile fits this cluster as far as it could be seen; next, "
                     "auditor audit" + (" --profile my-profile.yaml" if verified else ""))
    return ["", "Next steps:", *steps]


# ---- HTML ---------------------------------------------------------------------------------
def html_view(v: Verification) -> dict[str, Any]:
    """What the "Product model" section draws: the summary, the contradicted facts with what each
    node showed, the facts that could not be told, the confirmed ones folded, the unverifiable
    ones with their reasons (node lists cut to :data:`NODES_NAMED_HTML`)."""

    def groups(fact: FactResult) -> list[dict[str, Any]]:
        return [{"outcome": g.outcome.value, "label": g.outcome.label, "seen": g.seen,
                 "nodes": list(g.nodes[:NODES_NAMED_HTML]), "more": max(0, len(g.nodes) - NODES_NAMED_HTML),
                 "count": len(g.nodes)} for g in fact.groups]

    def view(fact: FactResult) -> dict[str, Any]:
        return {"fact": fact.fact, "value": fact.value, "certainty": fact.certainty.value if fact.certainty else "",
                "outcome": fact.outcome.value, "label": fact.outcome.label, "looks_for": fact.looks_for,
                "note": fact.note, "relied_on_by": list(fact.relied_on_by), "groups": groups(fact),
                "nodes": nodes_cell(fact)}

    return {
        "summary": summary_line(v),
        "counts": counts_text(v),
        "scope": scope_words(v),
        "profile": v.profile,
        "not_collected": list(v.not_collected),
        "contradicted": [view(f) for f in v.with_outcome(FactOutcome.CONTRADICTED)],
        "could_not_tell": [view(f) for f in v.with_outcome(FactOutcome.COULD_NOT_TELL)],
        "confirmed": [view(f) for f in v.with_outcome(FactOutcome.CONFIRMED)],
        "unverifiable": [view(f) for f in v.with_outcome(FactOutcome.UNVERIFIABLE)],
        "relying": sorted({c for f in v.contradicted for c in f.relied_on_by}),
    }


__all__ = ["counts_text", "html_view", "next_steps", "nodes_cell", "on_cell", "render_verification", "summary_line"]
