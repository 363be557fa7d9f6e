#!/bin/sh
# Builds and tests this project without Maven and without the internet, from Debian's packages:
#
#   apt-get install default-jdk protobuf-compiler protobuf-compiler-grpc-java-plugin \
#     libgrpc-java libprotobuf-java libguava-java libnetty-java libperfmark-java
#
# It compiles the same sources as `mvn package` and writes the same target/bank.jar, except that the jar is thin:
# its manifest names the libraries in /usr/share/java instead of containing them.
#
#   ./build-offline.sh          generate the gRPC code, compile, run the unit tests, write target/bank.jar
#   ./build-offline.sh build    the same, without the tests
#   ./build-offline.sh test     run the unit tests (after building, when nothing is built yet)
#   ./build-offline.sh check    say what is missing (exit 3 when something is), build nothing
#
# The tests are JUnit 5 tests (`mvn test` runs them on JUnit). Here they run on offline/RunTests.java, with the
# stand-in for the few JUnit APIs they use in offline/junit/: no JUnit jar is needed.
set -eu
cd "$(dirname "$0")"

LIBS=${JAVA_LIBS:-/usr/share/java}
PROTOC=${PROTOC:-protoc}
GRPC_JAVA_PLUGIN=${GRPC_JAVA_PLUGIN:-/usr/bin/grpc_java_plugin}
OUT=target/offline
# jar (in $LIBS) : the Debian package that has it. Debian's netty-all.jar is empty (a Maven aggregate): libnetty-java
# ships Netty as one jar a module, and these are the modules grpc-netty's classes use (handler-proxy, and the
# codec-socks it needs, for grpc-netty's proxy support).
RUNTIME_JARS="grpc-api:libgrpc-java grpc-context:libgrpc-java grpc-core:libgrpc-java grpc-netty:libgrpc-java
grpc-stub:libgrpc-java grpc-protobuf:libgrpc-java grpc-protobuf-lite:libgrpc-java protobuf:libprotobuf-java
guava:libguava-java perfmark-api:libperfmark-java
netty-common:libnetty-java netty-buffer:libnetty-java netty-resolver:libnetty-java netty-transport:libnetty-java
netty-codec:libnetty-java netty-codec-http:libnetty-java netty-codec-http2:libnetty-java
netty-codec-socks:libnetty-java netty-handler:libnetty-java netty-handler-proxy:libnetty-java"

missing() {
  for tool in javac:default-jdk jar:default-jdk java:default-jdk "$PROTOC":protobuf-compiler; do
    command -v "${tool%%:*}" >/dev/null 2>&1 || echo "${tool%%:*} (${tool#*:})"
  done
  [ -x "$GRPC_JAVA_PLUGIN" ] || echo "$GRPC_JAVA_PLUGIN (protobuf-compiler-grpc-java-plugin)"
  for entry in $RUNTIME_JARS; do
    [ -f "$LIBS/${entry%%:*}.jar" ] || echo "$LIBS/${entry%%:*}.jar (${entry#*:})"
  done
}

classpath() {
  path=""
  for entry in $RUNTIME_JARS; do path="$path:$LIBS/${entry%%:*}.jar"; done
  echo "${path#:}"
}

# Used by gRPC for JSON service configs (a client feature): on the class path when installed (libgoogle-gson-java).
if [ -f "$LIBS/gson.jar" ]; then RUNTIME_JARS="$RUNTIME_JARS gson:libgoogle-gson-java"; fi

check() {
  absent=$(missing)
  if [ -n "$absent" ]; then
    echo "build-offline.sh: missing:" >&2
    echo "$absent" | sed 's/^/  /' >&2
    exit 3
  fi
}

generate() {
  rm -rf "$OUT"
  mkdir -p "$OUT/generated"
  "$PROTOC" -I proto --java_out="$OUT/generated" \
    --plugin=protoc-gen-grpc-java="$GRPC_JAVA_PLUGIN" --grpc-java_out="$OUT/generated" \
    proto/evented/evented.proto proto/account/v1/account.proto
  # The gRPC plugin marks its classes @javax.annotation.Generated, which is not in the JDK since Java 11 (Maven
  # gets it from org.apache.tomcat:annotations-api). Its retention is SOURCE: a stand-in is enough to compile.
  mkdir -p "$OUT/generated/javax/annotation"
  cat >"$OUT/generated/javax/annotation/Generated.java" <<'JAVA'
package javax.annotation;

@java.lang.annotation.Retention(java.lang.annotation.RetentionPolicy.SOURCE)
public @interface Generated {
  String[] value();

  String comments() default "";
}
JAVA
}

compile_main() {
  rm -rf "$OUT/classes"
  find "$OUT/generated" src/main/java -name '*.java' >"$OUT/main-sources.txt"
  javac -nowarn -encoding UTF-8 --release 17 -cp "$(classpath)" -d "$OUT/classes" "@$OUT/main-sources.txt"
  rm -rf "$OUT/classes/javax"
}

package() {
  {
    echo "Main-Class: com.example.bank.Main"
    # One jar a line: a continuation line starts with a space, and the second space separates the paths.
    printf 'Class-Path:'
    for entry in $RUNTIME_JARS; do printf ' \n %s' "$LIBS/${entry%%:*}.jar"; done
    echo
  } >"$OUT/manifest.txt"
  jar --create --file target/bank.jar --manifest "$OUT/manifest.txt" -C "$OUT/classes" .
  echo "wrote target/bank.jar: java -jar target/bank.jar business-logic|projector|saga"
}

unit_tests() {
  rm -rf "$OUT/test-classes"
  find src/test/java offline -name '*.java' >"$OUT/test-sources.txt"
  javac -nowarn -encoding UTF-8 --release 17 -cp "$OUT/classes:$(classpath)" -d "$OUT/test-classes" \
    "@$OUT/test-sources.txt"
  classes=$(find src/test/java -name '*Test.java' | sed 's|^src/test/java/||; s|\.java$||; s|/|.|g' | sort)
  # shellcheck disable=SC2086
  java -cp "$OUT/test-classes:$OUT/classes:$(classpath)" RunTests $classes
}

case "${1:-all}" in
  check) check ;;
  build)
    check
    generate
    compile_main
    package
    ;;
  test)
    check
    if [ ! -d "$OUT/classes" ]; then
      generate
      compile_main
    fi
    unit_tests
    ;;
  all)
    check
    generate
    compile_main
    unit_tests
    package
    ;;
  *)
    echo "usage: ./build-offline.sh [build|test|check]" >&2
    exit 2
    ;;
esac
