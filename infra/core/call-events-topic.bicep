// The Event Grid custom topic the app publishes call events to (docs/events.md), and the one
// grant it needs there. A custom topic, not a namespace topic: subscribers get push delivery
// to webhooks, Functions, queues or Service Bus with filters, retries and dead-lettering, and
// the app publishes with EventGridPublisherClient; local auth is off, so only Entra tokens
// (the app's user-assigned identity) are accepted.
param name string
param location string
param tags object
param appPrincipalId string

// EventGrid Data Sender: publish events to this topic and nothing else.
var eventGridDataSenderRoleId = 'd5a91429-5739-47e2-a06b-3470a27159e7'

resource topic 'Microsoft.EventGrid/topics@2025-02-15' = {
  //checkov:skip=CKV_AZURE_193:a Flex Consumption app without VNet integration publishes over the public endpoint; local auth is off, so only Entra tokens with EventGrid Data Sender are accepted
  name: name
  location: location
  tags: tags
  // Its own identity lets subscriptions deliver to queues / Service Bus and dead-letter to blobs
  // without keys (each subscriber grants it on their side).
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    inputSchema: 'CloudEventSchemaV1_0'
    disableLocalAuth: true
    minimumTlsVersionAllowed: '1.2'
    publicNetworkAccess: 'Enabled'
  }
}

// EventGrid Data Sender on the topic only: the app's identity publishes the call events.
resource appEventSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(topic.id, appPrincipalId, eventGridDataSenderRoleId)
  scope: topic
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', eventGridDataSenderRoleId)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output name string = topic.name
output id string = topic.id
output endpoint string = topic.properties.endpoint
output principalId string = topic.identity.principalId
