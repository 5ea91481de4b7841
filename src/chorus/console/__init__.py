"""The console: a web UI served by `chorus serve` (DESIGN.md, "Console").

Plain HTML, CSS and JavaScript modules under `static/`, no build step. The pages call the
public API with a bearer token; this package adds only what a browser needs beyond it: the
page itself, a local-mode sign-in (`session.py`), and two extension endpoints under
`/chorus/v1` (a message's status history, and a live stream of changes)."""
