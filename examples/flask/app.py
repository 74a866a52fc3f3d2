"""The Flask example: notes on SQLite, listed and created through a form with a CSRF token, a slow view
for drain tests, and a health check. Served by `chaussette --fd N app:app` under circusd.

Rule: like the Django example, everything is configurable from the environment (FLASK_DB_PATH,
FLASK_SECRET_KEY) and works without any setup: the table and the key are made on first use.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import sqlite3
import time
from pathlib import Path

from flask import Flask, abort, flash, g, jsonify, redirect, render_template, request, session, url_for

HERE = Path(__file__).resolve().parent
DB_PATH = os.environ.get("FLASK_DB_PATH", str(HERE / "notes.sqlite3"))
SLOW_MAX_S = 60.0
SCHEMA = """
CREATE TABLE IF NOT EXISTS note (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    author TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%S', 'now'))
)
"""


def local_secret_key(path: Path) -> str:
    """A key made once and kept in `path`; workers starting together agree on the first one linked."""
    with contextlib.suppress(FileNotFoundError):
        return path.read_text().strip()
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(secrets.token_urlsafe(50))
    tmp.chmod(0o600)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_text().strip()


def connect() -> sqlite3.Connection:
    # A busy timeout: several worker processes read and write the same file (in WAL mode, see below).
    db = sqlite3.connect(DB_PATH, timeout=20, isolation_level=None)
    db.row_factory = sqlite3.Row
    return db


def create_schema() -> None:
    """The table, and WAL mode (it stays set in the file). Workers that start together on a new database
    take turns on a lock file: switching to WAL needs the database to itself, and SQLite answers
    "database is locked" at once for that instead of waiting out its busy timeout."""
    with open(f"{DB_PATH}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with contextlib.closing(connect()) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(SCHEMA)


app = Flask(__name__)
app.secret_key = os.environ.get("FLASK_SECRET_KEY") or local_secret_key(HERE / ".secret_key")
create_schema()


def get_db() -> sqlite3.Connection:
    if "db" not in g:
        g.db = connect()
    return g.db


@app.teardown_appcontext
def close_db(exc: BaseException | None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()


def csrf_token() -> str:
    """The session's CSRF token, made on first use; every form posts it back."""
    if "csrf_token" not in session:
        session["csrf_token"] = secrets.token_urlsafe(32)
    return session["csrf_token"]


app.jinja_env.globals["csrf_token"] = csrf_token


@app.before_request
def check_csrf() -> None:
    if request.method == "POST":
        sent = request.form.get("csrf_token", "")
        expected = session.get("csrf_token", "")
        if not expected or not secrets.compare_digest(sent, expected):
            abort(403, "CSRF token missing or wrong: reload the page and submit the form again")


@app.route("/", methods=["GET", "POST"])
def index():
    errors = {}
    author = request.form.get("author", "").strip()
    text = request.form.get("text", "").strip()
    if request.method == "POST":
        if not author:
            errors["author"] = "Who are you?"
        if not text:
            errors["text"] = "Write something."
        if not errors:
            with get_db() as db:
                cursor = db.execute("INSERT INTO note (author, text) VALUES (?, ?)", (author, text))
            flash(f"Note #{cursor.lastrowid} saved.")
            return redirect(url_for("index"))
    notes = get_db().execute("SELECT * FROM note ORDER BY id DESC LIMIT 50").fetchall()
    total = get_db().execute("SELECT count(*) FROM note").fetchone()[0]
    page = render_template(
        "index.html", notes=notes, total=total, errors=errors, author=author, text=text, pid=os.getpid()
    )
    return page, 400 if errors else 200


@app.get("/slow/")
def slow():
    """Sleeps ?seconds=N (default 2, at most 60): a request in flight while a worker is stopped."""
    seconds = request.args.get("seconds", 2.0, type=float)
    if not 0 <= seconds <= SLOW_MAX_S:
        abort(400, f"seconds must be between 0 and {SLOW_MAX_S:g}")
    started = time.monotonic()
    time.sleep(seconds)  # gevent-patched by chaussette: the worker keeps serving other requests
    return f"slept {time.monotonic() - started:.2f}s in pid {os.getpid()}\n", {"Content-Type": "text/plain"}


@app.get("/healthz")
def healthz():
    total = get_db().execute("SELECT count(*) FROM note").fetchone()[0]
    return jsonify(status="ok", pid=os.getpid(), notes=total)
