# syntax=docker/dockerfile:1
FROM python:3.11-slim AS build
WORKDIR /app
COPY pyproject.toml ./
COPY bot bot
COPY core core
COPY storage storage
COPY sandbox sandbox
COPY locales locales
# Dependencies go to /install; the code runs from /app (locales and migrations live beside it).
RUN pip install --no-cache-dir --prefix=/install . \
 && pip install --no-cache-dir Babel && pybabel compile -d locales -D messages

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 WEB_HOST=0.0.0.0 WEB_PORT=8080 LOG_FORMAT=json
RUN useradd --create-home --uid 10001 ttpulse
COPY --from=build /install /usr/local
WORKDIR /app
COPY --from=build --chown=ttpulse /app /app
COPY alembic.ini ./
USER ttpulse
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status == 200 else 1)"
CMD ["python", "-m", "bot", "run"]
