"""The console: a web UI served by `chorus serve` (DESIGN.md, "Console").

Plain HTML, CSS and JavaScript modules under `static/`, no build step, shipped as package
data. The pages call the public API with a bearer token; `routes.py` adds only what a browser
needs beyond it: the page, a local-mode sign-in, and two extension endpoints under
`/chorus/v1` (status histories, and a live stream of changes as server-sent events).

    static/index.html      the shell: navigation, the page's <main>, the live indicator
    static/main.js         the router: `#/path` → `pages/<name>.js`, each exporting
                           `render(main, params)` (returns a clean-up for live subscriptions)
    static/api.js          the session (token, project) and the API clients
    static/live.js         the EventSource; `onChange(kind, reload)` for pages
    static/dom.js          building elements (`h`), labelled fields, toasts
    static/format.js       message summaries and status badges
    static/channels.js     channel names, credential kinds, webhook triggers
    static/channels/       one renderer per channel (`render(native)` → elements), drawn
                           with the pieces of `parts.js`; `index.js` frames them as phones
    static/pages/          signin, apps, app (credentials, priority, webhooks), contacts,
                           conversation, compose, webhooks (delivery log), simulator
"""
