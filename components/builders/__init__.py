"""Builders of Kubernetes objects and chart values: pure functions the components call; they register nothing."""
