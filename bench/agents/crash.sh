# The crash-storm agent: up for 50 ms, then a failure (bench/crash-storm.ts runs it with interpreter sh).
sleep 0.05
exit 1
