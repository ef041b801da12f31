#!/usr/bin/env bash
# Provides the test bed's Go-built tools: kube-apiserver, kube-controller-manager, kubectl, etcd,
# pulumi, helm.
#
#   hack/tools.sh [TOOL...]      ensure each tool (default: all), print "TOOL=PATH" lines
#   hack/tools.sh --path TOOL    ensure one tool, print only its path
#
# For each tool, in order: the binary named by FLEETYARD_<TOOL> (KUBE_APISERVER, ETCD, PULUMI,
# HELM, KUBECTL, KUBE_CONTROLLER_MANAGER); a binary on PATH that reports the pinned version; the versioned cache
# ($FLEETYARD_CACHE, default ~/.cache/fleetyard/tools/<tool>-<version>/); otherwise it is built
# there from the Go module proxy (see docs/development.md). Builds hold a lock, so two runs
# at once build once. Nothing is written inside the repository.
set -euo pipefail

KUBERNETES_VERSION="${KUBERNETES_VERSION:-v1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
PULUMI_VERSION="${PULUMI_VERSION:-v3.260.0}"   # equal to the python `pulumi` pin in pyproject.toml
HELM_VERSION="${HELM_VERSION:-v3.22.0}"
CACHE="${FLEETYARD_CACHE:-$HOME/.cache/fleetyard}/tools"

log() { echo "[hack/tools] $*" >&2; }
die() { echo "[hack/tools] ERROR: $*" >&2; exit 1; }

version_of() {
  case "$1" in
    kube-apiserver|kube-controller-manager|kubectl) echo "$KUBERNETES_VERSION" ;;
    etcd) echo "$ETCD_VERSION" ;;
    pulumi) echo "$PULUMI_VERSION" ;;
    helm) echo "$HELM_VERSION" ;;
    *) die "unknown tool '$1' (known: kube-apiserver kube-controller-manager kubectl etcd pulumi helm)" ;;
  esac
}

env_var_of() { echo "FLEETYARD_$(echo "$1" | tr 'a-z-' 'A-Z_')"; }

# Prints the version a binary reports, or nothing.
reported_version() {
  local bin="$1" tool="$2" out
  case "$tool" in
    kube-apiserver|kube-controller-manager) out=$("$bin" --version 2>/dev/null) ;;  # "Kubernetes v1.36.3"
    kubectl) out=$("$bin" version --client 2>/dev/null | head -1) ;;  # "Client Version: v1.36.3"
    etcd) out=$("$bin" --version 2>/dev/null | head -1) ;;  # "etcd Version: 3.6.16"
    pulumi) out=$("$bin" version 2>/dev/null) ;;            # "v3.260.0"
    helm) out=$("$bin" version --short 2>/dev/null) ;;      # "v3.22.0+g..."
  esac
  echo "$out" | grep -oE 'v?[0-9]+\.[0-9]+\.[0-9]+' | head -1 | sed 's/^v\{0,1\}/v/'
}

go_env() {
  command -v go >/dev/null || die "Go is needed to build the test-bed tools and was not found on PATH"
  export GOFLAGS=-mod=mod GOTOOLCHAIN="${GOTOOLCHAIN:-auto}" CGO_ENABLED=0
}

build_kube_apiserver() { build_kubernetes_cmd kube-apiserver "$@"; }
build_kubectl() { build_kubernetes_cmd kubectl "$@"; }
build_kube_controller_manager() { build_kubernetes_cmd kube-controller-manager "$@"; }

# Builds k8s.io/kubernetes/cmd/<cmd> through a wrapper module (see docs/development.md).
build_kubernetes_cmd() {
  local cmd="$1" src="$2" out="$3" v="$KUBERNETES_VERSION" minor modfile
  minor=$(echo "$v" | cut -d. -f2)
  modfile=$(go mod download -json "k8s.io/kubernetes@$v" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
  [ -f "$modfile" ] || die "could not download k8s.io/kubernetes@$v from the Go module proxy"
  {
    echo "module fleetyard.local/$cmd"
    echo "go 1.26"
    echo "require k8s.io/kubernetes $v"
    # k8s.io/kubernetes requires its staging modules at v0.0.0 with local replaces; point each
    # at its published v0.N.P instead. The list is read from the exact tag's go.mod.
    grep -E '^\s*k8s\.io/[a-z0-9-]+ => \./staging/' "$modfile" | awk '{print $1}' | sort -u |
      while read -r m; do echo "replace $m => $m v0.$minor.${v##*.}"; done
  } > "$src/go.mod"
  (cd "$src" && go get "k8s.io/kubernetes/cmd/$cmd@$v" &&
    go build -trimpath -o "$out" -ldflags "-s -w \
      -X k8s.io/component-base/version.gitVersion=$v \
      -X k8s.io/component-base/version.gitMajor=1 \
      -X k8s.io/component-base/version.gitMinor=$minor \
      -X k8s.io/client-go/pkg/version.gitVersion=$v" "k8s.io/kubernetes/cmd/$cmd")
}

build_etcd() {
  local src="$1" out="$2" v="$ETCD_VERSION"
  printf 'module fleetyard.local/etcd\ngo 1.26\n' > "$src/go.mod"
  (cd "$src" && go get "go.etcd.io/etcd/server/v3@$v" \
      "go.etcd.io/etcd/api/v3@$v" "go.etcd.io/etcd/client/pkg/v3@$v" \
      "go.etcd.io/etcd/client/v3@$v" "go.etcd.io/etcd/pkg/v3@$v" &&
    go build -trimpath -o "$out" -ldflags "-s -w" go.etcd.io/etcd/server/v3)
}

build_pulumi() {
  local src="$1" out="$2" v="$PULUMI_VERSION"
  cat > "$src/go.mod" <<MOD
module fleetyard.local/pulumi
go 1.26
replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e
MOD
  (cd "$src" && go get "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@$v" "github.com/pulumi/pulumi/sdk/v3@$v" &&
    go build -trimpath -o "$out" -ldflags "-s -w \
      -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$v" \
      github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
}

build_helm() {
  local src="$1" out="$2" v="$HELM_VERSION"
  printf 'module fleetyard.local/helm\ngo 1.26\n' > "$src/go.mod"
  (cd "$src" && go get "helm.sh/helm/v3/cmd/helm@$v" &&
    go build -trimpath -o "$out" -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$v" \
      helm.sh/helm/v3/cmd/helm)
}

ensure() {
  local tool="$1" want var bin dir
  want=$(version_of "$tool")
  var=$(env_var_of "$tool")
  if [ -n "${!var:-}" ]; then
    [ -x "${!var}" ] || die "$var=${!var} is not an executable file"
    echo "${!var}"; return
  fi
  if bin=$(command -v "$tool" 2>/dev/null) && [ "$(reported_version "$bin" "$tool")" = "$want" ]; then
    echo "$bin"; return
  fi
  dir="$CACHE/$tool-$want"
  if [ ! -x "$dir/$tool" ]; then
    mkdir -p "$dir"
    exec 9>"$dir/.lock"
    log "waiting for the build lock of $tool $want" ; flock 9
    if [ ! -x "$dir/$tool" ]; then
      go_env
      log "building $tool $want into $dir (first time only; this takes several minutes)"
      rm -rf "$dir/src"; mkdir -p "$dir/src"
      local start=$SECONDS
      if ! "build_$(echo "$tool" | tr - _)" "$dir/src" "$dir/$tool.tmp" > "$dir/build.log" 2>&1; then
        tail -30 "$dir/build.log" >&2
        die "building $tool $want failed; full log: $dir/build.log"
      fi
      mv "$dir/$tool.tmp" "$dir/$tool"
      rm -rf "$dir/src"
      log "built $tool $want in $((SECONDS - start))s"
    fi
    exec 9>&-
  fi
  echo "$dir/$tool"
}

if [ "${1:-}" = "--path" ]; then
  [ $# -eq 2 ] || die "usage: hack/tools.sh --path TOOL"
  ensure "$2"; exit 0
fi
tools=("$@"); [ ${#tools[@]} -gt 0 ] || tools=(etcd kube-apiserver kube-controller-manager kubectl pulumi helm)
for t in "${tools[@]}"; do
  p=$(ensure "$t")
  echo "$(env_var_of "$t")=$p"
done
