#!/bin/bash
# appliance/build.sh - build the xenrack node image from Debian packages.
#
# usage: appliance/build.sh [-o OUTDIR] [-b BINDIR]     (as root)
#   -o OUTDIR  where xen, vmlinuz, initrd.img, guest-initrd.img and
#              manifest.txt go (default: build/appliance of this clone)
#   -b BINDIR  where clusterd, clusterctl (required) and xenrack-enrol (optional)
#              are (default: build of this clone)
#
# Downloads and the Xen build are cached under /var/cache/xenrack (override
# with XENRACK_CACHE).  Each output is rebuilt only when its inputs changed.
# See appliance/README.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
. "$here/lib.sh"

out=$top/build/appliance
bindir=$top/build
while getopts o:b:h opt; do
	case $opt in
	o) out=$OPTARG ;;
	b) bindir=$OPTARG ;;
	h) sed -n '2,13s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) die "usage: $0 [-o OUTDIR] [-b BINDIR]" ;;
	esac
done
need_root
for f in clusterd clusterctl xenrack-diskbench; do
	[ -x "$bindir/$f" ] || die "$bindir/$f missing: run make first"
done
mkdir -p "$out" "$CACHE"
out=$(cd "$out" && pwd)
ensure_host_pkgs kmod cpio gzip binutils
t_start=$(date +%s)

# install_if_changed SRC DST: copy unless identical, so make-style users
# see unchanged timestamps on unchanged outputs.
install_if_changed() {
	if ! cmp -s "$1" "$2"; then
		cp "$1" "$2.tmp" && mv -f "$2.tmp" "$2"
		log "wrote $2"
	fi
}

# ---------------------------------------------------------------- Xen
xen_img=$("$here/xen.sh")
install_if_changed "$xen_img" "$out/xen"

# ---------------------------------------------------------------- kernel
# linux-image-amd64 is a metapackage; take the image package it names.
kmeta_ver=$(cand_version linux-image-amd64)
kpkg=${XENRACK_KERNEL_PKG:-$(apt-cache show "linux-image-amd64=$kmeta_ver" |
	sed -n 's/^Depends: .*\(linux-image-[0-9][^ ,]*-amd64\).*/\1/p' | head -1)}
[ -n "$kpkg" ] || die "cannot tell which kernel package linux-image-amd64=$kmeta_ver depends on"
kdeb=$(fetch_deb "$kpkg")
kdeb_ver=$(deb_version "$kdeb")
kroot=$CACHE/kernel-$kpkg-$kdeb_ver
if [ ! -f "$kroot/.done" ]; then
	log "unpacking $kpkg $kdeb_ver"
	rm -rf "$kroot"
	mkdir -p "$kroot"
	dpkg-deb -x "$kdeb" "$kroot"
	touch "$kroot/.done"
fi
kver=$(ls "$kroot/lib/modules")
[ -n "$kver" ] && [ -f "$kroot/boot/vmlinuz-$kver" ] || die "$kdeb: no vmlinuz or modules"
# The packaged modules have no modules.dep: make one for --show-depends.
[ -f "$kroot/lib/modules/$kver/modules.dep" ] || depmod -b "$kroot" "$kver"
install_if_changed "$kroot/boot/vmlinuz-$kver" "$out/vmlinuz"

# add_modules ROOT LISTFILE: copy the listed modules and their dependencies
# from the kernel package into ROOT and run depmod there.
add_modules() {
	local root=$1 list=$2 m dep rel
	local mdir=$kroot/lib/modules/$kver
	mkdir -p "$root/lib/modules/$kver"
	while read -r m; do
		case $m in ''|'#'*) continue ;; esac
		grep -qE "/${m//[-_]/[-_]}\.ko" "$mdir/modules.builtin" && continue
		dep=$(modprobe -d "$kroot" -S "$kver" --show-depends "$m" 2>&1) ||
			die "module $m (listed in $list) is not in $kpkg: $dep"
		while read -r _ path _; do
			case $path in "$kroot"/*) ;; *) continue ;; esac
			rel=${path#"$kroot"/}
			mkdir -p "$root/$(dirname "$rel")"
			cp -n "$path" "$root/$rel"
		done < <(printf '%s\n' "$dep" | grep '^insmod ')
	done <"$list"
	cp "$mdir/modules.builtin" "$mdir/modules.builtin.modinfo" "$mdir/modules.order" \
		"$root/lib/modules/$kver/"
	depmod -b "$root" "$kver"
}

# ---------------------------------------------------------------- debs
# resolve_pkgs LISTFILE: print "pkg deb-path [path...]" lines, downloading
# as needed.  A list line "pkg[=ver] PATH..." takes only those files.
resolve_pkgs() {
	local spec rest specs=() rests=() names=() p v i
	local -A cand=()
	while read -r spec rest; do
		case $spec in ''|'#'*) continue ;; esac
		spec=${spec//@XEN@/$XEN_DEB_VERSION}
		specs+=("$spec")
		rests+=("${rest%%#*}")
		[ "$spec" = "${spec%%=*}" ] && names+=("$spec")
	done <"$1"
	if [ ${#names[@]} -gt 0 ]; then
		while read -r p v; do cand[$p]=$v; done < <(cand_versions "${names[@]}")
	fi
	for i in "${!specs[@]}"; do
		spec=${specs[$i]}
		p=${spec%%=*}
		[ "$spec" = "$p" ] && spec=$p=${cand[$p]}
		printf '%s %s %s\n' "$p" "$(fetch_deb "$spec")" "${rests[$i]}"
	done
}

# new_root DIR: an empty merged-/usr tree like Debian's.
new_root() {
	rm -rf "$1"
	mkdir -p "$1"/usr/{bin,sbin,lib,lib64} "$1"/{dev,proc,sys,run/lock,tmp,etc,root,mnt,var/log,var/lib}
	ln -s ../run "$1/var/run"
	ln -s ../run/lock "$1/var/lock"
	ln -s usr/bin "$1/bin"
	ln -s usr/sbin "$1/sbin"
	ln -s usr/lib "$1/lib"
	ln -s usr/lib64 "$1/lib64"
	chmod 1777 "$1/tmp"
}

# unpack_deb DEB ROOT [PATH...]: unpack keeping the merged-/usr symlinks,
# skipping docs; with PATHs only those files.
unpack_deb() {
	local deb=$1 root=$2
	shift 2
	dpkg-deb --fsys-tarfile "$deb" |
		tar -x --keep-directory-symlink -C "$root" \
			--exclude='./usr/share/doc/*' --exclude='./usr/share/man/*' \
			--exclude='./usr/share/info/*' --exclude='./usr/share/locale/*' \
			--exclude='./usr/share/lintian/*' "${@/#/.}" ||
		die "unpacking $deb ${*:-} failed"
}

# busybox_links ROOT: link every busybox applet that no package provides.
busybox_links() {
	local root=$1 p
	for p in $("$root/bin/busybox" --list-full); do
		[ -e "$root/$p" ] || [ -L "$root/$p" ] && continue
		mkdir -p "$root/$(dirname "$p")"
		ln -s /bin/busybox "$root/$p"
	done
}

# Libraries loaded only with dlopen, which no NEEDED entry names: libgcc_s
# (glibc, for pthread_cancel) and NSS's crypto modules (corosync-qdevice's
# "Can't init nss: Failure to load dynamic library" without them).
DLOPENED="libgcc_s.so.1 libsoftokn3.so libfreeblpriv3.so libfreebl3.so libnssdbm3.so"

# prune_libs ROOT: delete the shared libraries in usr/lib/x86_64-linux-gnu
# that no program (and no dlopen'd plugin or DLOPENED library) needs,
# directly or through other libraries.
prune_libs() {
	local root=$1 f lib n
	local ld=$root/usr/lib/x86_64-linux-gnu
	local -A need=()
	local queue=()
	while IFS= read -r -d '' f; do
		[ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] && queue+=("$f")
	done < <(find "$root" \( -path "$ld" -prune -o -path "$root/usr/lib/modules" -prune \) -o \
		-type f -perm -u+x -print0)
	for lib in $DLOPENED; do queue+=("$ld/$lib"); done
	queue+=("$ld"/kronosnet/*.so "$ld"/ossl-modules/*.so "$ld"/sasl2/*.so*)
	while [ ${#queue[@]} -gt 0 ]; do
		f=${queue[0]}
		queue=("${queue[@]:1}")
		[ -e "$f" ] || continue
		for lib in $(readelf -d "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			[ -n "${need[$lib]:-}" ] && continue
			need[$lib]=1
			[ -e "$ld/$lib" ] && queue+=("$(readlink -f "$ld/$lib")")
		done
	done
	local -A keep=()
	for lib in "${!need[@]}"; do
		[ -e "$ld/$lib" ] && keep[$(readlink -f "$ld/$lib")]=1
	done
	for lib in $DLOPENED; do
		[ -e "$ld/$lib" ] && keep[$(readlink -f "$ld/$lib")]=1
	done
	n=0
	for f in "$ld"/lib*.so*; do
		[ -L "$f" ] && continue
		[ -n "${keep[$f]:-}" ] && continue
		rm -f "$f"
		n=$((n + 1))
	done
	find "$ld" -maxdepth 1 -xtype l -delete
	log "pruned $n unused libraries"
}

# check_closure ROOT: every ELF file's NEEDED libraries must be in ROOT.
check_closure() {
	local root=$1 f lib d found rp missing=0
	local libdirs=(lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu lib64 usr/lib lib)
	while IFS= read -r -d '' f; do
		[ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
		rp=$(readelf -d "$f" 2>/dev/null | sed -n 's/.*(R\(UN\)\{0,1\}PATH).*\[\(.*\)\]/\2/p' |
			sed "s|\$ORIGIN|$(dirname "/${f#"$root"/}")|g" | tr ':' ' ')
		for lib in $(readelf -d "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			found=
			for d in "${libdirs[@]}" $rp; do
				[ -e "$root/${d#/}/$lib" ] && { found=1; break; }
			done
			if [ -z "$found" ]; then
				printf 'appliance: %s needs %s, not in the image\n' "${f#"$root"}" "$lib" >&2
				missing=1
			fi
		done
	done < <(find "$root" -type f \( -perm -u+x -o -name '*.so*' \) -print0)
	[ "$missing" = 0 ] || die "library closure incomplete in $root: add the packages providing the sonames above"
}

# make_cpio ROOT FILE: gzip'd newc archive owned by root.
make_cpio() {
	( cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet ) |
		gzip -9n >"$2.tmp"
	mv -f "$2.tmp" "$2"
}

# fingerprint WORD...: sha256 over words and files (files by content).
fingerprint() {
	local w
	for w in "$@"; do
		if [ -f "$w" ]; then printf '%s %s\n' "$w" "$(sha256sum <"$w" | cut -d' ' -f1)"
		else printf '%s\n' "$w"; fi
	done | sha256sum | cut -d' ' -f1
}

# ---------------------------------------------------------------- Dom0
dom0_pkgs=$(resolve_pkgs "$here/dom0.packages")
enrol=
for f in xenrack-enrol enrol; do [ -x "$bindir/$f" ] && { enrol=$bindir/$f; break; }; done
fp=$(fingerprint "$dom0_pkgs" "$kdeb" "$here/build.sh" "$here/lib.sh" "$here/dom0.packages" \
	"$here/dom0.modules" "$here/init" "$here/udhcpc.script" "$here/inittab" "$here/lab-agent" \
	"$here/drbd-split-brain" "$here/drbd-fence-peer" "$bindir/clusterd" "$bindir/clusterctl" "$bindir/xenrack-diskbench" ${enrol:+"$enrol"} ${APPLIANCE_EXTRA:-})
if [ -f "$out/initrd.img" ] && [ "$(cat "$out/.initrd.fp" 2>/dev/null)" = "$fp" ]; then
	log "initrd.img up to date"
else
	t0=$(date +%s)
	root=$CACHE/work/dom0
	log "assembling the Dom0 initramfs in $root"
	new_root "$root"
	while read -r _ deb paths; do unpack_deb "$deb" "$root" $paths; done <<<"$dom0_pkgs"

	# Prune what a diskless Dom0 never runs.
	rm -rf "$root"/usr/share/{doc,man,info,locale,lintian,bug,bash-completion,i18n,zoneinfo} \
		"$root"/usr/share/{common-licenses,gcc,gdb,python3,xen-utils-common,corosync,menu,debconf} \
		"$root"/usr/lib/x86_64-linux-gnu/gconv "$root"/usr/lib/x86_64-linux-gnu/engines-3 \
		"$root"/usr/lib/x86_64-linux-gnu/tc/q_atm.so \
		"$root"/usr/lib/systemd "$root"/lib/systemd "$root"/usr/lib/udev "$root"/lib/udev \
		"$root"/usr/lib/tmpfiles.d "$root"/usr/lib/sysusers.d "$root"/etc/systemd \
		"$root"/etc/init.d "$root"/etc/default "$root"/etc/logrotate.d "$root"/etc/rc?.d \
		"$root"/etc/cron.* "$root"/etc/bash_completion.d "$root"/etc/logcheck \
		"$root/usr/lib/xen-$XEN_SERIES/boot" "$root/usr/lib/xen-$XEN_SERIES/lib/python" "$root/usr/lib/ocf" \
		"$root/usr/lib/xen-$XEN_SERIES/lib/x86_64-linux-gnu/xenfsimage"
	for f in oxenstored pygrub xenpvnetboot xen-kdd xenpaging xen-access xenctx xentrace \
		xen-mfndump xen-vmtrace xencov test-cpu-policy test-paging-mempool test-resource \
		test-tsx test-xenstore flask-get-bool flask-getenforce flask-label-pci \
		flask-loadpolicy flask-set-bool flask-setenforce convert-legacy-stream verify-stream-v2; do
		rm -f "$root/usr/lib/xen-$XEN_SERIES/bin/$f"
	done
	rm -f "$root"/usr/bin/{xenalyze,xentrace_format,xencov_split,pygrub} "$root"/usr/sbin/gdbsx
	# iproute2 and e2fsprogs tools a node does not use (arpd alone needs libdb).
	rm -f "$root"/usr/sbin/{arpd,tc,rtmon,rtacct,dcb,devlink,tipc,vdpa,genl} \
		"$root"/usr/bin/{rdma,ctstat,lnstat,nstat,routel} \
		"$root"/usr/sbin/{debugfs,e2image,e2undo,e2scrub,e2scrub_all,e4crypt,e4defrag,filefrag,e2freefrag,mklost+found,e2mmpstatus}
	rm -rf "$root"/usr/lib/x86_64-linux-gnu/tc
	# Debian's wrapper picks the tools matching the running hypervisor via
	# xen-dir; the image has one Xen, so link the commands straight to it.
	for f in "$root"/usr/sbin/* "$root"/usr/bin/*; do
		[ -L "$f" ] && [ "$(readlink "$f")" = ../lib/xen-common/bin/xen-utils-wrapper ] || continue
		rm -f "$f"
		[ -x "$root/usr/lib/xen-$XEN_SERIES/bin/${f##*/}" ] &&
			ln -s "../lib/xen-$XEN_SERIES/bin/${f##*/}" "$f"
	done
	# knet plugins: keep the OpenSSL crypto and the zlib/lz4/zstd compression.
	if [ -d "$root/usr/lib/x86_64-linux-gnu/kronosnet" ]; then
		find "$root/usr/lib/x86_64-linux-gnu/kronosnet" -name '*.so' \
			! -name 'crypto_openssl.so' ! -name 'compress_zlib.so' \
			! -name 'compress_lz4.so' ! -name 'compress_zstd.so' -delete
	fi

	# corosync starts only with the configuration enrolment writes.
	rm -f "$root/etc/corosync/corosync.conf"

	busybox_links "$root"
	add_modules "$root" "$here/dom0.modules"

	# Our files.
	install -m 0755 "$here/init" "$root/init"
	install -m 0644 "$here/inittab" "$root/etc/inittab"
	install -D -m 0755 "$here/udhcpc.script" "$root/usr/share/xenrack/udhcpc.script"
	install -m 0755 "$bindir/clusterd" "$root/usr/sbin/clusterd"
	install -D -m 0755 "$here/lab-agent" "$root/usr/libexec/xenrack/lab-agent"
	install -D -m 0755 "$here/drbd-split-brain" "$root/usr/libexec/xenrack/drbd-split-brain"
	install -D -m 0755 "$here/drbd-fence-peer" "$root/usr/libexec/xenrack/drbd-fence-peer"
	install -D -m 0755 "$bindir/xenrack-diskbench" "$root/usr/libexec/xenrack/diskbench"
	# drbdadm (and the kernel's helper calls through it) read clusterd's
	# resource files on the data disk (storage/storage.h).
	printf '%s\n' '# xenrack: resources are written by clusterd (storage/).' \
		'global { usage-count no; }' \
		'include "/var/lib/xenrack/storage/*.res";' >"$root/etc/drbd.conf"
	rm -rf "$root/etc/drbd.d"
	# DRBD must copy what it sends: with sendpage, TCP holds references to
	# the guest's granted pages, and a domain destroyed after its peer was
	# cut off stays a zombie until the dead connection's queue is freed.
	mkdir -p "$root/etc/modprobe.d"
	echo 'options drbd disable_sendpage=1' >"$root/etc/modprobe.d/drbd.conf"
	install -m 0755 "$bindir/clusterctl" "$root/usr/bin/clusterctl"
	[ -n "$enrol" ] && install -D -m 0755 "$enrol" "$root/usr/libexec/xenrack/enrol"
	# APPLIANCE_EXTRA="SRC:DEST ...": more files for the image (e.g. tests).
	for x in ${APPLIANCE_EXTRA:-}; do
		[ -e "${x%%:*}" ] || die "APPLIANCE_EXTRA: ${x%%:*} missing"
		install -D -m 0755 "${x%%:*}" "$root/${x#*:}"
	done
	mkdir -p "$root"/var/lib/{xen,xenstored,drbd,xenrack} "$root"/var/log/xen \
		"$root"/etc/corosync
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
		>"$root/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
	printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost\n' >"$root/etc/hosts"
	printf 'PRETTY_NAME="xenrack node (Debian 12 based)"\nID=xenrack\nID_LIKE=debian\n' \
		>"$root/etc/os-release"
	printf 'export PATH=/usr/sbin:/usr/bin:/usr/lib/xen-%s/bin\nexport PS1='"'"'\\h:\\w\\$ '"'"'\n' \
		"$XEN_SERIES" >"$root/etc/profile"

	prune_libs "$root"
	check_closure "$root"
	make_cpio "$root" "$out/initrd.img"
	printf '%s\n' "$fp" >"$out/.initrd.fp"
	printf '%s\n' "$dom0_pkgs" >"$out/.initrd.pkgs"
	log "initrd.img: $(du -k "$out/initrd.img" | cut -f1) KiB gz, $(du -sk "$root" | cut -f1) KiB unpacked, $(( $(date +%s) - t0 )) s"
fi

# ---------------------------------------------------------------- guest
bb_deb=$(fetch_deb busybox-static)
gfp=$(fingerprint "$bb_deb" "$kdeb" "$here/build.sh" "$here/guest-init" "$here/guest.modules")
if [ -f "$out/guest-initrd.img" ] && [ "$(cat "$out/.guest.fp" 2>/dev/null)" = "$gfp" ]; then
	log "guest-initrd.img up to date"
else
	groot=$CACHE/work/guest
	new_root "$groot"
	unpack_deb "$bb_deb" "$groot"
	rm -rf "$groot/usr/share"
	busybox_links "$groot"
	add_modules "$groot" "$here/guest.modules"
	install -m 0755 "$here/guest-init" "$groot/init"
	printf '%s\n' '::askfirst:-/bin/sh' '::ctrlaltdel:/sbin/reboot' '::shutdown:/bin/sync' \
		>"$groot/etc/inittab"
	make_cpio "$groot" "$out/guest-initrd.img"
	printf '%s\n' "$gfp" >"$out/.guest.fp"
	log "guest-initrd.img: $(du -k "$out/guest-initrd.img" | cut -f1) KiB"
fi

# ---------------------------------------------------------------- manifest
{
	echo "# xenrack node image, built $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname)"
	echo "xen-source xen $XEN_DEB_VERSION + CONFIG_SHADOW_PAGING=y"
	sed 's/^/xen-build /' "$(dirname "$xen_img")/BUILDINFO"
	echo "kernel $kpkg $kdeb_ver ($kver)"
	echo "dom0-modules $(grep -v '^#' "$here/dom0.modules" | tr '\n' ' ')"
	while read -r pkg deb paths; do
		echo "package $pkg $(deb_version "$deb")${paths:+ (only $paths)}"
	done <"$out/.initrd.pkgs"
	echo "guest-package busybox-static $(deb_version "$bb_deb")"
	echo "clusterd sha256 $(sha256sum <"$bindir/clusterd" | cut -d' ' -f1)"
	echo "clusterctl sha256 $(sha256sum <"$bindir/clusterctl" | cut -d' ' -f1)"
	[ -n "$enrol" ] && echo "enrol sha256 $(sha256sum <"$enrol" | cut -d' ' -f1)"
	for f in xen vmlinuz initrd.img guest-initrd.img; do
		echo "output $f $(stat -c %s "$out/$f") bytes sha256 $(sha256sum <"$out/$f" | cut -d' ' -f1)"
	done
} >"$out/manifest.txt.tmp"
# Keep the old manifest (and its mtime) when nothing but the date changed.
if ! cmp -s <(sed 1d "$out/manifest.txt.tmp") <(sed 1d "$out/manifest.txt" 2>/dev/null); then
	mv -f "$out/manifest.txt.tmp" "$out/manifest.txt"
else
	rm -f "$out/manifest.txt.tmp"
fi
log "done in $(( $(date +%s) - t_start )) s: $out"
ls -l "$out" >&2
