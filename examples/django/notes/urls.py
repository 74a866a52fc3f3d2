"""Routes of the notes app."""

from django.urls import path

from notes import views

app_name = "notes"
urlpatterns = [
    path("", views.index, name="index"),
    path("slow/", views.slow, name="slow"),
    path("healthz", views.healthz, name="healthz"),
]
