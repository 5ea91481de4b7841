"""VIBERBM: Viber Business Messages (CHANNELS.md part 2 §2)."""
