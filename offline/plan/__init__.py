"""What `pulumi up` would do: the first up of a new stack simulated (``up``), and the plan of an
update against a baseline (``update``), by the providers' diff rules (``diffs``)."""
