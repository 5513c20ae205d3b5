{{/*
Names, labels and the pieces every workload shares. Ports are fixed: gRPC 50051, metrics 9464.
*/}}

{{- define "rapport.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* <release>-rapport, or the release name when it already contains the chart name. */}}
{{- define "rapport.fullname" -}}
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

{{/* Name of a component's resources: (list $ "customers") -> <fullname>-customers. */}}
{{- define "rapport.componentName" -}}
{{- $root := index . 0 }}
{{- printf "%s-%s" (include "rapport.fullname" $root) (index . 1) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "rapport.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The image tag: image.tag, or the chart's appVersion. */}}
{{- define "rapport.imageTag" -}}
{{- .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "rapport.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (include "rapport.imageTag" .) }}
{{- end }}
{{- end }}

{{/* Labels selecting a component's pods: (list $ "customers"). */}}
{{- define "rapport.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "rapport.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{/* Every resource's labels: (list $ "customers"). */}}
{{- define "rapport.labels" -}}
{{- $root := index . 0 -}}
helm.sh/chart: {{ include "rapport.chart" $root }}
{{ include "rapport.selectorLabels" . }}
app.kubernetes.io/version: {{ include "rapport.imageTag" $root | replace "+" "_" | replace "@" "_" | replace ":" "_" | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/part-of: rapport
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
{{- end }}

{{/* The names of the enabled services, sorted, as a JSON list (use fromJsonArray). */}}
{{- define "rapport.enabledServices" -}}
{{- $names := list }}
{{- range $name := keys .Values.services | sortAlpha }}
{{- if (index $.Values.services $name).enabled }}
{{- $names = append $names $name }}
{{- end }}
{{- end }}
{{- toJson $names }}
{{- end }}

{{- define "rapport.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "rapport.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Connection URLs. An existing Secret wins over a URL; a URL is kept in the chart's
<fullname>-connections Secret. The migration hook runs before that Secret exists on the first
install, so it reads a copy made by a hook of its own (<fullname>-migrate).
*/}}
{{- define "rapport.connectionsSecretName" -}}
{{- printf "%s-connections" (include "rapport.fullname" .) }}
{{- end }}

{{- define "rapport.databaseSecretName" -}}
{{- .Values.postgresql.existingSecret | default (include "rapport.connectionsSecretName" .) }}
{{- end }}

{{- define "rapport.databaseSecretKey" -}}
{{- if .Values.postgresql.existingSecret }}{{ .Values.postgresql.existingSecretKey }}{{ else }}database-url{{ end }}
{{- end }}

{{- define "rapport.redisSecretName" -}}
{{- .Values.redis.existingSecret | default (include "rapport.connectionsSecretName" .) }}
{{- end }}

{{- define "rapport.redisSecretKey" -}}
{{- if .Values.redis.existingSecret }}{{ .Values.redis.existingSecretKey }}{{ else }}redis-url{{ end }}
{{- end }}

{{/* stringData of <fullname>-connections: the URLs given as values. Empty when none is. */}}
{{- define "rapport.connectionsSecretData" -}}
{{- if not .Values.postgresql.existingSecret }}
database-url: {{ .Values.postgresql.url | quote }}
{{- end }}
{{- if not .Values.redis.existingSecret }}
redis-url: {{ .Values.redis.url | quote }}
{{- end }}
{{- end }}

{{/* The Secret of the generated HS256 secret, when the chart makes one. */}}
{{- define "rapport.jwtSecretName" -}}
{{- printf "%s-jwt" (include "rapport.fullname" .) }}
{{- end }}

{{- define "rapport.generatesJwtSecret" -}}
{{- if and (not .Values.auth.publicKey.existingSecret) (not .Values.auth.jwtSecret.existingSecret) }}true{{ end }}
{{- end }}

{{/*
The generated HS256 secret as the Secret's data holds it (base64): the one in the cluster, read
back with lookup, or a new random one. Worked out once per render and kept in the render's
context, so the Secret and the checksum on the pods agree.

lookup finds nothing both when the Secret does not exist and when the chart is rendered without
cluster access (helm template, --dry-run=client, GitOps tools). On an install the Secret is made
anew (an existing one, kept by `helm.sh/resource-policy: keep` after an uninstall, is found and
reused when the cluster answers). On an upgrade, a new secret would replace the one every token
is signed with, so one is made only when the cluster answers lookups (rapport.releaseFound) and
the Secret is really missing, e.g. after switching from an existing Secret or after a first
install that failed before creating it; otherwise the render fails.
*/}}
{{- define "rapport.jwtSecretData" -}}
{{- if not (hasKey . "rapportJwtSecretData") }}
{{- $name := include "rapport.jwtSecretName" . }}
{{- $existing := lookup "v1" "Secret" .Release.Namespace $name }}
{{- $data := dig "data" "jwt-secret" "" $existing }}
{{- if not $data }}
{{- if and .Release.IsUpgrade (not (include "rapport.releaseFound" .)) }}
{{- fail (printf "\n\nauth.jwtSecret: this upgrade cannot read back the generated Secret %s (lookup found neither it nor the release itself: the chart is rendered without cluster access, as by helm template --is-upgrade, helm upgrade --dry-run=client or helm diff without --dry-run=server). A new random secret would replace the one every token is signed with. Upgrade with cluster access (helm upgrade, or --dry-run=server to preview), or keep the secret in a Secret of your own and set auth.jwtSecret.existingSecret (and auth.jwtSecret.existingSecretKey), as GitOps tools such as Argo CD need; the generated one can be copied: kubectl --namespace %s get secret %s -o jsonpath='{.data.jwt-secret}' | base64 -d" $name .Release.Namespace $name) }}
{{- end }}
{{- $data = randAlphaNum 64 | b64enc }}
{{- end }}
{{- $_ := set . "rapportJwtSecretData" $data }}
{{- end }}
{{- index . "rapportJwtSecretData" }}
{{- end }}

{{/*
"true" when lookup finds this release in the cluster, as an upgrade rendered with cluster access
always does: Helm's record of the previous revision (a Secret with Helm's default storage
driver), else a Deployment of the release (any service, enabled or not), else the record as a
ConfigMap (HELM_DRIVER=configmap). Looked up in that order, so that the ConfigMap is only read
when the others are not there.
*/}}
{{- define "rapport.releaseFound" -}}
{{- $found := false }}
{{- $record := printf "sh.helm.release.v1.%s.v%d" .Release.Name (sub (int .Release.Revision) 1) }}
{{- if lookup "v1" "Secret" .Release.Namespace $record }}
{{- $found = true }}
{{- end }}
{{- if not $found }}
{{- range $name := keys .Values.services | sortAlpha }}
{{- if lookup "apps/v1" "Deployment" $.Release.Namespace (include "rapport.componentName" (list $ $name)) }}
{{- $found = true }}
{{- end }}
{{- end }}
{{- end }}
{{- if and (not $found) (lookup "v1" "ConfigMap" .Release.Namespace $record) }}
{{- $found = true }}
{{- end }}
{{- if $found }}true{{ end }}
{{- end }}

{{/* RAPPORT_PEERS: name=http://<fullname>-<name>:50051 for every enabled service, then peers. */}}
{{- define "rapport.peers" -}}
{{- $peers := dict }}
{{- range $name := include "rapport.enabledServices" . | fromJsonArray }}
{{- $_ := set $peers $name (printf "http://%s:50051" (include "rapport.componentName" (list $ $name))) }}
{{- end }}
{{- range $name, $uri := .Values.peers }}
{{- $_ := set $peers $name $uri }}
{{- end }}
{{- $pairs := list }}
{{- range $name := keys $peers | sortAlpha }}
{{- $pairs = append $pairs (printf "%s=%s" $name (index $peers $name)) }}
{{- end }}
{{- join "," $pairs }}
{{- end }}

{{/* The environment of a server: (list $ "customers"). */}}
{{- define "rapport.serverEnv" -}}
{{- $root := index . 0 }}
{{- $name := index . 1 }}
{{- $svc := index $root.Values.services $name -}}
- name: RAPPORT_LISTEN
  value: "0.0.0.0:50051"
- name: RAPPORT_METRICS_LISTEN
  value: "0.0.0.0:9464"
- name: RAPPORT_HTTP_LISTEN
  value: {{ if $root.Values.http.enabled }}{{ printf "0.0.0.0:%d" (int $root.Values.http.port) | quote }}{{ else }}"off"{{ end }}
- name: RAPPORT_DATA_DIR
  value: /var/lib/rapport
- name: RAPPORT_LOG_FORMAT
  value: json
- name: RAPPORT_LOG
  value: {{ $root.Values.logLevel | quote }}
- name: RAPPORT_MIGRATE_ON_START
  value: {{ not $root.Values.migrations.enabled | quote }}
- name: RAPPORT_MAX_CONNECTION_AGE_SECS
  value: {{ $root.Values.grpc.maxConnectionAgeSeconds | int | quote }}
- name: RAPPORT_REQUEST_TIMEOUT_SECS
  value: {{ $root.Values.grpc.requestTimeoutSeconds | int | quote }}
- name: RAPPORT_SHUTDOWN_DRAIN_SECS
  value: {{ $root.Values.shutdown.drainSeconds | int | quote }}
- name: RAPPORT_REPLICA
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: RAPPORT_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "rapport.databaseSecretName" $root }}
      key: {{ include "rapport.databaseSecretKey" $root }}
- name: RAPPORT_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "rapport.redisSecretName" $root }}
      key: {{ include "rapport.redisSecretKey" $root }}
- name: RAPPORT_REDIS_PREFIX
  value: {{ $root.Values.redis.prefix | quote }}
{{- if $root.Values.auth.publicKey.existingSecret }}
- name: RAPPORT_JWT_PUBLIC_KEY_FILE
  value: /etc/rapport/jwt/public.pem
{{- else }}
- name: RAPPORT_JWT_SECRET
  valueFrom:
    secretKeyRef:
      {{- if $root.Values.auth.jwtSecret.existingSecret }}
      name: {{ $root.Values.auth.jwtSecret.existingSecret }}
      key: {{ $root.Values.auth.jwtSecret.existingSecretKey }}
      {{- else }}
      name: {{ include "rapport.jwtSecretName" $root }}
      key: jwt-secret
      {{- end }}
{{- end }}
- name: RAPPORT_PEERS
  value: {{ include "rapport.peers" $root | quote }}
{{- with $root.Values.env }}
{{ toYaml . }}
{{- end }}
{{- with $svc.env }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Whether a value is set: not null and not "" (0 is set). */}}
{{- define "rapport.isSet" -}}
{{- if and (not (kindIs "invalid" .)) (ne (toString .) "") }}true{{ end }}
{{- end }}

{{/* Checks that templates cannot express in the schema; fails the install with a message. */}}
{{- define "rapport.validate" -}}
{{- if not (or .Values.postgresql.existingSecret .Values.postgresql.url) }}
{{- fail "\n\nPostgreSQL is required: set postgresql.url (postgres://user:password@host:5432/database) or postgresql.existingSecret (a Secret holding that URL under postgresql.existingSecretKey)." }}
{{- end }}
{{- if not (or .Values.redis.existingSecret .Values.redis.url) }}
{{- fail "\n\nRedis is required: set redis.url (redis://[:password@]host:6379/0) or redis.existingSecret (a Secret holding that URL under redis.existingSecretKey)." }}
{{- end }}
{{- if not (include "rapport.enabledServices" . | fromJsonArray) }}
{{- fail "\n\nNo service is enabled: set services.<name>.enabled=true for at least one." }}
{{- end }}
{{- $shutdown := include "rapport.shutdownSeconds" . | int }}
{{- if le (int .Values.shutdown.terminationGracePeriodSeconds) $shutdown }}
{{- fail (printf "\n\nshutdown.terminationGracePeriodSeconds (%d) must be larger than the longest shutdown, %d s: the readiness pass under way (%d) + shutdown.drainSeconds (%d) + requests in flight (grpc.requestTimeoutSeconds, %d). Otherwise pods are killed while draining or finishing requests: raise terminationGracePeriodSeconds to at least %d." (int .Values.shutdown.terminationGracePeriodSeconds) $shutdown (include "rapport.readinessPassSeconds" . | int) (int .Values.shutdown.drainSeconds) (int .Values.grpc.requestTimeoutSeconds) (add1 $shutdown)) }}
{{- end }}
{{- if and .Values.metrics.serviceMonitor.enabled .Values.networkPolicy.enabled (not .Values.networkPolicy.metricsFrom) }}
{{- fail "\n\nmetrics.serviceMonitor.enabled: the NetworkPolicy (networkPolicy.enabled) closes the metrics port to everyone while networkPolicy.metricsFrom is empty, so every scrape would fail. Name your Prometheus in networkPolicy.metricsFrom, e.g. [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}}], or set networkPolicy.enabled=false." }}
{{- end }}
{{- range $name := include "rapport.enabledServices" . | fromJsonArray }}
{{- $svc := index $.Values.services $name }}
{{- if and (include "rapport.isSet" $svc.pdb.minAvailable) (include "rapport.isSet" $svc.pdb.maxUnavailable) }}
{{- fail (printf "\n\nservices.%s.pdb: set minAvailable or maxUnavailable, not both (set the other to null)." $name) }}
{{- end }}
{{- if and $svc.autoscaling.enabled (gt (int $svc.autoscaling.minReplicas) (int $svc.autoscaling.maxReplicas)) }}
{{- fail (printf "\n\nservices.%s.autoscaling: minReplicas is larger than maxReplicas." $name) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Seconds a server may take from SIGTERM to exit: the readiness task finishes the pass under way
(every 2 s it checks the database and pings the cache and the bus, each call bounded to 2 s),
then the drain, then requests in flight for up to the request timeout.
*/}}
{{- define "rapport.readinessPassSeconds" -}}5{{- end }}

{{- define "rapport.shutdownSeconds" -}}
{{- add (include "rapport.readinessPassSeconds" . | int) .Values.shutdown.drainSeconds .Values.grpc.requestTimeoutSeconds }}
{{- end }}

{{/*
failureThreshold of the startup probe: the budget over the period, rounded up. Servers that
migrate before they serve (migrations.enabled=false) get the larger budget.
*/}}
{{- define "rapport.startupFailureThreshold" -}}
{{- $budget := ternary .Values.startupProbe.budgetSeconds .Values.startupProbe.migrateOnStartBudgetSeconds .Values.migrations.enabled | int }}
{{- $period := .Values.startupProbe.periodSeconds | int }}
{{- div (add $budget $period -1) $period }}
{{- end }}

{{/*
spec.replicas of a service's Deployment: (list $ "customers"). Without autoscaling, `replicas`.
With it, the count the live Deployment has (lookup), so that an upgrade, and the one that turns
autoscaling on, neither overrides the HorizontalPodAutoscaler nor drops the field (which
Kubernetes would reset to one pod); nothing when the Deployment is not found (a first install,
or a render without cluster access), and the HorizontalPodAutoscaler scales from one pod.
*/}}
{{- define "rapport.replicas" -}}
{{- $root := index . 0 }}
{{- $name := index . 1 }}
{{- $svc := index $root.Values.services $name }}
{{- if not $svc.autoscaling.enabled }}
{{- $svc.replicas | int }}
{{- else }}
{{- $live := lookup "apps/v1" "Deployment" $root.Release.Namespace (include "rapport.componentName" (list $root $name)) }}
{{- $count := dig "spec" "replicas" "" $live }}
{{- if include "rapport.isSet" $count }}{{ $count | int }}{{ end }}
{{- end }}
{{- end }}

{{/*
topologySpreadConstraints of a service's pods: (list $ "customers"). The service's own list, or
one constraint per topologySpread.topologyKeys over the service's pods of the same revision
(matchLabelKeys pod-template-hash, so a rollout's new pods spread among themselves).
*/}}
{{- define "rapport.topologySpreadConstraints" -}}
{{- $root := index . 0 }}
{{- $name := index . 1 }}
{{- $svc := index $root.Values.services $name }}
{{- $spread := $root.Values.topologySpread }}
{{- if $svc.topologySpreadConstraints }}
{{- toYaml $svc.topologySpreadConstraints }}
{{- else if $spread.enabled }}
{{- range $spread.topologyKeys }}
- topologyKey: {{ . }}
  maxSkew: {{ $spread.maxSkew }}
  whenUnsatisfiable: {{ $spread.whenUnsatisfiable }}
  labelSelector:
    matchLabels:
      {{- include "rapport.selectorLabels" (list $root $name) | nindent 6 }}
  matchLabelKeys:
    - pod-template-hash
{{- end }}
{{- end }}
{{- end }}

{{/* The pod spec parts every Rapport pod shares. */}}
{{- define "rapport.podCommon" -}}
automountServiceAccountToken: false
enableServiceLinks: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.podSecurityContext }}
securityContext:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
