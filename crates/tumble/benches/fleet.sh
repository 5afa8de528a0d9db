#!/usr/bin/env bash
# A fleet on one broker: N simulated washers (`tumble fleet`) on a Mosquitto of its own on a
# loopback port, for SECONDS. Measures the state messages each washer's state topic got (the
# rate asked for is one a second), how long a "stop all" takes to be answered by every washer,
# and the broker's and the washers' CPU time and memory. Usage:
#   crates/tumble/benches/fleet.sh [N=20] [SECONDS=60]
# Needs Debian's mosquitto and mosquitto-clients (mosquitto_sub, mosquitto_pub).
set -euo pipefail
cd "$(dirname "$0")/../../.."
N=${1:-20}
SECONDS_RUN=${2:-60}
cargo build --release -q -p tumble
TUMBLE=target/release/tumble
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$port" >"$work/mosquitto.conf"
/usr/sbin/mosquitto -c "$work/mosquitto.conf" >/dev/null 2>&1 &
broker=$!
trap 'kill -INT $fleet 2>/dev/null || true; wait $fleet 2>/dev/null || true; kill $broker 2>/dev/null || true; rm -rf "$work"' EXIT
sleep 0.5
"$TUMBLE" fleet --washers "$N" --mqtt "mqtt://127.0.0.1:$port" --mqtt-commands \
    --base-port 18100 --state-dir "$work/fleet" >"$work/fleet.log" 2>&1 &
fleet=$!
# Until every washer is online.
for _ in $(seq 100); do
    online=$(timeout 1 mosquitto_sub -p "$port" -t 'tumble/+/availability' -v -W 1 2>/dev/null | grep -c ' online$' || true)
    [ "$online" -ge "$N" ] && break
done
echo "washers online: $online of $N"
timeout "$SECONDS_RUN" mosquitto_sub -p "$port" -t 'tumble/+/state' -v >"$work/states" 2>/dev/null || true
per=$(awk '{print $1}' "$work/states" | sort | uniq -c | awk '{print $1}' | sort -n)
echo "state messages per washer in ${SECONDS_RUN} s: min $(echo "$per" | head -1), max $(echo "$per" | tail -1), washers heard $(echo "$per" | wc -l)"
# Stop all: one publish per washer, then every reply.
timeout 5 mosquitto_sub -p "$port" -t 'tumble/+/reply' -v -C "$N" >"$work/replies" 2>/dev/null &
sub=$!
sleep 0.3
start=$(date +%s%N)
for i in $(seq "$N"); do
    mosquitto_pub -p "$port" -t "tumble/washer-$i/command" -m '{"cmd":"stop","id":"all"}'
done
wait $sub || true
end=$(date +%s%N)
echo "stop all: $(grep -c '"id":"all"' "$work/replies") of $N replies in $(( (end - start) / 1000000 )) ms (publishing included)"
# CPU time (user + system, clock ticks from /proc) and resident memory.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
echo "broker: $(rss "$broker") KB resident, $(cpu "$broker") s CPU"
total=0; mem=0; n=0
for p in $(pgrep -P "$fleet"); do
    total=$(echo "$total + $(cpu "$p")" | bc); mem=$((mem + $(rss "$p"))); n=$((n + 1))
done
echo "washers: $n processes, $((mem / n)) KB resident each on average, $total s CPU in all"
