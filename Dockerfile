# The marketplace API under gunicorn. Built by docker-compose.yml; see README for the embedded profile.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FLASK_APP=wsgi

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
RUN useradd --create-home --uid 10001 app && mkdir -p /app/instance && chown app:app /app/instance
USER app

EXPOSE 8000
ENV BIND=0.0.0.0:8000
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
