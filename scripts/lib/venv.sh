# Sourced by scripts/run, scripts/test and .ci/run: `ensure_venv run` or `ensure_venv dev`
# makes .venv hold exactly what requirements/<kind>.txt locks (hashes checked), plus the project
# itself, reinstalling only when that file changed. A dev environment also serves `run`.
ensure_venv() {
  local kind=$1 lock stamp want
  lock="requirements/$kind.txt"
  stamp=.venv/.installed
  want="$kind $(sha256sum "$lock" pyproject.toml | sha256sum | cut -c1-16)"
  if [ -x .venv/bin/python ] && [ -f "$stamp" ]; then
    local have
    have=$(cat "$stamp")
    [ "$have" = "$want" ] && return 0
    if [ "$kind" = run ]; then
      local dev_want
      dev_want="dev $(sha256sum requirements/dev.txt pyproject.toml | sha256sum | cut -c1-16)"
      [ "$have" = "$dev_want" ] && return 0
    fi
  fi
  echo "installing the $kind environment into .venv from $lock" >&2
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet --require-hashes -r "$lock"
  .venv/bin/python -m pip install --quiet --no-deps -e .
  echo "$want" >"$stamp"
}
