"""PEP 3333: the environ, wsgi.input and the response rules. Runs in worker threads; never imports asyncio."""
