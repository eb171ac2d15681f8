#!/usr/bin/env bash
# Runs the two set-up commands of README.md ("Set up and run") exactly as
# written, in order, in a fresh clone of this repository and a fresh venv:
# what a new user does. Reinstalling over the first command's build is part
# of the check (the second command builds again, editable, into the same
# build folder), and so is the default run of the first command.
#
#   bash tools/check_readme_commands.sh [--then COMMAND] [REV]    # default HEAD
#
# --then runs COMMAND afterwards in the same clone and venv (CI runs the
# tests that need packages the README does not install there).
# Exits non-zero when a command fails, or when the README no longer holds
# exactly two commands in that block.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
then_command=""
if [ "${1:-}" = "--then" ]; then
  then_command="$2"
  shift 2
fi
rev="${1:-HEAD}"
work="$(mktemp -d "${TMPDIR:-/tmp}/pydiffvg-readme.XXXXXX")"
trap 'rm -rf "$work"' EXIT

git clone --quiet --no-hardlinks "$repo" "$work/clone"
# The tests read ../shared beside the project root, as in this checkout.
[ -d "$repo/../shared" ] && ln -s "$(cd "$repo/../shared" && pwd)" "$work/shared"
git -C "$work/clone" checkout --quiet "$rev"
python3 -m venv "$work/venv"
# shellcheck disable=SC1091
source "$work/venv/bin/activate"
cd "$work/clone"

# The first fenced bash block after the "Set up and run" heading; each line
# is one command, its trailing "# ..." comment dropped.
mapfile -t commands < <(python3 - <<'EOF'
import re
text = open("README.md", encoding="utf-8").read()
section = text.split("## Set up and run", 1)[1]
block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
for line in block.splitlines():
    line = re.sub(r"\s+#\s.*$", "", line).strip()
    if line:
        print(line)
EOF
)
if [ "${#commands[@]}" -ne 2 ]; then
  echo "check_readme_commands: expected two commands under 'Set up and run', found ${#commands[@]}" >&2
  exit 1
fi
run_command() {
  echo "== README command $(($1 + 1)) (in a fresh venv, $(git rev-parse --short HEAD)): ${commands[$1]}"
  start=$(date +%s)
  if ! bash -c "${commands[$1]}"; then
    echo "check_readme_commands: README command $(($1 + 1)) failed: ${commands[$1]}" >&2
    exit 1
  fi
  echo "== README command $(($1 + 1)) passed in $(( $(date +%s) - start )) s"
}

run_command 0
# The default install reads SVGs with a DOCTYPE (as Inkscape and Illustrator
# write them): a 2x2 green square, rendered by the command just installed.
cat > "$work/doctype.svg" <<'SVG'
<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<svg xmlns="http://www.w3.org/2000/svg" width="2" height="2"><rect width="2" height="2" fill="#008000"/></svg>
SVG
pydiffvg render "$work/doctype.svg" -o "$work/doctype.png"
python3 - "$work/doctype.png" <<'PY'
import sys
import imageio.v3 as iio
pixels = iio.imread(sys.argv[1])
assert pixels.shape == (2, 2, 4) and (pixels == [0, 128, 0, 255]).all(), pixels
print("== an SVG with a DOCTYPE renders after the first command")
PY
run_command 1
if [ -n "$then_command" ]; then
  echo "== then, in the same venv: $then_command"
  bash -c "$then_command"
fi
