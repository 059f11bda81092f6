from tests.apps.hello import app
from tests.support import get, request, running_server


def test_hello_on_every_parser_and_loop(parser_backend: str, loop_name: str) -> None:
    with running_server(app, http=parser_backend, loop=loop_name) as server:
        response = request(server, get("/"))
    assert response.status == 200
    assert response.body == b"Hello, world!"
    assert response.header("server") == "aiowsgi"
    assert response.header("date")
