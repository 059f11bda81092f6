from django.contrib import admin
from django.urls import path

from . import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("comment/", views.comment),
    path("upload/", views.upload),
    path("stream/<int:count>/", views.stream),
    path("download/<str:name>", views.download),
]
