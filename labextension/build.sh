#!/usr/bin/env bash
# Rebuild the labkit-run-all JupyterLab extension from scratch.
# Output: ../labkit/app/labextension/labkit-run-all/ (package.json + static/), the folder
# `labkit lab` passes to JupyterLab as --LabApp.extra_labextensions_path.
# Needs Node >= 20.19 and npm; versions are pinned in package.json/package-lock.json
# (@jupyter/builder 1.3.0, @jupyterlab/core-meta 4.6.6 = JupyterLab 4.6.6's core metadata).
set -euo pipefail
cd "$(dirname "$0")"
rm -rf node_modules ../labkit/app/labextension/labkit-run-all
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund
else
  npm install --no-audit --no-fund
fi
npm run build
du -sh ../labkit/app/labextension/labkit-run-all
