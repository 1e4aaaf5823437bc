# azd postdeploy hook (Windows): same behaviour as postdeploy.sh. Checks that the deployed app is
# ready (GET /api/ready) first, then creates or updates the Event Grid subscription that delivers
# the ACS resource's IncomingCall events to the incoming_call function (endpoint type
# AzureFunction, so no function key is fetched or stored). Safe to re-run: one ARM PUT
# (create-or-update) of a subscription with a fixed name. With no number configured it checks
# readiness, skips the subscription with a message saying what to set, and ends successfully.
# Inputs and defaults are documented in postdeploy.sh.
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$ApiVersion = '2025-02-15'
$EventSubscriptionName = 'incoming-call'
$FunctionName = 'incoming_call'
$CalledNumberKey = 'data.to.PhoneNumber.Value'
$MaxFilterValues = 25

function Stop-Hook([string]$Message) {
    Write-Error "postdeploy: $Message" -ErrorAction Continue
    exit 1
}

function Get-Required([string]$Name) {
    $value = [Environment]::GetEnvironmentVariable($Name)
    if ([string]::IsNullOrWhiteSpace($value)) {
        Stop-Hook "$Name is not set; run 'azd provision' first (it is an output of infra/main.bicep)"
    }
    return $value
}

function Get-BoundedInt([string]$Name, [int]$Default, [int]$Low, [int]$High) {
    $raw = [Environment]::GetEnvironmentVariable($Name)
    if ([string]::IsNullOrWhiteSpace($raw)) { return $Default }
    if ($raw -notmatch '^[0-9]+$') { Stop-Hook "$Name must be a whole number between $Low and $High" }
    $value = [int]$raw
    if ($value -lt $Low -or $value -gt $High) { Stop-Hook "$Name must be between $Low and $High, got $value" }
    return $value
}

$subscriptionId = Get-Required 'AZURE_SUBSCRIPTION_ID'
$resourceGroup = Get-Required 'AZURE_RESOURCE_GROUP'
$functionApp = Get-Required 'AZURE_FUNCTION_APP_NAME'
$systemTopic = Get-Required 'EVENTGRID_SYSTEM_TOPIC_NAME'
$storageAccountId = Get-Required 'AZURE_STORAGE_ACCOUNT_ID'
$deadLetterContainer = Get-Required 'DEADLETTER_CONTAINER_NAME'
$maxAttempts = Get-BoundedInt 'EVENTGRID_MAX_DELIVERY_ATTEMPTS' 10 1 30
$ttlMinutes = Get-BoundedInt 'EVENTGRID_EVENT_TTL_MINUTES' 5 1 1440

# Numbers are never echoed: errors name the entry's position.
$numbers = @()
$rawNumbers = [Environment]::GetEnvironmentVariable('INCOMING_CALL_NUMBERS')
if (-not [string]::IsNullOrWhiteSpace($rawNumbers)) {
    $entries = $rawNumbers -split '[,;\s]+' | Where-Object { $_ -ne '' }
    $position = 0
    foreach ($entry in $entries) {
        $position++
        if ($entry -notmatch '^\+[1-9][0-9]{6,14}$') {
            Stop-Hook "INCOMING_CALL_NUMBERS entry $position is not an E.164 number (+ and 7 to 15 digits)"
        }
        $numbers += $entry
    }
}
if ($numbers.Count -gt $MaxFilterValues) {
    Stop-Hook "INCOMING_CALL_NUMBERS has $($numbers.Count) entries; one Event Grid filter takes at most $MaxFilterValues"
}

# Without a number filter Event Grid delivers every IncomingCall of the resource, including the
# calls to ACS users that this app's own redirects create, which can loop. So an empty filter is
# never sent: without numbers the subscription is skipped, unless all calls are asked for.
$allNumbers = [Environment]::GetEnvironmentVariable('INCOMING_CALL_ALL_NUMBERS')
switch -Regex ("$allNumbers") {
    '^(|0|false)$' { $allNumbers = $false; break }
    '^(1|true)$' { $allNumbers = $true; break }
    default { Stop-Hook "INCOMING_CALL_ALL_NUMBERS must be 1 or true (or unset), got '$allNumbers'" }
}
if ($numbers.Count -gt 0 -and $allNumbers) {
    Stop-Hook 'set INCOMING_CALL_NUMBERS or INCOMING_CALL_ALL_NUMBERS=1, not both'
}
$subscribe = -not ($numbers.Count -eq 0 -and -not $allNumbers)
if ($allNumbers) {
    Write-Warning "postdeploy: INCOMING_CALL_ALL_NUMBERS=1 subscribes every IncomingCall of the ACS resource, including calls to ACS users that this app's own redirects create; such a call comes back to the app and loops unless the redirect guard stops it. Prefer INCOMING_CALL_NUMBERS."
}

$advancedFilters = @()
$filterSummary = 'all calls'
if ($numbers.Count -gt 0) {
    $advancedFilters = @(@{ operatorType = 'StringIn'; key = $CalledNumberKey; values = $numbers })
    $filterSummary = "$($numbers.Count) called number(s)"
}

$functionId = "/subscriptions/$subscriptionId/resourceGroups/$resourceGroup/providers/Microsoft.Web/sites/$functionApp/functions/$FunctionName"
$url = "/subscriptions/$subscriptionId/resourceGroups/$resourceGroup/providers/Microsoft.EventGrid/systemTopics/$systemTopic/eventSubscriptions/$EventSubscriptionName" + "?api-version=$ApiVersion"

$body = @{
    properties = @{
        destination = @{
            endpointType = 'AzureFunction'
            properties = @{
                resourceId = $functionId
                maxEventsPerBatch = 1
                preferredBatchSizeInKilobytes = 64
            }
        }
        filter = @{
            includedEventTypes = @('Microsoft.Communication.IncomingCall')
            advancedFilters = $advancedFilters
        }
        eventDeliverySchema = 'EventGridSchema'
        retryPolicy = @{
            maxDeliveryAttempts = $maxAttempts
            eventTimeToLiveInMinutes = $ttlMinutes
        }
        deadLetterWithResourceIdentity = @{
            identity = @{ type = 'SystemAssigned' }
            deadLetterDestination = @{
                endpointType = 'StorageBlob'
                properties = @{
                    resourceId = $storageAccountId
                    blobContainerName = $deadLetterContainer
                }
            }
        }
    }
} | ConvertTo-Json -Depth 10

# --- readiness (GET /api/ready): settings, Table Storage, ACS with the app's identity (its role
# assignment), the callback signing keys. The default function key is read for this call only,
# never printed or stored. A new role assignment can take minutes to apply, so a failing check is
# retried for READY_TIMEOUT_SECONDS (default 600) before the hook fails with the app's message.
# POSTDEPLOY_SKIP_READY=1 skips it.
function Test-Ready {
    if ($env:POSTDEPLOY_SKIP_READY -eq '1') {
        Write-Output 'postdeploy: readiness check skipped (POSTDEPLOY_SKIP_READY=1)'
        return
    }
    $readyTimeout = Get-BoundedInt 'READY_TIMEOUT_SECONDS' 600 0 3600
    $appHost = az functionapp show --resource-group $resourceGroup --name $functionApp --query defaultHostName --output tsv
    if ($LASTEXITCODE -ne 0 -or -not $appHost) { Stop-Hook "cannot read the host name of $functionApp" }
    $key = az functionapp keys list --resource-group $resourceGroup --name $functionApp --query functionKeys.default --output tsv
    if ($LASTEXITCODE -ne 0 -or -not $key) { Stop-Hook "cannot read the default function key of $functionApp" }
    $deadline = (Get-Date).AddSeconds($readyTimeout)
    while ($true) {
        $code = 0
        $summary = 'no readiness report'
        try {
            $reply = Invoke-WebRequest -Uri "https://$appHost/api/ready" -Headers @{ 'x-functions-key' = $key } `
                -TimeoutSec 60 -SkipHttpErrorCheck -UseBasicParsing
            $code = [int]$reply.StatusCode
            $summary = ($reply.Content | ConvertFrom-Json).summary
        }
        catch { $summary = $_.Exception.Message }
        if ($code -eq 200) {
            Write-Output "postdeploy: the app is ready ($summary)"
            return
        }
        if ((Get-Date) -ge $deadline) {
            Stop-Hook "the app is NOT ready (GET /api/ready answered HTTP $code): $summary"
        }
        Write-Output "postdeploy: not ready yet (HTTP $code): $summary; retrying in 20 s"
        Start-Sleep -Seconds 20
    }
}

# What to do later when no number is configured: the message names the setting and the command.
function Write-NoNumber {
    Write-Output "postdeploy: no phone number is configured yet (INCOMING_CALL_NUMBERS is empty), so the IncomingCall subscription is skipped and no call reaches $FunctionName. The deployment itself is complete."
    Write-Output 'postdeploy: once the ACS resource owns a number: azd env set INCOMING_CALL_NUMBERS "+<number>" (E.164, comma separated), then run: azd hooks run postdeploy'
    Write-Output 'postdeploy: (docs/deployment.md, "Get a phone number and point the filter at it"; INCOMING_CALL_ALL_NUMBERS=1 takes every call instead, with its risk)'
}

if ($env:POSTDEPLOY_DRY_RUN -eq '1') {
    if ($subscribe) {
        Write-Output "PUT $url"
        Write-Output $body
    }
    else { Write-NoNumber }
    exit 0
}

if (-not (Get-Command az -ErrorAction SilentlyContinue)) {
    Stop-Hook "the Azure CLI (az) is required to check the app and subscribe $FunctionName to IncomingCall"
}

# Readiness first: a deployment that fails /api/ready stops here, before any call is routed to it.
Test-Ready
if (-not $subscribe) {
    Write-NoNumber
    exit 0
}

$bodyFile = New-TemporaryFile
try {
    Set-Content -Path $bodyFile -Value $body -Encoding utf8
    Write-Output "postdeploy: subscribing $FunctionName to IncomingCall ($filterSummary)"

    # Right after a deploy the function may not be indexed yet, and Event Grid refuses a
    # destination it cannot find: retry the PUT a few times before giving up.
    $attempt = 1
    while ($true) {
        az rest --method put --url $url --body "@$bodyFile" --output none
        if ($LASTEXITCODE -eq 0) { break }
        if ($attempt -ge 6) { Stop-Hook 'Event Grid refused the subscription (see the az error above)' }
        Write-Output "postdeploy: attempt $attempt failed; retrying in 20 s"
        $attempt++
        Start-Sleep -Seconds 20
    }
}
finally {
    Remove-Item -Path $bodyFile -Force -ErrorAction SilentlyContinue
}

$state = ''
for ($poll = 0; $poll -lt 30; $poll++) {
    $state = az rest --method get --url $url --query properties.provisioningState --output tsv
    if ($state -eq 'Succeeded') {
        Write-Output "postdeploy: subscription $EventSubscriptionName is ready ($filterSummary)"
        exit 0
    }
    if ($state -eq 'Failed' -or $state -eq 'Canceled') {
        Stop-Hook "subscription $EventSubscriptionName ended in state $state"
    }
    Start-Sleep -Seconds 10
}
Stop-Hook "subscription $EventSubscriptionName still in state '$state' after 5 minutes"
