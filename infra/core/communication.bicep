// The Azure Communication Services resource whose calls the app steers. Local auth (the
// access keys and connection strings) is off: only Entra tokens are accepted.
param name string
param tags object

@description('Where ACS stores data at rest, e.g. United States, Europe, UK, Australia.')
param dataLocation string

@description('A system-assigned identity, with which ACS reaches the Azure AI services resource that speaks text prompts (core/speech.bicep).')
param systemAssignedIdentity bool = false

resource communication 'Microsoft.Communication/communicationServices@2025-05-01' = {
  name: name
  // ACS resources are global; dataLocation decides where data rests.
  location: 'global'
  tags: tags
  identity: {
    type: systemAssignedIdentity ? 'SystemAssigned' : 'None'
  }
  properties: {
    dataLocation: dataLocation
    // No access keys: every caller (the app's identity) authenticates with Entra ID.
    disableLocalAuth: true
  }
}

output id string = communication.id
output name string = communication.name
output hostName string = communication.properties.hostName
// The audience of the JWTs ACS puts on callbacks (a GUID, not the ARM id).
output immutableResourceId string = communication.properties.immutableResourceId
// Empty without the identity.
output principalId string = systemAssignedIdentity ? communication.identity.principalId : ''
