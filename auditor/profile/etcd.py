"""What the auditor may read from the Management etcd, decided when the profile is loaded.

The Management etcd holds the database settings and, in ``encrypted*`` keys, passwords. So
before any node is contacted the profile's ``etcd`` section must name a loopback endpoint and
plain key names, none of which matches a secret pattern: a key added by an override that
does is a one-line error naming the override file and line. The secret rule itself, with the
floor of patterns no profile removes, is :func:`auditor.remote.protocol.etcd_secret_pattern`
(the request validation and both executors apply it again).
"""

from __future__ import annotations

from auditor.errors import InputError
from auditor.profile.view import Etcd


def check_etcd(etcd: Etcd, source: str, line: int | None = None) -> None:
    """InputError (``source``, ``line``) when ``etcd`` would make the auditor read what it must not."""
    from auditor.remote.protocol import ETCD_ENDPOINT_RE, ETCD_KEY_RE, ETCD_TIMEOUT_MS, etcd_secret_pattern

    def bad(msg: str) -> InputError:
        return InputError(f"etcd.{msg}", source=source, line=line)

    if not ETCD_ENDPOINT_RE.match(etcd.endpoint):
        raise bad(f"endpoint: {etcd.endpoint!r} is not allowed; the auditor reads etcd only over plain HTTP on "
                  "the node's loopback interface (http://127.0.0.1:PORT)")
    if not ETCD_TIMEOUT_MS[0] <= etcd.timeout_ms <= ETCD_TIMEOUT_MS[1]:
        raise bad(f"timeout_ms: expected milliseconds between {ETCD_TIMEOUT_MS[0]} and {ETCD_TIMEOUT_MS[1]}")
    for key in etcd.keys:
        if not ETCD_KEY_RE.match(key):
            raise bad(f"keys: {key!r} is not a plain etcd key name at the root (letters, digits, _ . -)")
        pattern = etcd_secret_pattern(key, etcd.secret_key_patterns)
        if pattern is not None:
            raise bad(f"keys: {key} matches the secret pattern {pattern!r}; the auditor never reads secrets "
                      "from etcd: remove it from the profile")
