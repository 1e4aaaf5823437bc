// The Flex Consumption (FC1) plan: Linux, scale to zero, per-function scaling.
param name string
param location string
param tags object

@description('Spread instances over availability zones (the region must offer it for Flex Consumption).')
param zoneRedundant bool

resource plan 'Microsoft.Web/serverfarms@2024-11-01' = {
  //checkov:skip=CKV_AZURE_225:zone redundancy is the zoneRedundant parameter (off by default: not every Flex region offers it, and it bills two instances per scale group; wiring checked by tests/unit/infra); checkov does not evaluate parameters
  name: name
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
    // With zone redundancy the platform keeps at least two always-ready instances per scale
    // group (billed as always ready): the price of surviving a zone outage.
    zoneRedundant: zoneRedundant
  }
}

output id string = plan.id
