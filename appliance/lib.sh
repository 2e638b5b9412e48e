# appliance/lib.sh - helpers shared by the appliance build scripts.
# Sourced, not run.  Callers have `set -euo pipefail`.

# Xen version: the hypervisor source and the Xen tools/libraries are pinned
# to this Debian version (bookworm main).  See appliance/README.md.
XEN_DEB_VERSION=${XEN_DEB_VERSION:-4.17.5+72-g01140da4e8-1}
XEN_SERIES=4.17
CACHE=${XENRACK_CACHE:-/var/cache/xenrack}
DEBS=$CACHE/debs

log()  { printf 'appliance: %s\n' "$*" >&2; }
die()  { printf 'appliance: error: %s\n' "$*" >&2; exit 1; }

need_root() {
	[ "$(id -u)" = 0 ] || die "must run as root (apt-get, /var/cache/xenrack, root-owned image files)"
}

# apt_updated: run `apt-get update` at most once per build.
_APT_UPDATED=
apt_update_once() {
	[ -n "$_APT_UPDATED" ] && return 0
	log "apt-get update"
	apt-get update -qq >&2 || die "apt-get update failed"
	_APT_UPDATED=1
}

# ensure_host_pkgs PKG...: install the host packages that are missing.
ensure_host_pkgs() {
	local p missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing host packages: ${missing[*]}"
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; then
		apt_update_once
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
			die "apt-get install ${missing[*]} failed"
	fi
}

# cand_version PKG: the version apt would install (candidate), or die.
cand_version() {
	local v
	v=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}')
	if [ -z "$v" ] || [ "$v" = "(none)" ]; then
		apt_update_once
		v=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}')
	fi
	[ -n "$v" ] && [ "$v" != "(none)" ] || die "package $1: no candidate version (apt-get update? mirror?)"
	printf '%s\n' "$v"
}

# cand_versions PKG...: "PKG VERSION" lines for the apt candidates, with one
# apt-cache call (one per package is slow); dies if one has no candidate.
cand_versions() {
	local res
	res=$(apt-cache policy "$@" 2>/dev/null | awk '/^[^ ]+:$/ {p=substr($0, 1, length($0)-1)} /^  Candidate:/ {print p, $2}')
	if [ "$(printf '%s\n' "$res" | grep -vc ' (none)$')" -ne $# ]; then
		apt_update_once
		res=$(apt-cache policy "$@" 2>/dev/null | awk '/^[^ ]+:$/ {p=substr($0, 1, length($0)-1)} /^  Candidate:/ {print p, $2}')
	fi
	local p
	for p in "$@"; do
		printf '%s\n' "$res" | grep -q "^$p [^(]" || die "package $p: no candidate version (apt-get update? mirror?)"
	done
	printf '%s\n' "$res"
}

# fetch_deb PKG[=VERSION]: print the path of the cached .deb, downloading it
# into $DEBS if needed.  Without =VERSION the apt candidate is taken.
fetch_deb() {
	local spec=$1 pkg ver arch f
	pkg=${spec%%=*}
	if [ "$spec" != "$pkg" ]; then ver=${spec#*=}; else ver=$(cand_version "$pkg"); fi
	mkdir -p "$DEBS"
	# apt-get download names files PKG_VER_ARCH.deb with ':' as %3a.
	for f in "$DEBS/${pkg}_${ver//:/%3a}_"*.deb; do
		[ -f "$f" ] && { printf '%s\n' "$f"; return 0; }
	done
	log "downloading $pkg=$ver"
	( cd "$DEBS" && apt-get download -qq -o APT::Sandbox::User=root "$pkg=$ver" >&2 ) ||
		{ apt_update_once; ( cd "$DEBS" && apt-get download -qq -o APT::Sandbox::User=root "$pkg=$ver" >&2 ); } ||
		die "apt-get download $pkg=$ver failed"
	for f in "$DEBS/${pkg}_${ver//:/%3a}_"*.deb; do
		[ -f "$f" ] && { printf '%s\n' "$f"; return 0; }
	done
	die "downloaded $pkg=$ver but cannot find its .deb in $DEBS"
}

# deb_version FILE: version of a .deb fetched by fetch_deb, from its name
# (PKG_VERSION_ARCH.deb, ':' written as %3a), without running dpkg-deb.
deb_version() {
	local b=${1##*/}
	b=${b%_*.deb}
	b=${b#*_}
	printf '%s\n' "${b//%3a/:}"
}

# sha_of FILE...: sha256 of the concatenated file contents.
sha_of() { cat "$@" | sha256sum | cut -d' ' -f1; }
