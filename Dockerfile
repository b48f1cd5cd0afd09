FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_DEBUG=false
WORKDIR /app
# The application's locked versions, hash-checked; no test-only packages.
COPY requirements.txt .
RUN pip install --no-cache-dir --require-hashes -r requirements.txt

# What the app serves besides its code, made at build time (deploy/assets.sh):
# the compiled catalogues (Spanish pages) and the static files under
# STATIC_ROOT (WhiteNoise serves them with DEBUG off). gettext stays here.
FROM base AS assets
RUN apt-get update && apt-get install -y --no-install-recommends gettext && rm -rf /var/lib/apt/lists/*
COPY . .
RUN sh deploy/assets.sh messages static

FROM base
COPY . .
COPY --from=assets /app/locale /app/locale
COPY --from=assets /app/staticfiles /app/staticfiles
# media: uploaded feed files, a volume web and workers share (docker-compose.yml).
RUN mkdir -p media && useradd --create-home app && chown -R app /app
USER app
EXPOSE 8000
# Settings (bind, workers, threads) in gunicorn.conf.py.
CMD ["gunicorn", "meetingfinder.wsgi:application"]
