"""Sans-I/O HTTP/1.1 for a server: bytes in, events out; response heads and framing out as bytes.

Nothing in this package imports asyncio, socket or threading.
"""
