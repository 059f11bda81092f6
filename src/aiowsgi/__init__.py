"""aiowsgi: a WSGI server whose event loop waits on the network, so worker threads only run the application.

The public API is what this module exports; everything else is internal.
"""

from .__about__ import __version__
from .config import Config
from .errors import ConfigError
from .server import Server, run, serve

# ConfigError is public because Config, Server and serve() raise it for a bad option.
__all__ = ["Config", "ConfigError", "Server", "__version__", "run", "serve"]
