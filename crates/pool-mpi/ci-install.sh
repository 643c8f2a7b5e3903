#!/usr/bin/env bash
# Installs what `cfutures-mpi --features mpi` needs on Debian 12, only if it is missing:
# Open MPI (runtime and headers) and libclang for bindgen (without libclang-common-14-dev
# bindgen fails on `stddef.h`). Idempotent; needs root (as .ci/run has).
set -euo pipefail
packages=(openmpi-bin libopenmpi-dev libclang1-14 libclang-common-14-dev)
missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "ci-install: MPI packages present"
    exit 0
fi
echo "ci-install: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
mpirun --version | head -1
