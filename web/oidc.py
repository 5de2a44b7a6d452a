"""The OpenID Connect relying party (Authlib): the authorisation request with state, nonce and
PKCE, the code exchange, and the ID token's validation (issuer, audience, signature against the
provider's JWKS, nonce, expiry). What the token says is judged by services/people/sso.py.

The providers' discovery documents and key sets are kept per issuer in the process
(``ProviderMetadata``, one per application, so one per gunicorn worker: nothing is shared
between workers, each fetches at most once per lifetime) for ``METADATA_LIFETIME`` seconds; a
token signed with a key the kept set does not have fetches the set again, once (the provider
rotated its keys)."""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from flask import Flask, current_app, session
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from eva_engine.errors import PermissionDenied
from eva_engine.services.people import sso

TIMEOUT = 10.0
LEEWAY = 60  # seconds of clock difference allowed for iat/exp
METADATA_LIFETIME = 600.0  # seconds a provider's discovery document and key set are reused
_PENDING = "oidc"
_EXTENSION = "eva_oidc_metadata"
ENDPOINTS = ("authorization_endpoint", "token_endpoint", "jwks_uri")  # a document must name


def _refused(why: str) -> PermissionDenied:
    return PermissionDenied(f"single sign-on refused: {why}", text=sso.REFUSED)


def _json_object(url: str) -> dict[str, Any]:
    response = httpx.get(url, timeout=TIMEOUT)
    response.raise_for_status()
    data = response.json()
    if not isinstance(data, dict):
        raise ValueError(f"{url} answered no JSON object")
    return data


@dataclass(frozen=True)
class _Kept:
    value: dict[str, Any]
    fetched_at: float


class ProviderMetadata:
    """The providers' discovery documents and key sets (JWKS) of this process, per issuer, each
    kept ``lifetime`` seconds from its fetch; only what was fetched and valid is kept. Safe
    across the threads of a worker (a lock around the dictionaries; two threads may fetch the
    same document at once, and either answer is good)."""

    def __init__(
        self, lifetime: float = METADATA_LIFETIME, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.lifetime, self.clock = lifetime, clock
        self._lock = threading.Lock()
        self._documents: dict[str, _Kept] = {}
        self._keys: dict[tuple[str, str], _Kept] = {}

    def _fresh(self, kept: _Kept | None) -> dict[str, Any] | None:
        if kept is not None and 0 <= self.clock() - kept.fetched_at < self.lifetime:
            return kept.value
        return None

    def document(self, issuer: str) -> dict[str, Any]:
        """The issuer's discovery document; it must name this issuer."""
        with self._lock:
            found = self._fresh(self._documents.get(issuer))
        if found is not None:
            return found
        try:
            data = _json_object(issuer.rstrip("/") + "/.well-known/openid-configuration")
        except (httpx.HTTPError, ValueError) as exc:
            raise _refused(f"provider metadata: {exc}") from exc
        if data.get("issuer") != issuer:
            raise _refused("the metadata names another issuer")
        if not all(isinstance(data.get(name), str) for name in ENDPOINTS):
            raise _refused("the metadata lacks an endpoint")
        with self._lock:
            self._documents[issuer] = _Kept(data, self.clock())
        return data

    def keys(self, issuer: str, jwks_uri: str, *, again: bool = False) -> dict[str, Any]:
        """The issuer's key set from its ``jwks_uri``; ``again``: fetched anew whatever is kept
        (a token names a key the kept set lacks). httpx's or JSON's errors pass on."""
        key = (issuer, jwks_uri)
        if not again:
            with self._lock:
                found = self._fresh(self._keys.get(key))
            if found is not None:
                return found
        data = _json_object(jwks_uri)
        if not isinstance(data.get("keys"), list):
            raise ValueError("the key set has no keys")
        with self._lock:
            self._keys[key] = _Kept(data, self.clock())
        return data


def init_app(app: Flask) -> None:
    app.extensions[_EXTENSION] = ProviderMetadata()


def metadata(app: Flask | None = None) -> ProviderMetadata:
    """The application's (this process's) kept provider metadata."""
    found: ProviderMetadata = (app or current_app).extensions[_EXTENSION]
    return found


def _kid(id_token: str) -> str | None:
    """The ``kid`` of a compact JWS's protected header (unverified: only to choose the key)."""
    try:
        head = id_token.split(".", 1)[0]
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except ValueError:
        return None
    kid = header.get("kid") if isinstance(header, dict) else None
    return kid if isinstance(kid, str) else None


def _has_key(jwks: dict[str, Any], kid: str | None) -> bool:
    return kid is None or any(
        isinstance(k, dict) and k.get("kid") == kid for k in jwks.get("keys", [])
    )


def token_keys(issuer: str, jwks_uri: str, id_token: str) -> dict[str, Any]:
    """The key set to check ``id_token`` with: the kept one, or, when it lacks the token's key,
    the provider's set fetched again (once)."""
    kept = metadata()
    jwks = kept.keys(issuer, jwks_uri)
    if not _has_key(jwks, _kid(id_token)):
        jwks = kept.keys(issuer, jwks_uri, again=True)
    return jwks


def authorization_url(provider: sso.ProviderView, redirect_uri: str, target: str) -> str:
    meta = metadata().document(provider.issuer)
    state = generate_token(32)
    nonce = generate_token(32)
    verifier = secrets.token_urlsafe(48)
    session[_PENDING] = {
        "organisation": provider.organisation,
        "state": state,
        "nonce": nonce,
        "verifier": verifier,
        "next": target,
    }
    client = OAuth2Session(
        provider.client_id, redirect_uri=redirect_uri, scope="openid email profile"
    )
    url, _ = client.create_authorization_url(
        meta["authorization_endpoint"],
        state=state,
        nonce=nonce,
        code_challenge=create_s256_code_challenge(verifier),
        code_challenge_method="S256",
    )
    return str(url)


def validated_claims(
    id_token: str, jwks: dict[str, Any], issuer: str, client_id: str, nonce: str
) -> dict[str, Any]:
    """The ID token's claims if it is signed by a key of ``jwks`` and names this issuer, this
    client as audience, this nonce and has not expired; else joserfc's error."""
    keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
    decoded = jwt.decode(id_token, keys, algorithms=["RS256", "ES256", "PS256"])
    jwt.JWTClaimsRegistry(
        leeway=LEEWAY,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": client_id},
        sub={"essential": True},
        exp={"essential": True},
        nonce={"essential": True, "value": nonce},
    ).validate(decoded.claims)
    return dict(decoded.claims)


def complete(
    provider: sso.ProviderView, redirect_uri: str, args: Mapping[str, str]
) -> tuple[dict[str, object], str]:
    """The validated ID token's claims and where to go after the login."""
    pending = session.pop(_PENDING, None)
    if not isinstance(pending, dict) or pending.get("organisation") != provider.organisation:
        raise _refused("no login under way")
    if not args.get("state") or not secrets.compare_digest(str(args["state"]), pending["state"]):
        raise _refused("state")
    if "error" in args or not args.get("code"):
        raise _refused("the provider returned no code")
    secret = sso.client_secret(provider.organisation)
    if secret is None:
        raise _refused("no client secret")
    meta = metadata().document(provider.issuer)
    client = OAuth2Session(
        provider.client_id,
        secret,
        redirect_uri=redirect_uri,
        token_endpoint_auth_method="client_secret_basic",  # noqa: S106 - a method's name
        timeout=TIMEOUT,
    )
    try:
        token = client.fetch_token(
            meta["token_endpoint"], code=args["code"], code_verifier=pending["verifier"]
        )
        id_token = str(token["id_token"])
        jwks = token_keys(provider.issuer, str(meta["jwks_uri"]), id_token)
        claims = validated_claims(
            id_token, jwks, provider.issuer, provider.client_id, pending["nonce"]
        )
        if meta.get("userinfo_endpoint") and token.get("access_token"):
            # Providers may keep email and name to the UserInfo endpoint (OIDC Core 5.4); its
            # answer counts only for the ID token's subject (5.3.2), never over the token.
            info = client.get(meta["userinfo_endpoint"], timeout=TIMEOUT)
            extra = info.json() if info.ok else {}
            if isinstance(extra, dict) and extra.get("sub") == claims["sub"]:
                claims = {**extra, **claims}
    except (JoseError, httpx.HTTPError, KeyError, ValueError) as exc:
        raise _refused(f"the ID token: {type(exc).__name__}") from exc
    except Exception as exc:
        raise _refused(f"the token request: {type(exc).__name__}") from exc
    return dict(claims), str(pending.get("next") or "/")
