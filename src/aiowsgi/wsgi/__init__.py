"""PEP 3333: the environ and the response rules. Runs in worker threads; never imports asyncio."""
