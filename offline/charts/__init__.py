"""Third-party charts as verified artifacts: locate them, render every helm.v3.Release with a real helm.

Stages: ``artifacts`` finds the artifacts directory and checks what it holds against the lock,
``helm`` runs `helm template` with a render cache, ``render`` renders each Release of an evaluation as
the provider would install it (same chart version, values, name, namespace, Kubernetes version and
the API versions the cluster serves at that point), and ``values`` finds value keys the chart ignores.
"""
