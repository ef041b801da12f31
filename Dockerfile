# syntax=docker/dockerfile:1.7
# The fleetyard image: one image for `fleetyard operator` (default), `fleetyard webhooks` and
# `fleetyard api`. How to build it, what is in it and which paths must be writable: docs/image.md.
# tests/unit/test_dockerfile.py lints this file with hadolint and checks the pins below against
# pyproject.toml, requirements.lock and hack/tools.sh. Base images are pinned to a patch version,
# not a digest (docs/image.md, "Pins").

# The Pulumi CLI, built by hack/tools.sh itself (the same wrapper module and version stamp as the
# test bed), cross-compiled on the build platform for the target one.
FROM --platform=$BUILDPLATFORM golang:1.26.8-bookworm AS pulumi-cli
ARG TARGETOS
ARG TARGETARCH
# = hack/tools.sh PULUMI_VERSION = the python `pulumi` pin in pyproject.toml
ARG PULUMI_VERSION=v3.260.0
WORKDIR /src
COPY hack/tools.sh hack/tools.sh
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    GOOS="$TARGETOS" GOARCH="$TARGETARCH" FLEETYARD_CACHE=/build PULUMI_VERSION="$PULUMI_VERSION" \
    bash hack/tools.sh --path pulumi > /tmp/pulumi-path \
    && install -D "$(cat /tmp/pulumi-path)" /out/pulumi

# pulumi-resource-aws at the version of the pulumi-aws pin: Pulumi's released plugin, installed by
# the CLI above and checked against its SHA-256. (Its Go module cannot be built from the module
# proxy: docs/image.md, "The aws provider plugin".)
FROM python:3.11.17-slim-bookworm AS aws-plugin
ARG TARGETARCH
# = the python `pulumi-aws` pin in pyproject.toml
ARG PULUMI_AWS_VERSION=7.51.1
# sha256 of pulumi-resource-aws-v<version>-linux-<arch>.tar.gz, from the release's checksums file
ARG PULUMI_AWS_SHA256_AMD64=""
ARG PULUMI_AWS_SHA256_ARM64=""
ENV PULUMI_HOME=/pulumi-home PULUMI_SKIP_UPDATE_CHECK=true
COPY --from=pulumi-cli /out/pulumi /usr/local/bin/pulumi
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN checksum_arg="PULUMI_AWS_SHA256_${TARGETARCH^^}"; \
    if [ -z "${!checksum_arg:-}" ]; then \
      echo "set --build-arg ${checksum_arg}=<sha256> (docs/image.md, 'The aws provider plugin')" >&2; exit 1; \
    fi; \
    pulumi plugin install resource aws "$PULUMI_AWS_VERSION" --exact --checksum "${!checksum_arg}" \
    && install -D "$PULUMI_HOME/plugins/resource-aws-v$PULUMI_AWS_VERSION/pulumi-resource-aws" \
         /out/pulumi-resource-aws

# The virtualenv: requirements.lock (generated from pyproject's pins) installed from wheels only,
# so no compiler is needed, then fleetyard's own wheel; `pip check` fails on an incomplete lock.
FROM python:3.11.17-slim-bookworm AS python-build
ARG SETUPTOOLS_VERSION=84.2.1
ARG WHEEL_VERSION=0.48.0
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore
# tini as PID 1 reaps the Pulumi processes a dead worker leaves behind: a zombie would look like a
# live stack-lock holder to the operator that takes the run over (provisioning/locks.py).
RUN apt-get update \
    && apt-get install -y --no-install-recommends "tini=0.19.0-1*" \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
RUN python -m venv /opt/fleetyard
COPY requirements.lock ./
RUN /opt/fleetyard/bin/pip install --no-cache-dir --no-deps --only-binary=:all: --requirement requirements.lock
COPY pyproject.toml ./
COPY operator/ operator/
RUN pip install --no-cache-dir "setuptools==$SETUPTOOLS_VERSION" "wheel==$WHEEL_VERSION" \
    && pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /wheels . \
    && /opt/fleetyard/bin/pip install --no-cache-dir --no-deps /wheels/fleetyard-*.whl \
    && /opt/fleetyard/bin/pip check \
    && /opt/fleetyard/bin/pip uninstall --yes pip setuptools

# The image: the base's Python, the virtualenv and three static binaries; no build tools.
FROM python:3.11.17-slim-bookworm AS runtime
ARG VERSION=0.1.0
ARG REVISION=""
ARG CREATED=""
ARG SOURCE=""
LABEL org.opencontainers.image.title="fleetyard" \
      org.opencontainers.image.description="fleetyard: a Kubernetes-native control plane for a fleet of Kubernetes clusters (operator, admission webhooks, REST API)" \
      org.opencontainers.image.version="$VERSION" \
      org.opencontainers.image.revision="$REVISION" \
      org.opencontainers.image.created="$CREATED" \
      org.opencontainers.image.source="$SOURCE" \
      org.opencontainers.image.base.name="docker.io/library/python:3.11.17-slim-bookworm"
COPY --from=python-build /opt/fleetyard /opt/fleetyard
COPY --from=python-build /usr/bin/tini-static /usr/local/bin/tini
COPY --from=pulumi-cli /out/pulumi /usr/local/bin/pulumi
COPY --from=aws-plugin /out/pulumi-resource-aws /usr/local/bin/pulumi-resource-aws
# The user exists in /etc/passwd because Go's os/user (the Pulumi CLI) and Python's getpass ask
# for it; the directories are here for `docker run`, the chart mounts volumes over them.
RUN groupadd --system --gid 65532 fleetyard \
    && useradd --system --no-log-init --uid 65532 --gid 65532 --home-dir /home/fleetyard \
         --shell /usr/sbin/nologin fleetyard \
    && mkdir -p /home/fleetyard/.pulumi /var/lib/fleetyard/state /var/lib/fleetyard/workspaces \
    && chown -R 65532:65532 /home/fleetyard /var/lib/fleetyard
# Writable at run time (a read-only root filesystem works when these are mounts): HOME,
# PULUMI_HOME, TMPDIR, and the state and workspace directories.
ENV PATH=/opt/fleetyard/bin:$PATH \
    HOME=/home/fleetyard \
    PULUMI_HOME=/home/fleetyard/.pulumi \
    TMPDIR=/tmp \
    FLEETYARD_STATE_BACKEND=file:///var/lib/fleetyard/state \
    FLEETYARD_WORKSPACE_ROOT=/var/lib/fleetyard/workspaces \
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true \
    PULUMI_SKIP_UPDATE_CHECK=true \
    FLEETYARD_LISTEN_ADDRESS=0.0.0.0 \
    FLEETYARD_API_HOST=0.0.0.0 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 65532:65532
WORKDIR /home/fleetyard
# 8080 /healthz, 9090 /metrics, 9443 admission webhooks (HTTPS), 8000 REST API
EXPOSE 8080 9090 9443 8000
ENTRYPOINT ["/usr/local/bin/tini", "--", "fleetyard"]
CMD ["operator"]
