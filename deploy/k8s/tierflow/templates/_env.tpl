{{/*
Environment of a tierflow container: infrastructure addresses (secrets by reference only), the
component's ops server, policy files, then the component's extra `env` from values.
Call with (dict "root" $ "component" "profile" "values" .Values.workers.profile).
*/}}
{{- define "tierflow.env" -}}
{{- $root := .root }}
{{- $prefix := include "tierflow.envPrefix" .component -}}
- name: TIERFLOW_ENV
  value: {{ $root.Values.environment | quote }}
- name: TIERFLOW_TOPIC_PREFIX
  value: {{ $root.Values.topicPrefix | quote }}
- name: KAFKA_BOOTSTRAP_SERVERS
  value: {{ required "kafka.bootstrapServers is required" $root.Values.kafka.bootstrapServers | quote }}
- name: KAFKA_SECURITY_PROTOCOL
  value: {{ $root.Values.kafka.securityProtocol | quote }}
{{- with $root.Values.kafka.saslMechanism }}
- name: KAFKA_SASL_MECHANISM
  value: {{ . | quote }}
{{- end }}
{{- with $root.Values.kafka.saslUsername }}
- name: KAFKA_SASL_USERNAME
  value: {{ . | quote }}
{{- end }}
{{- with $root.Values.kafka.saslPasswordSecret }}
{{- if .name }}
- name: KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef: {name: {{ .name | quote }}, key: {{ .key | quote }}}
{{- end }}
{{- end }}
{{- with $root.Values.kafka.caSecret }}
{{- if .name }}
- name: KAFKA_SSL_CAFILE
  value: /etc/tierflow/kafka-ca/{{ .key }}
{{- end }}
{{- end }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef: {name: {{ $root.Values.database.urlSecret.name | quote }}, key: {{ $root.Values.database.urlSecret.key | quote }}}
{{- if has .component (list "routing" "routing-api") }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef: {name: {{ $root.Values.redis.urlSecret.name | quote }}, key: {{ $root.Values.redis.urlSecret.key | quote }}}
{{- end }}
{{- if eq .component "routing-api" }}
{{ include "tierflow.env.api" $root }}
{{- else if ne .component "migrate" }}
- name: {{ $prefix }}OPS_HOST
  value: "0.0.0.0"
- name: {{ $prefix }}OPS_PORT
  value: "9100"
{{- end }}
{{- if and (has .component (list "scoring")) $root.Values.policies.scoring }}
- name: TIERFLOW_SCORING_DEFAULT_POLICY_FILE
  value: /etc/tierflow/policies/scoring.yaml
{{- end }}
{{- if and (has .component (list "routing" "routing-api")) $root.Values.policies.routing }}
- name: TIERFLOW_ROUTING_DEFAULT_POLICY_FILE
  value: /etc/tierflow/policies/routing.yaml
{{- end }}
{{- if eq .component "notification" }}
{{- with $root.Values.playbooks }}
- name: TIERFLOW_NOTIFICATION_PLAYBOOK_FILE
  value: /etc/tierflow/playbooks/{{ keys . | sortAlpha | first }}
{{- end }}
{{ include "tierflow.env.jwt" (dict "root" $root "prefix" "TIERFLOW_NOTIFICATION_") }}
{{- end }}
{{- range $name, $value := .values.env }}
{{- if regexMatch "SECRET|PASSWORD|PUBLIC_KEY|DATABASE_URL|REDIS_URL" $name }}
{{- fail (printf "%s must come from a Secret reference (see values.yaml), not from env" $name) }}
{{- end }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end }}

{{/* The API's address and token settings. */}}
{{- define "tierflow.env.api" -}}
- name: TIERFLOW_ROUTING_API_HOST
  value: "0.0.0.0"
- name: TIERFLOW_ROUTING_API_PORT
  value: "8000"
{{ include "tierflow.env.jwt" (dict "root" . "prefix" "TIERFLOW_ROUTING_") }}
{{- end }}

{{/* Bearer-token settings for an HTTP API (the routing API; the notification service's task API). */}}
{{- define "tierflow.env.jwt" -}}
{{- $jwt := .root.Values.jwt -}}
- name: {{ .prefix }}JWT_ALGORITHM
  value: {{ $jwt.algorithm | quote }}
- name: {{ .prefix }}JWT_AUDIENCE
  value: {{ $jwt.audience | quote }}
{{- with $jwt.issuer }}
- name: {{ $.prefix }}JWT_ISSUER
  value: {{ . | quote }}
{{- end }}
{{- if eq $jwt.algorithm "RS256" }}
- name: {{ .prefix }}JWT_PUBLIC_KEY
  valueFrom:
    secretKeyRef:
      name: {{ required "jwt.publicKeySecret.name is required for RS256" $jwt.publicKeySecret.name | quote }}
      key: {{ $jwt.publicKeySecret.key | quote }}
{{- else }}
- name: {{ .prefix }}JWT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ required "jwt.secretSecret.name is required for HS256" $jwt.secretSecret.name | quote }}
      key: {{ $jwt.secretSecret.key | quote }}
{{- end }}
{{- end }}
