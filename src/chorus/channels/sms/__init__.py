"""SMS: plain-text transcoding and segment counting (CHANNELS.md part 1 §1)."""
