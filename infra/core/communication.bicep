// The Azure Communication Services resource whose calls the app steers.
param name string
param tags object

@description('Where ACS stores data at rest, e.g. United States, Europe, UK, Australia.')
param dataLocation string

resource communication 'Microsoft.Communication/communicationServices@2023-04-01' = {
  name: name
  // ACS resources are global; dataLocation decides where data rests.
  location: 'global'
  tags: tags
  properties: {
    dataLocation: dataLocation
  }
}

output id string = communication.id
output name string = communication.name
output hostName string = communication.properties.hostName
// The audience of the JWTs ACS puts on callbacks (a GUID, not the ARM id).
output immutableResourceId string = communication.properties.immutableResourceId
