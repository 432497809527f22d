# Storyline's image: the `storyline` command, installed at build time.
# Build: docker build -t storyline .   (docker compose builds it for you)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain domain
COPY service service
COPY graphql graphql
COPY entrypoints entrypoints
RUN pip install . && useradd --system --no-create-home storyline

USER storyline
EXPOSE 8000
# The API; docker-compose.yml runs the other roles (init, projector) from the same image.
CMD ["storyline", "serve", "--host", "0.0.0.0", "--port", "8000", "--no-projector"]
