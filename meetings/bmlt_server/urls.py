from django.urls import path

from meetings.public_answers import public_answer
from meetings.bmlt_server import params, views

# BMLT's own paths, so a client configured with this site as its root server finds them.
# Its records give weekdays and wall times, nothing the clock decides: kept until a write.
answer = public_answer(clock_dependent=False, params=params.PARAMETERS)
urlpatterns = [
    path("client_interface/json/", answer(views.client_interface_json), name="bmlt-json"),
    path("client_interface/jsonp/", answer(views.client_interface_jsonp), name="bmlt-jsonp"),
]
