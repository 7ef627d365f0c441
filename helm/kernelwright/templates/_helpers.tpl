{{/* ============================== names ============================== */}}

{{- define "kernelwright.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kernelwright.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "kernelwright.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Resource name of a component: dict root component [pool] */}}
{{- define "kernelwright.componentName" -}}
{{- $base := printf "%s-%s" (include "kernelwright.fullname" .root) .component -}}
{{- if .pool -}}{{- $base = printf "%s-%s" $base .pool -}}{{- end -}}
{{- $base | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* KW_<SERVICE>_ prefix of a component: gpu-evaluator -> KW_GPU_EVALUATOR_ */}}
{{- define "kernelwright.envPrefix" -}}
{{- printf "KW_%s_" (. | upper | replace "-" "_") -}}
{{- end -}}

{{/* ============================== labels ============================== */}}

{{/* Selector labels: dict root component [pool] */}}
{{- define "kernelwright.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kernelwright.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- if .pool }}
kernelwright.dev/evaluator-pool: {{ .pool }}
{{- end }}
{{- end -}}

{{/* Release-wide selector (every pod of the release) */}}
{{- define "kernelwright.releaseSelectorLabels" -}}
app.kubernetes.io/name: {{ include "kernelwright.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* All labels: dict root component [pool] */}}
{{- define "kernelwright.labels" -}}
helm.sh/chart: {{ include "kernelwright.chart" .root }}
{{ include "kernelwright.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: kernelwright
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end -}}

{{/* image reference: dict root image */}}
{{- define "kernelwright.image" -}}
{{- printf "%s:%s" .image.repository (default .root.Chart.AppVersion .image.tag) -}}
{{- end -}}

{{/* Address of a component's gRPC Service: dict root component port [pool] */}}
{{- define "kernelwright.addr" -}}
{{- printf "%s.%s.svc:%v" (include "kernelwright.componentName" .) .root.Release.Namespace .port -}}
{{- end -}}

{{/* ============================== security ============================== */}}

{{- define "kernelwright.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "kernelwright.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
allowPrivilegeEscalation: false
privileged: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* ============================== static facts ============================== */}}

{{/* gRPC port of each service (the services' own defaults) */}}
{{- define "kernelwright.grpcPort" -}}
{{- $ports := dict "converter" 50051 "translator" 50052 "evolver" 50053 "gpu-evaluator" 50054 "archive" 50055 -}}
{{- index $ports . -}}
{{- end -}}

{{- define "kernelwright.cacheDir" -}}/var/cache/kernelwright{{- end -}}
{{- define "kernelwright.tlsDir" -}}/etc/kernelwright/tls{{- end -}}

{{/* The LLM Secret's name, "" when translator/evolver get no LLM keys */}}
{{- define "kernelwright.llmSecretName" -}}
{{- if .Values.llm.existingSecret -}}
{{- .Values.llm.existingSecret -}}
{{- else if or .Values.llm.anthropic.apiKey .Values.llm.openai.apiKey -}}
{{- printf "%s-llm" (include "kernelwright.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The Qdrant API key Secret's name for an external Qdrant, "" when none */}}
{{- define "kernelwright.qdrantSecretName" -}}
{{- if .Values.qdrant.external.existingSecret -}}
{{- .Values.qdrant.external.existingSecret -}}
{{- else if .Values.qdrant.external.apiKey -}}
{{- printf "%s-qdrant" (include "kernelwright.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* ============================== validation ============================== */}}

{{/* Cross-field rules the JSON schema cannot state with a readable message. */}}
{{- define "kernelwright.validate" -}}
{{- $q := .Values.qdrant -}}
{{- if and $q.enabled $q.external.url -}}
{{- fail "qdrant: set exactly one of qdrant.enabled=true (in-cluster StatefulSet) or qdrant.external.url, not both" -}}
{{- end -}}
{{- if and .Values.archive.enabled (not $q.enabled) (not $q.external.url) -}}
{{- fail "qdrant: the archive needs a Qdrant server: set qdrant.enabled=true or qdrant.external.url" -}}
{{- end -}}
{{- if and $q.external.apiKey $q.external.existingSecret -}}
{{- fail "qdrant.external: set apiKey or existingSecret, not both" -}}
{{- end -}}
{{- if and .Values.llm.existingSecret (or .Values.llm.anthropic.apiKey .Values.llm.openai.apiKey) -}}
{{- fail "llm: set llm.existingSecret or the apiKey values, not both" -}}
{{- end -}}
{{- if and .Values.tls.enabled (not .Values.tls.secretName) -}}
{{- fail "tls.enabled=true needs tls.secretName (a kubernetes.io/tls Secret with tls.crt, tls.key, ca.crt)" -}}
{{- end -}}
{{- if .Values.evaluator.enabled -}}
{{- $seen := dict -}}
{{- range $i, $p := .Values.evaluator.pools -}}
{{- if hasKey $seen $p.name -}}
{{- fail (printf "evaluator.pools[%d]: duplicate pool name %q" $i $p.name) -}}
{{- end -}}
{{- $_ := set $seen $p.name true -}}
{{- $sel := merge (dict) (default (dict) $p.nodeSelector) $.Values.evaluator.nodeSelector -}}
{{- $product := index $sel "nvidia.com/gpu.product" | default "" -}}
{{- if not $product -}}
{{- fail (printf "evaluator.pools[%d] %q: nodeSelector needs nvidia.com/gpu.product (the GPU the pool times on)" $i $p.name) -}}
{{- end -}}
{{- if and (hasSuffix "-SHARED" $product) (not $p.allowSharedGpu) -}}
{{- fail (printf "evaluator.pools[%d] %q: nvidia.com/gpu.product %q is a shared (time-sliced) GPU; kernelwright refuses to time on shared GPUs. Set allowSharedGpu: true on this pool to deploy it verify-only (it will never time candidates)." $i $p.name $product) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* data of the chart-created LLM Secret (also its checksum source) */}}
{{- define "kernelwright.llmSecretData" -}}
{{- with .Values.llm.anthropic.apiKey }}
anthropic-api-key: {{ . | b64enc | quote }}
{{- end }}
{{- with .Values.llm.openai.apiKey }}
openai-api-key: {{ . | b64enc | quote }}
{{- end }}
{{- end -}}

{{/* probe action: dict tcp port */}}
{{- define "kernelwright.probeAction" -}}
{{- if .tcp -}}
tcpSocket:
  port: {{ .port }}
{{- else -}}
grpc:
  port: {{ .port }}
{{- end -}}
{{- end -}}
