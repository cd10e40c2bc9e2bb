"""DB-EXTERNAL has no fixer, on purpose: this module only says what to do instead.

Moving a cluster off the embedded PostgreSQL is a database migration (backup, restore onto
an external highly available SQL server, re-point every Management server, disable the
embedded database), with a maintenance window and the vendor's procedure. An automatic
"fix" that edited dbHost would point the cluster at an empty database. The fix plan shows
this advice for every node where the check fails, so the admin sees the remaining work next
to what the tool can do.
"""

from __future__ import annotations

CHECK_ID = "DB-EXTERNAL"

ADVICE = (
    "The cluster uses the embedded PostgreSQL, a single point of failure. "
    "Plan a migration to an external, highly available SQL server (MS SQL Server with Always On or "
    "failover clustering, or a PostgreSQL cluster): back up the databases (SQDB6, SQDB6_IMS, SQDB6_YPS), "
    "restore them on the external server in a maintenance window, point every Management server at it "
    "(one node at a time), then disable the YSoftPGSQL service. Follow the vendor's procedure."
)

REFERENCES = (
    "https://docs.dispatcher-phoenix.com/print-management/Dispatcher_Paragon_Management_Server_cluster_deployment.html",
    "https://docs.dispatcher-phoenix.com/print-management/PostgreSQL_cluster.html",
)
