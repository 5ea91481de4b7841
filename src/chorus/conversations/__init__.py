"""Conversations: the message thread between one app and one contact (API.md §5)."""
