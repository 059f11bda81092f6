"""A Flask application with a large import-time state, as a big real application has (its modules, an ORM's
mappings, a loaded model or table): what `--preload` lets the workers share.

At import it builds TABLE, about 60 MB of Python objects (300,000 entries of a tuple holding a str, a
float and a list). Each request reads one entry, so the workers touch the table the way an application
reads its data.
"""

from flask import Flask

TABLE = {i: (str(i), i * 2.5, [i]) for i in range(300_000)}

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return TABLE[len(TABLE) // 2][0]
