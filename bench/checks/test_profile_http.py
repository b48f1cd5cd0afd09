"""bench/profile_http.py groups py-spy's sampled stacks by stage: the first
stage whose frames a stack contains, in the order the stages are listed."""

from bench.profile_http import stages

RAW = """\
Thread.run;ThreadWorker.handle;WSGIHandler.__call__;APIView.dispatch;MeetingViewSet.list;search_page;Cursor.execute;Connection.wait 30
Thread.run;ThreadWorker.handle;WSGIHandler.__call__;APIView.dispatch;MeetingViewSet.list;search_page;_rows;_timing 10
Thread.run;ThreadWorker.handle;WSGIHandler.__call__;APIView.dispatch;MeetingViewSet.list;search_parse;geocode 5
Thread.run;ThreadWorker.handle;WSGIHandler.__call__;APIView.dispatch;APIView.initial 5
Thread.run;ThreadWorker.handle;WSGIHandler.__call__;SessionMiddleware.__call__ 10
<module>;Arbiter.run;ThreadWorker.run;EpollSelector.select 20
<module>;somewhere_else 20
"""


def test_stacks_are_grouped_by_their_first_listed_stage():
    assert stages(RAW) == {
        "waiting on PostgreSQL + psycopg": 30.0,
        "gunicorn itself (poll, write, heartbeat)": 20.0,
        "other": 20.0,
        "building rows (meeting_rows)": 10.0,
        "Django handler + middleware": 10.0,
        "parsing parameters (search_parse)": 5.0,
        "DRF dispatch (request, negotiation, render)": 5.0,
    }
    assert stages("") == {}
