"""The activity log: what each user did in the studio, one row per action."""
