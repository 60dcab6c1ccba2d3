# Runs one service and writes its exit status to a file, for the direct backend.
#
# Only a process's parent learns its exit status, and the gpumod command that started a service
# has usually exited by the time another one stops it. So this small parent stays: it starts the
# service in a session (and process group) of its own with setsid (a background job of a
# non-interactive shell is no group leader, so setsid execs in place and $! is the service),
# prints its pid, waits, and writes "<pid> <status>" atomically to EXIT_FILE.
#
# Status convention, as Python's Popen.returncode: the exit code, or -N when signal N ended it
# (SIGTERM: -15, SIGKILL: -9); the shell reports a signal as 128+N. The supervisor stays outside
# the service's group, so signalling the group reaches the service, never its recorder.
#
# Usage: sh supervisor.sh EXIT_FILE ARGV...   (service output: this process's stderr)
exit_file=$1
shift
setsid "$@" </dev/null >&2 2>&1 &
pid=$!
echo "$pid"
exec >/dev/null  # whoever started us may be gone: nothing more goes to that pipe
wait "$pid"
status=$?
[ "$status" -gt 128 ] && status=-$((status - 128))
printf '%s %s\n' "$pid" "$status" > "$exit_file.tmp" && mv "$exit_file.tmp" "$exit_file"
