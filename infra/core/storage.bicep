// Storage for the Functions host, the deployment package, call state (tables) and dead-lettered
// IncomingCall events. Shared keys are off: every caller authenticates with Entra ID.
param name string
param location string
param tags object
param deploymentContainerName string
param deadLetterContainerName string

@description('Days after which a dead-lettered IncomingCall blob is deleted: the app\'s call retention.')
@minValue(1)
param deadLetterRetentionDays int

@description('Zone-redundant storage (ZRS), as a zone-redundant Flex Consumption app needs; else LRS.')
param zoneRedundant bool

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  //checkov:skip=CKV_AZURE_206:the SKU is Standard_ZRS when the zoneRedundant parameter is true (wiring checked by tests/unit/infra); checkov does not evaluate parameters
  //checkov:skip=CKV_AZURE_35:a Flex Consumption app without VNet integration reaches its host, deployment and table storage over the public endpoint, and the Functions host is not a trusted Azure service; access is Entra ID only (shared keys off)
  //checkov:skip=CKV_AZURE_59:same as CKV_AZURE_35: public network access is needed without a VNet; anonymous blob access and shared keys are disabled
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: zoneRedundant ? 'Standard_ZRS' : 'Standard_LRS'
  }
  properties: {
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deadLetterContainerName
  properties: {
    publicAccess: 'None'
  }
}

// Dead-lettered IncomingCalls carry the caller's and the called number: they are deleted once
// they are as old as the calls the app keeps (CALL_RETENTION_DAYS), not kept forever.
resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'delete-dead-lettered-incoming-calls'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
                'appendBlob'
              ]
              prefixMatch: [
                '${deadLetterContainerName}/'
              ]
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: deadLetterRetentionDays
                }
              }
            }
          }
        }
      ]
    }
  }
  dependsOn: [
    deadLetterContainer
  ]
}

output id string = storage.id
output name string = storage.name
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output tableEndpoint string = storage.properties.primaryEndpoints.table
output deploymentContainerName string = deploymentContainer.name
output deadLetterContainerName string = deadLetterContainer.name
