#!/usr/bin/env bash
# Every module a target's Swift files import is declared for that target in Package.swift — one of
# its target dependencies or a product it names (each product here is the module of the same name) —
# or comes with Swift itself (Foundation, Glibc, Dispatch, Synchronization, Testing, …). The
# compiler lets a target import any module built before it, declared or not; this makes the
# layering Package.swift draws a rule. The fuzz targets are checked too. Exits 1 naming each
# import that is not declared.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=$(mktemp -d)
manifest="$scratch/package.json"
trap 'rm -rf "$scratch"' EXIT
# A scratch path of its own: reading the manifest neither waits for nor disturbs a build in .build.
SCHOOLSTAT_FUZZ=1 "${SWIFT:-swift}" package --scratch-path "$scratch/build" dump-package > "$manifest"
exec /usr/bin/python3 - "$manifest" <<'EOF'
import json, os, re, sys

TOOLCHAIN = {
    "Swift", "_Concurrency", "_StringProcessing", "Foundation", "FoundationEssentials",
    "FoundationInternationalization", "FoundationNetworking", "FoundationXML", "Dispatch", "Glibc",
    "Musl", "Darwin", "WinSDK", "Android", "Synchronization", "RegexBuilder", "Observation",
    "Distributed", "Testing", "XCTest", "os",
}
IMPORT = re.compile(
    r"^\s*(?:@\w+(?:\([^)]*\))?\s+)*(?:(?:public|package|internal|fileprivate|private)\s+)?"
    r"import\s+(?:(?:typealias|struct|class|enum|protocol|let|var|func)\s+)?([A-Za-z_]\w*)")

package = json.load(open(sys.argv[1]))
failures = 0
checked = 0
for target in package["targets"]:
    if target["type"] in ("system", "binary", "plugin", "macro"):
        continue
    declared = set()
    for dependency in target.get("dependencies", []):
        kind, value = next(iter(dependency.items()))
        declared.add(value[0])
    path = target.get("path") or os.path.join("Tests" if target["type"] == "test" else "Sources", target["name"])
    for root, _, files in os.walk(path):
        for name in sorted(files):
            if not name.endswith(".swift"):
                continue
            file = os.path.join(root, name)
            checked += 1
            in_string = False
            for number, line in enumerate(open(file, encoding="utf-8"), 1):
                if line.count('"""') % 2 == 1:
                    in_string = not in_string
                    continue
                if in_string or line.lstrip().startswith("//"):
                    continue
                match = IMPORT.match(line)
                if not match:
                    continue
                module = match.group(1)
                if module in declared or module in TOOLCHAIN or module == target["name"]:
                    continue
                print(f"{file}:{number}: target {target['name']} imports {module}, which Package.swift does not declare for it")
                failures += 1
if checked == 0:
    print("check-imports: no Swift files found; is this the package's directory?")
    sys.exit(1)
if failures:
    print(f"check-imports: {failures} undeclared import(s); add each module to the target's dependencies in Package.swift, or drop the import")
    sys.exit(1)
print(f"check-imports: every import of {checked} Swift files is declared in Package.swift")
EOF
