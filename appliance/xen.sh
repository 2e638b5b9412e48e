#!/bin/bash
# appliance/xen.sh - build the Xen hypervisor from Debian's source package
# with CONFIG_SHADOW_PAGING=y (needed for PV live migration; Debian's binary
# lacks it).  The result is cached under $CACHE/xen-VERSION-shadow/ and this
# script prints the path of the uncompressed multiboot image `xen`.
#
# usage: appliance/xen.sh        (as root)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
need_root

out=$CACHE/xen-$XEN_DEB_VERSION-shadow
if [ -s "$out/xen" ] && [ -s "$out/xen.config" ] && grep -qx 'CONFIG_SHADOW_PAGING=y' "$out/xen.config"; then
	log "xen: cached $out/xen"
	printf '%s\n' "$out/xen"
	exit 0
fi

ensure_host_pkgs build-essential bison flex python3 dpkg-dev xz-utils

# deb-src for bookworm main, idempotently.  Only bookworm main's source is
# served by the mirror, not the security suite's.
src_list=/etc/apt/sources.list.d/xenrack-src.sources
mirror=${XENRACK_DEBIAN_MIRROR:-http://deb.debian.org/debian}
want="# Added by xenrack appliance/xen.sh: source of Xen for the shadow-paging build.
Types: deb-src
URIs: $mirror
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
if [ ! -f "$src_list" ] || [ "$(cat "$src_list")" != "$want" ]; then
	log "writing $src_list"
	printf '%s\n' "$want" >"$src_list"
	_APT_UPDATED=
	apt_update_once
fi

# Source package, downloaded once into $CACHE/src.
srcdir=$CACHE/src
dsc=$srcdir/xen_${XEN_DEB_VERSION}.dsc
mkdir -p "$srcdir"
if [ ! -f "$dsc" ]; then
	if ! apt-cache showsrc xen 2>/dev/null | grep -qx "Version: $XEN_DEB_VERSION"; then
		apt_update_once
	fi
	apt-cache showsrc xen 2>/dev/null | grep -qx "Version: $XEN_DEB_VERSION" ||
		die "source package xen=$XEN_DEB_VERSION is not offered by $mirror (apt-cache showsrc xen)"
	log "downloading source xen=$XEN_DEB_VERSION"
	( cd "$srcdir" && apt-get source -d -qq -o APT::Sandbox::User=root "xen=$XEN_DEB_VERSION" ) >&2 2>&1 ||
		die "apt-get source -d xen=$XEN_DEB_VERSION failed"
fi

# Debian's hypervisor config, from the binary package of the same version.
hvdeb=$(fetch_deb "xen-hypervisor-$XEN_SERIES-amd64=$XEN_DEB_VERSION")

work=$CACHE/build/xen-$XEN_DEB_VERSION-shadow
rm -rf "$work"
mkdir -p "$work"
log "unpacking source into $work/src"
dpkg-source -x "$dsc" "$work/src" >"$work/dpkg-source.log" 2>&1 ||
	die "dpkg-source -x $dsc failed, see $work/dpkg-source.log"
dpkg-deb -x "$hvdeb" "$work/hvdeb"
cfg=$work/hvdeb/boot/xen-$XEN_SERIES-amd64.config
[ -f "$cfg" ] || die "$hvdeb has no boot/xen-$XEN_SERIES-amd64.config"

cp "$cfg" "$work/src/xen/.config"
sed -i -e '/^CONFIG_SHADOW_PAGING=/d' -e '/^# CONFIG_SHADOW_PAGING is not set/d' "$work/src/xen/.config"
echo 'CONFIG_SHADOW_PAGING=y' >>"$work/src/xen/.config"

# Same make variables as debian/rules uses for the hypervisor.
margs=(XEN_TARGET_ARCH=x86_64 XEN_COMPILE_ARCH=x86_64
       "EXTRA_CFLAGS_XEN_CORE=-ffile-prefix-map=$work/src=. -fdebug-prefix-map=$work/src=.")
unset CFLAGS CXXFLAGS CPPFLAGS LDFLAGS
export WGET=/bin/false GIT=/bin/false
log "configuring Xen (olddefconfig)"
make -C "$work/src/xen" "${margs[@]}" olddefconfig >"$work/build.log" 2>&1 ||
	die "make olddefconfig failed, see $work/build.log"
grep -qx 'CONFIG_SHADOW_PAGING=y' "$work/src/xen/.config" ||
	die "CONFIG_SHADOW_PAGING=y did not survive olddefconfig ($work/src/xen/.config)"
log "building Xen $XEN_DEB_VERSION with shadow paging (a few minutes), log $work/build.log"
t0=$(date +%s)
make -C "$work/src/xen" "${margs[@]}" -j"$(nproc)" >>"$work/build.log" 2>&1 ||
	die "Xen build failed, see $work/build.log"
log "xen built in $(( $(date +%s) - t0 )) s"

img=$work/src/xen/xen
[ -s "$img" ] || die "Xen build produced no $img"
file -b "$img" 2>/dev/null | grep -q ELF || head -c 4 "$img" | grep -q ELF ||
	die "$img is not an ELF image"
# The built symbols carry the shadow code: check, do not trust the config only.
grep -aq 'sh_page_fault' "$work/src/xen/xen-syms" 2>/dev/null ||
	nm "$work/src/xen/xen-syms" 2>/dev/null | grep -q 'sh_page_fault' ||
	die "built xen-syms has no shadow paging code (sh_page_fault missing)"

tmp=$out.tmp
rm -rf "$tmp"
mkdir -p "$tmp"
cp "$img" "$tmp/xen"
cp "$work/src/xen/.config" "$tmp/xen.config"
printf 'source=xen %s\nconfig=xen-hypervisor-%s-amd64 %s + CONFIG_SHADOW_PAGING=y\nbuild_seconds=%s\n' \
	"$XEN_DEB_VERSION" "$XEN_SERIES" "$XEN_DEB_VERSION" "$(( $(date +%s) - t0 ))" >"$tmp/BUILDINFO"
rm -rf "$out"
mv "$tmp" "$out"
rm -rf "$work"
log "xen: $out/xen"
printf '%s\n' "$out/xen"
