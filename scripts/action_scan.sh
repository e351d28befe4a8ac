#!/usr/bin/env bash
# The scan step of the GitHub Action (action.yml): inputs arrive as environment variables, so the
# same script runs, and is tested, outside GitHub (tests/integrations/).
#
#   MSV_MODELS     required: model paths or glob patterns (*, ?, [...], ** for any depth), one per
#                  line, or on a single line separated by spaces (there, write a space in a path as ?).
#                  A pattern that matches nothing is dropped with a warning; a plain path is passed
#                  on as it is, so a missing file is the scanner's error (exit 2).
#   MSV_LABELS, MSV_AUX, MSV_BUDGET, MSV_RELEASE, MSV_FAIL_ON_PROBABILITY, MSV_FAIL_ON_RISK,
#   MSV_CONFIG     optional: the scan flags of the same names (--labels, ..., --config); empty leaves
#                  the value to the settings file (modelscan-vicious.toml or [tool.modelscan-vicious]
#                  in pyproject.toml) or the scanner's default. Without labels from either, the
#                  scanner answers with a usage error (exit 4).
#   MSV_OUTPUT_DIR where reports go (default modelscan-report); always passed, so it wins over the
#                  settings file, and the SARIF report is found.
#   MSV_ALLOW_WEAK_CONTAINMENT  true or false (default false).
#   MSV_EXTRA_ARGS more scan flags, split on whitespace (no quoting), e.g. "--input-shape 1,8,8 --mitigate".
#   MSV_SCANNER    the command to run (default: modelscan-vicious on PATH); set by action.yml, not an input.
#
# Exit code: the scanner's (0 passed, 1 risk found, 2 scan error, 3 nothing scanned, 4 usage
# error); 3 also when no pattern matched a file, 4 when models is empty or an input malformed.
# Under GitHub Actions it writes the step outputs exit-code, report-dir and sarif-file (the last
# two only when they exist) and annotates the log with what the exit code means.
set -euo pipefail

EXIT_NOTHING_SCANNED=3
EXIT_USAGE_ERROR=4

# One log line; under GitHub Actions a workflow command (annotation), its message escaped so that
# text from inputs cannot end it early or start another command.
annotate() {
  local level=$1 message=$2
  if [ "${GITHUB_ACTIONS:-}" = "true" ]; then
    message=${message//'%'/'%25'}
    message=${message//$'\r'/'%0D'}
    message=${message//$'\n'/'%0A'}
    printf '::%s::%s\n' "$level" "$message"
  else
    printf '%s: %s\n' "$level" "$message" >&2
  fi
}

set_output() {
  if [ -n "${GITHUB_OUTPUT:-}" ]; then
    printf '%s=%s\n' "$1" "$2" >>"$GITHUB_OUTPUT"
  fi
}

usage_error() {
  annotate error "modelscan-vicious action: $1"
  set_output exit-code "$EXIT_USAGE_ERROR"
  exit "$EXIT_USAGE_ERROR"
}

# Entries of MSV_MODELS, NUL-terminated: one per line when it has several non-blank lines, else
# its words. Blanks around each entry are dropped.
split_models() {
  local line
  local -a lines=() words=()
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line%$'\r'}
    line="${line#"${line%%[![:space:]]*}"}"
    line="${line%"${line##*[![:space:]]}"}"
    if [ -n "$line" ]; then lines+=("$line"); fi
  done <<<"$1"
  if [ "${#lines[@]}" -gt 1 ]; then
    printf '%s\0' "${lines[@]}"
  elif [ "${#lines[@]}" -eq 1 ]; then
    read -r -a words <<<"${lines[0]}" || true
    printf '%s\0' "${words[@]}"
  fi
}

MODELS=()
add_model() {
  local known
  for known in ${MODELS[@]+"${MODELS[@]}"}; do
    [ "$known" = "$1" ] && return 0
  done
  MODELS+=("$1")
}

# Files a glob pattern matches, into GLOB_MATCHES, without word splitting or eval: IFS is empty
# here, so the unquoted expansion only globs; nullglob turns no match into no words.
glob_files() {
  local IFS=
  local path
  local -a paths
  shopt -s nullglob
  shopt -s globstar 2>/dev/null || true # bash >= 4; without it ** matches like *
  # shellcheck disable=SC2206  # globbing is the point; IFS is empty, so nothing is split
  paths=($1)
  shopt -u nullglob
  GLOB_MATCHES=()
  for path in ${paths[@]+"${paths[@]}"}; do
    [ -f "$path" ] && GLOB_MATCHES+=("$path")
  done
  return 0
}

expand_models() {
  local entry match
  while IFS= read -r -d '' entry; do
    if [[ $entry == *[\*\?\[]* ]]; then
      glob_files "$entry"
      if [ "${#GLOB_MATCHES[@]}" -eq 0 ]; then
        annotate warning "models: '$entry' matches no file"
        continue
      fi
      for match in "${GLOB_MATCHES[@]}"; do
        add_model "$match"
      done
    else
      add_model "$entry"
    fi
  done < <(split_models "$1")
}

explain_exit_code() {
  local rc=$1
  case "$rc" in
    0) annotate notice "modelscan-vicious: exit 0, passed: every check ran and nothing reached a threshold" ;;
    1) annotate error "modelscan-vicious: exit 1, risk found: a model reached --fail-on-probability or --fail-on-risk (see the reports)" ;;
    2) annotate error "modelscan-vicious: exit 2, scan error: a model or the data was refused or unreadable, or a check could not run" ;;
    3) annotate error "modelscan-vicious: exit 3, nothing scanned" ;;
    4) annotate error "modelscan-vicious: exit 4, usage error: check the action's inputs" ;;
    126 | 127) annotate error "modelscan-vicious: could not run the scanner '$SCANNER' (exit $rc)" ;;
    *) annotate error "modelscan-vicious: exit $rc (unexpected)" ;;
  esac
  if [ "$rc" -eq 2 ] && [ "$(cat /proc/sys/kernel/apparmor_restrict_unprivileged_userns 2>/dev/null || true)" = "1" ]; then
    annotate notice "this system restricts unprivileged user namespaces (AppArmor). If the error says the model cannot be contained, run 'sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0' before the scan, or set allow-weak-containment: true"
  fi
}

# Sets BOOL to true or false; anything else is a usage error.
parse_bool() {
  case "$(printf '%s' "$2" | tr '[:upper:]' '[:lower:]')" in
    "" | false | no | 0) BOOL=false ;;
    true | yes | 1) BOOL=true ;;
    *) usage_error "$1 must be true or false, got '$2'" ;;
  esac
}

SCANNER=${MSV_SCANNER:-modelscan-vicious}
OUTPUT_DIR=${MSV_OUTPUT_DIR:-modelscan-report}
[ -n "${MSV_MODELS:-}" ] && [[ ${MSV_MODELS} == *[![:space:]]* ]] || usage_error "models is required (paths or glob patterns)"
parse_bool allow-weak-containment "${MSV_ALLOW_WEAK_CONTAINMENT:-}"
ALLOW_WEAK=$BOOL

expand_models "$MSV_MODELS"
if [ "${#MODELS[@]}" -eq 0 ]; then
  annotate error "modelscan-vicious: exit 3, nothing scanned: no model file matched '$MSV_MODELS'"
  set_output exit-code "$EXIT_NOTHING_SCANNED"
  exit "$EXIT_NOTHING_SCANNED"
fi

args=(scan --format "json,html,sarif" --output-dir "$OUTPUT_DIR")
[ -n "${MSV_CONFIG:-}" ] && args+=(--config "$MSV_CONFIG")
[ -n "${MSV_LABELS:-}" ] && args+=(--labels "$MSV_LABELS")
[ -n "${MSV_AUX:-}" ] && args+=(--aux "$MSV_AUX")
[ -n "${MSV_BUDGET:-}" ] && args+=(--budget "$MSV_BUDGET")
[ -n "${MSV_RELEASE:-}" ] && args+=(--release "$MSV_RELEASE")
[ -n "${MSV_FAIL_ON_PROBABILITY:-}" ] && args+=(--fail-on-probability "$MSV_FAIL_ON_PROBABILITY")
[ -n "${MSV_FAIL_ON_RISK:-}" ] && args+=(--fail-on-risk "$MSV_FAIL_ON_RISK")
[ "$ALLOW_WEAK" = true ] && args+=(--allow-weak-containment)
extra=()
read -r -d '' -a extra <<<"${MSV_EXTRA_ARGS:-}" || true
args+=(${extra[@]+"${extra[@]}"})
args+=(-- "${MODELS[@]}") # after --, a model file named like a flag is still a model

printf 'modelscan-vicious: scanning %d model(s):' "${#MODELS[@]}" >&2
printf ' %q' "${MODELS[@]}" >&2
printf '\n' >&2
rm -f "$OUTPUT_DIR/modelscan-vicious.sarif" # so that sarif-file never names an earlier run's
rc=0
"$SCANNER" "${args[@]}" || rc=$?

explain_exit_code "$rc"
set_output exit-code "$rc"
[ -d "$OUTPUT_DIR" ] && set_output report-dir "$OUTPUT_DIR"
[ -f "$OUTPUT_DIR/modelscan-vicious.sarif" ] && set_output sarif-file "$OUTPUT_DIR/modelscan-vicious.sarif"
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  printf '### modelscan-vicious\n\nExit code %s for %d model(s); reports in %s.\n' \
    "$rc" "${#MODELS[@]}" "$OUTPUT_DIR" >>"$GITHUB_STEP_SUMMARY"
fi
exit "$rc"
