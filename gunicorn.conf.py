"""gunicorn's settings for the web service: the Dockerfile, docker-compose.yml
and bench/http_bench.py all run with them (gunicorn reads ./gunicorn.conf.py).

gthread workers with one thread each: a worker keeps idle keep-alive
connections in its poller and serves one request at a time. More threads per
worker only contend for the GIL: on 2 cores at 100,000 meetings, 2 workers x
8 threads served 388 searches/s (p99 176 ms) and 3.3 ms of worker CPU per
search, 2 workers x 1 thread 453/s (p99 95 ms) and 3.0 ms (bench/README.md).
One worker per core by default; WEB_CONCURRENCY and GUNICORN_THREADS override.

Each worker listens on a socket of its own (`reuse_port`, Linux's
SO_REUSEPORT), so the kernel spreads new connections over the workers. On one
shared socket the first worker to wake accepts every connection waiting, and
keeps each for as long as its client keeps it alive: 16 keep-alive clients
all landed on one worker in 4 runs of 19, and that half of
the machine served them (about 1,200 instead of 2,000 cached answers a
second, bench/README.md, round 21) while the other worker sat idle. Only
processes of the same user can share the port: a second server started on it
by that user shares it instead of failing to bind, so give each its own port.
A worker that is restarted (its timeout, a crash) drops the connections still
waiting in its own queue, which a shared socket would have left to the others;
Linux 5.14 and later hands them over with `sysctl net.ipv4.tcp_migrate_req=1`.
"""

import math
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
keepalive = 5
# The app is loaded once, in the arbiter, which reads what the geocoder needs
# (meetingfinder/wsgi.py) before forking: every worker, a restarted one too,
# starts with it, shared, and no one's first search waits for it (about a second).
preload_app = True
reuse_port = True
# A request's statements stop at DATABASE_STATEMENT_TIMEOUT_MS, and it starts none
# after its budget (the same by default; meetingfinder/request_budget.py), so
# its database time stays under twice the timeout, answered as a 503. gunicorn
# waits longer than that, so the worker says so instead of being killed mid-answer.
STATEMENT_TIMEOUT_SECONDS = math.ceil(int(os.environ.get("DATABASE_STATEMENT_TIMEOUT_MS", "10000")) / 1000)
timeout = int(os.environ.get("GUNICORN_TIMEOUT", max(30, 2 * STATEMENT_TIMEOUT_SECONDS + 10)))
