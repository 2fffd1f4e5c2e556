"""The node's HTTP port (Axon's 8024): a Starlette app built by `create_app(node)`.

Layout: `app` assembles the routes and translates errors (the only place that does);
`routes/` holds one small module per area (`home`, `public`, `actuator`, `context`,
`events`, `docs`); `event_json` converts Axon's REST event JSON to and from the
protobuf `Event`; `openapi` builds the OpenAPI 3 document; `static/` holds the
landing page.
"""

from .app import create_app

__all__ = ["create_app"]
