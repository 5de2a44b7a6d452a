"""The OpenID Connect relying party (Authlib): the authorisation request with state, nonce and
PKCE, the code exchange, and the ID token's validation (issuer, audience, signature against the
provider's JWKS, nonce, expiry). What the token says is judged by services/people/sso.py."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from flask import session
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from eva_engine.errors import PermissionDenied
from eva_engine.services.people import sso

TIMEOUT = 10.0
LEEWAY = 60  # seconds of clock difference allowed for iat/exp
_PENDING = "oidc"


def _refused(why: str) -> PermissionDenied:
    return PermissionDenied(f"single sign-on refused: {why}", text=sso.REFUSED)


def _metadata(issuer: str) -> dict[str, Any]:
    try:
        response = httpx.get(
            issuer.rstrip("/") + "/.well-known/openid-configuration", timeout=TIMEOUT
        )
        response.raise_for_status()
        data: dict[str, Any] = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise _refused(f"provider metadata: {exc}") from exc
    if data.get("issuer") != issuer:
        raise _refused("the metadata names another issuer")
    return data


def authorization_url(provider: sso.ProviderView, redirect_uri: str, target: str) -> str:
    meta = _metadata(provider.issuer)
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
    meta = _metadata(provider.issuer)
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
        jwks = httpx.get(meta["jwks_uri"], timeout=TIMEOUT).json()
        claims = validated_claims(
            token["id_token"], jwks, provider.issuer, provider.client_id, pending["nonce"]
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
