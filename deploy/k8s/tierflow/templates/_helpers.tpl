{{/* Names and labels shared by every object of the chart. */}}

{{- define "tierflow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tierflow.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "tierflow.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "tierflow.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* The name of one component's objects, e.g. tierflow-profile. Call with (dict "root" $ "component" "profile"). */}}
{{- define "tierflow.componentName" -}}
{{- printf "%s-%s" (include "tierflow.fullname" .root) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tierflow.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tierflow.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "tierflow.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{ include "tierflow.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: tierflow
{{- end }}

{{- define "tierflow.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "tierflow.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tierflow.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* TIERFLOW_PROFILE_ for profile; the API shares the routing service's settings. */}}
{{- define "tierflow.envPrefix" -}}
{{- printf "TIERFLOW_%s_" (. | replace "routing-api" "routing" | upper) }}
{{- end }}

{{/*
The Prometheus job name of a component, the same in docker-compose (deploy/prometheus/prometheus.yml)
and here (ServiceMonitor jobLabel), so the alert rules and dashboards work on both.
*/}}
{{- define "tierflow.scrapeJob" -}}
{{- printf "tierflow-%s" . }}
{{- end }}
