# The restart-latency agent: fails the moment it starts (bench/restart-latency.ts runs it with interpreter sh).
exit 1
