{{/* Names, labels and the image of the fleetyard chart. */}}

{{- define "fleetyard.fullname" -}}
{{- if contains "fleetyard" .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-fleetyard" .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "fleetyard.labels" -}}
app.kubernetes.io/name: fleetyard
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: fleetyard
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of one component: include "fleetyard.selector" (list . "operator") */}}
{{- define "fleetyard.selector" -}}
app.kubernetes.io/name: fleetyard
app.kubernetes.io/instance: {{ (index . 0).Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "fleetyard.componentLabels" -}}
{{ include "fleetyard.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "fleetyard.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{/* The ServiceAccount name of a component: include "fleetyard.serviceAccountName" (list . "operator") */}}
{{- define "fleetyard.serviceAccountName" -}}
{{- $values := index (index . 0).Values (index . 1) -}}
{{- if $values.serviceAccount.name -}}
{{ $values.serviceAccount.name }}
{{- else -}}
{{ include "fleetyard.fullname" (index . 0) }}-{{ index . 1 }}
{{- end -}}
{{- end -}}

{{- define "fleetyard.passphraseSecret" -}}
{{- .Values.state.passphrase.existingSecret | default (printf "%s-pulumi" (include "fleetyard.fullname" .)) -}}
{{- end -}}

{{- define "fleetyard.webhookService" -}}
{{ include "fleetyard.fullname" . }}-webhooks
{{- end -}}

{{- define "fleetyard.webhookTlsSecret" -}}
{{- .Values.webhooks.certificate.existingSecret | default (printf "%s-webhooks-tls" (include "fleetyard.fullname" .)) -}}
{{- end -}}

{{/* The state backend URL the operator gets as FLEETYARD_STATE_BACKEND. */}}
{{- define "fleetyard.stateBackend" -}}
{{- if eq .Values.state.backend "s3" -}}
{{- $s3 := .Values.state.s3 -}}
s3://{{ required "state.s3.bucket is required with state.backend=s3" $s3.bucket }}{{ with $s3.prefix }}/{{ . | trimPrefix "/" }}{{ end }}{{ with $s3.region }}?region={{ . }}{{ end }}
{{- else -}}
file:///var/lib/fleetyard/state
{{- end -}}
{{- end -}}

{{/* Pod-level fields shared by the three Deployments: include "fleetyard.podCommon" (list . "operator") */}}
{{- define "fleetyard.podCommon" -}}
{{- $root := index . 0 -}}
{{- $values := index $root.Values (index . 1) -}}
serviceAccountName: {{ include "fleetyard.serviceAccountName" . }}
automountServiceAccountToken: true
securityContext:
  {{- toYaml $root.Values.podSecurityContext | nindent 2 }}
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with $values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if $values.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml $values.topologySpreadConstraints | nindent 2 }}
{{- else }}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "fleetyard.selector" . | nindent 8 }}
{{- end }}
{{- end -}}

{{- define "fleetyard.commonEnv" -}}
- name: FLEETYARD_LOG_FORMAT
  value: {{ .Values.logFormat | quote }}
- name: FLEETYARD_LISTEN_ADDRESS
  value: "0.0.0.0"
- name: FLEETYARD_INSTANCE
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
{{- end -}}

{{- define "fleetyard.podMeta" -}}
{{- $root := index . 0 -}}
{{- $values := index $root.Values (index . 1) -}}
labels:
  {{- include "fleetyard.selector" . | nindent 2 }}
  {{- with $values.podLabels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- with $values.podAnnotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
