// The Event Grid system topic that publishes the ACS resource's events (IncomingCall among them).
// The IncomingCall subscription is created after code deploy (infra/hooks/postdeploy.*) because
// Event Grid checks that the target function exists when the subscription is written.
param name string
param tags object
param communicationServiceId string

resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: name
  // System topics of global resources (ACS) are global too.
  location: 'global'
  tags: tags
  // Dead-lettering to a storage account without shared keys needs the topic's own identity.
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: communicationServiceId
    topicType: 'Microsoft.Communication.CommunicationServices'
  }
}

output name string = systemTopic.name
output principalId string = systemTopic.identity.principalId
output id string = systemTopic.id
