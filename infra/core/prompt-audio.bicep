// Audio files for prompts (docs/deployment.md#prompts-text-to-speech-and-audio-files): a storage
// account of their own, with one container ACS reads without credentials. A play request names a
// file by a bare URI, so ACS can only fetch what anyone can fetch; keeping that here, and not in
// the deployment's storage (call state, dead-lettered IncomingCalls with callers' numbers), means
// the only thing ever readable anonymously is what every caller hears anyway.
param name string
param location string
param tags object
param containerName string

resource audio 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  //checkov:skip=CKV_AZURE_59:ACS fetches the files over the internet; writes still need an Entra token with a data role (shared keys are off)
  //checkov:skip=CKV_AZURE_35:same as CKV_AZURE_59: ACS is not a trusted service of storage, so a deny-by-default network rule would refuse its reads
  //checkov:skip=CKV_AZURE_206:a few prompt files that can be uploaded again from their source; LRS is enough
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    // Uploads take an Entra token (Storage Blob Data Contributor); no key exists to leak.
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: true
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
  parent: audio
  name: 'default'
}

// Blob-level anonymous read: a file is read by its exact name; the container cannot be listed.
resource prompts 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  //checkov:skip=CKV_AZURE_34:ACS reads each prompt file by URI without credentials; 'Blob' access serves a named file and refuses listing the container
  parent: blobService
  name: containerName
  properties: {
    publicAccess: 'Blob'
  }
}

output name string = audio.name
// Prompt file URLs start with this: https://<account>.blob.core.windows.net/<container>/
output baseUrl string = '${audio.properties.primaryEndpoints.blob}${prompts.name}/'
