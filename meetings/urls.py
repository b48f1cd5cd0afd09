from django.urls import path

from meetings import views

urlpatterns = [
    path("", views.home, name="home"),
    path("meetings/<slug:slug>/", views.meeting_page, name="meeting-page"),
]
