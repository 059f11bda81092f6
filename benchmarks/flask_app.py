"""The Flask scenario's application: Flask's hello world, served at /flask through benchmarks.apps:bench."""

from flask import Flask

app = Flask(__name__)


@app.route("/flask")
def hello():
    return "Hello, world!"
