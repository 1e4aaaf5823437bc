// The function app on Flex Consumption and its app settings. Every setting is identity-based:
// no key, connection string with a key, or secret is stored here.
param name string
param location string
param tags object
param planId string
param identityId string
param identityClientId string
param storageAccountName string
param blobEndpoint string
param tableEndpoint string
param deploymentContainerName string
param applicationInsightsName string
param acsHostName string
param acsImmutableResourceId string

@description('Python version of the Functions worker: the version the project is tested on.')
param pythonVersion string

@allowed([ 512, 2048, 4096 ])
param instanceMemoryMB int

@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

@description('Concurrent HTTP invocations one instance takes before Flex Consumption adds another (the Python default is 1).')
@minValue(1)
@maxValue(1000)
param perInstanceConcurrency int

@description('Always-ready instances for the HTTP functions (they share the "http" scale group).')
@minValue(0)
param httpAlwaysReady int

@description('Always-ready instances for incoming_call: an Event Grid trigger scales on its own, as "function:incoming_call".')
@minValue(0)
param incomingCallAlwaysReady int

@description('Zone-redundant plan: every scale group then needs at least two always-ready instances.')
param zoneRedundant bool

@description('Days calls and their events are kept (CALL_RETENTION_DAYS).')
@minValue(1)
param callRetentionDays int

@description('Optional default E.164 caller id for PSTN targets; empty leaves DEFAULT_CALLER_ID unset.')
param defaultCallerId string
@description('Endpoint of the custom topic the app publishes call events to (docs/events.md).')
param callEventsTopicEndpoint string
@description('NCRONTAB schedule of the outbox sweep (re-publishes pending call events); the app\'s one timer reads it.')
param outboxSchedule string = '0 */1 * * * *'
@description('MANAGEMENT_AUTH: keys, entra or both.')
@allowed([ 'keys', 'entra', 'both' ])
param managementAuth string = 'keys'
@description('MANAGEMENT_API_AUDIENCES: the API registration\'s client id and application id URI.')
param managementApiAudiences string = ''
@description('COGNITIVE_SERVICES_ENDPOINT: the Azure AI services resource ACS speaks text prompts with; empty leaves it unset.')
param cognitiveServicesEndpoint string = ''

var acceptsTokens = managementAuth != 'keys'

// Every scale group of the app (tests/unit/infra check this list against the functions the app
// defines): the HTTP functions share "http"; every other trigger scales on its own.
// With zone redundancy Flex Consumption keeps at least two always-ready instances in each group
// (billed as always ready) whatever is configured, so a smaller count is raised to two here: the
// configuration then says what is billed, and "1 with zone redundancy" cannot be asked for.
var minimumAlwaysReady = zoneRedundant ? 2 : 0
var scaleGroups = [
  { name: 'http', instanceCount: max(httpAlwaysReady, minimumAlwaysReady) }
  { name: 'function:incoming_call', instanceCount: max(incomingCallAlwaysReady, minimumAlwaysReady) }
  // One timer function runs the reconciler, retention and the outbox sweep (handlers/timers.py).
  { name: 'function:timers', instanceCount: minimumAlwaysReady }
]
var alwaysReady = filter(scaleGroups, group => group.instanceCount > 0)

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource functionApp 'Microsoft.Web/sites@2024-11-01' = {
  //checkov:skip=CKV_AZURE_222:ACS (callbacks) and Event Grid (IncomingCall) reach the app over the internet; each request authenticates itself (callback JWT, Event Grid system key, function keys)
  //checkov:skip=CKV_AZURE_17:neither ACS nor Event Grid presents a client certificate; callbacks carry a signed JWT instead
  //checkov:skip=CKV_AZURE_212:Flex Consumption has no instance minimum; always-ready instances are the httpAlwaysReady / incomingCallAlwaysReady parameters (zone redundancy keeps two per scale group)
  //checkov:skip=CKV_AZURE_213:Flex Consumption does not support the platform health check; GET /api/health exists for external probes
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: planId
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
        alwaysReady: alwaysReady
        // One Python worker serves many requests at once (the handlers are async); without this
        // every concurrent callback or API call would need an instance of its own.
        triggers: {
          http: {
            perInstanceConcurrency: perInstanceConcurrency
          }
        }
      }
      runtime: {
        name: 'python'
        version: pythonVersion
      }
    }
  }
}

// Separate from the site so CALLBACK_BASE_URL can use the host name Azure assigned.
resource appSettings 'Microsoft.Web/sites/config@2024-11-01' = {
  //checkov:skip=CKV_AZURE_222:this is the app settings resource, not a network setting; see the site above
  //checkov:skip=CKV_AZURE_13:App Service Authentication would refuse ACS and Event Grid; callbacks carry their own JWT, management callers function keys or Entra ID tokens with app roles, both verified by the app (docs/security.md)
  //checkov:skip=CKV_AZURE_63:IIS HTTP logging is an App Service on Windows feature; the Linux Flex Consumption host sends FunctionAppLogs and Application Insights requests instead
  //checkov:skip=CKV_AZURE_65:detailed error pages are an IIS feature and would show internals to callers; errors are problem+json by design
  //checkov:skip=CKV_AZURE_66:failed request tracing is an IIS feature; failures are in Application Insights and alerted on (infra/app/alerts.bicep)
  //checkov:skip=CKV_AZURE_80:a Python app: no .NET Framework version applies
  //checkov:skip=CKV_AZURE_88:Flex Consumption has no Azure Files content share; the package is deployed from a blob container
  parent: functionApp
  name: 'appsettings'
  properties: union({
    AzureWebJobsStorage__accountName: storageAccountName
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId
    // The ingestion endpoint and component id; with local auth disabled it admits nothing
    // without the Entra token configured by the next setting.
    APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
    // host.json telemetryMode OpenTelemetry: the worker streams the app's own OTel logs and
    // traces (configured by the app with the managed identity), so the host does not duplicate them.
    PYTHON_ENABLE_OPENTELEMETRY: 'true'
    AZURE_CLIENT_ID: identityClientId
    // Pins the app's own token credential to this identity (callcontrol/credentials.py): no
    // DefaultAzureCredential chain in Azure.
    AZURE_TOKEN_CREDENTIALS: 'ManagedIdentityCredential'
    // The Functions identity-connection convention: URI + managedidentity + client id.
    CallStateStorage__tableServiceUri: tableEndpoint
    CallStateStorage__credential: 'managedidentity'
    CallStateStorage__clientId: identityClientId
    ACS_ENDPOINT: 'https://${acsHostName}'
    ACS_RESOURCE_ID: acsImmutableResourceId
    CALLBACK_BASE_URL: 'https://${functionApp.properties.defaultHostName}'
    EVENTGRID_TOPIC_ENDPOINT: callEventsTopicEndpoint
    OUTBOX_SCHEDULE: outboxSchedule
    // The jobs' schedules, read by the app's one timer function (handlers/timers.py).
    RECONCILE_SCHEDULE: '0 */5 * * * *'
    RETENTION_SCHEDULE: '0 17 3 * * *'
    // One figure for the calls and the dead-lettered IncomingCalls (core/storage.bicep).
    CALL_RETENTION_DAYS: string(callRetentionDays)
    // Read by the host when it indexes the functions too: entra makes the routes anonymous there.
    MANAGEMENT_AUTH: managementAuth
  }, empty(defaultCallerId) ? {} : {
    DEFAULT_CALLER_ID: defaultCallerId
  }, empty(cognitiveServicesEndpoint) ? {} : {
    // Text prompts: the app names this resource to ACS on every answer and create call.
    COGNITIVE_SERVICES_ENDPOINT: cognitiveServicesEndpoint
  }, acceptsTokens ? {
    // Tokens of this tenant only; the issuers and key set follow from it.
    ENTRA_TENANT_ID: tenant().tenantId
    MANAGEMENT_API_AUDIENCES: managementApiAudiences
  } : {})
}

// No basic-auth publishing: FTP and the SCM (Kudu) endpoint accept no user name and password;
// azd deploys to Flex Consumption with an Entra token.
resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-11-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-11-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

output name string = functionApp.name
output id string = functionApp.id
output defaultHostName string = functionApp.properties.defaultHostName
