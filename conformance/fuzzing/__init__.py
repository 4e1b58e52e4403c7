"""Stream fuzzing (informative; the command-line front end is tools/fuzz_streams.py).

corpus     the seeds: conformance streams, cached real-encoder output
model      a stream as units with their syntax structures, written back consistently
mutators   structure-aware mutations; stream k of a run = f(seed, k, corpus)
runner     worker processes with a per-stream CPU-time and memory limit; outcomes
signatures crash signatures (type, innermost project frame, normalised message)
minimise   delta debugging over units, then bytes
campaign   a run: both paths, findings by signature, reproducers, JSON report
"""
