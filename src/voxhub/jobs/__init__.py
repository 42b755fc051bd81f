"""Jobs: the `jobs` table is the source of truth; runners only carry job ids."""
