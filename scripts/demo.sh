#!/usr/bin/env bash
# `make demo`: the launchdeck story on examples/black-friday/, on embedded defaults.
# Each capability adds its chapter here.
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH="$PWD/.venv/bin:$PATH"
LD=launchdeck
EXAMPLE="$PWD/examples/black-friday"
STATE="$EXAMPLE/.launchdeck"
SCRATCH=$(mktemp -d)
SERVER_PID=""
PROM_PID=""
HOOKS_PID=""
stop_sites() {  # the nginx of the demo's release targets (they outlive the commands by design)
  local pid
  for pid in "$STATE"/sites/*/*/run/nginx.pid; do
    [ -f "$pid" ] && kill -QUIT "$(cat "$pid")" 2>/dev/null || true
  done
}
cleanup() {
  stop_sites
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  [ -n "$HOOKS_PID" ] && kill "$HOOKS_PID" 2>/dev/null && wait "$HOOKS_PID" 2>/dev/null
  [ -n "$PROM_PID" ] && kill "$PROM_PID" 2>/dev/null && wait "$PROM_PID" 2>/dev/null
  rm -rf "$SCRATCH"
}
trap cleanup EXIT

export COLUMNS=${COLUMNS:-110}
export LAUNCHDECK_WORKSPACE="$EXAMPLE"
export LAUNCHDECK_DATABASE_URL="sqlite:///$STATE/state.db"
export LAUNCHDECK_ACTOR="demo@northwind"
unset LAUNCHDECK_URL LAUNCHDECK_TOKEN
# The story happens around Black Friday 2026 whatever today is: LAUNCHDECK_NOW pins the clock of
# every command (and what they record) to the instant the chapter is set at.
export LAUNCHDECK_NOW=2026-11-26T14:00:00Z   # the day before Black Friday

bold=$'\e[1m'; dim=$'\e[2m'; off=$'\e[0m'
chapter() { printf '\n%s━━ %s%s\n' "$bold" "$*" "$off"; }
say() { printf '%s%s%s\n' "$dim" "$*" "$off"; }
run() { printf '%s$ %s%s\n' "$bold" "$*" "$off"; "$@"; }
# Run a command that is expected to fail, and show its exit code.
run_expect() {
  local want=$1; shift
  printf '%s$ %s%s\n' "$bold" "$*" "$off"
  set +e; "$@"; local got=$?; set -e
  say "(exit code $got)"
  [ "$got" -eq "$want" ] || { echo "demo: expected exit code $want, got $got" >&2; exit 1; }
}

stop_sites
rm -rf "$STATE"   # every demo starts from an empty store

# Slack and Teams stand-ins: the workspace routes notifications to webhook URLs it names only by
# environment variable (they are secrets); here they point at a local receiver.
free_port() { "$PWD/.venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
HOOKS_PORT=$(free_port)
"$PWD/.venv/bin/python" scripts/demo_receiver.py "$HOOKS_PORT" "$SCRATCH/hooks.jsonl" &
HOOKS_PID=$!
export NORTHWIND_SLACK_PAYMENTS_WEBHOOK="http://127.0.0.1:$HOOKS_PORT/slack/payments-oncall"
export NORTHWIND_TEAMS_MARKETING_WEBHOOK="http://127.0.0.1:$HOOKS_PORT/teams/marketing-updates"

chapter "1. The workspace is code"
say "Northwind's martech team declares 8 systems, staging + production and its Black Friday /"
say "Cyber Monday 2026 campaigns in examples/black-friday/launchdeck.yaml."
run "$LD" validate
say "A teammate's edit with a typo, an unknown system and a dependency cycle is caught with"
say "file:line:column, the field and a fix:"
cp -r "$EXAMPLE/." "$SCRATCH/broken"
rm -rf "$SCRATCH/broken/.launchdeck"
sed -i '0,/^    tier: 1$/s//    teir: 1/; 0,/depends_on: \[cms\]$/s//depends_on: [cms, landing-pages]/' \
  "$SCRATCH/broken/launchdeck.yaml"
run_expect 1 "$LD" -w "$SCRATCH/broken" validate
say "Fixing the typo reveals the cross-reference problems:"
sed -i 's/teir: 1/tier: 1/; 0,/depends_on: \[tracking-pixel\]$/s//depends_on: [tracking-pixel, checkout]/' \
  "$SCRATCH/broken/launchdeck.yaml"
run_expect 1 "$LD" -w "$SCRATCH/broken" validate

chapter "2. Plan, then apply in one transaction"
run "$LD" plan
run "$LD" apply
run "$LD" status

chapter "3. Marketing moves a campaign: the plan shows exactly what changes"
cp -r "$EXAMPLE/." "$SCRATCH/edited"
rm -rf "$SCRATCH/edited/.launchdeck"
# Cyber Monday is extended by a day and its revenue forecast raised; checkout starts calling search.
sed -i 's/    end: 2026-12-01T06:00:00/    end: 2026-12-02T06:00:00/; s/revenue_per_hour: 220000/revenue_per_hour: 260000/' \
  "$SCRATCH/edited/launchdeck.yaml"
sed -i '/id: checkout-api/,/slos:/ s/depends_on: \[tracking-pixel\]/depends_on: [tracking-pixel, search]/' \
  "$SCRATCH/edited/launchdeck.yaml"
say "In CI, --detailed-exitcode exits 4 when there is something to apply:"
run_expect 4 "$LD" -w "$SCRATCH/edited" plan --detailed-exitcode
run "$LD" -w "$SCRATCH/edited" apply
run "$LD" campaigns list

chapter "4. Every change is on the timeline"
run "$LD" timeline --limit 8
run "$LD" timeline --kind campaign --since 1h

chapter "5. May I deploy? The gate knows the campaign calendar"
BF="2026-11-27T15:00:00Z"   # Black Friday afternoon (fixed, so the story is the same every day)
say "A feature to landing-pages on Black Friday afternoon: blocked, with the campaign at stake,"
say "the dependency path and the next time the same change would be allowed (exit code 3 for CI):"
run_expect 3 "$LD" gate check landing-pages --change-type feature --at "$BF"
say "A change to cms reaches Black Friday through landing-pages, so it is blocked as well:"
run_expect 3 "$LD" gate check cms --change-type config --at "$BF"
say "A hotfix is what a tier-1 freeze allows: exit 0, with the warning printed:"
run "$LD" gate check landing-pages --change-type hotfix --at "$BF"
say "The payments team freezes checkout for a provider incident (ad-hoc, with a reason and an end):"
run "$LD" freeze add --system checkout-api --until 2026-12-31T00:00:00Z --reason "payment provider degraded"
run "$LD" calendar --from 2026-11-26T00:00:00Z --to 7d --system checkout-api
run "$LD" calendar export -o "$STATE/calendar.ics"
say "Marketing can subscribe to that feed (or GET /api/v1/calendar.ics) to see deploy freezes"
say "in their own calendar app. Blocked checks are on the timeline:"
run "$LD" timeline --kind gate --limit 3

chapter "6. Error budgets: checkout-api's SLO burns on Black Friday"
export LAUNCHDECK_NOW=2026-11-27T09:00:00Z   # 4 AM in New York on Black Friday
say "checkout-api's availability SLO is OpenSLO v1 (slos/checkout-api.yaml): 99.9 % of requests"
say "over a rolling 28 days, held to 99.95 % while Black Friday runs (campaigns[].slo_objectives)."
run "$LD" slo validate "$EXAMPLE/slos/checkout-api.yaml"
say "A teammate writes 'target: 99.9', a percentage where OpenSLO wants a ratio:"
sed 's/target: 0.999/target: 99.9/' "$EXAMPLE/slos/checkout-api.yaml" >"$SCRATCH/checkout-api.yaml"
run_expect 1 "$LD" slo validate "$SCRATCH/checkout-api.yaml"
run "$LD" slo list
bash scripts/ensure-prometheus.sh
SLO_AT="2026-11-27T08:00:00Z"   # 3 AM in New York on Black Friday (fixed: the same story every day)
say "A real Prometheus serves four weeks of checkout traffic through Black Friday (written with"
say "promtool); the chapter looks at it as of $SLO_AT."
say "Black Friday quadruples traffic from midnight New York time; at 01:30 the payment provider fails"
say "25 % of requests for 45 minutes, and 1 % keep failing after it."
"$PWD/.venv/bin/python" scripts/demo_traffic.py 2026-11-27T16:30:00Z "$SCRATCH/traffic.om"
promtool tsdb create-blocks-from openmetrics --quiet --max-block-duration=744h \
  "$SCRATCH/traffic.om" "$SCRATCH/prometheus" >/dev/null
PROM_PORT=$(free_port)
printf 'global:\n  scrape_interval: 1m\n' >"$SCRATCH/prometheus.yml"
prometheus --config.file="$SCRATCH/prometheus.yml" --storage.tsdb.path="$SCRATCH/prometheus" \
  --storage.tsdb.retention.time=100y --web.listen-address="127.0.0.1:$PROM_PORT" \
  >"$SCRATCH/prometheus.log" 2>&1 &
PROM_PID=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$PROM_PORT/-/ready" >/dev/null 2>&1 && break || sleep 0.1
done
export LAUNCHDECK_PROMETHEUS_URL="http://127.0.0.1:$PROM_PORT"
say "The budget, burn per window, the alert tiers that page and when the budget runs out:"
run "$LD" slo status checkout-api --at "$SLO_AT" --chart "$STATE/checkout-api-burn-down.svg"
say "The same model writes Prometheus recording and alerting rules with Sloth's metric names;"
say "promtool accepts them, so existing Sloth dashboards keep working:"
run "$LD" slo rules -o "$STATE/slo-rules.yaml"
run promtool check rules "$STATE/slo-rules.yaml"
say "The gate enforces the error-budget policy. A feature to checkout-api is blocked twice over:"
say "by the Black Friday freeze, and by the spent budget, which still holds after the freeze lifts:"
run_expect 3 "$LD" gate check checkout-api --change-type feature --at "$SLO_AT"
say "A hotfix is what both allow:"
run "$LD" gate check checkout-api --change-type hotfix --at "$SLO_AT"

chapter "7. Incidents: a Black Friday outage, sized by the revenue it puts at risk"
: >"$SCRATCH/hooks.jsonl"
say "Black Friday, 10:04 in New York (15:04 UTC): CI deploys checkout-api v2.4.0 and records it:"
export LAUNCHDECK_NOW=2026-11-27T15:04:00Z
run "$LD" record deploy checkout-api --env production --version v2.4.0 --note "retry card authorisations"
say "At 10:12 card payments fail with 502s (since 10:06). The on-call engineer opens an incident;"
say "launchdeck sizes it by the live campaigns checkout-api reaches and the revenue at risk, and"
say "pre-fills its timeline with what changed on checkout-api and its dependencies just before:"
export LAUNCHDECK_NOW=2026-11-27T15:12:00Z
run "$LD" incident open "Card payments fail with 502 at checkout" --system checkout-api \
  --started 2026-11-27T15:06:00Z --type bad-deploy --commander @maria
say "The same outage in a quiet week would be SEV3 (no campaign live; checkout-api is tier 1)."
say "While the SEV1 is open, the gate holds every change to checkout-api that is not remediation:"
run_expect 3 "$LD" gate check checkout-api --change-type feature
say "The runbooks attached to checkout-api and bad deploys, and a dry run of the rollback one"
say "(each step is recorded on the incident's timeline):"
run "$LD" runbook list --incident INC-1
run "$LD" runbook run deployment-rollback --incident INC-1 --dry-run
say "The team rolls back with its deploy tool; checkout recovers; the incident is mitigated, a"
say "follow-up is tracked, and it is resolved:"
LAUNCHDECK_NOW=2026-11-27T15:29:00Z run "$LD" record deploy checkout-api --env production --version v2.3.9 --note "rollback of v2.4.0"
LAUNCHDECK_NOW=2026-11-27T15:31:00Z run "$LD" incident update INC-1 --status mitigated --scribe @lee --liaison @dana-growth --note "rolled back to v2.3.9; 502s back to baseline" >/dev/null
LAUNCHDECK_NOW=2026-11-27T15:33:00Z run "$LD" incident task INC-1 "Canary checkout releases during campaigns" --owner @payments --action prevent --due 2026-12-11T00:00:00Z
LAUNCHDECK_NOW=2026-11-27T16:05:00Z run "$LD" incident resolve INC-1 --note "v2.4.0 retry storm fixed upstream" >/dev/null
export LAUNCHDECK_NOW=2026-11-27T16:10:00Z
run "$LD" incident show INC-1
run "$LD" incident list --all
say "A blameless postmortem draft (Google SRE's template), filled from the incident, its timeline,"
say "the campaigns and the SLO's error budget; what a person must write is marked TODO(author):"
run "$LD" postmortem draft INC-1 --out "$STATE/postmortem-INC-1.md"
sed -n '1,/^## Root causes/p' "$STATE/postmortem-INC-1.md" | head -40
say "Slack (the payments on-call) and Teams (marketing, in plain language) were told:"
"$PWD/.venv/bin/python" scripts/demo_receiver.py --show "$SCRATCH/hooks.jsonl"
kill "$HOOKS_PID"; wait "$HOOKS_PID" 2>/dev/null || true; HOOKS_PID=""
unset LAUNCHDECK_NOW NORTHWIND_SLACK_PAYMENTS_WEBHOOK NORTHWIND_TEAMS_MARKETING_WEBHOOK

chapter "8. The API: scoped tokens, remote mode for CI runners"
printf '%s$ %s%s\n' "$bold" "launchdeck token create --name release-bot --scope admin --expires-in 1d" "$off"
"$LD" token create --name release-bot --scope admin --expires-in 1d >"$SCRATCH/admin.token"
say "(the token went to stdout once, into a file for the demo; only its hash is stored)"
READ_TOKEN=$("$LD" token create --name dashboard --scope read --json | "$PWD/.venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["token"])')
PORT=$(free_port)
"$LD" serve --port "$PORT" >"$SCRATCH/serve.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
  "$PWD/.venv/bin/python" - "$PORT" 2>/dev/null <<'PY' && break || sleep 0.1
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/readyz", timeout=1)
PY
done
say "launchdeck serve is listening on http://127.0.0.1:$PORT (OpenAPI: /api/openapi.json)"
say "Remote mode: the same commands, through the API with only a URL and a token:"
export LAUNCHDECK_URL="http://127.0.0.1:$PORT"
export LAUNCHDECK_TOKEN; LAUNCHDECK_TOKEN=$(cat "$SCRATCH/admin.token")
say "(the release bot puts the committed workspace back: the API records it as 'release-bot')"
run "$LD" -w "$EXAMPLE" apply
run "$LD" timeline --limit 5
say "A CI runner asks the gate through the API with the same command (recorded as release-bot):"
run_expect 3 "$LD" gate check checkout-api --at "$BF"
say "A read-only token may look but not change anything:"
LAUNCHDECK_TOKEN="$READ_TOKEN" run_expect 1 "$LD" -w "$SCRATCH/edited" apply
unset LAUNCHDECK_URL LAUNCHDECK_TOKEN
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
kill "$PROM_PID"; wait "$PROM_PID" 2>/dev/null || true; PROM_PID=""

chapter "9. Feature flags: ship dark, switch on when Black Friday starts"
export LAUNCHDECK_NOW=2026-11-24T15:00:00Z   # the Tuesday before, ahead of the freeze
say "Tuesday before Black Friday: the new hero banner ships dark behind a flag on landing-pages."
run "$LD" flags create bf-hero-banner --system landing-pages --name "Black Friday hero banner" --owner @web-team
run "$LD" flags set bf-hero-banner --env production --serve on -m "everyone gets the banner once it is on"
say "Marketing ties it to the campaign: on when Black Friday starts, off when it ends. The change"
say "follows the campaign if it moves. The gate judges it now, before Black Friday's freeze (the"
say "loyalty early access that runs now allows flag changes, with a warning):"
run "$LD" flags schedule bf-hero-banner --env production --campaign black-friday --turn on
run "$LD" flags schedule bf-hero-banner --env production --campaign black-friday --edge end --turn off
run "$LD" flags show bf-hero-banner
say "Preview with --at: Thursday evening in New York (off), Friday morning (on):"
run "$LD" flags eval bf-hero-banner --env production -c targetingKey=user-42 --at 2026-11-26T23:00:00Z
run "$LD" flags eval bf-hero-banner --env production -c targetingKey=user-42 --at 2026-11-27T14:00:00Z
say "In staging it goes to 25 % of users first, bucketed by user (docs/bucketing.md); the split"
say "measured over 20,000 users:"
run "$LD" flags on bf-hero-banner --env staging
run "$LD" flags rollout bf-hero-banner 25% --env staging --variant on
run "$LD" flags eval bf-hero-banner --env staging --sample 20000
export LAUNCHDECK_NOW=2026-11-27T14:00:00Z   # Black Friday, 9 AM in New York
say "Black Friday. Apps read flags in-process (launchdeck.flags.openfeature, an OpenFeature"
say "provider) or over OFREP with an environment's SDK key:"
SDK_KEY=$("$LD" flags sdk-key create storefront --env production --json | "$PWD/.venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["key"])')
PORT=$(free_port)
"$LD" serve --port "$PORT" >"$SCRATCH/serve-flags.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break || sleep 0.1
done
ofrep() {
  printf '%s$ curl -X POST %s/ofrep/v1/evaluate/flags/bf-hero-banner -H "Authorization: Bearer lds_…" -d %s%s\n' \
    "$bold" "http://127.0.0.1:$PORT" "'{\"context\":{\"targetingKey\":\"user-42\"}}'" "$off"
  curl -sS -X POST "http://127.0.0.1:$PORT/ofrep/v1/evaluate/flags/bf-hero-banner" \
    -H "Authorization: Bearer $SDK_KEY" -H "Content-Type: application/json" \
    -d '{"context":{"targetingKey":"user-42"}}'
  echo
}
ofrep
say "A change to landing-pages in production is frozen now, so widening anything is blocked;"
say "the kill switch is remediation and always allowed (the banner breaks on an old Safari):"
run_expect 3 "$LD" flags set bf-hero-banner --env production --clear-rules
LAUNCHDECK_NOW=2026-11-27T14:05:00Z run "$LD" flags off bf-hero-banner --env production -m "banner breaks on Safari 15"
sleep 0.5
say "The running server sees the change within a quarter of a second:"
ofrep
run "$LD" flags history bf-hero-banner
say "The calendar's own change is on the timeline too, at the instant Black Friday started, so an"
say "incident's \"what changed?\" sees it:"
run "$LD" timeline --kind flag.schedule_fired
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""

chapter "10. Experiments: plan against the deadline, analyse, and catch a broken one"
export LAUNCHDECK_NOW=2026-11-26T15:00:00Z   # Thanksgiving, the day before the experiments start
say "Two experiments run on the landing page during Black Friday (launchdeck.yaml: flags,"
say "metrics, experiments). Each one's split is its flag's rollout; a visitor without analytics"
say "consent gets the control copy and is never counted:"
run "$LD" experiments list
run "$LD" flags eval bf-hero-copy --env production -c targetingKey=v-000042 -c analytics_consent=true
run "$LD" flags eval bf-hero-copy --env production -c targetingKey=v-000042
say "Before launch: can a two-day campaign detect a 10 % lift in conversion?"
run "$LD" experiments plan bf-hero-copy
export LAUNCHDECK_NOW=2026-11-28T12:00:00Z   # Saturday noon, day two of the campaign
say "Saturday noon. 80,000 synthetic visitors (scripts/demo_experiments.py): the urgency copy"
say "really converts better; the free-shipping banner's page is broken twice (Safari visitors"
say "lost before the exposure is logged, and its purchase tag broke overnight). Bulk import:"
"$PWD/.venv/bin/python" scripts/demo_experiments.py "$SCRATCH/bf-traffic.jsonl" >/dev/null
run "$LD" events import "$SCRATCH/bf-traffic.jsonl"
say "Apps send events as they happen: POST /api/v1/events, batched; an id makes a retry harmless"
say "and a bad event is rejected alone, with its reason:"
"$LD" serve --port "$PORT" >"$SCRATCH/serve-events.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break || sleep 0.1
done
BATCH='{"events":[
 {"id":"buy:v-000042","type":"metric","event":"purchase","unit":"v-000042","value":89.9,"timestamp":"2026-11-28T11:58:00Z"},
 {"id":"buy:v-000042","type":"metric","event":"purchase","unit":"v-000042","value":89.9,"timestamp":"2026-11-28T11:58:00Z"},
 {"type":"exposure","experiment":"bf-hero-copy","variant":"shouty","unit":"v-000043","timestamp":"2026-11-28T11:59:00Z"}]}'
printf '%s$ curl -X POST %s/api/v1/events -H "Authorization: Bearer lds_…" -d %s%s\n' \
  "$bold" "http://127.0.0.1:$PORT" "'{\"events\": [purchase, the same again, an unknown variant]}'" "$off"
curl -sS -X POST "http://127.0.0.1:$PORT/api/v1/events" -H "Authorization: Bearer $SDK_KEY" \
  -H "Content-Type: application/json" -d "$BATCH"
echo
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
run "$LD" events stats
say "The analysis: aggregation in SQL (DuckDB here, the team's warehouse at scale: 'experiments sql"
say "--dialect bigquery'), then sequential tests, Holm across metrics, capped revenue:"
run "$LD" experiments analyse bf-hero-copy --chart "$STATE/bf-hero-copy.png"
run "$LD" experiments validate bf-hero-copy
say "The free-shipping banner 'wins' nothing and the validator says why before anyone decides:"
run_expect 4 "$LD" experiments validate bf-free-shipping
unset LAUNCHDECK_NOW

chapter "11. A canary on Black Friday: a broken Buy button rolls itself back"
export LAUNCHDECK_NOW=2026-11-27T15:00:00Z   # Black Friday, 10 am in New York
HOOKS_PORT=$(free_port)
"$PWD/.venv/bin/python" scripts/demo_receiver.py "$HOOKS_PORT" "$SCRATCH/hooks-rollout.jsonl" &
HOOKS_PID=$!
export NORTHWIND_SLACK_PAYMENTS_WEBHOOK="http://127.0.0.1:$HOOKS_PORT/slack/payments-oncall"
export NORTHWIND_TEAMS_MARKETING_WEBHOOK="http://127.0.0.1:$HOOKS_PORT/teams/marketing-updates"
for v in v1 v2 v3; do
  mkdir -p "$SCRATCH/builds/$v"
  button="Buy now"; [ "$v" = v2 ] && button="Buy now (broken)"
  printf '<h1>Black Friday: 40 %% off</h1><button>%s</button><!-- %s -->' "$button" "$v" \
    > "$SCRATCH/builds/$v/index.html"
done
say "landing-pages is served by launchdeck's own nginx (the nginx-static target: immutable"
say "release directories, a sticky cookie split, paid-click visitors kept on stable). v1 first:"
run "$LD" deploy landing-pages --version v1 --artifact "$SCRATCH/builds/v1" --change-type hotfix
say "v2 is a hotfix of the hero copy (the Black Friday freeze allows hotfixes). It goes out as a"
say "canary with the strategy the workspace names (rollouts/landing-pages-canary.yaml: 10 %, pause,"
say "analysis, 50 % …); the gate is asked before it starts and at every step:"
run "$LD" deploy landing-pages --version v2 --artifact "$SCRATCH/builds/v2" --change-type hotfix
say "Its Buy button is broken for most visitors. 600 synthetic shoppers a simulated minute; every"
say "minute the controller takes its pass (what 'launchdeck controller' does): the judge compares"
say "canary with stable on conversion and errors with anytime-valid tests (checking every minute"
say "does not inflate false rollbacks), and nginx is reconciled (scripts/demo_rollout.py):"
"$PWD/.venv/bin/python" scripts/demo_rollout.py landing-pages v2 45
export LAUNCHDECK_NOW=2026-11-27T15:04:00Z
run "$LD" release status landing-pages
say "Every move is on the timeline, the rollback with its evidence:"
run "$LD" timeline --kind release
say "The rollback opened an incident, sized by the live campaign like any other:"
run "$LD" incident show INC-2
say "Slack and Teams were told:"
"$PWD/.venv/bin/python" scripts/demo_receiver.py --show "$SCRATCH/hooks-rollout.jsonl"
say "v3 fixes the button. The gate says one release at a time; v2 is over, so v3 may go:"
run "$LD" gate check landing-pages --change-type hotfix
run "$LD" deploy landing-pages --version v3 --artifact "$SCRATCH/builds/v3" --change-type hotfix
"$PWD/.venv/bin/python" scripts/demo_rollout.py landing-pages v3 45
say "Marketing wants the old page back after all: one command, served at once (no reload):"
export LAUNCHDECK_NOW=2026-11-27T16:00:00Z
run "$LD" release rollback landing-pages --reason "legal asked for the old hero copy"
run "$LD" release list landing-pages
kill "$HOOKS_PID"; wait "$HOOKS_PID" 2>/dev/null || true; HOOKS_PID=""
unset LAUNCHDECK_NOW NORTHWIND_SLACK_PAYMENTS_WEBHOOK NORTHWIND_TEAMS_MARKETING_WEBHOOK

chapter "What to look at next"
cat <<EOT
  The store is at $STATE/state.db; the calendar feed at $STATE/calendar.ics; the burn-down
  chart at $STATE/checkout-api-burn-down.svg, the Prometheus rules at $STATE/slo-rules.yaml and
  the postmortem draft at $STATE/postmortem-INC-1.md, the experiment chart at
  $STATE/bf-hero-copy.png and the events at $STATE/events.duckdb.
  Try:
    .venv/bin/launchdeck -w examples/black-friday timeline            # who changed what, when
    .venv/bin/launchdeck -w examples/black-friday gate check cms      # may I deploy now?
    .venv/bin/launchdeck -w examples/black-friday calendar            # campaigns and freezes ahead
    .venv/bin/launchdeck -w examples/black-friday slo list            # SLOs and protected windows
    .venv/bin/launchdeck -w examples/black-friday incident list --all # incidents, MTTD and MTTR
    .venv/bin/launchdeck -w examples/black-friday runbook show database-failover
    .venv/bin/launchdeck -w examples/black-friday serve               # then open http://127.0.0.1:8474/api/docs
    .venv/bin/launchdeck -w examples/black-friday token create --name me --scope admin
    .venv/bin/launchdeck -w examples/black-friday flags show bf-hero-banner
    .venv/bin/launchdeck -w examples/black-friday experiments sql bf-hero-copy --dialect snowflake
  Docs: README.md, docs/guide.md, docs/slo.md, docs/incidents.md, docs/notifications.md,
        docs/flags.md, docs/bucketing.md, docs/experiments.md, docs/rollout.md,
        docs/architecture.md
EOT
