"""Remote request protocol (version 1) and the WinRM client that carries it.

Public API (see docs/protocol.md):

* :func:`build_collect_request`, :func:`build_apply_request` and the apply-op builders
  (:func:`write_file_op`, :func:`restore_file_op`, :func:`restart_service_op`,
  :func:`set_service_account_op`, :func:`check_installers_op`);
* :class:`Target`, :func:`execute`, :class:`RemoteError`;
* :func:`node_state_from_response`.
"""

from auditor.remote.client import RemoteError, Target, execute
from auditor.remote.decode import node_state_from_response
from auditor.remote.protocol import (
    PROTOCOL_VERSION,
    ProtocolError,
    build_apply_request,
    build_collect_request,
    check_installers_op,
    restart_service_op,
    restore_file_op,
    set_service_account_op,
    write_file_op,
)

__all__ = [
    "PROTOCOL_VERSION", "ProtocolError", "RemoteError", "Target", "build_apply_request", "build_collect_request",
    "check_installers_op", "execute", "node_state_from_response", "restart_service_op", "restore_file_op",
    "set_service_account_op", "write_file_op",
]
