#!/usr/bin/env bash
# The action's install step: download the release archive for this runner, verify its
# SHA-256 against the release's checksum file, unpack it, and hand the binary's path on
# (`bin` in $GITHUB_OUTPUT). Inputs come as environment variables (action.yml).
#   FP_VERSION       a release tag, "latest", or empty (then FP_ACTION_REF when it is a tag)
#   FP_ACTION_REF    the ref the action was used at (github.action_ref)
#   FP_REPOSITORY    owner/name of the action (github.action_repository; the runner leaves it
#                    empty in some composite-action contexts, actions/runner#2473, so it has a default)
#   FP_RELEASES_URL  where the releases are (default https://github.com/$FP_REPOSITORY/releases)
set -euo pipefail

fail() {
  echo "::error title=fargate-preflight install::$*" >&2
  exit 1
}

case "${RUNNER_OS:-$(uname -s)}/${RUNNER_ARCH:-$(uname -m)}" in
  Linux/X64 | Linux/x86_64) target=x86_64-unknown-linux-musl ;;
  Linux/ARM64 | Linux/aarch64) target=aarch64-unknown-linux-musl ;;
  macOS/X64 | Darwin/x86_64) target=x86_64-apple-darwin ;;
  macOS/ARM64 | Darwin/arm64) target=aarch64-apple-darwin ;;
  *) fail "no release binary for ${RUNNER_OS:-?}/${RUNNER_ARCH:-?} (Linux and macOS on X64 and ARM64 have one; elsewhere: cargo install --locked fargate-preflight)" ;;
esac

version="${FP_VERSION:-}"
if [[ -z "$version" ]]; then
  # A release tag pins the binary to the action's own version; a branch, a SHA or a major
  # tag such as v1 takes the latest release.
  if [[ "${FP_ACTION_REF:-}" =~ ^v[0-9]+\.[0-9]+\.[0-9]+ ]]; then
    version="$FP_ACTION_REF"
  else
    version=latest
  fi
fi
if [[ "$version" =~ ^[0-9] ]]; then
  version="v$version"
fi

repository="${FP_REPOSITORY:-fargate-preflight/fargate-preflight}"
releases="${FP_RELEASES_URL:-https://github.com/$repository/releases}"
if [[ "$version" == latest ]]; then
  base="$releases/latest/download"
else
  base="$releases/download/$version"
fi
asset="fargate-preflight-$target.tar.xz"

work="$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/fargate-preflight.XXXXXX")"
fetch() {
  curl --fail --silent --show-error --location --retry 3 --output "$2" "$1" ||
    fail "cannot download $1 (is $version a release of $repository?)"
}
fetch "$base/$asset" "$work/$asset"
fetch "$base/$asset.sha256" "$work/$asset.sha256"

expected="$(awk '{print $1; exit}' "$work/$asset.sha256")"
if command -v sha256sum >/dev/null; then
  actual="$(sha256sum "$work/$asset" | awk '{print $1}')"
else
  actual="$(shasum -a 256 "$work/$asset" | awk '{print $1}')"
fi
if [[ -z "$expected" || "$actual" != "$expected" ]]; then
  rm -f "$work/$asset"
  fail "checksum mismatch for $asset ($version): the release says ${expected:-nothing}, the download is $actual; not installing it"
fi

tar -xJf "$work/$asset" -C "$work"
bin="$(find "$work" -type f -name fargate-preflight -perm -u+x | head -n 1)"
[[ -n "$bin" ]] || fail "$asset holds no fargate-preflight binary"
echo "fargate-preflight $version ($target), sha256 $actual: $bin"
echo "bin=$bin" >>"${GITHUB_OUTPUT:-/dev/null}"
