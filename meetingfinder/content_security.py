"""The Content-Security-Policy header: one policy for the whole site
(settings.CONTENT_SECURITY_POLICY), its text built once per process by
django-csp's builder and set on every answer that has none.

django-csp's own middleware builds the text again for every response, to
allow nonces and per-view policies, which this site uses neither of: that
was a sixth of the instructions of a kept answer (bench/README.md, round 40).
A view that ever needs its own policy sets the header itself; this keeps it.
"""

from __future__ import annotations

from csp.constants import HEADER
from csp.utils import build_policy
from django.conf import settings


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = build_policy(config=settings.CONTENT_SECURITY_POLICY["DIRECTIVES"])

    def __call__(self, request):
        response = self.get_response(request)
        # Django's debug pages (404 and 500 with DEBUG on) are styled inline.
        if not (response.status_code in (404, 500) and settings.DEBUG):
            response.headers.setdefault(HEADER, self.policy)
        return response
