"""A simulated WinRM (WS-Management) endpoint for the lab: real HTTP(S), SOAP, Basic/NTLM.

See ``docs/lab-internals.md`` and ``docs/winrm.md`` for the protocol notes it follows.
"""
