# Helpers shared by guest/build-image.sh and lab/build-lab.sh: Debian's stock kernel, copying
# dynamic binaries with their libraries, module lookup, cpio packing and input-hash caching.
# Sourced, not run; callers have `set -euo pipefail`.

HVMM_CACHE=${HVMM_CACHE:-${HOME:-/root}/.cache/hvmm}

log() { echo "$(basename "$0"): $*" >&2; }
die() { echo "$(basename "$0"): $*" >&2; exit 1; }

# apt-cache and apt-get download need package lists; a fresh machine has none.
ensure_apt_lists() {
    if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
        log "no apt package lists yet: running apt-get update"
        apt-get update -qq >/dev/null
    fi
}

# Installs the Debian packages named that are not installed yet (we are root on these machines).
ensure_packages() {
    local missing=() p installed
    # One dpkg-query for all of them: this runs on every (cached) build.
    installed=$(dpkg-query -W -f '${Package} ${db:Status-Status}\n' "$@" 2>/dev/null || true)
    for p in "$@"; do
        grep -qx "$p installed" <<<"$installed" || missing+=("$p")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    log "installing ${missing[*]}"
    ensure_apt_lists
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null ||
        { apt-get update -qq >/dev/null &&
          DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; }
}

# The versioned kernel package the meta package points at, e.g. linux-image-6.1.0-56-amd64:
# `apt-get download linux-image-amd64` would fetch only the meta package.
kernel_package() {
    ensure_apt_lists
    # apt-cache takes about a second; its answer changes only when the package lists do, so it
    # is remembered against their names, sizes and times.
    local lists memo="$HVMM_CACHE/kernel/.resolved" pkg
    lists=$(stat -c '%n %s %Y' /var/lib/apt/lists/*_Packages* 2>/dev/null | sha256sum | cut -d' ' -f1)
    if [[ -f $memo && $(head -n1 "$memo") == "$lists" ]]; then
        sed -n 2p "$memo"
        return 0
    fi
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
          awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
    [[ -n $pkg ]] || die "cannot resolve the kernel package linux-image-amd64 depends on"
    mkdir -p "$(dirname "$memo")"
    printf '%s\n%s\n' "$lists" "$pkg" >"$memo"
    echo "$pkg"
}

# Downloads and unpacks the kernel package once; prints the directory holding boot/ and lib/.
kernel_tree() {
    local pkg=$1 dir="$HVMM_CACHE/kernel/$1"
    if [[ ! -f $dir/.done ]]; then
        log "fetching $pkg"
        local tmp
        tmp=$(mktemp -d "$HVMM_CACHE/kernel/.fetch.XXXXXX")
        (cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root "$pkg" >/dev/null) || { rm -rf "$tmp"; die "apt-get download $pkg failed"; }
        rm -rf "$dir"
        dpkg -x "$tmp"/"$pkg"_*.deb "$dir" || { rm -rf "$tmp"; die "dpkg -x of $pkg failed"; }
        rm -rf "$tmp"
        touch "$dir/.done"
    fi
    echo "$dir"
}

# kernel_version TREE: the release string, e.g. 6.1.0-56-amd64 (the modules directory's name).
kernel_version() { ls "$1/lib/modules" | head -n1; }

# copy_module ROOT TREE NAME: puts NAME.ko into ROOT/lib/modules/ (flat: /init insmods by name).
copy_module() {
    local root=$1 tree=$2 name=$3 kver file
    kver=$(kernel_version "$tree")
    file=$(find "$tree/lib/modules/$kver/kernel" -name "$name.ko" -o -name "$name.ko.xz" | head -n1)
    [[ -n $file ]] || die "module $name not found in $kver"
    mkdir -p "$root/lib/modules"
    case $file in
        *.xz) xz -dc "$file" >"$root/lib/modules/$name.ko" ;;
        *) cp "$file" "$root/lib/modules/$name.ko" ;;
    esac
}

# copy_binary ROOT BIN [DEST]: the binary (at DEST inside ROOT, default its own path) plus every
# library ldd lists and the dynamic loader, at their host paths.
copy_binary() {
    local root=$1 bin=$2 dest=${3:-$2} lib
    [[ -x $bin ]] || die "$bin is missing"
    mkdir -p "$root$(dirname "$dest")"
    cp -L "$bin" "$root$dest"
    for lib in $(ldd "$bin" 2>/dev/null | awk '/=>/ {print $3} /ld-linux/ {print $1}' | grep '^/' || true); do
        [[ -e $root$lib ]] && continue
        mkdir -p "$root$(dirname "$lib")"
        cp -L "$lib" "$root$lib"
    done
}

# busybox_root ROOT: an empty root with the static busybox and the usual mount points.
busybox_root() {
    local root=$1
    rm -rf "$root"
    mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,var,etc,root,lib/modules}
    cp /bin/busybox "$root/bin/busybox"
    # /init starts with #!/bin/sh; the rest of the applet links are made by /init itself.
    ln -s busybox "$root/bin/sh"
}

# pack_cpio ROOT OUT [gzip]: a newc archive of ROOT owned by root; gzip'd when asked.
pack_cpio() {
    local root=$1 out=$2 compress=${3:-}
    if [[ $compress == gzip ]]; then
        (cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio -o -0 -H newc -R 0:0 --quiet | gzip -6 -n) >"$out.tmp"
    else
        (cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio -o -0 -H newc -R 0:0 --quiet) >"$out.tmp"
    fi
    mv "$out.tmp" "$out"
}

# package_versions PKG...: one "name=version" line each (the cache key's view of the host).
package_versions() {
    dpkg-query -W -f '${Package}=${Version}\n' "$@" 2>/dev/null || true
}

# tree_digest DIR: content hash of every file under DIR (empty when DIR is missing).
tree_digest() {
    local dir=$1
    [[ -d $dir ]] || { echo none; return; }
    (cd "$dir" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum; find . -printf '%p %m\n' | LC_ALL=C sort) |
        sha256sum | cut -d' ' -f1
}

# is_fresh OUTDIR KEY: the outputs in OUTDIR were built from inputs with this KEY.
is_fresh() { [[ -f $1/.inputs && "$(cat "$1/.inputs")" == "$2" ]]; }

# parse_out_arg DEFAULT ARG...: the image builders' one option, `--out DIR`; sets OUT.
parse_out_arg() {
    OUT=$1
    shift
    while [[ $# -gt 0 ]]; do
        case $1 in
            --out) [[ $# -ge 2 ]] || out_usage; OUT=$2; shift 2 ;;
            --out=*) OUT=${1#--out=}; shift ;;
            -h|--help) out_usage ;;
            *) echo "$0: unknown argument $1" >&2; out_usage ;;
        esac
    done
}
out_usage() { echo "usage: $0 [--out DIR]" >&2; exit 2; }
