"""What the app's server answers: localhost names only, and no imports named by a URL.

The server listens on 127.0.0.1, but a web page the user visits can still make the browser send
requests there. Two of Panel's defaults are guarded:

- the ``Host`` header: a page on another site that rebinds its name to 127.0.0.1 sends its own
  name as the host; any host but ``localhost`` or ``127.0.0.1`` with the app's port is refused
  (HTTP 403) before any route runs, the websocket's included;
- Panel's ``/components/<module>/...`` route imports the module named in the URL; here it serves
  only modules already imported (those whose components are on the page) and refuses the rest.

The websocket origin allow-list stays as Panel has it (``websocket_origin``). Requests are size
limited: an HTTP body to ``MAX_BODY_BYTES`` and a websocket message to ``MAX_MESSAGE_BYTES`` (the
page sends widget events of a few hundred bytes); every value a request carries is checked again
on the server (``lab.check_inputs``) before any work starts.
"""

from __future__ import annotations

import sys

from panel.io.server import ComponentResourceHandler
from tornado.routing import Matcher
from tornado.web import HTTPError, RequestHandler

MAX_BODY_BYTES = 1_000_000  # an HTTP request body (Tornado's default is 100 MB)
MAX_MESSAGE_BYTES = 1_000_000  # a websocket message from the page (Bokeh's default is 20 MB)
COMPONENTS_ROUTE = r"/components/(.*)"  # Panel's route (panel.io.resources.COMPONENT_PATH)


def local_hosts(port: int) -> frozenset[str]:
    """The ``Host`` values a browser sends for this machine's app on ``port`` (bare names on port 80).

    ``[::1]`` is not one: the server does not listen on it (a browser falls back from it to
    127.0.0.1 for ``localhost``), and Panel cannot parse it as a host (an error 500).
    """
    names = ("localhost", "127.0.0.1")
    return frozenset([f"{n}:{port}" for n in names] + (list(names) if port == 80 else []))


class LoadedComponents(ComponentResourceHandler):
    """Panel's component resources, for modules already imported only: a URL never imports one."""

    def parse_url_path(self, path: str) -> str:
        if path.split("/", 1)[0] not in sys.modules:
            raise HTTPError(403, "components of a module the app has not loaded are not served")
        return super().parse_url_path(path)


class _ForeignHost(Matcher):
    """Matches a request whose ``Host`` is not one of ``hosts``."""

    def __init__(self, hosts: frozenset[str]):
        self.hosts = hosts

    def match(self, request):
        return None if request.host.lower() in self.hosts else {}


class _Refused(RequestHandler):
    def initialize(self, port: int):
        self.port = port

    def prepare(self):
        self.set_status(403)
        self.finish(f"The endplate app answers only at http://127.0.0.1:{self.port}/ or http://localhost:{self.port}/\n")


def refuse_foreign_hosts(server, port: int) -> None:
    """Put a rule before every route of the Bokeh ``server``: a request to another host gets 403."""
    router = server._tornado.default_router  # Bokeh keeps its Tornado application private; no public hook
    router.add_rules([(_ForeignHost(local_hosts(port)), [(r".*", _Refused, {"port": port})])])
    router.rules.insert(0, router.rules.pop())
