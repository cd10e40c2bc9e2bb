"""A simulated WinRM (WS-Management) endpoint for the lab: real HTTP(S), SOAP, Basic/NTLM.

See ``docs/lab.md`` and ``/work/shared/WINRM.md`` for the protocol notes it follows.
"""
