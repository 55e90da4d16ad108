{{/*
A Deployment for one tierflow process. Call with
(dict "root" $ "component" "profile" "values" .Values.workers.profile "args" (list ...) "port" (dict ...)).
With autoscaling on, the HPA owns the replica count, so the Deployment leaves it unset.
*/}}
{{- define "tierflow.deployment" -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "tierflow.componentName" . }}
  labels:
    {{- include "tierflow.labels" . | nindent 4 }}
spec:
  {{- if not .values.autoscaling.enabled }}
  replicas: {{ .values.replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 0
  selector:
    matchLabels:
      {{- include "tierflow.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "tierflow.labels" . | nindent 8 }}
        {{- with .root.Values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        # A changed policy or playbook ConfigMap rolls the pods, so they read the new file.
        checksum/config: {{ include (print .root.Template.BasePath "/configmaps.yaml") .root | sha256sum }}
        {{- with .root.Values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      {{- include "tierflow.podSpec" . | nindent 6 }}
{{- end }}
