from django.urls import path

from processes import views

P = "projects/<slug:slug>/"  # a project's sections: projects/sections.py

app_name = "processes"
urlpatterns = [
    path(f"{P}processes/", views.page, name="page"),
    path(f"{P}processes/cron/", views.cron_create, name="cron-create"),
    path(f"{P}processes/cron/<int:pk>/enabled/", views.cron_enabled, name="cron-enabled"),
    path(f"{P}processes/cron/<int:pk>/run/", views.cron_run_now, name="cron-run"),
    path(f"{P}processes/cron/<int:pk>/remove/", views.cron_remove, name="cron-remove"),
]
