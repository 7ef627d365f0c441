# syntax=docker/dockerfile:1.7
# kernelwright images. Targets (docs/deploy-images.md):
#   cpu   (default) converter, translator, evolver, archive   docker build -t kernelwright:0.1.0 .
#   cuda  gpu-evaluator (nvcc, headers, NVRTC, torch cu130)   docker build --target cuda -t kernelwright:0.1.0-cuda .
# One image per target serves every service: ENTRYPOINT ["kernelwright"], pick one with
# `args: ["serve", "archive"]` in the Deployment. Kubernetes checks health with native gRPC probes.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG CUDA_IMAGE=nvidia/cuda:13.0.1-devel-ubuntu24.04
# The default PyPI torch wheel is a multi-GB CUDA build: the cpu target takes torch from the
# PyTorch CPU index, the cuda target from the cu130 index.
ARG TORCH_SPEC="torch==2.13.*"
ARG TORCH_CPU_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG TORCH_CUDA_INDEX_URL=https://download.pytorch.org/whl/cu130

# ---------------------------------------------------------------------------------------------
# builder: the kernelwright wheel (pure Python) and the CPU runtime's virtual environment.
FROM ${PYTHON_IMAGE} AS builder
ARG TORCH_SPEC
ARG TORCH_CPU_INDEX_URL
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src

# Dependencies first, from pyproject alone, so a source change does not reinstall torch.
COPY pyproject.toml README.md ./
RUN python -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
open("/tmp/requirements.txt", "w").write("\n".join(p["dependencies"]) + "\n"); \
open("/tmp/requirements-gpu.txt", "w").write("\n".join(p["optional-dependencies"]["gpu"]) + "\n")'
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --index-url "${TORCH_CPU_INDEX_URL}" "${TORCH_SPEC}" \
 && /opt/venv/bin/pip install -r /tmp/requirements.txt

# pyproject maps the import package `kernelwright` to services/.
COPY services/ services/
RUN pip wheel --no-deps --wheel-dir /wheels . \
 && cp /tmp/requirements.txt /tmp/requirements-gpu.txt /wheels/ \
 && /opt/venv/bin/pip install --no-deps /wheels/kernelwright-*.whl \
 && find /opt/venv -name '__pycache__' -prune -exec rm -rf {} +

# ---------------------------------------------------------------------------------------------
# cuda-builder: the gpu-evaluator's environment on the CUDA devel image (OS Python 3.12).
FROM ${CUDA_IMAGE} AS cuda-builder
ARG TORCH_SPEC
ARG TORCH_CUDA_INDEX_URL
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV DEBIAN_FRONTEND=noninteractive \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CUDA_ROOT=/usr/local/cuda \
    LIBRARY_PATH=/usr/local/cuda/lib64/stubs
# Ubuntu's packages move under a fixed release; pinning their versions breaks rebuilds.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv python3-dev g++ \
 && rm -rf /var/lib/apt/lists/*
COPY --from=builder /wheels /wheels
# pycuda has no binary wheel: it builds here against the CUDA headers, linking the libcuda stub
# (LIBRARY_PATH above); the real driver library comes from the node at run time.
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --index-url "${TORCH_CUDA_INDEX_URL}" "${TORCH_SPEC}" \
 && /opt/venv/bin/pip install -r /wheels/requirements.txt -r /wheels/requirements-gpu.txt "ninja>=1.11" \
 && /opt/venv/bin/pip install --no-deps /wheels/kernelwright-*.whl \
 && find /opt/venv -name '__pycache__' -prune -exec rm -rf {} +

# ---------------------------------------------------------------------------------------------
# cuda: gpu-evaluator. Keeps the devel image: load_inline builds need nvcc, g++ and Python.h.
FROM ${CUDA_IMAGE} AS cuda
ENV DEBIAN_FRONTEND=noninteractive
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-dev g++ \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 kw \
 && useradd --uid 10001 --gid 10001 --create-home --home-dir /home/kw --shell /usr/sbin/nologin kw
COPY --from=cuda-builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:${PATH} \
    HOME=/home/kw \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CUDA_HOME=/usr/local/cuda \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    KW_GPU_EVALUATOR_HOST=0.0.0.0
WORKDIR /home/kw
USER 10001:10001
EXPOSE 50054
HEALTHCHECK NONE
ENTRYPOINT ["kernelwright"]
CMD ["serve", "gpu-evaluator"]

# ---------------------------------------------------------------------------------------------
# cpu (default, last): converter, translator, evolver, archive.
FROM ${PYTHON_IMAGE} AS cpu
RUN groupadd --gid 10001 kw \
 && useradd --uid 10001 --gid 10001 --create-home --home-dir /home/kw --shell /usr/sbin/nologin kw \
 && install -d -o 10001 -g 10001 /data
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:${PATH} \
    HOME=/home/kw \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    KW_CONVERTER_HOST=0.0.0.0 \
    KW_TRANSLATOR_HOST=0.0.0.0 \
    KW_EVOLVER_HOST=0.0.0.0 \
    KW_ARCHIVE_HOST=0.0.0.0
WORKDIR /home/kw
USER 10001:10001
EXPOSE 50051 50052 50053 50055
HEALTHCHECK NONE
ENTRYPOINT ["kernelwright"]
CMD ["serve", "converter"]
