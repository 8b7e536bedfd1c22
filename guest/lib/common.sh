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

# The QEMUs the lab carries as anchors: QEMU 10 from Debian's bookworm-backports, installed on
# the host like any Debian package (the lab's image copies it in), and Debian 12's own QEMU 7.2,
# unpacked from its .debs (one version of a package can be installed at a time). The lab itself
# runs on neither: lab_emulator_tree's QEMU 11.1 (lab/README.md, "Stability").
LAB_QEMU_VERSION_PREFIX="1:10."
QEMU_ANCHOR_SUITE=bookworm

# ensure_backports_qemu: qemu-system-x86 10.x from bookworm-backports on the host.
ensure_backports_qemu() {
    local version
    version=$(dpkg-query -W -f '${Version}' qemu-system-x86 2>/dev/null || true)
    [[ $version == "$LAB_QEMU_VERSION_PREFIX"* ]] && return 0
    if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
        log "adding Debian's bookworm-backports suite (the lab's QEMU 10 anchor)"
        cat >/etc/apt/sources.list.d/hvmm-bookworm-backports.sources <<'SOURCES'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
    fi
    log "installing qemu-system-x86 from bookworm-backports (was: ${version:-not installed})"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        -t bookworm-backports qemu-system-x86 qemu-system-data >/dev/null ||
        die "cannot install qemu-system-x86 from bookworm-backports"
}

# The lab's own emulator: QEMU from Debian's trixie-backports (11.1 on 2026-12-03). With two lab
# CPUs it is the one that held under load (lab/README.md, "Stability"); Debian 12's 7.2 stalls and
# bookworm-backports' 10.0.2 lost nested guests. Its binaries need trixie's C library, newer than
# this host's, so it gets a root of its own (mmdebstrap) and runs through that root's loader.
LAB_EMULATOR_SUITE=trixie
LAB_EMULATOR_PACKAGES=(qemu-system-x86 qemu-system-common qemu-system-data seabios)

# lab_emulator_tree: that root, built once under $HVMM_CACHE/qemu-lab with the command
# `qemu-system-x86_64` at its top; prints the directory.
lab_emulator_tree() {
    local dir="$HVMM_CACHE/qemu-lab/$LAB_EMULATOR_SUITE-backports" tmp p includes=() version
    if [[ ! -f $dir/.done ]]; then
        ensure_packages mmdebstrap
        for p in "${LAB_EMULATOR_PACKAGES[@]}"; do includes+=("--include=$p/$LAB_EMULATOR_SUITE-backports"); done
        log "installing QEMU from Debian's $LAB_EMULATOR_SUITE-backports as the lab's emulator, in a root of its own"
        mkdir -p "$HVMM_CACHE/qemu-lab"
        tmp=$(mktemp -d "$HVMM_CACHE/qemu-lab/.fetch.XXXXXX")
        # Check-Valid-Until off: Debian's mirror here may serve a Release file past its date; the
        # archive's signatures are still checked.
        mmdebstrap --variant=essential "${includes[@]}" --aptopt='APT::Install-Recommends "false"' \
            --aptopt='Acquire::Check-Valid-Until "false"' \
            --keyring=/usr/share/keyrings/debian-archive-keyring.gpg "$LAB_EMULATOR_SUITE" "$tmp/root" \
            "deb http://deb.debian.org/debian $LAB_EMULATOR_SUITE main" \
            "deb http://deb.debian.org/debian $LAB_EMULATOR_SUITE-backports main" >"$tmp.log" 2>&1 ||
            { tail -n 5 "$tmp.log" >&2; rm -rf "$tmp" "$tmp.log"; die "mmdebstrap of the lab's QEMU failed"; }
        rm -f "$tmp.log"
        cat >"$tmp/qemu-system-x86_64" <<'WRAPPER'
#!/bin/sh
# The lab's QEMU, run through its own root's loader and libraries (trixie's C library).
root=$(cd "$(dirname "$0")" && pwd)/root
lib=$root/usr/lib/x86_64-linux-gnu
export QEMU_MODULE_DIR=$lib/qemu
exec "$lib/ld-linux-x86-64.so.2" --library-path "$lib:$root/lib/x86_64-linux-gnu" \
    "$root/usr/bin/qemu-system-x86_64" -L "$root/usr/share/qemu" -L "$root/usr/share/seabios" "$@"
WRAPPER
        chmod 755 "$tmp/qemu-system-x86_64"
        version=$("$tmp/qemu-system-x86_64" --version 2>/dev/null | head -n1) ||
            { rm -rf "$tmp"; die "the lab's QEMU does not run"; }
        echo "$version" >"$tmp/.version"
        rm -rf "$dir"
        mv "$tmp" "$dir"
        touch "$dir/.done"
    fi
    echo "$dir"
}

# anchor_qemu_tree: Debian 12's QEMU 7.2 (qemu-system-x86, qemu-system-data, qemu-system-common,
# seabios of the bookworm suite) unpacked once under $HVMM_CACHE/qemu-anchor; prints the directory.
anchor_qemu_tree() {
    ensure_apt_lists
    local versions dir tmp p
    # qemu-system-common has the TCG accelerator module (Debian builds it as one) the lab needs.
    versions=$(for p in qemu-system-x86 qemu-system-data qemu-system-common seabios; do
        apt-cache madison "$p" | awk -v s="$QEMU_ANCHOR_SUITE/" '$0 ~ s"main" && $0 !~ /security|backports/ {print $3; exit}'
    done | tr '\n' ' ')
    [[ $versions == *" "*" "*" "* ]] || die "cannot find Debian's $QEMU_ANCHOR_SUITE QEMU packages (apt-cache madison)"
    dir="$HVMM_CACHE/qemu-anchor/$(echo "$versions" | sha256sum | cut -c1-12)"
    if [[ ! -f $dir/.done ]]; then
        log "fetching Debian 12's QEMU ($versions) for the lab's anchor"
        mkdir -p "$HVMM_CACHE/qemu-anchor"
        tmp=$(mktemp -d "$HVMM_CACHE/qemu-anchor/.fetch.XXXXXX")
        (cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root \
            "qemu-system-x86/$QEMU_ANCHOR_SUITE" "qemu-system-data/$QEMU_ANCHOR_SUITE" \
            "qemu-system-common/$QEMU_ANCHOR_SUITE" "seabios/$QEMU_ANCHOR_SUITE" >/dev/null) || { rm -rf "$tmp"; die "apt-get download of QEMU 7.2 failed"; }
        rm -rf "$dir"
        for p in "$tmp"/*.deb; do dpkg -x "$p" "$dir" || { rm -rf "$tmp"; die "dpkg -x $p failed"; }; done
        rm -rf "$tmp"
        echo "$versions" >"$dir/.versions"
        touch "$dir/.done"
    fi
    echo "$dir"
}
