// Text-to-speech for prompts (docs/deployment.md#prompts): an Azure AI services resource that ACS
// speaks a call's text prompts with, and the one grant that connects the two. ACS reaches it with
// its own system-assigned identity (core/communication.bicep), named on every answer and create
// call by the app's COGNITIVE_SERVICES_ENDPOINT; no key exists (local auth is off), so the
// resource needs a custom subdomain: Entra tokens are accepted only on a resource's own host.
param name string
param location string
param tags object

@description('Principal id of the ACS resource\'s system-assigned identity.')
param acsPrincipalId string

// Cognitive Services User: call the resource's data plane (speech synthesis and recognition).
var cognitiveServicesUserRoleId = 'a97b65f3-24c7-4388-baec-2e87135dc908'

resource speech 'Microsoft.CognitiveServices/accounts@2025-06-01' = {
  //checkov:skip=CKV_AZURE_134:ACS reaches the resource over its public endpoint (no private path from ACS exists); local auth is off, so only Entra tokens holding Cognitive Services User (ACS's identity) are accepted
  //checkov:skip=CKV_AZURE_238:the resource calls nothing itself (no customer-managed key, no own storage), so an identity of its own would hold no grant; the identity that matters is ACS's, granted below
  name: name
  location: location
  tags: tags
  // The multi-service resource: ACS connects only to those (not to a Speech-only resource).
  kind: 'AIServices'
  // Pay per use (characters synthesized, audio recognized): nothing is billed at rest.
  sku: {
    name: 'S0'
  }
  properties: {
    customSubDomainName: name
    disableLocalAuth: true
    // ACS is outside any network of ours and is not a trusted service of this resource type.
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
    }
  }
}

// Cognitive Services User on this resource only, for ACS's identity (not the app's: the app never
// calls it; ACS does, for the calls the app names it on).
resource acsSpeechUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(speech.id, acsPrincipalId, cognitiveServicesUserRoleId)
  scope: speech
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', cognitiveServicesUserRoleId)
    principalId: acsPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output name string = speech.name
// https://<name>.cognitiveservices.azure.com/: COGNITIVE_SERVICES_ENDPOINT of the app.
output endpoint string = speech.properties.endpoint
