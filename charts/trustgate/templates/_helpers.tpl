{{/* Chart name, truncated to fit a label value. */}}
{{- define "trustgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified name used for every object of the release. */}}
{{- define "trustgate.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "trustgate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "trustgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "trustgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "trustgate.labels" -}}
helm.sh/chart: {{ include "trustgate.chart" . }}
{{ include "trustgate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: trustgate
{{- end }}

{{- define "trustgate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "trustgate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Secret with the webhook serving certificate (cert-manager or self-managed). */}}
{{- define "trustgate.tlsSecretName" -}}
{{- default (printf "%s-webhook-tls" (include "trustgate.fullname" .)) .Values.tls.secretName }}
{{- end }}

{{/* Lease the replicas elect their leader through. */}}
{{- define "trustgate.leaseName" -}}
{{- printf "%s-leader" (include "trustgate.fullname" .) }}
{{- end }}

{{/* Cluster-scoped names carry the release namespace so two releases cannot collide. */}}
{{- define "trustgate.webhookConfigName" -}}
{{- printf "%s-%s" (include "trustgate.fullname" .) .Release.Namespace | trunc 253 }}
{{- end }}

{{- define "trustgate.clusterRoleName" -}}
{{- printf "%s-%s" (include "trustgate.fullname" .) .Release.Namespace | trunc 253 }}
{{- end }}

{{- define "trustgate.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Where the cert-manager Secret is mounted (the process's --cert-dir). */}}
{{- define "trustgate.certDir" -}}
/var/run/trustgate/tls
{{- end }}

{{/* Namespaces the webhook never sees: kube-system, the release namespace, and any extra. */}}
{{- define "trustgate.excludedNamespaces" -}}
{{- $namespaces := list "kube-system" .Release.Namespace }}
{{- range .Values.webhook.excludedNamespaces }}
{{- $namespaces = append $namespaces . }}
{{- end }}
{{- $namespaces | uniq | toJson }}
{{- end }}

{{/* The cert-manager Certificate whose CA cert-manager's cainjector copies into caBundle. */}}
{{- define "trustgate.certificateName" -}}
{{- printf "%s-webhook" (include "trustgate.fullname" .) }}
{{- end }}

{{/* Path on the webhook server that takes AdmissionReviews. */}}
{{- define "trustgate.webhookPath" -}}
/validate
{{- end }}

{{/* The namespaceSelector shared by every webhook of the configuration. */}}
{{- define "trustgate.namespaceSelector" -}}
matchExpressions:
  - key: kubernetes.io/metadata.name
    operator: NotIn
    values: {{ include "trustgate.excludedNamespaces" . }}
  {{- with .Values.webhook.namespaceSelectorExpressions }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}

{{/*
Labels and annotations of the CRDs the chart renders (templates/crd-*.yaml, generated
by hack/sync-chart-crds.ts). With crds.keep, helm uninstall (and Argo CD 2.7 or newer)
leaves them in place, and with them every policy, grant and attestation.
*/}}
{{- define "trustgate.crdMetadata" -}}
labels:
  {{- include "trustgate.labels" . | nindent 2 }}
{{- if .Values.crds.keep }}
annotations:
  helm.sh/resource-policy: keep
{{- end }}
{{- end }}

{{/*
Whether to render a community PolicyReport CRD (dict "ctx" $ "name" crdName): reports are
on, installCRDs is set, and the CRD is absent or was installed by this release. Another
owner's copy (Kyverno's, a GitOps app's) is left alone. `helm template` and client-side
dry runs cannot look, and render it.
*/}}
{{- define "trustgate.installReportCrd" -}}
{{- $v := .ctx.Values.policyReports -}}
{{- if and $v.enabled $v.installCRDs -}}
{{- $existing := lookup "apiextensions.k8s.io/v1" "CustomResourceDefinition" "" .name -}}
{{- $annotations := dig "metadata" "annotations" (dict) $existing -}}
{{- if not $existing -}}true
{{- else if and (eq (get $annotations "meta.helm.sh/release-name") .ctx.Release.Name) (eq (get $annotations "meta.helm.sh/release-namespace") .ctx.Release.Namespace) -}}true
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Metadata of the PolicyReport CRDs: the release's labels and always `keep`, because other
tools' reports live in them and deleting a CRD deletes every report.
*/}}
{{- define "trustgate.reportCrdMetadata" -}}
labels:
  {{- include "trustgate.labels" . | nindent 2 }}
annotations:
  helm.sh/resource-policy: keep
{{- end }}

{{/*
Labels of the helm test Pod: the release's, without app.kubernetes.io/name, so that the
Service, the PodDisruptionBudget and the anti-affinity never select it.
*/}}
{{- define "trustgate.testLabels" -}}
{{- $labels := include "trustgate.labels" . | fromYaml }}
{{- $_ := unset $labels "app.kubernetes.io/name" }}
{{- $_ = set $labels "app.kubernetes.io/component" "test" }}
{{- toYaml $labels }}
{{- end }}
