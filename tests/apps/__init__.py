"""One tiny WSGI application per behaviour the tests need."""
