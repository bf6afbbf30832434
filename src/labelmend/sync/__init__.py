"""Sync relabel queues with annotation tools (Label Studio, or files)."""
