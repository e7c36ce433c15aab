#!/bin/sh
# The container's entry point. A workspace baked into the image (BAKE=1) is copied into the /data volume on the
# first start, so that edits to its explanations persist there; without one, the dashboard's first launch
# builds the default workspace into the volume.
set -e
if [ -d /app/baked/workspaces ] && [ ! -d "$AUTOINTERP_WORKSPACES" ]; then
  mkdir -p "$AUTOINTERP_WORKSPACES" "$AUTOINTERP_CACHE"
  cp -r /app/baked/workspaces/. "$AUTOINTERP_WORKSPACES"/
  cp -r /app/baked/cache/. "$AUTOINTERP_CACHE"/
fi
# 0.0.0.0 inside the container: see the Dockerfile.
exec python3 -m streamlit run app.py --server.address 0.0.0.0 --server.port 8501 "$@"
