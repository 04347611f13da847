# Sourced by the launchers in bench/ (e2e, jmh, ceilings, gemm-fraction, decode-profile, gemv-anatomy, lens-sweep,
# scaling):
# selects a JDK 25 or newer (scripts/jdk.sh), builds bench and the modules it needs (mvn package, quiet), exports
# CGAP_ROOT (this repository, where the benchmarks find tools/ and bench/native/), and defines
#   cgap_bench_exec MAIN [ARG...]
# which replaces the launcher with java running MAIN on bench's class path, with the JVM flags all launchers share
# and ${CGAP_JAVA_OPTS} (extra JVM options, as ./cgap takes them) before them; the worker JVMs of e2e and scaling get
# them too (cgap.bench.EndToEnd.workerCommand).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$root/scripts/jdk.sh"
cgap_select_jdk
(cd "$root" && mvn -q -B -pl bench -am package -DskipTests >/dev/null)
export CGAP_ROOT="$root"

cgap_bench_exec() {
  local main=$1
  shift
  exec java ${CGAP_JAVA_OPTS:-} --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
    -cp "$root/bench/target/classes:$root/bench/target/lib/*" "$main" "$@"
}
