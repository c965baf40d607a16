{{/* Names, labels and the pieces shared by the webhook and audit pods. */}}

{{- define "gk.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "gk.fullname" -}}
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

{{/* "<fullname>-<suffix>", kept within 63 characters. Call with (list $ "suffix"). */}}
{{- define "gk.componentName" -}}
{{- $root := index . 0 }}
{{- printf "%s-%s" (include "gk.fullname" $root | trunc (int (sub 62 (len (index . 1))))) (index . 1) | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object of one component. Call with (list $ "webhook"|"audit"|"exporter"). */}}
{{- define "gk.labels" -}}
{{- $root := index . 0 -}}
{{ include "gk.selectorLabels" . }}
helm.sh/chart: {{ printf "%s-%s" $root.Chart.Name $root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
app.kubernetes.io/part-of: gatekeeper
gatekeeper.sh/system: "yes"
{{- with $root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels of one component. Call with (list $ "webhook"). */}}
{{- define "gk.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "gk.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "gk.image" -}}
{{- $img := index . 0 }}{{- $root := index . 1 }}
{{- if $img.digest }}
{{- printf "%s@%s" $img.repository $img.digest }}
{{- else }}
{{- printf "%s:%s" $img.repository (default $root.Chart.AppVersion $img.tag) }}
{{- end }}
{{- end }}

{{- define "gk.webhookServiceName" -}}
{{- include "gk.componentName" (list . "webhook-service") }}
{{- end }}

{{- define "gk.webhookConfigurationName" -}}
{{- include "gk.componentName" (list . "validating-webhook-configuration") }}
{{- end }}

{{- define "gk.lifecycleConfigMapName" -}}
{{- .Values.audit.violationLifecycle.configMapName | default (include "gk.componentName" (list . "violation-lifecycle")) }}
{{- end }}

{{- define "gk.webhookCertSecretName" -}}
{{- if eq .Values.webhook.tls.mode "existingSecret" }}
{{- .Values.webhook.tls.existingSecret }}
{{- else }}
{{- include "gk.componentName" (list . "webhook-server-cert") }}
{{- end }}
{{- end }}

{{/* Namespaces the engine ignores: the release namespace first, then exemptNamespaces, without duplicates. */}}
{{- define "gk.exemptNamespaces" -}}
{{- prepend .Values.exemptNamespaces .Release.Namespace | uniq | toJson }}
{{- end }}

{{/* true when any exporter sink is of type dapr. */}}
{{- define "gk.usesDapr" -}}
{{- $dapr := false }}
{{- range .Values.exporter.sinks }}{{ if eq .type "dapr" }}{{ $dapr = true }}{{ end }}{{ end }}
{{- if and .Values.exporter.enabled $dapr }}true{{ end }}
{{- end }}

{{/* "true" when a component's exporter queue is on a PersistentVolumeClaim (kept across pods). Call with (list $ "webhook"|"audit"). */}}
{{- define "gk.queuePersistent" -}}
{{- $root := index . 0 }}
{{- if and $root.Values.exporter.enabled (index $root.Values.exporter.queue (index . 1)).persistence.enabled }}true{{ end }}
{{- end }}

{{/* The queue volume's mount point, in both containers; the engine's overflow file goes in its engine-spill folder. */}}
{{- define "gk.queueDir" -}}/var/lib/gk-exporter/queue{{- end }}

{{- define "gk.socketPath" -}}
{{- printf "%s/exporter.sock" (trimSuffix "/" .Values.exporter.socketDir) }}
{{- end }}

{{/*
Replaces every {secretKey: KEY} in a sink definition, at any depth, by {file: <secretMountPath>/KEY}.
Call with (dict "v" VALUE "dir" MOUNT); emits {"v": RESULT} as JSON (fromJson only decodes objects).
*/}}
{{- define "gk.resolveSecretRefs" -}}
{{- $v := .v }}{{- $dir := .dir }}
{{- if kindIs "map" $v }}
{{- if and (hasKey $v "secretKey") (eq (len $v) 1) }}
{{- dict "v" (dict "file" (printf "%s/%s" (trimSuffix "/" $dir) $v.secretKey)) | toJson }}
{{- else }}
{{- $out := dict }}
{{- range $k, $x := $v }}
{{- $_ := set $out $k (include "gk.resolveSecretRefs" (dict "v" $x "dir" $dir) | fromJson).v }}
{{- end }}
{{- dict "v" $out | toJson }}
{{- end }}
{{- else if kindIs "slice" $v }}
{{- $out := list }}
{{- range $v }}
{{- $out = append $out (include "gk.resolveSecretRefs" (dict "v" . "dir" $dir) | fromJson).v }}
{{- end }}
{{- dict "v" $out | toJson }}
{{- else }}
{{- dict "v" $v | toJson }}
{{- end }}
{{- end }}

{{/* The exporter's config file for one component. Call with (list $ "webhook"|"audit"). */}}
{{- define "gk.exporterConfig" -}}
{{- $root := index . 0 }}{{- $component := index . 1 }}
{{- $ex := $root.Values.exporter }}
{{- $queue := index $ex.queue $component }}
{{- $sinks := (include "gk.resolveSecretRefs" (dict "v" $ex.sinks "dir" $ex.secretMountPath) | fromJson).v }}
{{- $config := dict
  "socket" (include "gk.socketPath" $root)
  "queue" (dict "path" (printf "%s/queue.db" (include "gk.queueDir" $root)) "maxBytes" $queue.maxBytes "onFull" $ex.queue.onFull)
  "sinks" $sinks
  "metrics" (dict "address" (printf "0.0.0.0:%d" (int $ex.metricsPort)))
  "log" (dict "level" $root.Values.logLevel)
  "shutdownTimeout" (printf "%ds" (include "gk.exporterShutdownSeconds" $root | int))
  "shutdownDrain" (not (include "gk.queuePersistent" (list $root $component)))
}}
{{- /* extraConfig adds keys (e.g. queue.synchronous, ingest.*, queue.maxAge); the keys the chart sets win. */}}
{{- toYaml (mustMergeOverwrite (deepCopy $ex.extraConfig) $config) }}
{{- end }}

{{/* Seconds the exporter spends delivering at shutdown: the grace period less 20 s for the engine to stop first. */}}
{{- define "gk.exporterShutdownSeconds" -}}
{{- sub (int .Values.exporter.terminationGracePeriodSeconds) 20 }}
{{- end }}

{{/* The engine's export flags. Call with (list $ "webhook"|"audit"). */}}
{{- define "gk.exportArgs" -}}
{{- $root := index . 0 }}{{- $component := index . 1 }}
{{- $ex := $root.Values.exporter }}
- --enable-violation-export
- --export-socket={{ include "gk.socketPath" $root }}
{{- if eq $component "webhook" }}
{{- if not $ex.exportAllowed }}
- --no-export-allowed
{{- end }}
{{- if $ex.exportObject }}
- --export-object
{{- end }}
{{- end }}
- --export-spill-path={{ include "gk.queueDir" $root }}/engine-spill/{{ $component }}.ndjson
- --export-spill-max-bytes={{ include "gk.quantityBytes" $ex.engineSpill.maxBytes }}
{{- with $ex.omitFields }}
- --export-omit={{ join "," . }}
{{- end }}
{{- with $ex.redactFields }}
- --export-redact={{ join "," . }}
{{- end }}
{{- with $ex.namespaceLabels }}
- --export-namespace-labels={{ join "," . }}
{{- end }}
{{- with $root.Values.cluster.name }}
- --cluster-name={{ . }}
{{- end }}
{{- range $key, $value := $root.Values.cluster.labels }}
- --cluster-label={{ $key }}={{ $value }}
{{- end }}
{{- end }}

{{/* Annotations Dapr's injector reads, as Gatekeeper's export quick start sets them. Call with (list $ "webhook"|"audit"). */}}
{{- define "gk.daprAnnotations" -}}
{{- $root := index . 0 }}{{- $component := index . 1 }}
{{- if include "gk.usesDapr" $root }}
{{- $d := $root.Values.exporter.dapr }}
dapr.io/enabled: "true"
dapr.io/app-id: {{ default (include "gk.componentName" (list $root $component)) (index $d.appIds $component) | quote }}
dapr.io/metrics-port: {{ $d.metricsPort | quote }}
dapr.io/sidecar-seccomp-profile-type: {{ $d.sidecarSeccompProfileType | quote }}
{{- if $d.blockShutdown }}
{{- /* daprd stops with the engine, before the exporter: keep it up while the exporter delivers, until the exporter's
health check fails (it has exited) or the exporter's shutdown timeout has passed. */}}
dapr.io/block-shutdown-duration: {{ printf "%ss" (include "gk.exporterShutdownSeconds" $root) | quote }}
dapr.io/app-port: {{ $root.Values.exporter.metricsPort | quote }}
dapr.io/enable-app-health-check: "true"
dapr.io/app-health-check-path: /healthz
{{- end }}
{{- range $k, $v := $d.extraAnnotations }}
{{ $k }}: {{ $v | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* The engine's mounts of the exporter's volumes: the socket, and its overflow file on the queue volume. */}}
{{- define "gk.engineExportMounts" -}}
- name: export-socket
  mountPath: {{ .Values.exporter.socketDir }}
- name: exporter-queue
  mountPath: {{ include "gk.queueDir" . }}
{{- end }}

{{/* The exporter sidecar container. Call with (list $ "webhook"|"audit"). */}}
{{- define "gk.exporterContainer" -}}
{{- $root := index . 0 }}{{- $component := index . 1 }}
{{- $ex := $root.Values.exporter }}
- name: exporter
  image: {{ include "gk.image" (list $root.Values.image.exporter $root) }}
  imagePullPolicy: {{ $root.Values.image.exporter.pullPolicy }}
  {{- if $ex.nativeSidecar }}
  restartPolicy: Always
  {{- end }}
  args:
    - run
    - --config=/etc/gk-exporter/config/{{ $component }}.yaml
  {{- with $ex.extraEnv }}
  env:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  ports:
    - name: exporter-prom
      containerPort: {{ $ex.metricsPort }}
      protocol: TCP
  startupProbe:
    httpGet:
      path: /healthz
      port: exporter-prom
    periodSeconds: 2
    failureThreshold: 60
  livenessProbe:
    httpGet:
      path: /healthz
      port: exporter-prom
    periodSeconds: 10
    timeoutSeconds: 5
    failureThreshold: 6
  readinessProbe:
    httpGet:
      path: /readyz
      port: exporter-prom
    periodSeconds: 10
    timeoutSeconds: 5
  resources:
    {{- toYaml $ex.resources | nindent 4 }}
  securityContext:
    {{- toYaml $root.Values.containerSecurityContext | nindent 4 }}
  volumeMounts:
    - name: export-socket
      mountPath: {{ $ex.socketDir }}
    - name: exporter-queue
      mountPath: {{ include "gk.queueDir" $root }}
    - name: exporter-config
      mountPath: /etc/gk-exporter/config
      readOnly: true
    - name: exporter-tmp
      mountPath: /tmp
    {{- if $ex.existingSecret }}
    - name: exporter-secrets
      mountPath: {{ $ex.secretMountPath }}
      readOnly: true
    {{- end }}
    {{- range $ex.sinks }}
    {{- if eq .type "file" }}
    - name: exporter-file-sinks
      mountPath: {{ $ex.fileSinkMountPath }}
    {{- break }}
    {{- end }}
    {{- end }}
{{- end }}

{{/* The exporter's volumes. Call with (list $ "webhook"|"audit"). */}}
{{- define "gk.exporterVolumes" -}}
{{- $root := index . 0 }}{{- $component := index . 1 }}
{{- $ex := $root.Values.exporter }}
{{- $queue := index $ex.queue $component }}
- name: export-socket
  emptyDir:
    sizeLimit: 1Mi
{{- if eq $component "audit" }}
- name: exporter-queue
  {{- if $queue.persistence.enabled }}
  persistentVolumeClaim:
    claimName: {{ default (include "gk.componentName" (list $root "audit-queue")) $queue.persistence.existingClaim }}
  {{- else }}
  emptyDir:
    sizeLimit: {{ $queue.sizeLimit }}
  {{- end }}
{{- else if not $queue.persistence.enabled }}
- name: exporter-queue
  emptyDir:
    sizeLimit: {{ $queue.sizeLimit }}
{{- end }}
{{- /* The persistent webhook's exporter-queue comes from the StatefulSet's volumeClaimTemplates. */}}
- name: exporter-tmp
  emptyDir:
    sizeLimit: 64Mi
- name: exporter-config
  configMap:
    name: {{ include "gk.componentName" (list $root "exporter-config") }}
{{- if $ex.existingSecret }}
- name: exporter-secrets
  secret:
    secretName: {{ $ex.existingSecret }}
    defaultMode: 0440
{{- end }}
{{- range $ex.sinks }}
{{- if eq .type "file" }}
- name: exporter-file-sinks
  {{- toYaml $ex.fileSinkVolume | nindent 2 }}
{{- break }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The API credentials, mounted into the engine's container only (the pod does not automount them), so the exporter sidecar,
which talks to external systems, never holds a Kubernetes token. The same projected volume the kubelet would add.
*/}}
{{- define "gk.apiAccessVolume" -}}
- name: kube-api-access
  projected:
    defaultMode: 0444
    sources:
      - serviceAccountToken:
          path: token
          expirationSeconds: 3607
      - configMap:
          name: kube-root-ca.crt
          items:
            - key: ca.crt
              path: ca.crt
      - downwardAPI:
          items:
            - path: namespace
              fieldRef:
                apiVersion: v1
                fieldPath: metadata.namespace
{{- end }}

{{- define "gk.apiAccessMount" -}}
- name: kube-api-access
  mountPath: /var/run/secrets/kubernetes.io/serviceaccount
  readOnly: true
{{- end }}
