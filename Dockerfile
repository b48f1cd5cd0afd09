FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_DEBUG=false
WORKDIR /app
# The application's locked versions, hash-checked; no test-only packages.
COPY requirements.txt .
RUN pip install --no-cache-dir --require-hashes -r requirements.txt
COPY . .
RUN useradd --create-home app && chown -R app /app
USER app
EXPOSE 8000
# Settings (bind, workers, threads) in gunicorn.conf.py.
CMD ["gunicorn", "meetingfinder.wsgi:application"]
