"""The audit trail: an append-only record of staff and system actions."""
