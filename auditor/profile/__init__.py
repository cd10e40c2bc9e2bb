"""The product profile: product facts as data (see default.yaml), overridable by admins.

``load_profile(None)`` gives the shipped default; ``load_profile(path)`` deep-merges an
override file over it (lists replace, mappings merge), so an override holds only the facts
an admin knows better.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.yamlfile import line_of, load_yaml

PROFILE_VERSION = 1


@dataclass(frozen=True)
class ServiceName:
    name: str
    display_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileSpec:
    path: str  # relative to the subsystem install folder; '*' allowed in the last segment
    max_bytes: int | None = None


@dataclass(frozen=True)
class Subsystem:
    key: str
    title: str
    services: tuple[ServiceName, ...]
    install_dir_strip: tuple[str, ...]
    files: tuple[FileSpec, ...]
    probe_dirs: tuple[str, ...]
    mandatory_on: tuple[str, ...]
    may_be_stopped: bool = False

    @property
    def service_names(self) -> list[str]:
        return [s.name for s in self.services]


@dataclass
class Profile:
    data: dict[str, Any]
    source: str = "default"
    sha256: str = ""
    subsystems: dict[str, Subsystem] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.data.get("name", "unnamed"))

    @property
    def label(self) -> str:
        """Short text for reports: name, source and hash prefix."""
        return f"{self.name} ({self.source}, sha256 {self.sha256[:12]})"

    def get(self, dotted: str, default: Any = None) -> Any:
        """``profile.get("spoc_conf.guid_key")``."""
        cur: Any = self.data
        for part in dotted.split("."):
            if not isinstance(cur, dict) or part not in cur:
                return default
            cur = cur[part]
        return cur

    def require(self, dotted: str) -> Any:
        value = self.get(dotted)
        if value is None:
            raise InputError(f"profile {self.source}: missing required key {dotted!r}")
        return value

    def subsystem(self, key: str) -> Subsystem:
        try:
            return self.subsystems[key]
        except KeyError:
            raise InputError(f"profile {self.source}: no subsystem {key!r}") from None

    def subsystem_of_service(self, service_name: str) -> Subsystem | None:
        for sub in self.subsystems.values():
            if service_name.lower() in (n.lower() for n in sub.service_names):
                return sub
        return None


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in override.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
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


# Mappings whose keys are names an admin may add, not a fixed set of facts.
_OPEN_MAPPINGS = ("subsystems", "restart_after_change")


def _known_keys(default: dict[str, Any], path: str, base_map: dict[str, Any]) -> set[str] | None:
    """Keys an override may use in the mapping at ``path`` (None: any key); ``base_map`` is
    the default's mapping there.

    ``subsystems`` takes new subsystem names; a subsystem takes any key some default
    subsystem has; ``certainty`` notes are free-form; everything else is the default's keys."""
    if path in _OPEN_MAPPINGS or path.endswith("certainty"):
        return None
    if path.startswith("subsystems.") and path.count(".") == 1:
        return {k for sub in (default.get("subsystems") or {}).values() if isinstance(sub, dict) for k in sub}
    return set(base_map)


def _check_override_kinds(default: dict[str, Any], override: dict[str, Any], source: str, where: str = "",
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
            _check_override_kinds(default, value, source, path + ".", base)
        elif isinstance(base, list) and base and not isinstance(base[0], (dict, list)):
            kinds = {_kind(x) for x in base}
            if len(kinds) == 1 and any(_kind(x) not in kinds for x in value):
                raise InputError(f"{path}: expected a list of {next(iter(kinds))}s", source=source, line=line)


def _parse_yaml(text: str, source: str) -> dict[str, Any]:
    data = load_yaml(text, source)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError("a profile must be a YAML mapping", source=source, line=line_of(data))
    return data


def _list(raw: dict[str, Any], key: str, where: str, source: str) -> list[Any]:
    """``raw[key]`` as a list (missing/null = empty); anything else is an InputError, because
    an override file is hand-written and ``tuple(5)`` deep in the audit helps nobody."""
    value = raw.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError(f"{where}.{key}: expected a list, got {type(value).__name__}", source=source)
    return value


def _texts(raw: dict[str, Any], key: str, where: str, source: str) -> tuple[str, ...]:
    items = _list(raw, key, where, source)
    if not all(isinstance(x, str) for x in items):
        raise InputError(f"{where}.{key}: expected a list of texts", source=source)
    return tuple(items)


def _build_subsystems(data: dict[str, Any], source: str) -> dict[str, Subsystem]:
    subs: dict[str, Subsystem] = {}
    raw_subs = data.get("subsystems")
    if not isinstance(raw_subs, dict) or not raw_subs:
        raise InputError("profile needs a 'subsystems' mapping", source=source)
    for key, raw in raw_subs.items():
        if not isinstance(raw, dict):
            raise InputError(f"subsystems.{key}: expected a mapping", source=source)
        where = f"subsystems.{key}"
        services = []
        for s in _list(raw, "services", where, source):
            if not isinstance(s, dict) or not s.get("name") or not isinstance(s["name"], str):
                raise InputError(f"{where}.services: each needs a name", source=source)
            services.append(ServiceName(s["name"], _texts(s, "display_names", f"{where}.services", source)))
        files = []
        for f in _list(raw, "files", where, source):
            if isinstance(f, str) and f:
                files.append(FileSpec(f))
            elif isinstance(f, dict) and f.get("path") and isinstance(f["path"], str):
                max_bytes = f.get("max_bytes")
                if max_bytes is not None and (isinstance(max_bytes, bool) or not isinstance(max_bytes, int)
                                              or max_bytes < 0):
                    raise InputError(f"{where}.files: max_bytes must be a whole number >= 0", source=source)
                files.append(FileSpec(f["path"], max_bytes))
            else:
                raise InputError(f"{where}.files: each needs a path", source=source)
        probes = []
        for p in _list(raw, "probe_dirs", where, source):
            p = p.get("path") if isinstance(p, dict) else p
            if not isinstance(p, str) or not p:
                raise InputError(f"{where}.probe_dirs: each needs a path", source=source)
            probes.append(p)
        subs[key] = Subsystem(
            key=key,
            title=str(raw.get("title", key)),
            services=tuple(services),
            install_dir_strip=_texts(raw, "install_dir_strip", where, source),
            files=tuple(files),
            probe_dirs=tuple(probes),
            mandatory_on=_texts(raw, "mandatory_on", where, source),
            may_be_stopped=bool(raw.get("may_be_stopped", False)),
        )
    return subs


def _default_text() -> str:
    return resources.files("auditor.profile").joinpath("default.yaml").read_text(encoding="utf-8")


def load_profile(path: str | Path | None = None) -> Profile:
    """Load the default profile, optionally with an admin's override file merged over it."""
    text = _default_text()
    data = _parse_yaml(text, "default.yaml")
    source = "default"
    digest = hashlib.sha256(text.encode("utf-8"))
    if path is not None:
        p = Path(path)
        try:
            override_text = p.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise InputError(f"cannot read profile: {exc.strerror}", source=str(p)) from None
        except UnicodeDecodeError as exc:
            raise InputError(f"the profile must be UTF-8 text (byte {exc.start})", source=str(p)) from None
        override = _parse_yaml(override_text, str(p))
        _check_override_kinds(data, override, str(p))
        data = _deep_merge(data, override)
        source = str(p)
        digest.update(override_text.encode("utf-8"))
    if data.get("profile_version") != PROFILE_VERSION:
        raise InputError(
            f"unsupported profile_version {data.get('profile_version')!r} (expected {PROFILE_VERSION})",
            source=source,
        )
    return Profile(data=data, source=source, sha256=digest.hexdigest(), subsystems=_build_subsystems(data, source))
