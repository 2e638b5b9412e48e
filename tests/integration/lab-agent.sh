#!/bin/sh
# lab-agent - the virtual rack's management channel on a node, the lab's
# stand-in for a BMC's serial-over-LAN.  Runs in Dom0 when QEMU gives the node
# a virtio-serial port named xenrack.lab (real rack servers have none).
#
# Protocol, one line each way: the host writes "ID COMMAND...", the agent runs
# COMMAND with sh and answers with its output and "@@xenrack-done ID rc=N".
port=/dev/virtio-ports/xenrack.lab
[ -c "$port" ] || exit 0
while :; do
	while read -r id cmd; do
		[ -n "$id" ] || continue
		sh -c "$cmd" </dev/null 2>&1
		echo "@@xenrack-done $id rc=$?"
	done <"$port" >"$port"
	sleep 1	# host side not connected: the port reads EOF
done
