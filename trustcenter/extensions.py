"""Extension objects, created unbound; `create_app` initialises them."""

from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx

from trustcenter.db import Database

db = Database()
csrf = CSRFProtect()
htmx = Htmx()
