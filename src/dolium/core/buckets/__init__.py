"""Buckets (containers) and their settings: CORS, lifecycle, website, notifications."""
