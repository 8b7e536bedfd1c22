# Helpers shared by scripts/test.sh and scripts/demo.sh. Sourced; callers use `set -euo pipefail`.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

say() { echo "==> $*" >&2; }

# Installs the Debian packages named that are missing; apt-get update first when the package
# lists are missing or an install fails on stale lists. Root on these machines; sudo otherwise.
install_packages() {
    local missing=() p installed sudo=
    [[ $(id -u) == 0 ]] || sudo=sudo
    installed=$(dpkg-query -W -f '${Package} ${db:Status-Status}\n' "$@" 2>/dev/null || true)
    for p in "$@"; do
        grep -qx "$p installed" <<<"$installed" || missing+=("$p")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    say "installing ${missing[*]}"
    if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then $sudo apt-get update -qq; fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
        { $sudo apt-get update -qq &&
          DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"; }
}

# Configures and builds hvmm in BUILD_DIR (all targets, or those named).
build_hvmm() {
    local build_dir=$1
    shift
    cmake -S "$REPO" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    if [[ $# -gt 0 ]]; then
        local target
        for target in "$@"; do cmake --build "$build_dir" -j"$(nproc)" --target "$target"; done
    else
        cmake --build "$build_dir" -j"$(nproc)"
    fi
}
