"""How a webhook is signed: seed 004's HMAC scheme, so a receiver verifies it as it would verify
a seed 004 internal call.

`X-Daezend-Signature: hex(HMAC_SHA256(secret, "POST\\n" + path + "\\n" + ts + "\\n" + body))`,
`X-Daezend-Timestamp` (ts) in epoch milliseconds, `path` being the callback URL's path as sent (no
query string). `X-Idempotency-Key` is the delivery's id: it stays the same on every retry of one
delivery, so a receiver that saw it already can answer 2xx and do nothing (delivery is at least
once). Each attempt is signed afresh, so a retry hours later is still inside the receiver's skew
window.

The secret is `VOXHUB_WEBHOOK_SECRET` when set: the one to give the receiver. Unset, it is derived
from the token signing key (HMAC of it under a fixed label): stable across restarts, and the same
in every process that shares `VOXHUB_JWT_SECRET` (which a multi-process deployment must anyway),
without revealing that key. `signing_secret(settings)` prints it for the operator.
"""

from __future__ import annotations

import hashlib
import hmac
import time

import httpx

from voxhub.accounts.secrets import signing_key
from voxhub.security.hmac import IDEMPOTENCY_KEY, SIGNATURE, TIMESTAMP, sign
from voxhub.settings import Settings

DELIVERY = "x-voxhub-delivery"
EVENT = "x-voxhub-event"
_LABEL = b"voxhub webhook signing secret v1"


def signing_secret(settings: Settings) -> str:
    """The secret webhooks are signed with (and the receiver verifies with)."""
    configured = settings.webhooks.webhook_secret
    if configured is not None and configured.get_secret_value():
        return configured.get_secret_value()
    return hmac.new(signing_key(settings), _LABEL, hashlib.sha256).hexdigest()


def signed_path(url: str) -> str:
    """The path part of the canonical string: exactly as httpx puts it on the request line
    (percent-encoded), without the query, which is what a receiver reads as its raw path."""
    return httpx.URL(url).raw_path.split(b"?", 1)[0].decode("ascii")


def headers(
    secret: str, url: str, body: bytes, delivery_id: str, event: str, now_ms: int | None = None
) -> dict[str, str]:
    """The headers that go with one attempt of one delivery."""
    ts = str(int(time.time() * 1000) if now_ms is None else now_ms)
    return {
        "content-type": "application/json",
        TIMESTAMP: ts,
        SIGNATURE: sign(secret, "POST", signed_path(url), ts, body),
        IDEMPOTENCY_KEY: delivery_id,
        DELIVERY: delivery_id,
        EVENT: event,
        "user-agent": "voxhub-webhooks/1",
    }
