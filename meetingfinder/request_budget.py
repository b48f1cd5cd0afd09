"""Bounded work per web request: statement_timeout stops any one statement,
and this stops a request from running one statement after another past its
budget (a search can run several: a count, a page, rows by key). Once a
request has spent DATABASE_REQUEST_BUDGET_MS, its next statement is refused
as the database refusing it would be (OperationalError), which answers 503
(meetingfinder/errors.py). Celery tasks run outside requests: no budget;
nor do the admin's pages, where curators run imports and bulk actions that
are long on purpose (each statement still under the timeout)."""

from __future__ import annotations

import time
from contextlib import ExitStack

from django.conf import settings
from django.db import OperationalError, connections


UNBUDGETED_PREFIXES = ("/admin/",)


class RequestBudgetExceeded(OperationalError):
    """The request spent its database budget."""


class RequestBudgetMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        budget_ms = settings.DATABASE_REQUEST_BUDGET_MS
        if not budget_ms or request.path_info.startswith(UNBUDGETED_PREFIXES):
            return self.get_response(request)
        deadline = time.monotonic() + budget_ms / 1000

        def within_budget(execute, sql, params, many, context):
            if time.monotonic() > deadline:
                raise RequestBudgetExceeded(f"request spent its database budget of {budget_ms} ms")
            return execute(sql, params, many, context)

        # Every connection the request may read through: the primary, replicas
        # and their nearest-first twins (meetingfinder/replicas.py).
        with ExitStack() as stack:
            for alias in settings.DATABASES:
                stack.enter_context(connections[alias].execute_wrapper(within_budget))
            return self.get_response(request)
