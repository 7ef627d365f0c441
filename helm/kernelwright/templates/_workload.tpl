{{/*
One kernelwright workload = ConfigMap + Deployment + Service. Every service and every evaluator
pool is rendered by this one template from a resolved context:
  dict "root" $ "component" <name> "pool" <pool name or ""> "svc" <resolved values block>
where svc has: replicaCount image resources nodeSelector tolerations affinity extraEnv config
and, for pools: gpuProduct sharedGpu runtimeClassName.
*/}}

{{/* The workload's KW_* settings as a YAML map (ConfigMap data and checksum source) */}}
{{- define "kernelwright.configData" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $p := include "kernelwright.envPrefix" .component -}}
{{- $port := include "kernelwright.grpcPort" .component -}}
{{- $d := dict "HOME" (include "kernelwright.cacheDir" .) -}}
{{- $_ := set $d (print $p "HOST") "0.0.0.0" -}}
{{- $_ = set $d (print $p "PORT") $port -}}
{{- $_ = set $d (print $p "METRICS_PORT") (toString $v.common.metricsPort) -}}
{{- $_ = set $d (print $p "LOG_LEVEL") $v.common.logLevel -}}
{{- $_ = set $d (print $p "LOG_FORMAT") $v.common.logFormat -}}
{{- $_ = set $d (print $p "SHUTDOWN_GRACE_S") (toString $v.common.shutdownGraceSeconds) -}}
{{- if $v.tls.enabled -}}
{{- $dir := include "kernelwright.tlsDir" . -}}
{{- $_ = set $d (print $p "TLS_CERT") (print $dir "/tls.crt") -}}
{{- $_ = set $d (print $p "TLS_KEY") (print $dir "/tls.key") -}}
{{- if $v.tls.requireClientCert -}}
{{- $_ = set $d (print $p "TLS_CA") (print $dir "/ca.crt") -}}
{{- end -}}
{{- $_ = set $d "KW_CLIENT_TLS_CA" (print $dir "/ca.crt") -}}
{{- $_ = set $d "KW_CLIENT_TLS_CERT" (print $dir "/tls.crt") -}}
{{- $_ = set $d "KW_CLIENT_TLS_KEY" (print $dir "/tls.key") -}}
{{- if gt ($v.tls.healthPort | int) 0 -}}
{{- $_ = set $d (print $p "HEALTH_PORT") (toString $v.tls.healthPort) -}}
{{- end -}}
{{- end -}}
{{- if eq .component "gpu-evaluator" -}}
{{- $_ = set $d (print $p "POOL") .pool -}}
{{- $_ = set $d (print $p "GPU_PRODUCT") .svc.gpuProduct -}}
{{- $_ = set $d (print $p "CACHE_DIR") (print (include "kernelwright.cacheDir" .) "/evaluator") -}}
{{- end -}}
{{- if eq .component "archive" -}}
{{- if $v.qdrant.enabled -}}
{{- $_ = set $d (print $p "URL") (printf "http://%s.%s.svc:6333" (include "kernelwright.componentName" (dict "root" $root "component" "qdrant")) $root.Release.Namespace) -}}
{{- else -}}
{{- $_ = set $d (print $p "URL") $v.qdrant.external.url -}}
{{- end -}}
{{- end -}}
{{- if has .component (list "translator" "evolver") -}}
{{- if $v.llm.openai.baseUrl -}}
{{- $_ = set $d (print $p "OPENAI_BASE_URL") $v.llm.openai.baseUrl -}}
{{- end -}}
{{- /* where the mesh is: the same KW_<SVC>_ADDR variables the CLI reads */ -}}
{{- if $v.converter.enabled -}}
{{- $_ = set $d "KW_CONVERTER_ADDR" (include "kernelwright.addr" (dict "root" $root "component" "converter" "port" 50051)) -}}
{{- end -}}
{{- if $v.archive.enabled -}}
{{- $_ = set $d "KW_ARCHIVE_ADDR" (include "kernelwright.addr" (dict "root" $root "component" "archive" "port" 50055)) -}}
{{- end -}}
{{- /* where the evaluator pools are (services/core/discovery.py) */ -}}
{{- $_ = set $d (print $p "EVALUATOR_DISCOVERY") $v.evaluator.discovery -}}
{{- if eq $v.evaluator.discovery "kubernetes" -}}
{{- $_ = set $d (print $p "EVALUATOR_SELECTOR") (printf "app.kubernetes.io/instance=%s" $root.Release.Name) -}}
{{- else if and $v.evaluator.enabled $v.evaluator.pools -}}
{{- $pools := list -}}
{{- range $v.evaluator.pools -}}
{{- $product := index (merge (dict) (default (dict) .nodeSelector) $v.evaluator.nodeSelector) "nvidia.com/gpu.product" -}}
{{- $pools = append $pools (printf "%s@%s=%s" .name $product (include "kernelwright.addr" (dict "root" $root "component" "gpu-evaluator" "pool" .name "port" 50054))) -}}
{{- end -}}
{{- $_ = set $d (print $p "EVALUATOR_POOLS") (join ";" $pools) -}}
{{- end -}}
{{- end -}}
{{- range $k, $val := .svc.config -}}
{{- $_ = set $d (print $p $k) (toString $val) -}}
{{- end -}}
{{- toYaml $d -}}
{{- end -}}

{{- define "kernelwright.workload" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $svc := .svc -}}
{{- $name := include "kernelwright.componentName" . -}}
{{- $prefix := include "kernelwright.envPrefix" .component -}}
{{- $port := include "kernelwright.grpcPort" .component | int -}}
{{- /* TLS on: gRPC probes cannot speak TLS, so probe a plaintext health port when the services
       have one (tls.healthPort > 0), else only check that the gRPC port accepts connections. */ -}}
{{- $probePort := ternary ($v.tls.healthPort | int) $port (and $v.tls.enabled (gt ($v.tls.healthPort | int) 0)) -}}
{{- $tcpProbe := and $v.tls.enabled (eq ($v.tls.healthPort | int) 0) -}}
{{- $discovery := and (has .component (list "translator" "evolver")) (eq $v.evaluator.discovery "kubernetes") -}}
{{- $metrics := ge ($v.common.metricsPort | int) 0 -}}
{{- $isGpu := eq .component "gpu-evaluator" -}}
{{- $llm := and (has .component (list "translator" "evolver")) (include "kernelwright.llmSecretName" $root) -}}
{{- $qdrantSecret := and (eq .component "archive") (not $v.qdrant.enabled) (include "kernelwright.qdrantSecretName" $root) -}}
{{- $configData := include "kernelwright.configData" . -}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ $name }}
  labels:
    {{- include "kernelwright.labels" . | nindent 4 }}
data:
  {{- $configData | nindent 2 }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}
  labels:
    {{- include "kernelwright.labels" . | nindent 4 }}
    {{- if $isGpu }}
    kernelwright.dev/gpu-product: {{ $svc.gpuProduct | quote }}
    {{- if $svc.sharedGpu }}
    kernelwright.dev/shared-gpu: "true"
    {{- end }}
    {{- end }}
spec:
  replicas: {{ $svc.replicaCount }}
  revisionHistoryLimit: 5
  {{- if $isGpu }}
  # GPUs are scarce: replace pods in place instead of surging a pod that may never schedule.
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 0
      maxUnavailable: 1
  {{- end }}
  selector:
    matchLabels:
      {{- include "kernelwright.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "kernelwright.labels" . | nindent 8 }}
        {{- if $isGpu }}
        kernelwright.dev/gpu-product: {{ $svc.gpuProduct | quote }}
        {{- if $svc.sharedGpu }}
        kernelwright.dev/shared-gpu: "true"
        {{- end }}
        {{- end }}
        {{- with $v.common.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        checksum/config: {{ $configData | sha256sum }}
        {{- if and $llm (not $v.llm.existingSecret) }}
        checksum/llm-secret: {{ include "kernelwright.llmSecretData" $root | sha256sum }}
        {{- end }}
        {{- with $v.common.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      {{- if $discovery }}
      # Watches gpu-evaluator pods (evaluator.discovery=kubernetes): needs its API token.
      serviceAccountName: {{ include "kernelwright.fullname" $root }}-discovery
      automountServiceAccountToken: true
      {{- else }}
      serviceAccountName: {{ include "kernelwright.fullname" $root }}
      automountServiceAccountToken: false
      {{- end }}
      enableServiceLinks: false
      terminationGracePeriodSeconds: {{ add ($v.common.shutdownGraceSeconds | int) 5 }}
      {{- with $v.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $svc.runtimeClassName }}
      runtimeClassName: {{ . }}
      {{- end }}
      securityContext:
        {{- include "kernelwright.podSecurityContext" . | nindent 8 }}
      containers:
        - name: {{ .component }}
          image: {{ include "kernelwright.image" (dict "root" $root "image" $svc.image) | quote }}
          imagePullPolicy: {{ $svc.image.pullPolicy }}
          args: ["serve", {{ .component | quote }}]
          ports:
            - name: grpc
              containerPort: {{ $port }}
              protocol: TCP
            {{- if $metrics }}
            - name: metrics
              containerPort: {{ $v.common.metricsPort }}
              protocol: TCP
            {{- end }}
            {{- if and $v.tls.enabled (gt ($v.tls.healthPort | int) 0) }}
            - name: health
              containerPort: {{ $v.tls.healthPort }}
              protocol: TCP
            {{- end }}
          envFrom:
            - configMapRef:
                name: {{ $name }}
          {{- if or $llm $qdrantSecret $svc.extraEnv }}
          env:
            {{- if $llm }}
            - name: {{ $prefix }}ANTHROPIC_API_KEY
              valueFrom:
                secretKeyRef:
                  name: {{ $llm }}
                  key: anthropic-api-key
                  optional: true
            - name: {{ $prefix }}OPENAI_API_KEY
              valueFrom:
                secretKeyRef:
                  name: {{ $llm }}
                  key: openai-api-key
                  optional: true
            {{- end }}
            {{- if $qdrantSecret }}
            - name: KW_ARCHIVE_API_KEY
              valueFrom:
                secretKeyRef:
                  name: {{ $qdrantSecret }}
                  key: {{ if $v.qdrant.external.existingSecret }}{{ $v.qdrant.external.existingSecretKey }}{{ else }}api-key{{ end }}
            {{- end }}
            {{- with $svc.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          {{- end }}
          {{- if $isGpu }}
          startupProbe:
            {{- include "kernelwright.probeAction" (dict "tcp" $tcpProbe "port" $probePort) | nindent 12 }}
            periodSeconds: {{ $v.evaluator.startupProbe.periodSeconds }}
            failureThreshold: {{ $v.evaluator.startupProbe.failureThreshold }}
            timeoutSeconds: 5
          {{- end }}
          readinessProbe:
            {{- include "kernelwright.probeAction" (dict "tcp" $tcpProbe "port" $probePort) | nindent 12 }}
            {{- if not $isGpu }}
            initialDelaySeconds: 3
            {{- end }}
            periodSeconds: 10
            timeoutSeconds: 5
            failureThreshold: 3
          livenessProbe:
            {{- include "kernelwright.probeAction" (dict "tcp" $tcpProbe "port" $probePort) | nindent 12 }}
            {{- if not $isGpu }}
            initialDelaySeconds: 15
            {{- end }}
            periodSeconds: 20
            timeoutSeconds: 5
            failureThreshold: 3
          resources:
            {{- toYaml $svc.resources | nindent 12 }}
          securityContext:
            {{- include "kernelwright.containerSecurityContext" . | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            - name: cache
              mountPath: {{ include "kernelwright.cacheDir" . }}
            - name: shm
              mountPath: /dev/shm
            {{- if $v.tls.enabled }}
            - name: tls
              mountPath: {{ include "kernelwright.tlsDir" . }}
              readOnly: true
            {{- end }}
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: {{ $v.common.scratch.tmpSizeLimit }}
        - name: cache
          emptyDir:
            sizeLimit: {{ $v.common.scratch.cacheSizeLimit }}
        - name: shm
          emptyDir:
            medium: Memory
            sizeLimit: {{ $v.common.scratch.shmSizeLimit }}
        {{- if $v.tls.enabled }}
        - name: tls
          secret:
            secretName: {{ $v.tls.secretName }}
            defaultMode: 0440
        {{- end }}
      {{- with $svc.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $svc.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $svc.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $name }}
  labels:
    {{- include "kernelwright.labels" . | nindent 4 }}
    {{- if $metrics }}
    kernelwright.dev/metrics: "true"
    {{- end }}
spec:
  type: ClusterIP
  selector:
    {{- include "kernelwright.selectorLabels" . | nindent 4 }}
  ports:
    - name: grpc
      port: {{ $port }}
      targetPort: grpc
      protocol: TCP
      appProtocol: grpc
    {{- if $metrics }}
    - name: metrics
      port: {{ $v.common.metricsPort }}
      targetPort: metrics
      protocol: TCP
    {{- end }}
{{ end -}}
