{{/*
Names. With the release name kengine-gateway every name equals the one in manifests/.
*/}}

{{/* The app name: the chart name unless nameOverride is set. */}}
{{- define "kengine-gateway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The base of every object name: the release name when it already contains the app name,
else <release>-<app>; object names in one namespace must not collide across releases.
*/}}
{{- define "kengine-gateway.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := include "kengine-gateway.name" . }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels of the Deployment's selector and pods; they must not change across upgrades. */}}
{{- define "kengine-gateway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kengine-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "kengine-gateway.labels" -}}
{{ include "kengine-gateway.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The leader-election Lease: the Role names it, and so does --leader-election-id. */}}
{{- define "kengine-gateway.leaseName" -}}
{{- default (include "kengine-gateway.fullname" .) .Values.leaderElection.leaseName }}
{{- end }}

{{/*
The admin CA Secret (--admin-ca-secret); per release, so that two releases in one namespace
keep their own CAs.
*/}}
{{- define "kengine-gateway.adminCASecret" -}}
{{- printf "%s-admin-ca" (include "kengine-gateway.fullname" .) }}
{{- end }}

{{/* The parameters ConfigMap of the GatewayClass. */}}
{{- define "kengine-gateway.parametersName" -}}
{{- printf "%s-parameters" (include "kengine-gateway.fullname" .) }}
{{- end }}
