# The dashboard in a container, CPU only.
#
#   docker build -t autointerp .
#   docker run -d --name autointerp -p 127.0.0.1:8501:8501 -v autointerp-data:/data autointerp
#   open http://127.0.0.1:8501   (the first page load builds the default workspace into the volume: two to three
#                                 minutes on 2 cores, shown on the page and, stage by stage, in `docker logs`)
#
# Build args: BASE (any Debian-based image with Python 3.11), TORCH_INDEX (where the CPU build of torch comes
# from), BAKE=1 (build the default workspace into the image instead of the volume at first start).
ARG BASE=python:3.11-slim
FROM ${BASE}

# PIP_BREAK_SYSTEM_PACKAGES: a base whose python3 comes from Debian's own packages (PEP 668) refuses pip
# installs outside a venv; in an image of its own that is what we want. It changes nothing on python:3.11-slim.
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_BREAK_SYSTEM_PACKAGES=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    AUTOINTERP_WORKSPACES=/data/workspaces \
    AUTOINTERP_CACHE=/data/cache
WORKDIR /app

# torch from its CPU index: the default Linux wheel on PyPI bundles CUDA (several GB) that a CPU host never
# uses. A folder `.whl/` in the build context, if present, is offered to pip first (offline test builds); its
# wheels stay in the COPY layer (about 190 MB for torch's), which is fine for a test image.
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
COPY requirements.txt requirements-embedded.txt .dockerignore .whl* /tmp/req/
RUN python3 -m pip install --find-links /tmp/req --index-url "$TORCH_INDEX" --extra-index-url https://pypi.org/simple \
        "torch==$(sed -n 's/^torch==//p' /tmp/req/requirements.txt)" \
 && python3 -m pip install --find-links /tmp/req -r /tmp/req/requirements.txt \
 && python3 -m pip install --no-deps -r /tmp/req/requirements-embedded.txt \
 && rm -rf /tmp/req

COPY .streamlit .streamlit
COPY app.py ./
COPY assets assets
COPY pages pages
COPY autointerp autointerp

# BAKE=1: the image carries the default workspace and the converted model (about 280 MB more), copied into the
# volume at first start; otherwise the first start builds them into the /data volume. Either way they survive
# restarts and image upgrades there.
ARG BAKE=0
RUN if [ "$BAKE" = "1" ]; then \
      AUTOINTERP_WORKSPACES=/app/baked/workspaces AUTOINTERP_CACHE=/app/baked/cache python3 -m autointerp build; \
    fi
# After the bake, so that editing the start script does not rebuild the workspace.
COPY scripts/docker-start.sh scripts/

# Not root: a process that serves a web page (and runs a model on what it is given) gets no more than it needs.
# A fresh named volume takes /data's owner from the image, so the app can write its workspaces there; a volume
# made by an older, root-run image needs `docker run --rm -u 0 -v autointerp-data:/data autointerp chown -R
# 10001:10001 /data` once.
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/app app \
 && mkdir -p /data && chown app:app /data
USER app
VOLUME /data
EXPOSE 8501
# Inside the container the app must listen on 0.0.0.0: Docker forwards a published port to the container's
# own network interface, never to its loopback, so a server bound to 127.0.0.1 in here is unreachable. What
# stays private is decided outside, by publishing the port on the host's loopback (-p 127.0.0.1:8501:8501).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"
CMD ["sh", "scripts/docker-start.sh"]
