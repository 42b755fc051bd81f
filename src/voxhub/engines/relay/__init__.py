"""Engines on other machines: an API process without a model relays enrolment, speech and
forgetting (a provider's clone) to `voxhub worker`s over Redis (`client`), and workers serve
them (`server`); `wire` is what travels between the two."""
