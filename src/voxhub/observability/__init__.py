"""Metrics, readiness and structured logs. Nothing is imported here, so the executor and the
synthesis code can import `metrics` and `logs` without pulling in the web layer."""
