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
{{ include "tierflow.env.jwt" (dict "jwt" $root.Values.taskApi.jwt "values" "taskApi.jwt" "prefix" "TIERFLOW_NOTIFICATION_") }}
{{- end }}
{{- range $name, $value := .values.env }}
{{- /* Case-insensitive: the services read their settings from the environment whatever the case. */}}
{{- if regexMatch "(?i)(SECRET|PASSWORD|PUBLIC_KEY|PRIVATE_KEY|DATABASE_URL|REDIS_URL)" $name }}
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
{{ include "tierflow.env.jwt" (dict "jwt" .Values.jwt "values" "jwt" "prefix" "TIERFLOW_ROUTING_") }}
{{- $api := .Values.jwt }}
{{- $tasks := .Values.taskApi.jwt }}
{{- if and (eq $api.algorithm "HS256") (eq $tasks.algorithm "HS256") (eq $api.secretSecret.name $tasks.secretSecret.name) (eq $api.secretSecret.key $tasks.secretSecret.key) }}
{{- fail "jwt.secretSecret and taskApi.jwt.secretSecret name the same secret: a token minted for one API would open the other; give the task API its own" }}
{{- end }}
{{- end }}

{{/*
Bearer-token settings for an HTTP API: the routing API (values `jwt`), the notification service's task
API (values `taskApi.jwt`). Call with (dict "jwt" <the values> "values" "<their path>" "prefix" "TIERFLOW_X_").
*/}}
{{- define "tierflow.env.jwt" -}}
{{- $jwt := .jwt -}}
- name: {{ .prefix }}JWT_ALGORITHM
  value: {{ $jwt.algorithm | quote }}
- name: {{ .prefix }}JWT_AUDIENCE
  value: {{ $jwt.audience | quote }}
- name: {{ .prefix }}JWT_MAX_LIFETIME_S
  value: {{ $jwt.maxLifetimeSeconds | quote }}
{{- with $jwt.issuer }}
- name: {{ $.prefix }}JWT_ISSUER
  value: {{ . | quote }}
{{- end }}
{{- if eq $jwt.algorithm "RS256" }}
- name: {{ .prefix }}JWT_PUBLIC_KEY
  valueFrom:
    secretKeyRef:
      name: {{ required (printf "%s.publicKeySecret.name is required for RS256" .values) $jwt.publicKeySecret.name | quote }}
      key: {{ $jwt.publicKeySecret.key | quote }}
{{- else }}
- name: {{ .prefix }}JWT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ required (printf "%s.secretSecret.name is required for HS256" .values) $jwt.secretSecret.name | quote }}
      key: {{ $jwt.secretSecret.key | quote }}
{{- end }}
{{- end }}
