"""Events: typing indicators and the like, to contacts and from them (API.md Part B §4)."""
