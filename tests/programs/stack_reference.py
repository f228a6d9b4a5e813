"""A minimal consumer program: reads another stack's outputs through a StackReference."""

import pulumi

platform = pulumi.StackReference("organization/onprem-llm/prod")
pulumi.export("clusterName", platform.require_output("clusterName"))
pulumi.export("kubeconfig", platform.require_output("kubeconfig"))
