{{/* ---------------------------------------------------------------- names, labels */}}

{{- define "greenlb.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "greenlb.fullname" -}}
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

{{/* "<fullname>-<suffix>", still at most 63 characters. */}}
{{- define "greenlb.suffixed" -}}
{{- $root := index . 0 }}{{ $suffix := index . 1 }}
{{- printf "%s-%s" (include "greenlb.fullname" $root | trunc (int (sub 62 (len $suffix))) | trimSuffix "-") $suffix }}
{{- end }}

{{- define "greenlb.selectorLabels" -}}
app.kubernetes.io/name: {{ include "greenlb.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "greenlb.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "greenlb.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: greenlb
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "greenlb.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "greenlb.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "greenlb.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* ---------------------------------------------------------------- greenlb.toml */}}

{{/*
The effective configuration as a dict, serialised as JSON (templates return strings):
the raw `config` parsed with fromToml when it is set, else `.Values.greenlb`.
Use: $cfg := include "greenlb.config" . | fromJson
*/}}
{{- define "greenlb.config" -}}
{{- if .Values.config }}
{{- $parsed := fromToml .Values.config }}
{{- if hasKey $parsed "Error" }}
{{- fail (printf "config: not valid TOML: %v" $parsed.Error) }}
{{- end }}
{{- toJson $parsed }}
{{- else }}
{{- toJson (default dict .Values.greenlb) }}
{{- end }}
{{- end }}

{{/* The text of greenlb.toml: the raw `config` verbatim, or `.Values.greenlb` rendered. */}}
{{- define "greenlb.configText" -}}
{{- if .Values.config }}
{{- .Values.config }}
{{- else }}
{{- printf "# Rendered by the greenlb Helm chart from the values under `greenlb`.\n" }}
{{- include "greenlb.toml.table" (dict "prefix" "" "table" (default dict .Values.greenlb)) | trim }}
{{- printf "\n" }}
{{- end }}
{{- end }}

{{/*
TOML writer for YAML values. A table is written as its plain keys first, then its
sub-tables ([a.b]), then its arrays of tables ([[a.b]]: a non-empty list whose items are
all maps); every other list is an inline array. Keys are sorted. Null values are left
out (Helm's way to delete a default). Whole floats are written as integers: YAML numbers
arrive as float64 and greenlb's integer keys refuse 3.0.
*/}}
{{- define "greenlb.toml.table" -}}
{{- $prefix := .prefix }}
{{- $table := .table }}
{{- range $key := keys $table | sortAlpha }}
{{- $v := get $table $key }}
{{- if and (not (kindIs "invalid" $v)) (not (kindIs "map" $v)) (ne (include "greenlb.toml.isTableArray" $v) "true") }}
{{ include "greenlb.toml.key" $key }} = {{ include "greenlb.toml.value" $v }}
{{- end }}
{{- end }}
{{- range $key := keys $table | sortAlpha }}
{{- $v := get $table $key }}
{{- $path := include "greenlb.toml.path" (list $prefix $key) }}
{{- if kindIs "map" $v }}

[{{ $path }}]
{{- include "greenlb.toml.table" (dict "prefix" $path "table" $v) }}
{{- end }}
{{- end }}
{{- range $key := keys $table | sortAlpha }}
{{- $v := get $table $key }}
{{- $path := include "greenlb.toml.path" (list $prefix $key) }}
{{- if eq (include "greenlb.toml.isTableArray" $v) "true" }}
{{- range $item := $v }}

[[{{ $path }}]]
{{- include "greenlb.toml.table" (dict "prefix" $path "table" $item) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{- define "greenlb.toml.isTableArray" -}}
{{- $all := and (kindIs "slice" .) (gt (len .) 0) }}
{{- if $all }}{{ range . }}{{ if not (kindIs "map" .) }}{{ $all = false }}{{ end }}{{ end }}{{ end }}
{{- $all }}
{{- end }}

{{- define "greenlb.toml.path" -}}
{{- $key := include "greenlb.toml.key" (index . 1) }}
{{- if index . 0 }}{{ printf "%s.%s" (index . 0) $key }}{{ else }}{{ $key }}{{ end }}
{{- end }}

{{- define "greenlb.toml.key" -}}
{{- if regexMatch "^[A-Za-z0-9_-]+$" . }}{{ . }}{{ else }}{{ toJson . }}{{ end }}
{{- end }}

{{- define "greenlb.toml.value" -}}
{{- if kindIs "string" . }}{{ toJson . }}
{{- else if kindIs "bool" . }}{{ . }}
{{- else if or (kindIs "float64" .) (kindIs "float32" .) }}
{{- if eq (float64 (int64 .)) (float64 .) }}{{ int64 . }}{{ else }}{{ . }}{{ end }}
{{- else if kindIs "slice" . }}[{{ range $i, $e := . }}{{ if $i }}, {{ end }}{{ include "greenlb.toml.value" $e }}{{ end }}]
{{- else if kindIs "map" . }}{ {{- $m := . }}{{ range $i, $k := keys $m | sortAlpha }}{{ if $i }},{{ end }} {{ include "greenlb.toml.key" $k }} = {{ include "greenlb.toml.value" (get $m $k) }}{{ end }} }
{{- else if kindIs "invalid" . }}{{ fail "greenlb: null inside a list or inline table cannot be written as TOML" }}
{{- else }}{{ . }}
{{- end }}
{{- end }}

{{/* ---------------------------------------------------------------- derived facts */}}

{{/* A duration string ("250ms", "1m30s", "0") in milliseconds. */}}
{{- define "greenlb.durationMs" -}}
{{- $s := toString . }}
{{- if not (regexMatch "^(0|([0-9]+(ms|h|m|s))+)$" $s) }}
{{- fail (printf "greenlb: %q is not a duration (like \"250ms\", \"5s\", \"1m30s\")" $s) }}
{{- end }}
{{- $ms := 0 }}
{{- range $part := regexFindAll "[0-9]+(ms|h|m|s)" $s -1 }}
{{- $n := regexFind "^[0-9]+" $part | atoi }}
{{- $unit := regexReplaceAll "^[0-9]+" $part "" }}
{{- $ms = add $ms (mul $n (get (dict "ms" 1 "s" 1000 "m" 60000 "h" 3600000) $unit)) }}
{{- end }}
{{- $ms }}
{{- end }}

{{/* "host:port" -> port; fails on a loopback host, which nothing outside the pod reaches. */}}
{{- define "greenlb.listenPort" -}}
{{- $what := index . 0 }}{{ $listen := toString (index . 1) }}
{{- if not (regexMatch "^(\\[[0-9A-Fa-f:.]*\\]|[^:\\[\\]]*):[0-9]+$" $listen) }}
{{- fail (printf "greenlb: %s listen %q is not \"host:port\"" $what $listen) }}
{{- end }}
{{- $host := regexReplaceAll ":[0-9]+$" $listen "" }}
{{- if has $host (list "127.0.0.1" "localhost" "[::1]") }}
{{- fail (printf "greenlb: %s listens on %s: in a pod it must bind 0.0.0.0 (or [::]) to be reachable by Services and probes" $what $listen) }}
{{- end }}
{{- regexFind "[0-9]+$" $listen }}
{{- end }}

{{/*
The listeners as JSON: [{"name", "portName", "port", "servicePort", "nodePort",
"appProtocol"}] (portName: a valid Kubernetes port name made from the listener name).
*/}}
{{- define "greenlb.listeners" -}}
{{- $cfg := include "greenlb.config" . | fromJson }}
{{- $out := list }}
{{- $listeners := default list $cfg.listener }}
{{- if not $listeners }}
{{- fail "greenlb: the configuration defines no [[listener]]" }}
{{- end }}
{{- range $l := $listeners }}
{{- $name := toString (required "greenlb: every [[listener]] needs a name" $l.name) }}
{{- $port := include "greenlb.listenPort" (list (printf "listener %q" $name) (required (printf "greenlb: listener %q needs listen" $name) $l.listen)) | atoi }}
{{- $portName := regexReplaceAll "[^a-z0-9-]+" (lower $name) "-" | trunc 15 | trimAll "-" }}
{{- if not (regexMatch "[a-z]" $portName) }}{{ $portName = printf "l-%s" $portName | trunc 15 | trimAll "-" }}{{ end }}
{{- $proto := "http" }}
{{- if eq (toString (default "http" $l.protocol)) "tcp" }}{{ $proto = "" }}{{ else if $l.tls }}{{ $proto = "https" }}{{ end }}
{{- $servicePort := $port }}
{{- if hasKey $.Values.service.ports $name }}{{ $servicePort = int (get $.Values.service.ports $name) }}{{ end }}
{{- $nodePort := 0 }}
{{- if hasKey $.Values.service.nodePorts $name }}{{ $nodePort = int (get $.Values.service.nodePorts $name) }}{{ end }}
{{- $out = append $out (dict "name" $name "portName" $portName "port" $port "servicePort" $servicePort "nodePort" $nodePort "appProtocol" $proto) }}
{{- end }}
{{- $names := list }}
{{- range $out }}
{{- if has .portName $names }}
{{- fail (printf "greenlb: two listeners map to the port name %q; rename one" .portName) }}
{{- end }}
{{- if eq .portName "admin" }}
{{- fail "greenlb: a listener may not be called \"admin\" (the admin port's name)" }}
{{- end }}
{{- $names = append $names .portName }}
{{- end }}
{{- toJson $out }}
{{- end }}

{{/* The admin port, from admin.listen (greenlb's default 127.0.0.1:9901 is refused). */}}
{{- define "greenlb.adminPort" -}}
{{- $cfg := include "greenlb.config" . | fromJson }}
{{- $admin := default dict $cfg.admin }}
{{- include "greenlb.listenPort" (list "admin" (default "127.0.0.1:9901" $admin.listen)) }}
{{- end }}

{{/* Seconds the kubelet must wait after SIGTERM (see terminationGracePeriodSeconds). */}}
{{- define "greenlb.drainSeconds" -}}
{{- $cfg := include "greenlb.config" . | fromJson }}
{{- $global := default dict $cfg.global }}
{{- $ms := add (include "greenlb.durationMs" (default "0s" $global.drain_delay) | atoi) (include "greenlb.durationMs" (default "30s" $global.graceful_timeout) | atoi) }}
{{- div (add $ms 999) 1000 }}
{{- end }}

{{- define "greenlb.terminationGracePeriodSeconds" -}}
{{- $needed := add (include "greenlb.drainSeconds" . | atoi) (int .Values.lifecycle.preStopSleepSeconds) }}
{{- if kindIs "invalid" .Values.terminationGracePeriodSeconds }}
{{- add $needed (int .Values.terminationGraceMarginSeconds) }}
{{- else if lt (int .Values.terminationGracePeriodSeconds) $needed }}
{{- fail (printf "greenlb: terminationGracePeriodSeconds %v is shorter than drain_delay + graceful_timeout + preStopSleepSeconds = %d s: the kubelet would kill greenlb mid-drain" .Values.terminationGracePeriodSeconds $needed) }}
{{- else }}
{{- int .Values.terminationGracePeriodSeconds }}
{{- end }}
{{- end }}

{{/* Fails unless the configuration lets the sighup reload Job use POST /reload. */}}
{{- define "greenlb.checkReload" -}}
{{- if eq .Values.reload.mode "sighup" }}
{{- $cfg := include "greenlb.config" . | fromJson }}
{{- $admin := default dict $cfg.admin }}
{{- if not $admin.allow_reload }}
{{- fail "greenlb: reload.mode sighup needs greenlb.admin.allow_reload: true (allow_reload = true in [admin]) so the hook Job can POST /reload" }}
{{- end }}
{{- end }}
{{- if and .Values.serviceMonitor.enabled .Values.podMonitor.enabled }}
{{- fail "greenlb: enable serviceMonitor or podMonitor, not both (every pod would be scraped twice)" }}
{{- end }}
{{- end }}

{{/*
Labels of the pods that are not greenlb (the reload Job's, helm test's): another
app.kubernetes.io/name, so the Deployment, the Services and the PDB never select them.
Use: include "greenlb.auxLabels" (list . "reload")
*/}}
{{- define "greenlb.auxSelectorLabels" -}}
app.kubernetes.io/name: {{ include "greenlb.name" (index . 0) }}-{{ index . 1 }}
app.kubernetes.io/instance: {{ (index . 0).Release.Name }}
{{- end }}

{{- define "greenlb.auxLabels" -}}
{{ include "greenlb.auxSelectorLabels" . }}
app.kubernetes.io/component: {{ index . 1 }}
app.kubernetes.io/managed-by: {{ (index . 0).Release.Service }}
app.kubernetes.io/part-of: greenlb
{{- end }}

{{/*
Bash for the hook and test pods, which run the greenlb image (it has no curl):
`http METHOD HOST PORT PATH` prints a response's status code, using bash's /dev/tcp;
`each_pod METHOD PATH` sends that request to every ready pod behind the headless admin
Service ($ADMIN_HOST:$ADMIN_PORT, see greenlb.adminEnv) and fails unless all say 2xx.
*/}}
{{- define "greenlb.adminScript" -}}
set -u
http() {
  exec 3<>"/dev/tcp/$2/$3" || return 1
  printf '%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n' "$1" "$4" "$2" >&3
  IFS=' ' read -r _ code _ <&3 || return 1
  echo "${code%$'\r'}"
}
export -f http
each_pod() {
  local ips ip code failed=0
  ips=$(getent ahosts "$ADMIN_HOST" | awk '{print $1}' | sort -u)
  [ -n "$ips" ] || { echo "no ready pods behind $ADMIN_HOST"; return 1; }
  for ip in $ips; do
    code=$(timeout 10 bash -c 'http "$@"' _ "$1" "$ip" "$ADMIN_PORT" "$2") || code=error
    echo "$1 $ip:$ADMIN_PORT$2 -> $code"
    case $code in 2??) ;; *) failed=1 ;; esac
  done
  return $failed
}
{{- end }}

{{- define "greenlb.adminEnv" -}}
- name: ADMIN_HOST
  value: {{ include "greenlb.adminHost" . }}
- name: ADMIN_PORT
  value: {{ include "greenlb.adminPort" . | quote }}
{{- end }}

{{/* Pod-level settings shared by the greenlb pods, the reload Job and the test pod. */}}
{{- define "greenlb.podBasics" -}}
serviceAccountName: {{ include "greenlb.serviceAccountName" . }}
automountServiceAccountToken: false
enableServiceLinks: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end }}

{{/* The admin Service's DNS name: resolves to the ready pods' IPs (headless). */}}
{{- define "greenlb.adminHost" -}}
{{- printf "%s.%s.svc" (include "greenlb.suffixed" (list . "admin")) .Release.Namespace }}
{{- end }}
