"""Pure builders of the platform's Prometheus rules and Grafana dashboards (no Pulumi)."""
