# One image for the three services; the command picks the service:
#   docker run IMAGE python -m services.intake   (or services.routing / services.notify)
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY services ./services
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
COPY --from=build /install /usr/local
RUN useradd --system --uid 10001 --no-create-home incidents
USER incidents
# No secrets here: tokens, webhook secret and SMTP credentials come from the environment.
CMD ["python", "-m", "services.intake"]
