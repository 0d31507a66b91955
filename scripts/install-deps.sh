#!/usr/bin/env bash
# Installs the system packages the test suites need, when missing: strace
# (plaintext-never-on-disk test), openssl and ssh-keygen (real throwaway
# keys for the pre-commit hook test), chromium (browser tests), and zsh and
# fish (the completion scripts are run in each shell). Go
# modules, pip and npm packages are installed by the suites themselves.
set -euo pipefail
need=()
command -v strace >/dev/null 2>&1 || need+=(strace)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v zsh >/dev/null 2>&1 || need+=(zsh)
command -v fish >/dev/null 2>&1 || need+=(fish)
if [ ${#need[@]} -gt 0 ]; then
	echo "installing: ${need[*]}"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
