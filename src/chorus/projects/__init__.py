"""Projects and their access keys."""
