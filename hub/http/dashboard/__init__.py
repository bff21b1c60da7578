"""The dashboard: one page at `/` with every sensor, its charts, alerts and the hub's health.

Hand-written HTML, CSS and ES modules in `static/` (no framework, no build step, nothing
from another site), served by the HTTP component with the endpoints the page needs:
`/api/dashboard` (the first screen in one answer), `/api/events` (live updates as
server-sent events) and `PATCH /api/sensors/{id}` (rename, place, annotate). The component
wires it in `hub.http.server`; this package imports nothing at load so the config can use
`hub.http.dashboard.config` without pulling in aiohttp.
"""
