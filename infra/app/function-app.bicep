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

@description('Always-ready instances for the HTTP functions (they share the "http" scale group).')
@minValue(0)
param httpAlwaysReady int

@description('Always-ready instances for incoming_call: an Event Grid trigger scales on its own, as "function:incoming_call".')
@minValue(0)
param incomingCallAlwaysReady int

@description('Optional default E.164 caller id for PSTN targets; empty leaves DEFAULT_CALLER_ID unset.')
param defaultCallerId string
@description('Endpoint of the custom topic the app publishes call events to (docs/events.md).')
param callEventsTopicEndpoint string
@description('NCRONTAB schedule of the outbox timer that re-publishes pending call events.')
param outboxSchedule string = '0 */1 * * * *'

var httpReady = httpAlwaysReady > 0 ? [ { name: 'http', instanceCount: httpAlwaysReady } ] : []
var incomingCallReady = incomingCallAlwaysReady > 0 ? [ { name: 'function:incoming_call', instanceCount: incomingCallAlwaysReady } ] : []

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
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
        alwaysReady: concat(httpReady, incomingCallReady)
      }
      runtime: {
        name: 'python'
        version: pythonVersion
      }
    }
  }
}

// Separate from the site so CALLBACK_BASE_URL can use the host name Azure assigned.
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
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
    AZURE_CLIENT_ID: identityClientId
    CallStateStorage__tableServiceUri: tableEndpoint
    CallStateStorage__clientId: identityClientId
    ACS_ENDPOINT: 'https://${acsHostName}'
    ACS_RESOURCE_ID: acsImmutableResourceId
    CALLBACK_BASE_URL: 'https://${functionApp.properties.defaultHostName}'
    EVENTGRID_TOPIC_ENDPOINT: callEventsTopicEndpoint
    OUTBOX_SCHEDULE: outboxSchedule
  }, empty(defaultCallerId) ? {} : {
    DEFAULT_CALLER_ID: defaultCallerId
  })
}

output name string = functionApp.name
output id string = functionApp.id
output defaultHostName string = functionApp.properties.defaultHostName
