# shellcheck shell=bash
#
# A signed local apt repository for tests, built from scratch with gpg, dpkg-deb and
# apt-ftparchive.  Source this file; every function takes explicit directories, touches
# nothing outside them, needs no network and fails loudly (returns non-zero, messages on
# stderr), so it is safe under `set -e`.
#
#   fpr=$(aptrepo_key "$tmp/gnupg" "$tmp/key.gpg")
#   aptrepo_pkg "$tmp/repo/pool/main/hello_1.0_all.deb" hello 1.0 all "$tmp/stage" /etc/hello.conf
#   aptrepo_publish "$tmp/repo" stable main "$tmp/gnupg"
#
# Then "deb [signed-by=$tmp/key.gpg] file:$tmp/repo stable main" is a source apt accepts.

# _aptrepo_gpg GNUPGHOME_DIR ARGS...: gpg without a terminal, without a passphrase.
_aptrepo_gpg() {
	local home=$1
	shift
	gpg --homedir "$home" --batch --quiet --no-tty --pinentry-mode loopback --passphrase '' "$@"
}

# _aptrepo_agent_stop GNUPGHOME_DIR: gpg starts an agent per home; do not leave it behind.
_aptrepo_agent_stop() {
	gpgconf --homedir "$1" --kill gpg-agent >/dev/null 2>&1 || true
}

# aptrepo_key GNUPGHOME_DIR KEYRING_OUT
# Generates an ed25519 signing key in GNUPGHOME_DIR (created, mode 0700), writes the public
# key as a binary keyring to KEYRING_OUT (what gpgv and apt's signed-by read) and prints
# the primary key's fingerprint (40 uppercase hex digits).
aptrepo_key() {
	local home=${1:?aptrepo_key: GNUPGHOME_DIR missing} out=${2:?aptrepo_key: KEYRING_OUT missing}
	local fpr

	mkdir -p "$home" || return 1
	chmod 700 "$home" || return 1
	if ! _aptrepo_gpg "$home" --quick-gen-key 'Vigil Test <t@example.invalid>' ed25519 sign never \
		>/dev/null; then
		echo "aptrepo_key: gpg could not generate a key in '$home'" >&2
		_aptrepo_agent_stop "$home"
		return 1
	fi
	if ! _aptrepo_gpg "$home" --export >"$out" || [ ! -s "$out" ]; then
		echo "aptrepo_key: cannot export the key to '$out'" >&2
		_aptrepo_agent_stop "$home"
		return 1
	fi
	fpr=$(_aptrepo_gpg "$home" --with-colons --fingerprint | awk -F: '$1 == "fpr" { print $10; exit }')
	_aptrepo_agent_stop "$home"
	if [ "${#fpr}" -ne 40 ]; then
		echo "aptrepo_key: no fingerprint for the new key in '$home'" >&2
		return 1
	fi
	printf '%s\n' "$fpr"
}

# aptrepo_pkg OUT_DEB NAME VERSION ARCH STAGING_DIR [CONFFILE...]
# Builds OUT_DEB from the files under STAGING_DIR (paths relative to /, e.g.
# STAGING_DIR/etc/foo.conf is installed as /etc/foo.conf).  STAGING_DIR is not modified.
# Each CONFFILE (an absolute path, which must exist under STAGING_DIR) is declared in
# DEBIAN/conffiles.  Files are owned by root in the package.
aptrepo_pkg() {
	local out=${1:?aptrepo_pkg: OUT_DEB missing} name=${2:?aptrepo_pkg: NAME missing}
	local version=${3:?aptrepo_pkg: VERSION missing} arch=${4:?aptrepo_pkg: ARCH missing}
	local stage=${5:?aptrepo_pkg: STAGING_DIR missing}
	local build cf rc=0

	shift 5
	if [ ! -d "$stage" ]; then
		echo "aptrepo_pkg: '$stage' is not a directory" >&2
		return 1
	fi
	build=$(mktemp -d "${TMPDIR:-/tmp}/aptrepo-pkg.XXXXXX") || return 1
	(
		set -e
		cp -a "$stage/." "$build/"
		rm -rf "$build/DEBIAN"
		mkdir -p "$build/DEBIAN"
		{
			printf 'Package: %s\nVersion: %s\nArchitecture: %s\n' "$name" "$version" "$arch"
			printf 'Maintainer: Vigil Test <t@example.invalid>\n'
			printf 'Installed-Size: %s\n' "$(du -sk --exclude=DEBIAN "$build" | cut -f1)"
			printf 'Section: misc\nPriority: optional\n'
			printf 'Description: test package %s\n built for the Vigil test suite.\n' "$name"
		} >"$build/DEBIAN/control"
		for cf in "$@"; do
			case $cf in
			/*) ;;
			*) echo "aptrepo_pkg: conffile '$cf' is not absolute" >&2; exit 1 ;;
			esac
			if [ ! -f "$build$cf" ]; then
				echo "aptrepo_pkg: conffile '$cf' is not in '$stage'" >&2
				exit 1
			fi
			printf '%s\n' "$cf" >>"$build/DEBIAN/conffiles"
		done
		mkdir -p "$(dirname "$out")"
		dpkg-deb --root-owner-group -Zxz --build "$build" "$out" >/dev/null
	) || rc=1
	rm -rf "$build"
	if [ "$rc" -ne 0 ]; then
		echo "aptrepo_pkg: cannot build '$out'" >&2
	fi
	return "$rc"
}

# aptrepo_publish REPO_DIR SUITE COMPONENT GNUPGHOME_DIR [--unsigned]
# Indexes the .deb files under REPO_DIR/pool/COMPONENT/ and writes
#   dists/SUITE/COMPONENT/binary-ARCH/Packages and Packages.gz  (ARCH: dpkg's native
#       architecture; packages of architecture "all" are listed there too)
#   dists/SUITE/Release
#   dists/SUITE/InRelease and Release.gpg, signed with the key in GNUPGHOME_DIR
#       (not with --unsigned, which removes any old signature files instead).
# Running it again after adding or replacing packages refreshes everything.
aptrepo_publish() {
	local repo=${1:?aptrepo_publish: REPO_DIR missing} suite=${2:?aptrepo_publish: SUITE missing}
	local comp=${3:?aptrepo_publish: COMPONENT missing} home=${4:?aptrepo_publish: GNUPGHOME_DIR missing}
	local unsigned=${5:-} arch dist bin tmp rc=0

	if [ -n "$unsigned" ] && [ "$unsigned" != --unsigned ]; then
		echo "aptrepo_publish: unknown option '$unsigned'" >&2
		return 1
	fi
	if [ ! -d "$repo/pool/$comp" ]; then
		echo "aptrepo_publish: no '$repo/pool/$comp'" >&2
		return 1
	fi
	arch=$(dpkg --print-architecture) || return 1
	dist="$repo/dists/$suite"
	bin="$dist/$comp/binary-$arch"
	mkdir -p "$bin" || return 1
	(
		set -e
		cd "$repo"
		apt-ftparchive --arch "$arch" packages "pool/$comp" >"$bin/Packages"
		gzip -9nc "$bin/Packages" >"$bin/Packages.gz"
	) || { echo "aptrepo_publish: cannot index '$repo/pool/$comp'" >&2; return 1; }
	tmp=$(mktemp "${TMPDIR:-/tmp}/aptrepo-release.XXXXXX") || return 1
	rm -f "$dist/Release" "$dist/InRelease" "$dist/Release.gpg"
	if ! apt-ftparchive \
		-o "APT::FTPArchive::Release::Origin=Vigil Test" \
		-o "APT::FTPArchive::Release::Label=Vigil Test" \
		-o "APT::FTPArchive::Release::Suite=$suite" \
		-o "APT::FTPArchive::Release::Codename=$suite" \
		-o "APT::FTPArchive::Release::Architectures=$arch" \
		-o "APT::FTPArchive::Release::Components=$comp" \
		release "$dist" >"$tmp"; then
		echo "aptrepo_publish: cannot write the Release of '$dist'" >&2
		rm -f "$tmp"
		return 1
	fi
	mv "$tmp" "$dist/Release" || { rm -f "$tmp"; return 1; }
	chmod 644 "$dist/Release"
	if [ -z "$unsigned" ]; then
		_aptrepo_gpg "$home" --yes --digest-algo SHA512 --clearsign \
			-o "$dist/InRelease" "$dist/Release" || rc=1
		_aptrepo_gpg "$home" --yes --digest-algo SHA512 --armor --detach-sign \
			-o "$dist/Release.gpg" "$dist/Release" || rc=1
		_aptrepo_agent_stop "$home"
		if [ "$rc" -ne 0 ]; then
			echo "aptrepo_publish: cannot sign '$dist/Release' with the key in '$home'" >&2
			return 1
		fi
	fi
	return 0
}
