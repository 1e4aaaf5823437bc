// Role assignments: exactly what the app (and the Event Grid topic) does, each at the narrowest
// scope that works. No keys are handed out anywhere; these grants are the only access path.
param appPrincipalId string
param eventGridTopicPrincipalId string
param storageAccountName string
param deadLetterContainerName string
param applicationInsightsName string
param communicationServiceName string

// Built-in role definition ids (the same in every tenant).
var storageBlobDataOwnerRoleId = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var storageBlobDataContributorRoleId = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
var storageTableDataContributorRoleId = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
var monitoringMetricsPublisherRoleId = '3913510d-42f4-4e42-8a64-420c390055eb'

// The app's role on ACS: a custom role, defined here, holding only what Call Automation with an
// Entra token needs. The built-in "Communication and Email Service Owner" would also allow listing
// and regenerating the access keys, deleting the resource, linking notification hubs, editing
// Event Grid filters and every Email Services operation; none of that is the app's business.
// Microsoft's own example for Entra-authorized ACS data-plane access (SMTP email) is a custom role
// of CommunicationServices/Read and /Write; Call Automation is authorized the same way. This is
// not provable offline: the postdeploy hook runs GET /api/ready before any call is routed, and it
// fails with this role's name if ACS refuses the identity (docs/deployment.md says what to do).
var acsCallerRoleName = 'ACS Call Automation caller'
var acsCallerActions = [
  'Microsoft.Communication/CommunicationServices/Read'
  'Microsoft.Communication/CommunicationServices/Write'
]

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: blobService
  name: deadLetterContainerName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource communication 'Microsoft.Communication/communicationServices@2025-05-01' existing = {
  name: communicationServiceName
}

// Blob Data Owner on the account: the Flex Consumption platform reads the deployment package from
// its container with this identity, and the Functions host keeps its keys and leases in blobs.
resource appBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, appPrincipalId, storageBlobDataOwnerRoleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwnerRoleId)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Table Data Contributor: call state, events, rules and claims live in Table Storage.
resource appTableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, appPrincipalId, storageTableDataContributorRoleId)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataContributorRoleId)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Metrics Publisher: Application Insights has local auth disabled, so the host sends telemetry
// with an Entra token and needs this role on the component.
resource appMetricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, appPrincipalId, monitoringMetricsPublisherRoleId)
  scope: applicationInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisherRoleId)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The custom role above, assignable in this resource group only (role names are unique per tenant,
// hence the suffix; the definition's name is deterministic, so re-deploying updates it).
resource acsCallerRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, acsCallerRoleName)
  properties: {
    roleName: '${acsCallerRoleName} (${uniqueString(resourceGroup().id)})'
    description: 'Call Automation with an Entra token on the ACS resource: no key listing or regeneration, no delete, no Email Services.'
    type: 'CustomRole'
    assignableScopes: [
      resourceGroup().id
    ]
    permissions: [
      {
        actions: acsCallerActions
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
  }
}

// ACS Call Automation caller on the ACS resource: the Call Automation SDK, given a token credential
// instead of an access key (local auth is off on the resource), is authorized by Azure RBAC there.
resource appCommunication 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(communication.id, appPrincipalId, acsCallerRole.id)
  scope: communication
  properties: {
    roleDefinitionId: acsCallerRole.id
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// Blob Data Contributor on the dead-letter container only: Event Grid writes undeliverable
// IncomingCall events there with the system topic's identity (shared keys are disabled).
resource topicDeadLetterWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(deadLetterContainer.id, eventGridTopicPrincipalId, storageBlobDataContributorRoleId)
  scope: deadLetterContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributorRoleId)
    principalId: eventGridTopicPrincipalId
    principalType: 'ServicePrincipal'
  }
}
