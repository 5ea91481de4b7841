"""`capability:query`: which channels can reach a recipient, answered by the channels."""
