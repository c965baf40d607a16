{{/* Checks across several values that values.schema.json cannot express; each failure names the keys to fix. */}}

{{/* Bytes of a Kubernetes quantity (binary or decimal suffix, or plain bytes). */}}
{{- define "gk.quantityBytes" -}}
{{- $q := toString . }}
{{- $units := dict "" 1.0 "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 "k" 1000.0 "M" 1000000.0 "G" 1000000000.0 "T" 1000000000000.0 }}
{{- $num := regexFind "^[0-9]+(\\.[0-9]+)?" $q }}
{{- $unit := trimPrefix $num $q }}
{{- if not (hasKey $units $unit) }}{{ fail (printf "%q is not a size: use a number with Ki, Mi, Gi, Ti (or k, M, G, T)" $q) }}{{ end }}
{{- mulf (float64 $num) (get $units $unit) | floor | int64 }}
{{- end }}

{{- define "gk.validate" -}}
{{- range $key, $value := .Values.cluster.labels }}
{{- if not (regexMatch "^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$" $key) }}
{{- fail (printf "cluster.labels: %q is not a Kubernetes label key (an optional DNS prefix and \"/\", then up to 63 letters, digits, \"-\", \"_\" or \".\", starting and ending alphanumeric)" $key) }}
{{- end }}
{{- end }}
{{- $ex := .Values.exporter }}
{{- if $ex.enabled }}
{{- if not $ex.sinks }}
{{- fail "exporter.enabled is true but exporter.sinks is empty: add at least one sink (type http, file, kafka or dapr)" }}
{{- end }}
{{- $names := list }}
{{- range $i, $s := $ex.sinks }}
{{- if has $s.name $names }}
{{- fail (printf "exporter.sinks[%d]: the name %q is used by another sink; sink names must be unique (each keeps its own progress)" $i $s.name) }}
{{- end }}
{{- $names = append $names $s.name }}
{{- if and (eq $s.type "file") (not (hasPrefix (printf "%s/" (trimSuffix "/" $ex.fileSinkMountPath)) (toString $s.path))) }}
{{- fail (printf "exporter.sinks[%d] (%s): a file sink's path must be under exporter.fileSinkMountPath (%s), the only writable volume for it" $i $s.name $ex.fileSinkMountPath) }}
{{- end }}
{{- end }}
{{- range $component := list "webhook" "audit" }}
{{- $q := index $ex.queue $component }}
{{- /* The queue and the engine's overflow file share the volume. */}}
{{- $used := add (include "gk.quantityBytes" $q.maxBytes | int64) (include "gk.quantityBytes" $ex.engineSpill.maxBytes | int64) }}
{{- if not $q.persistence.enabled }}
{{- if ge $used (include "gk.quantityBytes" $q.sizeLimit | int64) }}
{{- fail (printf "exporter.queue.%s.maxBytes (%s) plus exporter.engineSpill.maxBytes (%s) must be smaller than exporter.queue.%s.sizeLimit (%s): the queue's write-ahead log needs headroom, and the kubelet evicts a pod whose emptyDir outgrows its limit" $component (toString $q.maxBytes) (toString $ex.engineSpill.maxBytes) $component (toString $q.sizeLimit)) }}
{{- end }}
{{- else if and (not $q.persistence.existingClaim) (ge $used (include "gk.quantityBytes" $q.persistence.size | int64)) }}
{{- fail (printf "exporter.queue.%s.maxBytes (%s) plus exporter.engineSpill.maxBytes (%s) must be smaller than exporter.queue.%s.persistence.size (%s)" $component (toString $q.maxBytes) (toString $ex.engineSpill.maxBytes) $component (toString $q.persistence.size)) }}
{{- end }}
{{- end }}
{{- if and $ex.queue.audit.persistence.enabled (not .Values.audit.enabled) }}
{{- fail "exporter.queue.audit.persistence.enabled needs audit.enabled: the claim holds the audit pod's queue" }}
{{- end }}
{{- if and $ex.dapr.appIds.webhook (eq $ex.dapr.appIds.webhook $ex.dapr.appIds.audit) }}
{{- fail (printf "exporter.dapr.appIds: the webhook and the audit need different Dapr app ids (both are %q)" $ex.dapr.appIds.webhook) }}
{{- end }}
{{- if and $ex.existingSecret (not $ex.secretMountPath) }}
{{- fail "exporter.existingSecret is set but exporter.secretMountPath is empty" }}
{{- end }}
{{- range $port := list .Values.webhook.port .Values.webhook.metricsPort }}
{{- if eq (int $port) (int $ex.metricsPort) }}
{{- fail (printf "exporter.metricsPort (%d) clashes with a port of the webhook container (webhook.port or webhook.metricsPort): pods share one network namespace" (int $ex.metricsPort)) }}
{{- end }}
{{- end }}
{{- range $port := list .Values.audit.metricsPort }}
{{- if eq (int $port) (int $ex.metricsPort) }}
{{- fail (printf "exporter.metricsPort (%d) clashes with audit.metricsPort" (int $ex.metricsPort)) }}
{{- end }}
{{- end }}
{{- end }}
{{- if and .Values.webhook.podDisruptionBudget.enabled (kindIs "float64" .Values.webhook.podDisruptionBudget.minAvailable) (ge (int .Values.webhook.podDisruptionBudget.minAvailable) (int .Values.webhook.replicas)) (gt (int .Values.webhook.replicas) 0) }}
{{- fail (printf "webhook.podDisruptionBudget.minAvailable (%d) must be below webhook.replicas (%d), or no node could ever be drained (with one replica, set webhook.podDisruptionBudget.enabled=false)" (int .Values.webhook.podDisruptionBudget.minAvailable) (int .Values.webhook.replicas)) }}
{{- end }}
{{- if and (eq .Values.webhook.tls.mode "existingSecret") (or (not .Values.webhook.tls.existingSecret) (not .Values.webhook.tls.caBundle)) }}
{{- fail "webhook.tls.mode existingSecret needs webhook.tls.existingSecret (a kubernetes.io/tls Secret) and webhook.tls.caBundle (its CA, base64 PEM)" }}
{{- end }}
{{- end }}
