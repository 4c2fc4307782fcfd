# One image for the three services; the command picks the service:
#   docker run IMAGE incidents-intake   (or incidents-routing / incidents-notify)
# The base image is pinned by digest (python:3.11-slim-bookworm); to move to a newer one, take
# the digest from `docker buildx imagetools inspect python:3.11-slim-bookworm`.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:2e32f7d302adc1c37428355c1e646897c0c53f4fd60b6a551245fb90ee129f91

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
# Dependencies first (a layer that changes only with the lock), every file checked by its hash.
COPY requirements/service.txt requirements/service.txt
RUN pip install --no-cache-dir --prefix=/install --require-hashes -r requirements/service.txt
COPY pyproject.toml README.md ./
COPY services ./services
RUN pip install --no-cache-dir --prefix=/install --no-deps .

FROM ${PYTHON_IMAGE}
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
COPY --from=build /install /usr/local
RUN useradd --system --uid 10001 --no-create-home incidents
USER incidents
# Ready means /readyz answers 200 on the port the running service's settings name.
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=6 \
  CMD ["python", "-m", "services.healthcheck"]
# No secrets here: tokens, webhook secret and SMTP credentials come from the environment.
CMD ["incidents-intake"]
