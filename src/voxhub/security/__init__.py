"""Request security: rate limits, idempotency keys, HMAC-signed internal calls, headers."""
