"""The WSGI application that chaussette serves: `chaussette --fd N mysite.wsgi:application`.

Rule: everything a first request would import is imported here, before chaussette reports READY=1,
so a worker that circusd counts as ready during a rolling reload answers its first request at full
speed instead of importing the URLconf, views and templates while clients wait.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")

application = get_wsgi_application()


def _warm_up() -> None:
    from django.template.loader import get_template
    from django.urls import resolve

    resolve("/")  # imports the URLconf and every view module
    get_template("notes/index.html")  # compiles the page's templates into the cached loader


_warm_up()
