"""The Kerberos secrets a run handles, read out of MIT's files so a test can search outputs for them.

A ticket cache (``FILE:`` ccache, format version 4) holds, per ticket, the session key and the
ticket itself (whose encrypted part is what an ``Authorization: Negotiate`` header carries in
its AP-REQ); a keytab (format 0x0502) holds long-term keys. Either leaking into a log, a report
or an error message would let someone impersonate the user or the service, so the secrets test
searches every output for them. Formats: MIT krb5 ``doc/formats/ccache_file_format.rst`` and
``keytab_file_format.rst``.
"""

from __future__ import annotations

import struct
from pathlib import Path


class _Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ValueError("truncated Kerberos file")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return struct.unpack(">H", self.take(2))[0]

    def u32(self) -> int:
        return struct.unpack(">I", self.take(4))[0]

    def i32(self) -> int:
        return struct.unpack(">i", self.take(4))[0]

    def data32(self) -> bytes:
        return self.take(self.u32())

    def data16(self) -> bytes:
        return self.take(self.u16())

    @property
    def left(self) -> int:
        return len(self.data) - self.pos


def _ccache_principal(r: _Reader) -> str:
    r.u32()  # name type
    count = r.u32()
    realm = r.data32().decode()
    return "/".join(r.data32().decode() for _ in range(count)) + "@" + realm


def ccache_secrets(path: Path) -> dict[str, list[bytes]]:
    """{"session_keys": [...], "tickets": [...]} of every real ticket in a version-4 FILE ccache."""
    r = _Reader(path.read_bytes())
    if r.u16() != 0x0504:
        raise ValueError(f"{path}: not a version 4 ccache")
    r.take(r.u16())  # header tags (KDC time offset)
    _ccache_principal(r)  # the default principal
    keys: list[bytes] = []
    tickets: list[bytes] = []
    while r.left:
        _ccache_principal(r)  # client
        server = _ccache_principal(r)
        r.u16()  # enctype
        key = r.data32()
        r.take(16)  # authtime, starttime, endtime, renew_till
        r.u8()  # is_skey
        r.u32()  # flags
        for _ in range(r.u32()):  # addresses
            r.u16()
            r.data32()
        for _ in range(r.u32()):  # authdata
            r.u16()
            r.data32()
        ticket = r.data32()
        r.data32()  # second ticket
        if server.startswith("krb5_ccache_conf_data"):
            continue  # MIT's configuration entries (e.g. the pre-authentication type), not tickets
        if key:
            keys.append(key)
        if ticket:
            tickets.append(ticket)
    return {"session_keys": keys, "tickets": tickets}


def keytab_keys(path: Path) -> list[bytes]:
    """Every key in a version 0x0502 keytab."""
    r = _Reader(path.read_bytes())
    if r.u16() != 0x0502:
        raise ValueError(f"{path}: not a version 0x0502 keytab")
    keys: list[bytes] = []
    while r.left >= 4:
        size = r.i32()
        if size <= 0:  # a hole left by a deleted entry
            r.take(-size)
            continue
        entry = _Reader(r.take(size))
        count = entry.u16()
        entry.data16()  # realm
        for _ in range(count):
            entry.data16()
        entry.u32()  # name type
        entry.u32()  # timestamp
        entry.u8()  # kvno
        entry.u16()  # enctype
        keys.append(entry.data16())
    return keys
