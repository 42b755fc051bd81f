"""Credits: a balance per user, an append-only ledger, holds captured or released with jobs."""
