"""Loading the product profile: default.yaml, an admin's override merged over it, and the
typed view (``auditor.profile.view``) built once from the result.

Two kinds of checks, on purpose:

* the **override** is hand-written, so its mistakes name the override file and line: a key the
  default does not have (a typo must not be ignored while the admin believes it in force), or
  a value whose kind differs from the default's (:func:`check_override_kinds`);
* the **typed view** is built from the merged data by field name and type
  (:func:`build_facts`): every field needs its key, every key its field, every value its type.
  The shipped default is checked this way by the tests, so code and default.yaml never drift.
"""

from __future__ import annotations

import copy
import dataclasses
import enum
import types
import typing
from collections.abc import Mapping
from typing import Any

from auditor.errors import InputError
from auditor.profile.view import FACT_FIELDS, Certainty, FileSpec, Profile, ServiceName, Subsystem
from auditor.yamlfile import line_of, load_yaml

CERTAINTY = "certainty"
"""The key of the certainty notes a section or a list entry may carry (see :func:`build_facts`)."""

# Mappings whose keys are names an admin may add, not a fixed set of facts.
_OPEN_MAPPINGS = ("subsystems", "restart_after_change", "shared_config")


def parse_yaml(text: str, source: str) -> dict[str, Any]:
    data = load_yaml(text, source)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError("a profile must be a YAML mapping", source=source, line=line_of(data))
    return data


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` over ``base``: mappings merge, everything else (lists too) replaces."""
    out = copy.deepcopy(base)
    for k, v in override.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return "null" if value is None else type(value).__name__


def _known_keys(default: dict[str, Any], path: str, base_map: dict[str, Any]) -> set[str] | None:
    """Keys an override may use in the mapping at ``path`` (None: any key); ``base_map`` is
    the default's mapping there.

    ``subsystems`` takes new subsystem names; a subsystem takes any key some default
    subsystem has; ``certainty`` notes are free-form; everything else is the default's keys."""
    if path in _OPEN_MAPPINGS or path.endswith(CERTAINTY):
        return None
    if path.startswith("subsystems.") and path.count(".") == 1:
        return {k for sub in (default.get("subsystems") or {}).values() if isinstance(sub, dict) for k in sub}
    return set(base_map)


def check_override_kinds(default: dict[str, Any], override: dict[str, Any], source: str, where: str = "",
                         base_map: dict[str, Any] | None = None) -> None:
    """An override may change a fact's value, not its kind, and only facts the auditor knows:
    ``guid_key: 5`` or ``comment_prefixes: "#"`` would otherwise crash the cluster model
    mid-audit, and a misspelt key (``spoc_conf: {guid_kye: ...}``) would be ignored without a
    word while the admin believes the override is in force. Lists of texts/numbers keep their
    element kind. Errors name the override file's line."""
    base_map = default if base_map is None else base_map
    known = _known_keys(default, where.rstrip("."), base_map)
    for key, value in override.items():
        line = line_of(override, key)
        if not isinstance(key, str):
            raise InputError(f"{where}{key!r}: keys must be texts", source=source, line=line)
        path = f"{where}{key}"
        if known is not None and key not in known:
            raise InputError(f"{path}: unknown key (known here: {', '.join(sorted(known))}); "
                             "see auditor/profile/default.yaml", source=source, line=line)
        base = base_map.get(key)
        if base is None:
            continue
        if _kind(value) != _kind(base):
            raise InputError(f"{path}: expected a {_kind(base)}, got a {_kind(value)}", source=source, line=line)
        if isinstance(base, dict):
            check_override_kinds(default, value, source, path + ".", base)
        elif isinstance(base, list) and base and not isinstance(base[0], (dict, list)):
            kinds = {_kind(x) for x in base}
            if len(kinds) == 1 and any(_kind(x) not in kinds for x in value):
                raise InputError(f"{path}: expected a list of {next(iter(kinds))}s", source=source, line=line)


# ---- the typed view ----------------------------------------------------------------------
class _Builder:
    """Fills the facts dataclasses from the merged YAML and collects the certainty notes."""

    def __init__(self, source: str):
        self.source = source
        self.certainties: dict[str, Certainty] = {}

    def fail(self, where: str, message: str) -> InputError:
        return InputError(f"{where}: {message}", source=self.source)

    def note(self, fact: str, level: Any) -> None:
        try:
            self.certainties[fact] = Certainty(level)
        except ValueError:
            raise self.fail(f"{fact} certainty", f"expected one of {', '.join(Certainty)}, got {level!r}") \
                from None

    def notes(self, raw: Mapping[str, Any], where: str, facts: set[str]) -> None:
        """A ``certainty: {fact: level}`` map of a section (or list entry) about its own facts."""
        notes = raw.get(CERTAINTY)
        if notes is None:
            return
        prefix = f"{where}." if where else ""
        if isinstance(notes, str):  # one level for the whole entry
            self.note(where, notes)
            return
        if not isinstance(notes, dict):
            raise self.fail(f"{prefix}{CERTAINTY}", "expected a mapping of facts to confirmed/inferred/assumed")
        for fact, level in notes.items():
            if fact not in facts:
                raise self.fail(f"{prefix}{CERTAINTY}.{fact}", f"no such fact here (facts: {', '.join(sorted(facts))})")
            self.note(f"{prefix}{fact}", level)

    def section(self, cls: type, raw: Any, where: str) -> Any:
        if not isinstance(raw, Mapping):
            raise self.fail(where or "profile", f"expected a mapping, got {type(raw).__name__}")
        hints = typing.get_type_hints(cls)
        names = [f.name for f in dataclasses.fields(cls) if f.name not in FACT_FIELDS or cls is not Profile]
        extra = sorted(set(raw) - set(names) - {CERTAINTY})
        if extra:
            raise self.fail(where or "profile", f"unknown key(s) {extra}: no field of {cls.__name__} reads them")
        self.notes(raw, where, set(names))
        values = {}
        for name in names:
            path = f"{where}.{name}" if where else name
            if name not in raw:
                raise self.fail(path, "missing (every fact has its value in auditor/profile/default.yaml)")
            values[name] = self.subsystems(raw[name]) if cls is Profile and name == "subsystems" \
                else self.value(hints[name], raw[name], path)
        return cls(**values)

    def value(self, tp: Any, raw: Any, where: str) -> Any:
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if origin in (types.UnionType, typing.Union):
            if raw is None and type(None) in args:
                return None
            return self.value(next(a for a in args if a is not type(None)), raw, where)
        if dataclasses.is_dataclass(tp):
            return self.section(tp, raw, where)
        if origin is tuple:
            if not isinstance(raw, list):
                raise self.fail(where, f"expected a list, got {_kind(raw)}")
            item = args[0]
            if dataclasses.is_dataclass(item):
                return tuple(self.section(item, x, f"{where}[{self._entry_id(item, x)}]") for x in raw)
            return tuple(self.value(item, x, f"{where}[{i}]") for i, x in enumerate(raw))
        if origin is Mapping:
            if not isinstance(raw, dict):
                raise self.fail(where, f"expected a mapping, got {_kind(raw)}")
            return types.MappingProxyType({str(k): self.value(args[1], v, f"{where}.{k}") for k, v in raw.items()})
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            try:
                return tp(raw)
            except ValueError:
                raise self.fail(where, f"expected one of {', '.join(str(m.value) for m in tp)}, got {raw!r}") \
                    from None
        if tp is bool and isinstance(raw, bool):
            return raw
        if tp is int and isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if tp is float and isinstance(raw, (int, float)) and not isinstance(raw, bool):
            return float(raw)
        if tp is str and isinstance(raw, str):
            return raw
        raise self.fail(where, f"expected {getattr(tp, '__name__', tp)}, got {_kind(raw)}")

    @staticmethod
    def _entry_id(cls: type, raw: Any) -> str:
        """A list entry is named by its first field's value (``version.registry[HKLM\\...]``)."""
        first = dataclasses.fields(cls)[0].name
        return str(raw.get(first, "?")) if isinstance(raw, Mapping) else "?"

    # ---- subsystems: open-ended names, entries as text or mapping ------------------------
    def _list(self, raw: dict[str, Any], key: str, where: str) -> list[Any]:
        """``raw[key]`` as a list (missing/null = empty); anything else is an InputError, because
        an override file is hand-written and ``tuple(5)`` deep in the audit helps nobody."""
        value = raw.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(f"{where}.{key}", f"expected a list, got {type(value).__name__}")
        return value

    def _texts(self, raw: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
        items = self._list(raw, key, where)
        if not all(isinstance(x, str) for x in items):
            raise self.fail(f"{where}.{key}", "expected a list of texts")
        return tuple(items)

    def subsystems(self, raw_subs: Any) -> Mapping[str, Subsystem]:
        if not isinstance(raw_subs, dict) or not raw_subs:
            raise InputError("profile needs a 'subsystems' mapping", source=self.source)
        subs: dict[str, Subsystem] = {}
        for key, raw in raw_subs.items():
            if not isinstance(raw, dict):
                raise self.fail(f"subsystems.{key}", "expected a mapping")
            subs[key] = self._subsystem(key, raw, f"subsystems.{key}")
        return types.MappingProxyType(subs)

    def _subsystem(self, key: str, raw: dict[str, Any], where: str) -> Subsystem:
        self.notes(raw, where, {f.name for f in dataclasses.fields(Subsystem)})
        services = []
        for s in self._list(raw, "services", where):
            if not isinstance(s, dict) or not s.get("name") or not isinstance(s["name"], str):
                raise self.fail(f"{where}.services", "each needs a name")
            services.append(ServiceName(s["name"], self._texts(s, "display_names", f"{where}.services")))
            self.notes(s, f"{where}.services[{s['name']}]", {"name", "display_names"})
        files = []
        for f in self._list(raw, "files", where):
            if isinstance(f, str) and f:
                files.append(FileSpec(f))
            elif isinstance(f, dict) and f.get("path") and isinstance(f["path"], str):
                max_bytes = f.get("max_bytes")
                if max_bytes is not None and (isinstance(max_bytes, bool) or not isinstance(max_bytes, int)
                                              or max_bytes < 0):
                    raise self.fail(f"{where}.files", "max_bytes must be a whole number >= 0")
                files.append(FileSpec(f["path"], max_bytes))
                self.notes(f, f"{where}.files[{f['path']}]", set())
            else:
                raise self.fail(f"{where}.files", "each needs a path")
        probes = []
        for p in self._list(raw, "probe_dirs", where):
            entry = p
            p = p.get("path") if isinstance(p, dict) else p
            if not isinstance(p, str) or not p:
                raise self.fail(f"{where}.probe_dirs", "each needs a path")
            probes.append(p)
            if isinstance(entry, dict):
                self.notes(entry, f"{where}.probe_dirs[{p}]", set())
        return Subsystem(
            key=key,
            title=str(raw.get("title", key)),
            services=tuple(services),
            install_dir_strip=self._texts(raw, "install_dir_strip", where),
            files=tuple(files),
            probe_dirs=tuple(probes),
            mandatory_on=self._texts(raw, "mandatory_on", where),
            may_be_stopped=bool(raw.get("may_be_stopped", False)),
        )


def build_facts(data: dict[str, Any], source: str, sha256: str) -> Profile:
    """The typed :class:`Profile` of the merged YAML ``data`` (InputErrors name ``source``)."""
    builder = _Builder(source)
    built = builder.section(Profile, data, "")
    return dataclasses.replace(built, source=source, sha256=sha256,
                               certainties=types.MappingProxyType(builder.certainties))
