#!/bin/sh
# DashFleet headless agent as a systemd service (servers): a system user, its config file and its data
# folder, readable by that user only — the config holds the enrollment key, the data folder the
# machine token and the action journal.
#
#   sudo sh linux-service.sh --server https://fleet.example.com --token dfk_... [--agent /opt/dashfleet-agent/dashfleet-agent]
#
# Writes /etc/dashfleet/agent.json (0600, owned by the service user), /var/lib/dashfleet-agent (0700),
# and dashfleet-agent.service. ROOT=/some/dir installs under that prefix (packaging and tests); without
# root rights nothing is chowned and systemd is not touched.
set -eu
umask 077

server=""
token=""
agent="/opt/dashfleet-agent/dashfleet-agent"
user="dashfleet-agent"
root="${ROOT:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --server) server="$2"; shift 2 ;;
    --token) token="$2"; shift 2 ;;
    --agent) agent="$2"; shift 2 ;;
    --user) user="$2"; shift 2 ;;
    *) echo "linux-service.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -n "$server" ] && [ -n "$token" ] || { echo "linux-service.sh: --server and --token are required" >&2; exit 2; }
# Values go into JSON: refuse what would need escaping rather than build broken or injected JSON.
nl='
'
case "$server$token" in
  *'"'* | *'\'* | *"$nl"*) echo "linux-service.sh: quotes, backslashes and newlines are not allowed" >&2; exit 2 ;;
esac

is_root=false
[ "$(id -u)" -eq 0 ] && [ -z "$root" ] && is_root=true
if $is_root && ! id "$user" >/dev/null 2>&1; then
  useradd --system --home-dir /var/lib/dashfleet-agent --shell /usr/sbin/nologin "$user"
fi

install -d -m 0755 "$root/etc/dashfleet"
install -d -m 0700 "$root/var/lib/dashfleet-agent"
config="$root/etc/dashfleet/agent.json"
tmp="$config.tmp.$$"
printf '{\n  "server": "%s",\n  "token": "%s"\n}\n' "$server" "$token" > "$tmp"
chmod 0600 "$tmp"
chmod 0700 "$root/var/lib/dashfleet-agent"
if $is_root; then
  chown "$user:" "$tmp"
  chown "$user:" "$root/var/lib/dashfleet-agent"
fi
mv -f "$tmp" "$config"

install -d -m 0755 "$root/etc/systemd/system"
cat > "$root/etc/systemd/system/dashfleet-agent.service" <<UNIT
[Unit]
Description=DashFleet agent (headless)
After=network-online.target
Wants=network-online.target

[Service]
User=$user
ExecStart=$agent --config /etc/dashfleet/agent.json --data-dir /var/lib/dashfleet-agent
Restart=always
UMask=0077
StateDirectory=dashfleet-agent
StateDirectoryMode=0700

[Install]
WantedBy=multi-user.target
UNIT
chmod 0644 "$root/etc/systemd/system/dashfleet-agent.service"

if $is_root && command -v systemctl >/dev/null 2>&1; then
  systemctl daemon-reload
  systemctl enable --now dashfleet-agent.service
fi
echo "dashfleet-agent: config $config (0600), data $root/var/lib/dashfleet-agent (0700)"
