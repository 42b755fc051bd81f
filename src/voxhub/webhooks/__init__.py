"""Webhooks: a job's result POSTed, signed, to its `callback_url`, from an outbox."""
