"""The HTTP session of an NTLM connection, built by us instead of by pywinrm (client CPU per node).

pywinrm's ``Transport.build_session`` does three things per node that cost the client CPU
without changing what goes on the wire (measured with a sampling profiler on 500 lab nodes;
together about a third of the client's CPU per node):

* it hands the plain password to ``requests_ntlm``, so pyspnego computes the LM hash with a
  pure-Python DES for every connection (~3 ms of CPU per node). Here the LM and NT hashes are
  computed once per password and process and handed over in pyspnego's documented
  ``LMHASH:NTHASH`` password form: the same credential, the same NTLM messages.
* it leaves ``requests.Session.trust_env`` on, so every request re-reads the proxy
  environment variables (``no_proxy=*`` then discards what it found) and
  ``merge_environment_settings`` walks the environment once more per node. Proxies from the
  environment are never used for WinRM here (see ``auditor.remote.client``), so the session
  is built with ``trust_env`` off and no proxies: the same connections, without the walk.

* every request goes through ``requests.Session``'s general machinery: cookie jars merged
  and filled from every reply, headers and hooks merged, the URL parsed again, redirects
  looked for. A WinRM exchange has no cookies and no redirects: :class:`WinRMSession`
  prepares and sends its requests without that (the same request line, headers and body).
* over plain HTTP (message encryption), the empty POST that sets up encryption is sent
  without credentials, so the node answers 401 only to name the schemes it offers, and the
  NTLM exchange starts on a second request. Here that first POST already carries the NTLM
  NEGOTIATE (:class:`PreemptiveNtlmAuth`): 7 HTTP requests per node instead of 8, one round
  trip less. RFC 4559 section 5 (the Negotiate scheme as Windows implements it): a client
  may send the Authorization header with its initial token on the first request of a
  connection, which bypasses the initial 401 when the client knows the server accepts
  Negotiate. Every WinRM listener offers Negotiate (NTLM or Kerberos), and HTTP.sys
  authenticates the connection, not the request; pywinrm itself sends its Kerberos token
  the same way (``force_preemptive=True`` in ``winrm.transport``). A node that answers the
  pre-emptive token with a bare 401 gets the classic exchange on the same connection.

Everything else is what pywinrm does for ``transport="ntlm"``: certificate validation as
asked (``ca_file`` or the default bundle), channel binding (HTTPS keeps requests_ntlm's
classic exchange, which reads the server certificate from the first 401), the transport's
default headers, and message encryption set up with the empty POST when the endpoint is
plain HTTP.
"""

from __future__ import annotations

import base64
import functools
from typing import Any
from urllib.parse import urlparse

import requests
import spnego
from requests.hooks import default_hooks, dispatch_hook
from requests.structures import CaseInsensitiveDict
from requests_ntlm import HttpNtlmAuth
from requests_ntlm.requests_ntlm import ShimSessionSecurity
from spnego._ntlm_raw.crypto import is_ntlm_hash, lmowfv1, ntowfv1
from winrm.transport import Transport

from auditor.remote.plain_http import PlainHttpAdapter


@functools.lru_cache(maxsize=16)
def ntlm_secret(password: str) -> str:
    """``password`` in pyspnego's ``LMHASH:NTHASH`` form (a password already in that form is kept).

    A password-equivalent: callers mask it in messages like the password itself.
    """
    if is_ntlm_hash(password):
        return password
    return f"{lmowfv1(password).hex()}:{ntowfv1(password).hex()}"


class WinRMSession(requests.Session):
    """A ``requests.Session`` for one WinRM connection: no cookies, no redirects, no proxies,
    nothing from the environment (see the module doc).

    ``prepare_request`` builds the request from the session's headers, the request's own
    headers and body, and the session's auth (whose hook, requests_ntlm's, still runs on every
    reply); ``send`` hands it to the connection adapter and runs the response hooks. A reply
    is read whole (WinRM replies are small), as ``requests.Session`` does without ``stream``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.trust_env = False
        self.proxies = {}
        self._urls: dict[str, str] = {}  # the URL as given -> as requests prepares it

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        p = requests.PreparedRequest()
        p.method = str(request.method).upper()
        p.url = self._url(str(request.url))
        p.headers = CaseInsensitiveDict(self.headers)
        p.headers.update(request.headers or {})
        p._cookies = None  # type: ignore[attr-defined]
        p.prepare_body(request.data, None, None)
        p.hooks = default_hooks()
        p.prepare_auth(request.auth or self.auth, p.url)
        return p

    def _url(self, url: str) -> str:
        prepared = self._urls.get(url)
        if prepared is None:
            probe = requests.PreparedRequest()
            probe.prepare_url(url, None)
            prepared = self._urls[url] = str(probe.url)
        return prepared

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("stream", False)
        kwargs.setdefault("verify", self.verify)
        kwargs.setdefault("cert", self.cert)
        kwargs.setdefault("proxies", {})
        kwargs.pop("allow_redirects", None)
        response = self.get_adapter(url=str(request.url)).send(request, **kwargs)
        response = dispatch_hook("response", request.hooks, response, **kwargs)
        if not kwargs["stream"]:
            response.content  # noqa: B018 - read the reply whole, as requests does
        return response


class PreemptiveNtlmAuth(HttpNtlmAuth):
    """requests_ntlm's NTLM, with the NEGOTIATE sent on the first request (see the module doc).

    Used for plain HTTP only (no channel binding to compute before the first reply). The
    first request carries ``Authorization: Negotiate <NEGOTIATE>``; the node's 401 carries
    the CHALLENGE, answered with the AUTHENTICATE on the same connection, as requests_ntlm
    does from its second leg on. A 401 without a challenge (a server that ignored the
    token) falls back to requests_ntlm's own three-step exchange.
    """

    SCHEME = "Negotiate"

    def __init__(self, username: str, password: str) -> None:
        super().__init__(username=username, password=password, send_cbt=False)
        self._first = True
        self._context: Any = None  # the NTLM context whose NEGOTIATE went out, until its CHALLENGE

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r = super().__call__(r)
        if self._first:
            self._first = False
            self._context = spnego.client(self.username, self.password, protocol="ntlm",
                                          hostname=urlparse(r.url).hostname, service="http",
                                          options=spnego.NegotiateOptions.use_ntlm)
            r.headers["Authorization"] = f"{self.SCHEME} {base64.b64encode(self._context.step() or b'').decode()}"
        return r

    def response_hook(self, r: requests.Response, **kwargs: Any) -> requests.Response:
        context, self._context = self._context, None
        if context is None or r.status_code != 401:
            return super().response_hook(r, **kwargs)
        challenge = _token(r.headers.get("www-authenticate", ""), self.SCHEME)
        if challenge is None:  # the node ignored the pre-emptive token: the classic exchange
            del r.request.headers["Authorization"]
            return super().response_hook(r, **kwargs)
        r.content  # noqa: B018 - read the 401's body so the connection can carry the next request
        r.raw.release_conn()
        request = r.request.copy()
        request.headers["Authorization"] = f"{self.SCHEME} {base64.b64encode(context.step(challenge) or b'').decode()}"
        answer = r.connection.send(request, **kwargs)  # type: ignore[attr-defined]
        answer.history.append(r)
        self.session_security = ShimSessionSecurity(context)
        return answer


def _token(header: str, scheme: str) -> bytes | None:
    """The token of ``scheme`` in a WWW-Authenticate header value, or None when it has none."""
    prefix = scheme.lower() + " "
    for part in header.split(","):
        part = part.strip()
        if part.lower().startswith(prefix) and part[len(prefix):].strip():
            return base64.b64decode(part[len(prefix):].strip())
    return None


def prepare_ntlm_session(transport: Transport) -> None:
    """Give ``transport`` a ready session (pywinrm's ``build_session`` then returns it as is)."""
    session = WinRMSession()
    verify: bool | str = transport.server_cert_validation == "validate"
    if verify and transport.ca_trust_path not in (None, "legacy_requests"):
        verify = transport.ca_trust_path
    session.verify = verify
    secret = ntlm_secret(transport.password or "")
    https = transport.endpoint.lower().startswith("https")
    session.auth = PreemptiveNtlmAuth(transport.username or "", secret) if not https else \
        HttpNtlmAuth(username=transport.username, password=secret, send_cbt=transport.send_cbt)
    session.headers.update(transport.default_headers)
    if not https:
        session.mount("http://", PlainHttpAdapter())  # urllib3's pool costs CPU per request (plain_http)
    transport.session = session
    if transport.message_encryption == "always" or (transport.message_encryption == "auto" and not https):
        transport.setup_encryption(session)
