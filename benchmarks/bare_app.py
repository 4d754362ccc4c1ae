"""The baseline for `benchmarks/load.py`: bare Flask serving the FAQ page from memory.

One `Flask(__name__)` with one route, no extensions, hooks, headers or cache
logic. It returns the exact bytes our app served for GET /faq, with the same
Content-Type, so both servers send the same body and the difference in
throughput is what our app does per request on top of Flask itself.

The bytes come from a file named by `BENCH_FAQ_BODY_FILE` and are read once at
import; `BENCH_FAQ_CONTENT_TYPE` gives the Content-Type. load.py runs it from
the project root with the same gunicorn settings as our app:

    gunicorn --chdir . 'benchmarks.bare_app:app'
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, Response

BODY = Path(os.environ["BENCH_FAQ_BODY_FILE"]).read_bytes()
CONTENT_TYPE = os.environ.get("BENCH_FAQ_CONTENT_TYPE", "text/html; charset=utf-8")

app = Flask(__name__)


@app.get("/faq")
def faq() -> Response:
    return Response(BODY, content_type=CONTENT_TYPE)
