#!/bin/bash
# User and system CPU time per request of a server under wrk (docs/benchmarks.md, "Where a request's time goes").
# usage: benchmarks/cpu_split.sh NAME PORT COMMAND...  (from the repository root, PYTHONPATH=.)
# The server is pinned to CPU 0 and `wrk -t1 -c50` to CPU 1: 1 s of warm-up, then 5 s measured, with the
# serving process's utime and stime read from /proc/PID/stat before and after.
name=$1; shift; port=$1; shift
taskset -c 0 "$@" > /tmp/cpu_split.$name.log 2>&1 &
pid=$!
sleep 3
taskset -c 1 wrk -t1 -c50 -d1s http://127.0.0.1:$port/ > /dev/null
# the serving process: the deepest child (Granian serves from a child)
serve=$(pgrep -P $pid | head -1); serve=${serve:-$pid}
tck=$(getconf CLK_TCK)
read u1 s1 < <(awk '{print $14, $15}' /proc/$serve/stat)
out=$(taskset -c 1 wrk -t1 -c50 -d5s http://127.0.0.1:$port/)
read u2 s2 < <(awk '{print $14, $15}' /proc/$serve/stat)
rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
reqs=$(echo "$out" | awk '/requests in/ {print $1}')
echo "$name: $rps req/s, $reqs requests; user $(( (u2-u1) )) ticks, sys $(( (s2-s1) )) ticks (CLK_TCK $tck); user us/req $(python3 -c "print(round(($u2-$u1)/$tck*1e6/$reqs,2))"), sys us/req $(python3 -c "print(round(($s2-$s1)/$tck*1e6/$reqs,2))")"
kill -INT $pid; wait $pid 2>/dev/null
