# Sourced by ./cgap, ./test and .ci/run: selects a JDK 25+ into JAVA_HOME and PATH.
# JAVA_HOME wins when it points at a JDK 25 or newer; else the Temurin 25 in /usr/lib/jvm.
cgap_java_major() { "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p'; }
cgap_select_jdk() {
  local cand v
  for cand in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-2[5-9]* /usr/lib/jvm/*-2[5-9]* ; do
    [ -n "$cand" ] && [ -x "$cand/bin/java" ] || continue
    v=$(cgap_java_major "$cand")
    if [ -n "$v" ] && [ "${v%%.*}" -ge 25 ] 2>/dev/null; then
      export JAVA_HOME="$cand"; export PATH="$cand/bin:$PATH"; return 0
    fi
  done
  echo "cgap: no JDK 25 or newer found (JAVA_HOME='${JAVA_HOME:-}', /usr/lib/jvm has: $(ls /usr/lib/jvm 2>/dev/null | tr '\n' ' ')). Install Temurin 25 or set JAVA_HOME." >&2
  return 1
}
# Maven 3.8 on JDK 25 warns about sun.misc.Unsafe from its own guava: keep that off the screen.
export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
