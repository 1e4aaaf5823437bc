// Entry point for `azd provision`: one resource group holding the call-control function app,
// its storage, identity, monitoring, the ACS resource and its Event Grid system topic.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; names the resource group and seeds the unique token.')
param environmentName string

// The regions that offer Flex Consumption (az functionapp list-flexconsumption-locations); azd
// prompts with this list when AZURE_LOCATION is not set. Zone redundancy is offered in fewer.
@minLength(1)
@description('Region of the resource group and regional resources: a Flex Consumption region.')
@allowed([
  'australiaeast'
  'australiasoutheast'
  'brazilsouth'
  'canadacentral'
  'centralindia'
  'centralus'
  'eastasia'
  'eastus'
  'eastus2'
  'francecentral'
  'germanywestcentral'
  'italynorth'
  'japaneast'
  'koreacentral'
  'northcentralus'
  'northeurope'
  'norwayeast'
  'southafricanorth'
  'southcentralus'
  'southeastasia'
  'southindia'
  'spaincentral'
  'swedencentral'
  'uaenorth'
  'uksouth'
  'ukwest'
  'westcentralus'
  'westeurope'
  'westus'
  'westus2'
  'westus3'
])
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Where ACS stores data at rest, e.g. United States, Europe, UK, Australia.')
param acsDataLocation string = 'United States'

@description('Memory per instance in MB; CPU comes in proportion (2048 MB is about one core, what one Python worker uses).')
@allowed([ 512, 2048, 4096 ])
param instanceMemoryMB int = 2048

@description('Concurrent HTTP requests per instance before another is added; the default comes from bench/results/concurrency.json (docs/deployment.md).')
@minValue(1)
@maxValue(1000)
param perInstanceConcurrency int = 8

@description('Zone-redundant plan and storage (ZRS). Off by default: not every Flex Consumption region offers it, and the platform then keeps at least two always-ready instances per scale group (docs/deployment.md has the arithmetic).')
param zoneRedundant bool = false

@description('Upper bound on instances, which also bounds cost under load.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Always-ready instances for the HTTP functions (billed while idle; 0 = scale to zero).')
@minValue(0)
@maxValue(20)
param httpAlwaysReady int = 0

@description('Always-ready instances for incoming_call, the Event Grid trigger (billed while idle; 0 = scale to zero).')
@minValue(0)
@maxValue(20)
param incomingCallAlwaysReady int = 0

@description('Days a call and its events are kept (CALL_RETENTION_DAYS of the app); dead-lettered IncomingCalls, which carry the caller\'s number, are deleted after as many days.')
@minValue(1)
@maxValue(3650)
param callRetentionDays int = 30

@description('Optional default E.164 caller id (a number the ACS resource owns) for PSTN targets.')
param defaultCallerId string = ''

@description('Optional email address the alerts notify; empty = alerts fire in the portal only.')
param alertEmailAddress string = ''

@description('Who may call the management API (MANAGEMENT_AUTH): keys, entra or both (docs/security.md#management-api-callers).')
@allowed([ 'keys', 'entra', 'both' ])
param managementAuth string = 'keys'

@description('Audiences of the management API app registration (infra/entra/management-api.bicep outputs), comma-separated; needed with entra or both.')
param managementApiAudiences string = ''

@description('Text prompts: an Azure AI services resource (S0, billed per character spoken, nothing at rest) that ACS speaks them with, ACS\'s identity granted on it, and COGNITIVE_SERVICES_ENDPOINT on the app. Off: only audio-file prompts can play (docs/deployment.md#prompts).')
param enableSpeechPrompts bool = true

@description('Region of the Azure AI services resource; empty = the deployment region. For a region without Azure AI services or the voices you want.')
param speechLocation string = ''

@description('A storage account of its own whose one container ACS reads audio-file prompts from without credentials (anonymous blob read). Off by default: audio files can live on any HTTPS URL (docs/deployment.md#prompts-text-to-speech-and-audio-files).')
param enableAudioPromptStorage bool = false

var abbrs = loadJsonContent('./abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
// The Python version CI runs the tests on; tests/unit/infra checks the two agree.
var pythonVersion = '3.11'
var deploymentContainerName = 'app-package-${take(resourceToken, 7)}'
var deadLetterContainerName = 'incoming-call-deadletter'

resource rg 'Microsoft.Resources/resourceGroups@2022-09-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity './core/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}${resourceToken}'
    location: location
    tags: tags
  }
}

module storage './core/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    deadLetterContainerName: deadLetterContainerName
    deadLetterRetentionDays: callRetentionDays
    zoneRedundant: zoneRedundant
  }
}

module monitoring './core/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
  }
}

module communication './core/communication.bicep' = {
  name: 'communication'
  scope: rg
  params: {
    name: '${abbrs.communicationServices}${resourceToken}'
    tags: tags
    dataLocation: acsDataLocation
    systemAssignedIdentity: enableSpeechPrompts
  }
}

// Text prompts (docs/deployment.md#prompts): the AI resource and ACS's grant on it.
module speech './core/speech.bicep' = if (enableSpeechPrompts) {
  name: 'speech'
  scope: rg
  params: {
    name: '${abbrs.cognitiveServicesAccounts}${resourceToken}'
    location: empty(speechLocation) ? location : speechLocation
    tags: tags
    acsPrincipalId: communication.outputs.principalId
  }
}

// Audio-file prompts (docs/deployment.md#prompts-text-to-speech-and-audio-files): opt-in.
module promptAudio './core/prompt-audio.bicep' = if (enableAudioPromptStorage) {
  name: 'promptAudio'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}audio${resourceToken}'
    location: location
    tags: tags
    containerName: 'prompts'
  }
}

module eventGridTopic './core/eventgrid-topic.bicep' = {
  name: 'eventGridTopic'
  scope: rg
  params: {
    name: '${abbrs.eventGridSystemTopics}${resourceToken}'
    tags: tags
    communicationServiceId: communication.outputs.id
  }
}

// Call events out (docs/events.md): the custom topic the app publishes to, with its grant.
module callEventsTopic './core/call-events-topic.bicep' = {
  name: 'callEventsTopic'
  scope: rg
  params: {
    name: '${abbrs.eventGridTopics}${resourceToken}'
    location: location
    tags: tags
    appPrincipalId: identity.outputs.principalId
  }
}

module access './app/access.bicep' = {
  name: 'access'
  scope: rg
  params: {
    appPrincipalId: identity.outputs.principalId
    eventGridTopicPrincipalId: eventGridTopic.outputs.principalId
    storageAccountName: storage.outputs.name
    deadLetterContainerName: storage.outputs.deadLetterContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    communicationServiceName: communication.outputs.name
  }
}

module plan './app/plan.bicep' = {
  name: 'plan'
  scope: rg
  params: {
    name: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    zoneRedundant: zoneRedundant
  }
}

module functionApp './app/function-app.bicep' = {
  name: 'functionApp'
  scope: rg
  params: {
    name: '${abbrs.webSitesFunctions}${resourceToken}'
    location: location
    tags: union(tags, {
      'azd-service-name': 'api'
    })
    planId: plan.outputs.id
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    blobEndpoint: storage.outputs.blobEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    acsHostName: communication.outputs.hostName
    acsImmutableResourceId: communication.outputs.immutableResourceId
    pythonVersion: pythonVersion
    instanceMemoryMB: instanceMemoryMB
    perInstanceConcurrency: perInstanceConcurrency
    maximumInstanceCount: maximumInstanceCount
    httpAlwaysReady: httpAlwaysReady
    incomingCallAlwaysReady: incomingCallAlwaysReady
    zoneRedundant: zoneRedundant
    callRetentionDays: callRetentionDays
    defaultCallerId: defaultCallerId
    callEventsTopicEndpoint: callEventsTopic.outputs.endpoint
    managementAuth: managementAuth
    managementApiAudiences: managementApiAudiences
    cognitiveServicesEndpoint: enableSpeechPrompts ? speech.outputs.endpoint : ''
  }
  // The app's first start reads its package and host storage with these grants.
  dependsOn: [
    access
  ]
}

module diagnostics './app/diagnostics.bicep' = {
  name: 'diagnostics'
  scope: rg
  params: {
    functionAppName: functionApp.outputs.name
    systemTopicName: eventGridTopic.outputs.name
    logAnalyticsId: monitoring.outputs.logAnalyticsId
    communicationName: communication.outputs.name
    callEventsTopicName: callEventsTopic.outputs.name
  }
}

module alerts './app/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    location: location
    tags: tags
    resourceToken: resourceToken
    systemTopicId: eventGridTopic.outputs.id
    callEventsTopicId: callEventsTopic.outputs.id
    applicationInsightsId: monitoring.outputs.applicationInsightsId
    deadLetterContainerName: storage.outputs.deadLetterContainerName
    alertEmailAddress: alertEmailAddress
  }
}

// azd stores these in the environment (.azure/<env>/.env); the postdeploy hook reads them.
// Names and ids only: nothing here is a credential.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_SUBSCRIPTION_ID string = subscription().subscriptionId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output CALLBACK_BASE_URL string = 'https://${functionApp.outputs.defaultHostName}'
output AZURE_CLIENT_ID string = identity.outputs.clientId
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_STORAGE_ACCOUNT_ID string = storage.outputs.id
output DEADLETTER_CONTAINER_NAME string = storage.outputs.deadLetterContainerName
output ACS_NAME string = communication.outputs.name
output ACS_ENDPOINT string = 'https://${communication.outputs.hostName}'
output ACS_RESOURCE_ID string = communication.outputs.immutableResourceId
output EVENTGRID_SYSTEM_TOPIC_NAME string = eventGridTopic.outputs.name
output CALL_EVENTS_TOPIC_NAME string = callEventsTopic.outputs.name
output EVENTGRID_TOPIC_ENDPOINT string = callEventsTopic.outputs.endpoint
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output AUDIO_PROMPTS_BASE_URL string = enableAudioPromptStorage ? promptAudio.outputs.baseUrl : ''
output AUDIO_PROMPTS_STORAGE_ACCOUNT_NAME string = enableAudioPromptStorage ? promptAudio.outputs.name : ''
output COGNITIVE_SERVICES_ENDPOINT string = enableSpeechPrompts ? speech.outputs.endpoint : ''
