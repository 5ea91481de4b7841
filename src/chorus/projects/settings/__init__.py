"""A project's optional settings document (API.md Part A §6.1)."""
