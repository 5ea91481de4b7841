"""Shared plumbing: database, errors, auth, pagination, ids, time."""
