#!/bin/sh
# The README's pictures of the self-evaluation draft: the sample county validated with --score, its
# self_evaluation.docx converted to PDF by LibreOffice (headless, a profile of its own in a scratch
# directory), the first pages rendered to PNG by pdftoppm. Not part of `make test`.
#
#   sh Tests/browser/render_self_evaluation.sh BINARY DIR
set -eu
binary=$1
images=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/schoolstat-render-XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -R "$root/Samples" "$work/in"
"$binary" validate "$work/in" --rules "$root/Rules" --out "$work/out" --score --quiet --no-history >/dev/null || [ $? -eq 1 ]
soffice -env:UserInstallation="file://$work/profile" --headless --convert-to pdf --outdir "$work" \
    "$work/out/evaluation/self_evaluation.docx" >/dev/null
mkdir -p "$images"
pdftoppm -png -r 70 -f 1 -l 2 "$work/self_evaluation.pdf" "$work/page"
for page in "$work"/page-*.png; do
    n=$(basename "$page" .png | sed 's/^page-0*//')
    cp "$page" "$images/self-evaluation-page$n.png"
done
echo "rendered $(ls "$work"/page-*.png | wc -l) pages of the draft into $images"
