from __future__ import annotations

from django.urls import path

from api import views

app_name = "account"
urlpatterns = [
    path("account/tokens/", views.token_list, name="tokens"),
    path("account/tokens/<int:pk>/revoke/", views.token_revoke, name="token-revoke"),
]
