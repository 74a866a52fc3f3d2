"""URL routes: the notes app at /, Django's admin at /admin/, and /static/ when the app serves it."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("notes.urls")),
]

if settings.SERVE_STATIC:
    # Django's own file view, for running without nginx; nginx.conf serves the same directory faster.
    urlpatterns.append(
        re_path(
            rf"^{settings.STATIC_URL.strip('/')}/(?P<path>.*)$",
            serve,
            {"document_root": settings.STATIC_ROOT},
        )
    )
