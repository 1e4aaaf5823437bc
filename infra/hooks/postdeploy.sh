#!/bin/sh
# azd postdeploy hook: first check that the deployed app is ready (GET /api/ready), then create or
# update the Event Grid subscription that delivers the ACS resource's IncomingCall events to the
# incoming_call function (endpoint type AzureFunction, so no function key is fetched or stored).
# Readiness comes first so that a broken deployment fails here before any call is routed to it.
# Safe to re-run: the subscription is one ARM PUT (create-or-update) with a fixed name, which
# replaces the previous filter, retry and dead-letter policy.
#
# With no number configured (a fresh subscription owns none yet) the hook checks readiness, skips
# the subscription, says what to set and which command to run later, and ends successfully.
#
# Inputs, from the azd environment (outputs of infra/main.bicep unless noted):
#   AZURE_SUBSCRIPTION_ID AZURE_RESOURCE_GROUP AZURE_FUNCTION_APP_NAME
#   EVENTGRID_SYSTEM_TOPIC_NAME AZURE_STORAGE_ACCOUNT_ID DEADLETTER_CONTAINER_NAME
#   INCOMING_CALL_NUMBERS            called numbers (E.164, comma or space separated) to deliver;
#                                    unset = no subscription yet (skipped with a message)
#   INCOMING_CALL_ALL_NUMBERS=1      deliver every IncomingCall of the ACS resource instead (warned:
#                                    that includes calls the app's own redirects create)
#   EVENTGRID_MAX_DELIVERY_ATTEMPTS  optional, 1-30, default 10
#   EVENTGRID_EVENT_TTL_MINUTES      optional, 1-1440, default 5: an IncomingCall can only be
#                                    answered while the caller waits, so late retries are useless
#   READY_TIMEOUT_SECONDS            optional, 0-3600, default 600: how long /api/ready may fail
#   POSTDEPLOY_SKIP_READY=1          skip the readiness check
#   POSTDEPLOY_DRY_RUN=1             print the request instead of sending it (needs no az)
set -eu
set -f # entries of INCOMING_CALL_NUMBERS are never globbed

API_VERSION=2025-02-15
EVENT_SUBSCRIPTION_NAME=incoming-call
FUNCTION_NAME=incoming_call
CALLED_NUMBER_KEY=data.to.PhoneNumber.Value
MAX_FILTER_VALUES=25

fail() {
  printf 'postdeploy: %s\n' "$1" >&2
  exit 1
}

require() {
  value=$(printenv "$1" || true)
  [ -n "$value" ] || fail "$1 is not set; run 'azd provision' first (it is an output of infra/main.bicep)"
  printf '%s' "$value"
}

bounded_int() { # name default low high
  value=$(printenv "$1" || true)
  value=${value:-$2}
  case "$value" in
    '' | *[!0-9]*) fail "$1 must be a whole number between $3 and $4" ;;
  esac
  [ "$value" -ge "$3" ] && [ "$value" -le "$4" ] || fail "$1 must be between $3 and $4, got $value"
  printf '%s' "$value"
}

subscription_id=$(require AZURE_SUBSCRIPTION_ID)
resource_group=$(require AZURE_RESOURCE_GROUP)
function_app=$(require AZURE_FUNCTION_APP_NAME)
system_topic=$(require EVENTGRID_SYSTEM_TOPIC_NAME)
storage_account_id=$(require AZURE_STORAGE_ACCOUNT_ID)
dead_letter_container=$(require DEADLETTER_CONTAINER_NAME)
max_attempts=$(bounded_int EVENTGRID_MAX_DELIVERY_ATTEMPTS 10 1 30)
ttl_minutes=$(bounded_int EVENTGRID_EVENT_TTL_MINUTES 5 1 1440)

# Called numbers -> JSON string list. Numbers are never echoed: the errors name the entry's position.
numbers_json=''
count=0
for number in $(printf '%s' "${INCOMING_CALL_NUMBERS:-}" | tr ',;' '  '); do
  count=$((count + 1))
  digits=${number#+}
  case "$number" in
    +[1-9]*) ;;
    *) fail "INCOMING_CALL_NUMBERS entry $count is not an E.164 number (+ and 7 to 15 digits)" ;;
  esac
  case "$digits" in
    *[!0-9]*) fail "INCOMING_CALL_NUMBERS entry $count is not an E.164 number (+ and 7 to 15 digits)" ;;
  esac
  if [ "${#digits}" -lt 7 ] || [ "${#digits}" -gt 15 ]; then
    fail "INCOMING_CALL_NUMBERS entry $count is not an E.164 number (+ and 7 to 15 digits)"
  fi
  numbers_json="${numbers_json:+$numbers_json, }\"$number\""
done
[ "$count" -le "$MAX_FILTER_VALUES" ] ||
  fail "INCOMING_CALL_NUMBERS has $count entries; one Event Grid filter takes at most $MAX_FILTER_VALUES"

# Without a number filter Event Grid delivers every IncomingCall of the resource, including the
# calls to ACS users that this app's own redirects create, which can loop. So an empty filter is
# never sent: without numbers the subscription is skipped, unless all calls are asked for.
all_numbers=$(printenv INCOMING_CALL_ALL_NUMBERS || true)
case "$all_numbers" in
  '' | 0 | false) all_numbers=0 ;;
  1 | true) all_numbers=1 ;;
  *) fail "INCOMING_CALL_ALL_NUMBERS must be 1 or true (or unset), got '$all_numbers'" ;;
esac
if [ "$count" -gt 0 ] && [ "$all_numbers" = 1 ]; then
  fail "set INCOMING_CALL_NUMBERS or INCOMING_CALL_ALL_NUMBERS=1, not both"
fi
subscribe=1
if [ "$count" -eq 0 ] && [ "$all_numbers" = 0 ]; then
  subscribe=0
fi
if [ "$all_numbers" = 1 ]; then
  printf '%s\n' "postdeploy: warning: INCOMING_CALL_ALL_NUMBERS=1 subscribes every IncomingCall of the ACS resource, including calls to ACS users that this app's own redirects create; such a call comes back to the app and loops unless the redirect guard stops it. Prefer INCOMING_CALL_NUMBERS." >&2
fi

if [ "$count" -gt 0 ]; then
  advanced_filters="[{\"operatorType\": \"StringIn\", \"key\": \"$CALLED_NUMBER_KEY\", \"values\": [$numbers_json]}]"
  filter_summary="$count called number(s)"
else
  advanced_filters='[]'
  filter_summary='all calls'
fi

function_id="/subscriptions/$subscription_id/resourceGroups/$resource_group/providers/Microsoft.Web/sites/$function_app/functions/$FUNCTION_NAME"
url="/subscriptions/$subscription_id/resourceGroups/$resource_group/providers/Microsoft.EventGrid/systemTopics/$system_topic/eventSubscriptions/$EVENT_SUBSCRIPTION_NAME?api-version=$API_VERSION"

body=$(cat <<JSON
{
  "properties": {
    "destination": {
      "endpointType": "AzureFunction",
      "properties": {
        "resourceId": "$function_id",
        "maxEventsPerBatch": 1,
        "preferredBatchSizeInKilobytes": 64
      }
    },
    "filter": {
      "includedEventTypes": ["Microsoft.Communication.IncomingCall"],
      "advancedFilters": $advanced_filters
    },
    "eventDeliverySchema": "EventGridSchema",
    "retryPolicy": {
      "maxDeliveryAttempts": $max_attempts,
      "eventTimeToLiveInMinutes": $ttl_minutes
    },
    "deadLetterWithResourceIdentity": {
      "identity": {"type": "SystemAssigned"},
      "deadLetterDestination": {
        "endpointType": "StorageBlob",
        "properties": {
          "resourceId": "$storage_account_id",
          "blobContainerName": "$dead_letter_container"
        }
      }
    }
  }
}
JSON
)

# --- readiness (GET /api/ready): settings, Table Storage, ACS with the app's identity (its role
# assignment), the callback signing keys. The default function key is read for this call only,
# never printed or stored. A new role assignment can take minutes to apply, so a failing check is
# retried for READY_TIMEOUT_SECONDS (default 600) before the hook fails with the app's message.
# POSTDEPLOY_SKIP_READY=1 skips it.
ready_summary() { # the "summary" field of a /api/ready body
  sed -n 's/.*"summary" *: *"\([^"]*\)".*/\1/p' "$1" | head -n 1
}

check_ready() {
  if [ "${POSTDEPLOY_SKIP_READY:-}" = 1 ]; then
    printf 'postdeploy: readiness check skipped (POSTDEPLOY_SKIP_READY=1)\n'
    return 0
  fi
  command -v curl >/dev/null 2>&1 || fail "curl is required to call the app's /api/ready"
  ready_timeout=$(bounded_int READY_TIMEOUT_SECONDS 600 0 3600)
  host=$(az functionapp show --resource-group "$resource_group" --name "$function_app" \
    --query defaultHostName --output tsv) || fail "cannot read the host name of $function_app"
  ready_dir=$(mktemp -d)
  (umask 077 && az functionapp keys list --resource-group "$resource_group" --name "$function_app" \
    --query functionKeys.default --output tsv | sed 's/^/x-functions-key: /' >"$ready_dir/header") ||
    fail "cannot read the default function key of $function_app"
  [ -s "$ready_dir/header" ] || fail "$function_app has no default function key"
  deadline=$(($(date +%s) + ready_timeout))
  while :; do
    code=$(curl -sS --max-time 60 -o "$ready_dir/body" -w '%{http_code}' -H "@$ready_dir/header" \
      "https://$host/api/ready" || true)
    summary=$(ready_summary "$ready_dir/body" 2>/dev/null || true)
    if [ "$code" = 200 ]; then
      rm -rf "$ready_dir"
      printf 'postdeploy: the app is ready (%s)\n' "$summary"
      return 0
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      rm -rf "$ready_dir"
      fail "the app is NOT ready (GET /api/ready answered HTTP $code): ${summary:-no readiness report}"
    fi
    printf 'postdeploy: not ready yet (HTTP %s): %s; retrying in 20 s\n' "$code" "${summary:-no readiness report}"
    sleep 20
  done
}

# What to do later when no number is configured: the message names the setting and the command.
no_number_message() {
  printf '%s\n' "postdeploy: no phone number is configured yet (INCOMING_CALL_NUMBERS is empty), so the IncomingCall subscription is skipped and no call reaches $FUNCTION_NAME. The deployment itself is complete." \
    "postdeploy: once the ACS resource owns a number: azd env set INCOMING_CALL_NUMBERS \"+<number>\" (E.164, comma separated), then run: azd hooks run postdeploy" \
    "postdeploy: (docs/deployment.md, \"Get a phone number and point the filter at it\"; INCOMING_CALL_ALL_NUMBERS=1 takes every call instead, with its risk)"
}

if [ "${POSTDEPLOY_DRY_RUN:-}" = 1 ]; then
  if [ "$subscribe" = 1 ]; then
    printf 'PUT %s\n%s\n' "$url" "$body"
  else
    no_number_message
  fi
  exit 0
fi

command -v az >/dev/null 2>&1 || fail "the Azure CLI (az) is required to check the app and subscribe $FUNCTION_NAME to IncomingCall"

# Readiness first: a deployment that fails /api/ready stops here, before any call is routed to it.
check_ready
if [ "$subscribe" = 0 ]; then
  no_number_message
  exit 0
fi

body_file=$(mktemp)
trap 'rm -f "$body_file"' EXIT
printf '%s\n' "$body" >"$body_file"

printf 'postdeploy: subscribing %s to IncomingCall (%s)\n' "$FUNCTION_NAME" "$filter_summary"

# Right after a deploy the function may not be indexed yet, and Event Grid refuses a destination
# it cannot find: retry the PUT a few times before giving up.
attempt=1
until az rest --method put --url "$url" --body "@$body_file" --output none; do
  [ "$attempt" -lt 6 ] || fail "Event Grid refused the subscription (see the az error above)"
  printf 'postdeploy: attempt %s failed; retrying in 20 s\n' "$attempt"
  attempt=$((attempt + 1))
  sleep 20
done

state=''
polls=0
while [ "$polls" -lt 30 ]; do
  state=$(az rest --method get --url "$url" --query properties.provisioningState --output tsv)
  case "$state" in
    Succeeded)
      printf 'postdeploy: subscription %s is ready (%s)\n' "$EVENT_SUBSCRIPTION_NAME" "$filter_summary"
      exit 0
      ;;
    Failed | Canceled) fail "subscription $EVENT_SUBSCRIPTION_NAME ended in state $state" ;;
  esac
  polls=$((polls + 1))
  sleep 10
done
fail "subscription $EVENT_SUBSCRIPTION_NAME still in state '$state' after 5 minutes"
