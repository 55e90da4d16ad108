{{/*
The pod spec every tierflow process shares: non-root, read-only root filesystem with an emptyDir at
/tmp, policies and the Kafka CA mounted read-only. Call with
(dict "root" $ "component" "profile" "values" .Values.workers.profile "args" (list ...) "port" (dict "name" "ops" "number" 9100)).
*/}}
{{- define "tierflow.podSpec" -}}
{{- $root := .root -}}
serviceAccountName: {{ include "tierflow.serviceAccountName" $root }}
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
automountServiceAccountToken: false  # no process talks to the Kubernetes API
securityContext:
  {{- toYaml $root.Values.podSecurityContext | nindent 2 }}
terminationGracePeriodSeconds: {{ $root.Values.terminationGracePeriodSeconds }}
containers:
  - name: {{ .component }}
    image: {{ include "tierflow.image" $root | quote }}
    imagePullPolicy: {{ $root.Values.image.pullPolicy }}
    args:
      {{- toYaml .args | nindent 6 }}
    ports:
      - name: {{ .port.name }}
        containerPort: {{ .port.number }}
        protocol: TCP
    env:
      {{- include "tierflow.env" . | nindent 6 }}
      - name: TIERFLOW_HEALTHCHECK_URL
        value: "http://127.0.0.1:{{ .port.number }}/healthz"
    # Startup allows a slow first connection to Kafka; liveness restarts a dead consumer loop;
    # readiness reports dependencies (PostgreSQL, Kafka) and takes the API out of the Service.
    startupProbe:
      httpGet: {path: /healthz, port: {{ .port.name }}}
      periodSeconds: 2
      failureThreshold: 60
    livenessProbe:
      httpGet: {path: /healthz, port: {{ .port.name }}}
      periodSeconds: 10
      timeoutSeconds: 3
      failureThreshold: 3
    readinessProbe:
      httpGet: {path: /readyz, port: {{ .port.name }}}
      periodSeconds: 10
      timeoutSeconds: 3
      failureThreshold: 3
    resources:
      {{- toYaml .values.resources | nindent 6 }}
    securityContext:
      {{- toYaml $root.Values.securityContext | nindent 6 }}
    volumeMounts:
      {{- include "tierflow.volumeMounts" . | nindent 6 }}
volumes:
  {{- include "tierflow.volumes" . | nindent 2 }}
{{- with $root.Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* The migration hook runs before the chart's ConfigMaps exist, so it never mounts the policies. */}}
{{- define "tierflow.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if and (ne .component "migrate") (or .root.Values.policies.scoring .root.Values.policies.routing) }}
- name: policies
  mountPath: /etc/tierflow/policies
  readOnly: true
{{- end }}
{{- if and (eq .component "notification") .root.Values.playbooks }}
- name: playbooks
  mountPath: /etc/tierflow/playbooks
  readOnly: true
{{- end }}
{{- if .root.Values.kafka.caSecret.name }}
- name: kafka-ca
  mountPath: /etc/tierflow/kafka-ca
  readOnly: true
{{- end }}
{{- end }}

{{- define "tierflow.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- if and (ne .component "migrate") (or .root.Values.policies.scoring .root.Values.policies.routing) }}
- name: policies
  configMap:
    name: {{ include "tierflow.componentName" (dict "root" .root "component" "policies") }}
{{- end }}
{{- if and (eq .component "notification") .root.Values.playbooks }}
- name: playbooks
  configMap:
    name: {{ include "tierflow.componentName" (dict "root" .root "component" "playbooks") }}
{{- end }}
{{- if .root.Values.kafka.caSecret.name }}
- name: kafka-ca
  secret:
    secretName: {{ .root.Values.kafka.caSecret.name }}
    items:
      - {key: {{ .root.Values.kafka.caSecret.key | quote }}, path: {{ .root.Values.kafka.caSecret.key | quote }}}
{{- end }}
{{- end }}
