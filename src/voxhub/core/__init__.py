"""Cross-cutting building blocks: errors, ids, clock, pagination."""
