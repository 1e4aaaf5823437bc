// Diagnostic settings: what the Event Grid system topic, the function app, ACS and the call events
// topic report goes to the Log Analytics workspace, where the alerts query and an operator looks first.
param functionAppName string
param systemTopicName string
param logAnalyticsId string
param communicationName string
param callEventsTopicName string

resource functionApp 'Microsoft.Web/sites@2024-11-01' existing = {
  name: functionAppName
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = {
  name: systemTopicName
}

resource communication 'Microsoft.Communication/communicationServices@2025-05-01' existing = {
  name: communicationName
}

resource callEventsTopic 'Microsoft.EventGrid/topics@2025-02-15' existing = {
  name: callEventsTopicName
}

// Delivery failures name the event subscription and the error for each IncomingCall that Event
// Grid could not hand to incoming_call (table AegDeliveryFailureLogs); the metrics include
// DeadLetteredCount, which the dead-letter alert watches.
resource topicDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: systemTopic
  properties: {
    workspaceId: logAnalyticsId
    logAnalyticsDestinationType: 'Dedicated'
    logs: [
      {
        category: 'DeliveryFailures'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

// The Functions host's own log (FunctionAppLogs): invocations, host start-up, and what the app
// logs, beside the Application Insights telemetry.
resource appDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: functionApp
  properties: {
    workspaceId: logAnalyticsId
    logAnalyticsDestinationType: 'Dedicated'
    logs: [
      {
        category: 'FunctionAppLogs'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

// ACS's side of each Call Automation request the app makes (CreateCall, AnswerCall, Redirect...,
// table ACSCallAutomationIncomingOperations): what ACS answered when the app's log says a call
// failed.
resource communicationDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: communication
  properties: {
    workspaceId: logAnalyticsId
    logAnalyticsDestinationType: 'Dedicated'
    logs: [
      {
        category: 'CallAutomationOperational'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

// The call events topic: publishes it refused (table AegPublishFailureLogs) beside
// PublishFailCount, which the publish alert watches.
resource callEventsTopicDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: callEventsTopic
  properties: {
    workspaceId: logAnalyticsId
    logAnalyticsDestinationType: 'Dedicated'
    logs: [
      {
        category: 'PublishFailures'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}
