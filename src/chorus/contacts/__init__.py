"""Contacts: end users and their channel identities."""
