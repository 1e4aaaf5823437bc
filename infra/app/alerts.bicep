// Alert rules an operator needs on day one, each watching one way calls get lost. With an email
// address an action group notifies it; without one the alerts still fire in the portal.
param location string
param tags object
param resourceToken string
param systemTopicId string
param callEventsTopicId string
param applicationInsightsId string
param deadLetterContainerName string

@description('Who is emailed when an alert fires; empty = no action group (alerts still show in the portal).')
param alertEmailAddress string

// The readiness check (GET /api/ready, function "ready") answers 503 and logs a message naming
// this role (the custom role of access.bicep) when ACS refuses the app's identity; the identity
// alert looks for either.
var acsRoleName = 'ACS Call Automation caller'

// The app's gauges (callcontrol/adapters/telemetry/metrics.py), in Application Insights'
// customMetrics. Neither exists before the app first records it, so their rules skip the query
// validation a new workspace would fail.
var readinessMetric = 'callcontrol.readiness'
var outboxMetric = 'callcontrol.outbox.pending_calls'
// An HTTP function that caught an unexpected error answers 500 and returns: the host records a
// successful invocation, so the app counts these itself.
var unexpectedErrorsMetric = 'callcontrol.unexpected_errors'

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmailAddress)) {
  name: 'ag-callcontrol-${resourceToken}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'callctl'
    enabled: true
    emailReceivers: [
      {
        name: 'operator'
        emailAddress: alertEmailAddress
        useCommonAlertSchema: true
      }
    ]
  }
}

var actionGroupIds = empty(alertEmailAddress) ? [] : [ actionGroup.id ]

// An IncomingCall that Event Grid could not deliver within its retry policy: the caller was not
// answered by this app. The event waits in the dead-letter container for replay.
resource deadLetteredAlert 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: 'alert-incoming-call-dead-lettered-${resourceToken}'
  location: 'global'
  tags: tags
  properties: {
    description: 'An IncomingCall event was dead-lettered into blob container ${deadLetterContainerName}: Event Grid gave up delivering it to incoming_call. See docs/deployment.md to replay it.'
    severity: 1
    enabled: true
    scopes: [
      systemTopicId
    ]
    evaluationFrequency: 'PT1M'
    windowSize: 'PT5M'
    targetResourceType: 'Microsoft.EventGrid/systemTopics'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'dead-lettered-events'
          metricNamespace: 'Microsoft.EventGrid/systemTopics'
          metricName: 'DeadLetteredCount'
          operator: 'GreaterThan'
          threshold: 0
          timeAggregation: 'Total'
        }
      ]
    }
    autoMitigate: true
    actions: [for id in actionGroupIds: {
      actionGroupId: id
    }]
  }
}

// The first IncomingCall delivery that failed (incoming_call answered an error, timed out or
// found no instance): Event Grid retries, so the call may still be answered, but the caller is
// ringing meanwhile. Earlier than the dead-letter alert, which fires only when the retries end.
resource deliveryFailedAlert 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: 'alert-incoming-call-delivery-failed-${resourceToken}'
  location: 'global'
  tags: tags
  properties: {
    description: 'Event Grid failed to deliver an IncomingCall to incoming_call at least once (it retries until the event expires, then dead-letters it). AegDeliveryFailureLogs names the error.'
    severity: 2
    enabled: true
    scopes: [
      systemTopicId
    ]
    evaluationFrequency: 'PT1M'
    windowSize: 'PT5M'
    targetResourceType: 'Microsoft.EventGrid/systemTopics'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'failed-deliveries'
          metricNamespace: 'Microsoft.EventGrid/systemTopics'
          metricName: 'DeliveryAttemptFailCount'
          operator: 'GreaterThan'
          threshold: 0
          timeAggregation: 'Total'
        }
      ]
    }
    autoMitigate: true
    actions: [for id in actionGroupIds: {
      actionGroupId: id
    }]
  }
}

// The call events topic refusing the app's publishes (identity, size, schema): the events stay
// pending in the call rows and the outbox sweep retries them, but subscribers hear nothing.
resource publishFailedAlert 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: 'alert-call-events-publish-failed-${resourceToken}'
  location: 'global'
  tags: tags
  properties: {
    description: 'The call events topic refused events the app published (AegPublishFailureLogs says why); they stay pending and the outbox sweep retries them.'
    severity: 3
    enabled: true
    scopes: [
      callEventsTopicId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    targetResourceType: 'Microsoft.EventGrid/topics'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'failed-publishes'
          metricNamespace: 'Microsoft.EventGrid/topics'
          metricName: 'PublishFailCount'
          operator: 'GreaterThan'
          threshold: 0
          timeAggregation: 'Total'
        }
      ]
    }
    autoMitigate: true
    actions: [for id in actionGroupIds: {
      actionGroupId: id
    }]
  }
}

// Invocations that ended in failure (an unhandled exception or a 5xx), per function: a callback or
// an IncomingCall the app took and could not process.
resource functionFailuresAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'alert-function-failures-${resourceToken}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Function invocations failing'
    skipQueryValidation: true
    description: 'At least one function invocation failed in the last 5 minutes (Application Insights requests with success == false, or HTTP requests answered 500 after an unexpected error, metric ${unexpectedErrorsMetric}), split by function.'
    severity: 2
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT5M'
    criteria: {
      allOf: [
        {
          query: 'union isfuzzy=true (requests | where success == false | summarize failures = count() by operation_Name), (customMetrics | where name == "${unexpectedErrorsMetric}" | summarize failures = sum(value) by operation_Name = tostring(customDimensions.function)) | summarize failures = sum(failures) by operation_Name'
          timeAggregation: 'Total'
          metricMeasureColumn: 'failures'
          dimensions: [
            {
              name: 'operation_Name'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: actionGroupIds
    }
  }
}

// ACS refusing the app's identity (the role assignment is missing or not yet effective): every
// answer, redirect and reject would fail. Seen as the readiness check's 503 or its message.
resource acsIdentityAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'alert-acs-refuses-identity-${resourceToken}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'ACS refuses the app identity'
    skipQueryValidation: true
    description: 'The readiness check found ACS refusing the app (metric ${readinessMetric}, check acs, 0: the reconciler job runs the checks every 5 minutes), GET /api/ready answered 503, or the app logged that ACS refused its identity (the message names the role ${acsRoleName}).'
    severity: 1
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: 'union isfuzzy=true (requests | where operation_Name == "ready" and resultCode == "503"), (traces | where message has "${acsRoleName}"), (customMetrics | where name == "${readinessMetric}" and tostring(customDimensions.check) == "acs" and value == 0) | summarize refusals = count()'
          timeAggregation: 'Total'
          metricMeasureColumn: 'refusals'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: actionGroupIds
    }
  }
}

// Call events the outbox could not publish for 15 minutes: every sweep in three 5-minute windows
// found calls with events still pending (the topic refuses them, or cannot be reached).
resource outboxBacklogAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'alert-call-events-backlog-${resourceToken}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Call events not published'
    description: 'The outbox sweep (metric ${outboxMetric}) found calls with unpublished call events in every 5-minute window for 15 minutes. See docs/events.md.'
    severity: 3
    enabled: true
    skipQueryValidation: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT5M'
    criteria: {
      allOf: [
        {
          query: 'customMetrics | where name == "${outboxMetric}" | summarize backlog = min(value)'
          timeAggregation: 'Maximum'
          metricMeasureColumn: 'backlog'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 3
            minFailingPeriodsToAlert: 3
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: actionGroupIds
    }
  }
}

output alertNames array = [
  deadLetteredAlert.name
  deliveryFailedAlert.name
  publishFailedAlert.name
  outboxBacklogAlert.name
  functionFailuresAlert.name
  acsIdentityAlert.name
]
