#!/usr/bin/env bash
# Lays out the Cardap C# package's file tree as `dotnet pack` would make it
# from bindings/csharp/Cardap.csproj, and checks it; there is no .NET SDK on
# the CI machine, so this is how CI knows the package carries libcardap.
#
#   bash scripts/csharp-package.sh OUT CARDAP_DLL LIBCARDAP_SO
#
# OUT receives lib/netstandard2.0/Cardap.dll (+ Cardap.xml beside the DLL,
# when present) and every native library the .csproj packs for Linux x64, at
# the PackagePath the .csproj gives it (runtimes/linux-x64/native/...). The
# checks: the native library is there, is an x86-64 ELF shared object, and
# exports every entry point the P/Invoke layer (NativeMethods.g.cs) imports.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -eq 3 ]] || { echo "usage: $0 OUT CARDAP_DLL LIBCARDAP_SO" >&2; exit 2; }
out=$1 dll=$2 so=$3
fail() { echo "csharp-package: $*" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out/lib/netstandard2.0"
cp "$dll" "$out/lib/netstandard2.0/"
xml=${dll%.dll}.xml
[[ -f $xml ]] && cp "$xml" "$out/lib/netstandard2.0/"

# The packed native items of the .csproj: (property holding the path, PackagePath).
mapfile -t items < <(python3 - bindings/csharp/Cardap.csproj <<'EOF'
import re, sys
import xml.etree.ElementTree as ET
for none in ET.parse(sys.argv[1]).getroot().iter("None"):
    if none.get("Pack") == "true":
        prop = re.fullmatch(r"\$\((\w+)\)", none.get("Include", ""))
        if prop:
            print(prop.group(1), none.get("PackagePath"))
EOF
)
packed=0
for item in "${items[@]}"; do
  read -r prop path <<<"$item"
  # This machine builds the Linux x64 library; the others come from their platforms.
  [[ $prop == CardapNativeLinuxX64 ]] || continue
  [[ $path == runtimes/linux-x64/native/libcardap.so ]] || fail "$prop is packed at $path"
  mkdir -p "$out/$(dirname "$path")"
  cp "$so" "$out/$path"
  packed=$((packed + 1))
done
((packed == 1)) || fail "Cardap.csproj packs no runtimes/linux-x64/native/libcardap.so"

native=$out/runtimes/linux-x64/native/libcardap.so
header=$(readelf -h "$native")
grep -q 'Type:.*DYN' <<<"$header" || fail "$native is not a shared object"
grep -q 'Machine:.*X86-64' <<<"$header" || fail "$native is not for x86-64"
exported=$(nm -D --defined-only "$native" | awk '{print $3}' | sort -u)
imported=$(grep -o 'EntryPoint = "[a-z_0-9]*"' bindings/csharp/NativeMethods.g.cs | cut -d'"' -f2 | sort -u)
missing=$(comm -13 <(echo "$exported") <(echo "$imported"))
[[ -z $missing ]] || fail "the packed libcardap lacks: $missing"
echo "C# package tree in $out: lib/netstandard2.0/Cardap.dll, runtimes/linux-x64/native/libcardap.so ($(wc -l <<<"$imported") entry points)"
