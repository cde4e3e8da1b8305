"""Scheduling: the continuous-batching loop, sampling, detokenizing, constrained decoding, deadlines."""
