#!/bin/sh
# The container's entry point. A workspace baked into the image (BAKE=1) is copied into the /data volume on the
# first start, so that edits to its explanations persist there; without one, the dashboard's first launch
# builds the default workspace into the volume.
set -e

# place SRC DEST: copy under a scratch name, then rename. A start stopped mid-copy (docker stop, a full disk)
# leaves only the scratch folder, which the next start replaces; a half-copied model or workspace under its
# real name would be taken for a whole one and never copied again.
place() {
  if [ -e "$2" ]; then return 0; fi
  mkdir -p "$(dirname "$2")"
  rm -rf "$2.part"
  cp -r "$1" "$2.part"
  mv "$2.part" "$2"
}

if [ -d /app/baked/workspaces ] && [ ! -d "$AUTOINTERP_WORKSPACES" ]; then
  for src in /app/baked/cache/*/*; do  # e.g. models/<converted model>; entries already in the volume are kept
    [ -e "$src" ] || continue
    place "$src" "$AUTOINTERP_CACHE/${src#/app/baked/cache/}"
  done
  place /app/baked/workspaces "$AUTOINTERP_WORKSPACES"  # last: its presence means the copy is complete
fi
# 0.0.0.0 inside the container: see the Dockerfile.
exec python3 -m streamlit run app.py --server.address 0.0.0.0 --server.port 8501 "$@"
