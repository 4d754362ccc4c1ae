"""WSGI entry point for gunicorn: `gunicorn wsgi:app`."""

from trustcenter import create_app

app = create_app()
